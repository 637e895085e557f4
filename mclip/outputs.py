"""Writing the applications' results: file sets, batch folders and their index.json.

What ``-o`` means for every application command:

- ``out.mp4`` / ``out.gif`` / ``out.png``: the render, or ``out.html``: the 3D viewer
  page (``mclip.viewer``), plus ``out.npz`` (SMPL motion, AMASS keys) and ``out.npy``
  (joints (T, 24, 3)) beside it, so a drawing never comes without the motion it shows;
- ``out.npz`` / ``out.npy`` / ``out.bvh``: just that motion file;
- a folder (an existing one, or a name ending in ``/`` or without extension): one
  file set per result, named ``NNN-slug.<fmt>``, and ``index.json`` listing them.

Every file of a set is written to a temporary name and only moved into place when the
whole set is complete (``mclip.atomic``); a failure leaves nothing behind. In
a folder, ``index.json`` is rewritten (atomically) after each finished item, so Ctrl-C
keeps the finished items and an index that describes exactly them.
"""
from __future__ import annotations

import json
import os
import re
from contextlib import ExitStack
from pathlib import Path
from typing import Callable, Sequence

from .errors import MclipError
from .formats import MOTION_EXTS, RENDER_EXTS, SHOW_EXTS, VIEWER_EXTS

FORMATS = tuple(e[1:] for e in SHOW_EXTS + MOTION_EXTS)
INDEX_NAME = "index.json"


def is_dir_target(out: str | os.PathLike) -> bool:
    """True when ``-o`` names a folder: it exists as one, ends in a separator, or has no
    extension at all."""
    s = str(out)
    return Path(s).is_dir() or s.endswith(("/", os.sep)) or Path(s).suffix == ""


def file_set(out: str | os.PathLike) -> list[Path]:
    """The files one result written to ``out`` consists of (see the module docstring)."""
    out = Path(out)
    ext = out.suffix.lower()
    if ext in SHOW_EXTS:
        return [out, out.with_suffix(".npz"), out.with_suffix(".npy")]
    if ext in MOTION_EXTS:
        return [out]
    raise MclipError(f"{out}: unknown output extension '{out.suffix}' "
                     f"(use {', '.join(SHOW_EXTS + MOTION_EXTS)} or a folder/)")


def slugify(text: str, max_len: int = 40) -> str:
    """A safe file-name part: lower-case ASCII letters, digits and '-' ("Spiderman!" -> "spiderman")."""
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return (s[:max_len].rstrip("-")) or "motion"


