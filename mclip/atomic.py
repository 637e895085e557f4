"""Atomic file writes: the one way mclip writes a file.

A file appears complete or not at all: it is written under a temporary name in the
target folder (``.<name>.<8 random>.tmp<ext>``, so ``os.replace`` is a rename on one
file system and writers that pick a format from the extension still see it), then
renamed over the target. Whatever stops the write (an error, Ctrl-C, SIGTERM) removes
the temporary file where the file system still allows it, and an operating-system
error at a write becomes one ``MclipError`` naming the path.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from .errors import MclipError

# mkstemp's random part is 8 characters of [a-z0-9_]
_TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp(\.[A-Za-z0-9]+)?$")


def os_error_message(path: str | os.PathLike, e: OSError) -> str:
    """One line for an OSError met while writing ``path``."""
    text = str(e).strip()
    why = e.strerror or (text.splitlines()[0] if text else type(e).__name__)
    return f"{path}: cannot write ({why})"


def prepare_folder(path: Path, parents: bool = False) -> None:
    """Make ``path``'s folder exist. Without ``parents`` only the last missing level is
    created: a mistyped ``-o /nonexistent/x.npz`` does not create folders anywhere."""
    folder = path.parent
    if folder.is_dir():
        return
    if folder.exists():
        raise MclipError(f"{path}: {folder} is not a folder")
    if not parents and not folder.parent.is_dir():
        raise MclipError(f"{path}: folder {folder.parent} does not exist")
    try:
        folder.mkdir(parents=parents, exist_ok=True)
    except OSError as e:
        raise MclipError(os_error_message(path, e)) from None


@contextmanager
def atomic_path(path: str | os.PathLike, parents: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success move it over ``path``.

    Usage::

        with atomic_path("out.npz") as tmp:
            np.savez(tmp, ...)          # any writer that takes a file name

    ``parents``: create every missing folder above ``path`` (internal caches); by
    default only the last. The final file gets the usual permissions (0666 minus umask),
    not mkstemp's private 0600.
    """
    path = Path(path)
    if path.is_dir():
        raise MclipError(f"{path}: is a directory, expected an output file name")
    prepare_folder(path, parents)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix,
                                        dir=path.parent)
    except OSError as e:
        raise MclipError(os_error_message(path, e)) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as e:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass          # the folder became unwritable: nothing more can be done
        if isinstance(e, OSError):
            raise MclipError(os_error_message(path, e)) from None
        raise


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", parents: bool = False,
                 fsync: bool = False, **open_kwargs) -> Iterator[IO]:
    """Like ``open(path, mode)`` but the file only appears, complete, when the block ends.
    ``fsync``: on disk before the rename too (checkpoints: a power cut keeps the old one)."""
    with atomic_path(path, parents) as tmp:
        with open(tmp, mode, **open_kwargs) as f:
            yield f
            if fsync:
                f.flush()
                os.fsync(f.fileno())


def atomic_write_bytes(path: str | os.PathLike, data: bytes, parents: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically, flushed to disk before the rename."""
    with atomic_write(path, "wb", parents, fsync=True) as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str, parents: bool = False) -> Path:
    with atomic_write(path, "w", parents, encoding="utf-8") as f:
        f.write(text)
    return Path(path)


def atomic_write_json(obj, path: str | os.PathLike, parents: bool = False) -> Path:
    """``obj`` as indented JSON (NaN refused: it is not JSON)."""
    return atomic_write_text(path, json.dumps(obj, indent=2, allow_nan=False) + "\n", parents)


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is one of ``atomic_path``'s temporary file names."""
    return bool(_TEMP_NAME.match(name))


def remove_stale_temps(folder: str | os.PathLike) -> list[Path]:
    """Remove temporary files an interrupted (killed) mclip left in ``folder``; only
    call it while holding the folder (``outputs.BatchFolder`` takes a lock first)."""
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for p in folder.iterdir():
        if p.is_file() and is_temp_name(p.name):
            try:
                p.unlink()
                removed.append(p)
            except OSError:
                pass
    return removed