def write_set(motion, out: str | os.PathLike, caption: str | None = None,
              render_fps: float | None = None,
              progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Write one motion as the file set of ``out``; all files appear together or none.

    render_fps: frame rate of the video (the motion is resampled for it; the motion
    files stay 30 fps; a viewer page plays the motion at its own rate). returns the
    written paths.
    """
    from .atomic import atomic_path
    from .motion_io import resample, save_motion

    paths = file_set(out)
    with ExitStack() as stack:
        tmps = [stack.enter_context(atomic_path(p)) for p in paths]
        for p, tmp in zip(paths, tmps):
            if p.suffix.lower() in RENDER_EXTS:
                from .render import render

                fps = float(render_fps or motion.fps)
                shown = resample(motion, fps) if abs(fps - motion.fps) > 1e-6 else motion
                render(shown.joints(), tmp, caption=caption, fps=fps, progress=progress)
            elif p.suffix.lower() in VIEWER_EXTS:
                _write_page([motion], [caption or out.stem], tmp, progress)
            else:
                save_motion(motion, tmp)
    return paths


def write_grid(motions: Sequence, out: str | os.PathLike, captions: Sequence[str],
               render_fps: float | None = None,
               progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Several motions into one file name: a render ext gives one grid video/sheet
    (.html: one viewer page, the motions side by side) plus ``<stem>-NN.npz`` per motion;
    a motion ext gives ``<stem>-NN.<ext>`` per motion."""
    from .atomic import atomic_path
    from .motion_io import resample, save_motion

    out = Path(out)
    ext = out.suffix.lower()
    file_set(out)  # validates the extension
    width = max(2, len(str(len(motions) - 1)))
    per = [out.with_name(f"{out.stem}-{i:0{width}d}{'.npz' if ext in SHOW_EXTS else ext}")
           for i in range(len(motions))]
    paths = ([out] if ext in SHOW_EXTS else []) + per
    with ExitStack() as stack:
        tmps = [stack.enter_context(atomic_path(p)) for p in paths]
        if ext in VIEWER_EXTS:
            _write_page(motions, list(captions), tmps[0], progress)
            tmps = tmps[1:]
        elif ext in RENDER_EXTS:
            from .render import render_grid

            fps = float(render_fps or motions[0].fps)
            shown = [resample(m, fps) if abs(fps - m.fps) > 1e-6 else m for m in motions]
            render_grid([m.joints() for m in shown], tmps[0], list(captions), fps=fps,
                        progress=progress)
            tmps = tmps[1:]
        for m, tmp in zip(motions, tmps):
            save_motion(m, tmp)
    return paths


def _write_page(motions: Sequence, captions: Sequence[str], path: Path,
                progress: Callable[[int, int], None] | None) -> None:
    """The viewer page of ``motions`` (at their own frame rate) at ``path``."""
    from .viewer import write_viewer

    write_viewer([(c, m.joints(), m.fps) for m, c in zip(motions, captions)], path)
    if progress is not None:
        total = max(m.num_frames for m in motions)
        progress(total, total)


def read_index(folder: str | os.PathLike) -> dict | None:
    """The index.json of a batch folder, or None when it has none; MclipError when unreadable."""
    path = Path(folder) / INDEX_NAME
    if not path.is_file():
        return None
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise MclipError(f"{path}: not a readable index ({type(e).__name__}); remove it or "
                         f"pass --overwrite") from None
    if not isinstance(index, dict) or not isinstance(index.get("items"), list):
        raise MclipError(f"{path}: not an mclip index (no items list); remove it or pass --overwrite")
    return index


def check_batch_target(folder: str | os.PathLike, mode: str) -> None:
    """Fail before any work (a model load) when ``BatchFolder(folder, mode=mode)`` would
    refuse the folder: it holds an earlier run's index and mode is "new"."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise MclipError(f"{folder}: exists and is not a folder")
    if mode == "new" and read_index(folder) is not None:
        raise MclipError(_EARLIER_RUN.format(folder=folder))


_EARLIER_RUN = ("{folder}: holds the results of an earlier run (" + INDEX_NAME + "); "
                "pass --overwrite to replace them or --resume to finish that run")


class BatchFolder:
    """A folder of results: one file set per item (``NNN-slug.<fmt>``) and index.json.

    Use it as a context manager: entering takes the folder (a lock, so a second mclip
    writing into it gets a one-line error), removes temp files a killed run left, and
    deals with an earlier run's index.json: refused by default, its files removed with
    ``mode="overwrite"``, its finished items kept with ``mode="resume"`` (the run's
    settings in ``meta`` must match). ``add(motion, text, extra)`` writes the item's
    set, then the index (atomically), so the index always lists exactly the finished
    items.
    """

    MODES = ("new", "overwrite", "resume")
    LOCK_NAME = ".mclip.lock"

    def __init__(self, folder: str | os.PathLike, fmt: str = "mp4", meta: dict | None = None,
                 mode: str = "new"):
        fmt = fmt.lower().lstrip(".")
        if fmt not in FORMATS:
            raise MclipError(f"--format {fmt}: choose one of {', '.join(FORMATS)}")
        if mode not in self.MODES:
            raise ValueError(f"mode: one of {self.MODES}, got {mode!r}")
        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise MclipError(f"{self.folder}: exists and is not a folder")
        self.fmt = fmt
        self.meta = dict(meta or {})
        self.mode = mode
        self.items: list[dict] = []
        self._lock = None

    # ------------------------------------------------------------ taking the folder

    def __enter__(self) -> "BatchFolder":
        from .atomic import prepare_folder, remove_stale_temps

        prepare_folder(self.folder / INDEX_NAME)
        self._take_lock()
        try:
            remove_stale_temps(self.folder)
            self._adopt(read_index(self.folder))
        except BaseException:
            self._release_lock()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._release_lock()

    def _take_lock(self) -> None:
        try:
            import fcntl
        except ImportError:        # not POSIX: no lock, the rest still holds
            return
        path = self.folder / self.LOCK_NAME
        try:
            fh = open(path, "a")
        except OSError as e:
            raise MclipError(f"{self.folder}: cannot write ({e.strerror or e})") from None
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise MclipError(f"{self.folder}: another mclip is writing into this folder "
                             f"(wait for it, or choose another -o)") from None
        self._lock = fh

    def _release_lock(self) -> None:
        if self._lock is not None:
            try:
                (self.folder / self.LOCK_NAME).unlink(missing_ok=True)
            except OSError:
                pass
            self._lock.close()      # closing releases the flock
            self._lock = None

    def _adopt(self, index: dict | None) -> None:
        """Apply ``mode`` to an earlier run's index (None: there is none)."""
        if index is None:
            return
        if self.mode == "new":
            raise MclipError(_EARLIER_RUN.format(folder=self.folder))
        if self.mode == "overwrite":
            for item in index["items"]:
                for name in item.get("files", []) if isinstance(item, dict) else []:
                    if Path(name).name == name:          # only files of this folder
                        (self.folder / name).unlink(missing_ok=True)
            (self.folder / INDEX_NAME).unlink(missing_ok=True)
            return
        for key, value in self.meta.items():             # resume: the same run, or refused
            if key in index and index[key] != value:
                raise MclipError(f"{self.folder}: --resume: {key} {value!r} differs from the "
                                 f"earlier run's {index[key]!r} (pass --overwrite to start again)")
        self.items = [dict(item) for item in index["items"]]

    # ------------------------------------------------------------ writing

    def check_resumed(self, texts: Sequence[str]) -> int:
        """How many of the items ``texts`` (in order) are already finished; MclipError
        when the finished ones are other texts (an index from a different prompt list)."""
        done = len(self.items)
        if done > len(texts) or any(self.items[i].get("text") != texts[i] for i in range(done)):
            raise MclipError(f"{self.folder}: --resume: {INDEX_NAME} lists other prompts than "
                             f"these (pass --overwrite to start again)")
        return done

    def add(self, motion, text: str, extra: dict | None = None, render_fps: float | None = None,
            progress: Callable[[int, int], None] | None = None, name: str | None = None
            ) -> list[Path]:
        """Write one item; ``name`` (a safe stem) replaces the default ``NNN-slug``."""
        n = len(self.items)
        stem = name or f"{n + 1:03d}-{slugify(text)}"
        written = write_set(motion, self.folder / f"{stem}.{self.fmt}", caption=text,
                            render_fps=render_fps, progress=progress)
        item = {"index": n, "text": text, "frames": motion.num_frames, "fps": motion.fps,
                "files": [p.name for p in written]}
        item.update(extra or {})
        self.items.append(item)
        self.write_index()
        return written

    def write_index(self) -> Path:
        from .atomic import atomic_write

        path = self.folder / INDEX_NAME
        with atomic_write(path, "w", encoding="utf-8") as f:
            json.dump({**self.meta, "count": len(self.items), "items": self.items}, f, indent=2)
            f.write("\n")
        return path


__all__ = ["RENDER_EXTS", "VIEWER_EXTS", "SHOW_EXTS", "MOTION_EXTS", "FORMATS", "INDEX_NAME", "is_dir_target", "file_set",
           "slugify", "write_set", "write_grid", "read_index", "check_batch_target", "BatchFolder"]
