"""From frames to files: ``render`` / ``render_grid`` write .mp4 (H.264 through
ffmpeg), .gif (real-time delays) or a .png contact sheet, atomically.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from PIL import Image, ImageDraw

from ..atomic import atomic_path
from ..errors import MclipError
from .config import ProgressFn, RenderConfig, TEXT, check_joints, output_kind
from .figure import _Layout, _font, _grid_cols, _wrap


def iter_frames(joints, caption: str | None = None,
                config: RenderConfig | None = None) -> Iterator[np.ndarray]:
    """Yield the stick-figure frames of one motion: (H, W, 3) uint8 RGB, one per input frame."""
    layout = _Layout([check_joints(joints)], [caption], config or RenderConfig(), cols=1)
    shape = (layout.height, layout.width, 3)
    for t in range(layout.frames):
        yield np.frombuffer(layout.frame_rgb(t).tobytes(), np.uint8).reshape(shape)


def render(joints, path, caption: str | None = None, fps: float = 30.0,
           config: RenderConfig | None = None, frames: int | None = None,
           progress: ProgressFn | None = None) -> Path:
    """Render one motion (T, 24, 3) to `path`: .mp4 video, looping .gif, or .png contact sheet.

    fps: frame rate of the data (and of the video); frames: contact-sheet frame count.
    """
    return render_grid([joints], path, [caption], fps=fps, config=config, frames=frames,
                       progress=progress)


def render_grid(motions: Sequence, path, captions: Sequence[str | None] | None = None,
                fps: float = 30.0, config: RenderConfig | None = None,
                frames: int | None = None, cols: int | None = None,
                progress: ProgressFn | None = None) -> Path:
    """Several motions side by side (same camera scale), each cell with its own caption.

    .mp4/.gif: all cells play together (shorter motions hold their last pose).
    .png: one row of `frames` evenly spaced frames per motion (a single motion wraps
    into rows of `config.sheet_cols` under the caption).
    """
    path = Path(path)
    kind = output_kind(path)
    if len(motions) == 0:
        raise MclipError(f"{path}: nothing to render")
    motions = [check_joints(m, f"motion {i}") for i, m in enumerate(motions)]
    captions = list(captions) if captions is not None else [None] * len(motions)
    if len(captions) != len(motions):
        raise MclipError(f"{path}: {len(captions)} captions for {len(motions)} motions")
    if not (fps > 0 and math.isfinite(fps)):
        raise MclipError(f"fps: must be positive, got {fps}")
    cfg = config or RenderConfig()
    if cfg.size < 64:
        raise MclipError(f"size: at least 64 pixels, got {cfg.size}")

    if kind == ".png":
        return _write_sheet(motions, captions, path, cfg, frames or cfg.sheet_frames, progress)
    layout = _Layout(motions, captions, cfg, cols or _grid_cols(len(motions)))
    if kind == ".mp4":
        _write_mp4(layout, path, fps, progress)
    else:
        _write_gif(layout, path, fps, progress)
    return path


def gif_timing(n_frames: int, fps: float, max_fps: float) -> tuple[list[int], list[int]]:
    """Frames to keep and their GIF delays (milliseconds, multiples of 10) for real time.

    GIF delays are whole 1/100 s, so 30 fps (3.33 cs) cannot be stored exactly; we keep
    every `stride`-th frame and round the *cumulative* time, so delays alternate (e.g.
    7, 7, 6 cs at 15 fps) and the total equals n_frames / fps to within 1/100 s.
    Delays under 2 cs are avoided (browsers slow those down to 10 cs).
    """
    stride = max(1, round(fps / max_fps), math.ceil(fps / 50.0))
    keep = list(range(0, n_frames, stride))
    edges = [round(100.0 * i / fps) for i in keep] + [round(100.0 * n_frames / fps)]
    delays = [max(1, b - a) * 10 for a, b in zip(edges[:-1], edges[1:])]
    return keep, delays


def _write_gif(layout: _Layout, path: Path, fps: float, progress: ProgressFn | None) -> None:
    keep, delays = gif_timing(layout.frames, fps, layout.cfg.gif_fps)

    def frames():
        for n, t in enumerate(keep):
            yield layout.frame(t)
            if progress:
                progress(n + 1, len(keep))

    it = frames()
    first = next(it)
    with atomic_path(path) as tmp:
        first.save(tmp, format="GIF", save_all=True, append_images=it, duration=delays,
                   loop=0, optimize=False, disposal=1)


def _ffmpeg_failed(path: Path, stderr: bytes, otherwise: str) -> MclipError:
    """One line for a failed ffmpeg: its last error line, else ``otherwise``."""
    text = stderr.decode(errors="replace").strip()
    return MclipError(f"{path}: ffmpeg failed ({text.splitlines()[-1] if text else otherwise})")


def _write_mp4(layout: _Layout, path: Path, fps: float, progress: ProgressFn | None) -> None:
    """H.264 mp4 through the ffmpeg binary imageio-ffmpeg ships, frames piped as raw RGB.

    Written here rather than with ``imageio_ffmpeg.write_frames`` because an interrupt
    (Ctrl-C, SIGTERM) must kill ffmpeg *and wait for it* before the temp file goes: that
    writer kills without waiting, and an ffmpeg that opens its output late re-creates
    the file after it was removed.
    """
    import subprocess

    import imageio_ffmpeg

    w, h = layout.width + layout.width % 2, layout.height + layout.height % 2  # yuv420p: even
    with atomic_path(path) as tmp:
        cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", f"{fps:g}", "-i", "-",
               "-an", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", str(layout.cfg.crf),
               "-preset", "veryfast", "-movflags", "+faststart", "-f", "mp4", str(tmp)]
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
        except OSError as e:
            raise MclipError(f"{path}: cannot start ffmpeg ({e.strerror or e})") from None
        try:
            for t in range(layout.frames):
                frame = np.asarray(layout.frame_rgb(t))          # (H, W, 3) uint8
                if frame.shape[:2] != (h, w):
                    frame = np.pad(frame, ((0, h - frame.shape[0]), (0, w - frame.shape[1]), (0, 0)),
                                   mode="edge")
                proc.stdin.write(frame.tobytes())
                if progress:
                    progress(t + 1, layout.frames)
            proc.stdin.close()
            err = proc.stderr.read()            # before waiting: a full pipe would block ffmpeg
            if proc.wait() != 0:
                raise _ffmpeg_failed(path, err, f"exit code {proc.returncode}")
        except BrokenPipeError:
            err = proc.stderr.read()
            proc.wait()
            raise _ffmpeg_failed(path, err, "it stopped reading frames") from None
        finally:
            if proc.poll() is None:     # interrupted: stop it, and wait until it is gone
                proc.kill()
                proc.wait()
            for pipe in (proc.stdin, proc.stderr):
                try:
                    pipe.close()
                except OSError:
                    pass


def sheet_indices(n_frames: int, count: int) -> list[int]:
    """`count` evenly spaced frame indices from first to last (fewer if the motion is short)."""
    count = max(1, min(count, n_frames))
    return sorted(set(np.linspace(0, n_frames - 1, count).round().astype(int).tolist()))


def _write_sheet(motions, captions, path: Path, cfg: RenderConfig, count: int,
                 progress: ProgressFn | None) -> Path:
    if count < 1:
        raise MclipError(f"frames: at least 1, got {count}")
    # One layout for all motions (shared camera scale); captions go on the sheet as
    # row titles instead of inside the cells.
    layout = _Layout(motions, [None] * len(motions), cfg, cols=len(motions))
    cell = layout.cell
    label_px = max(10, round(cell / 30))
    rows: list[tuple[str | None, list[tuple[int, Image.Image]]]] = []
    done, total = 0, sum(len(sheet_indices(m.shape[0], count)) for m in motions)
    for k, (m, cap) in enumerate(zip(motions, captions)):
        box = (k * cell, 0, (k + 1) * cell, cell)
        cells = []
        for t in sheet_indices(m.shape[0], count):
            cells.append((t, layout.frame_rgb(t).crop(box)))
            done += 1
            if progress:
                progress(done, total)
        if len(motions) == 1:  # wrap a single motion's frames into rows under one title
            for i in range(0, len(cells), cfg.sheet_cols):
                rows.append((cap if i == 0 else None, cells[i:i + cfg.sheet_cols]))
        else:
            rows.append((cap, cells))

    title_px = max(12, round(cell / 22))
    cols = max(len(r[1]) for r in rows)
    heights = [cell + (int(title_px * 1.7) if cap else 0) for cap, _ in rows]
    sheet = Image.new("RGB", (cols * cell, sum(heights)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    y = 0
    for (cap, cells), h in zip(rows, heights):
        if cap:
            line = _wrap(cap, _font(title_px), cols * cell - 20, max_lines=1)[0]
            draw.text((10, y + title_px * 0.35), line, font=_font(title_px), fill=TEXT)
        top = y + h - cell
        for i, (t, im) in enumerate(cells):
            sheet.paste(im, (i * cell, top))
            label = f"frame {t}"
            font = _font(label_px)
            draw.rectangle((i * cell + 4, top + 4,
                            i * cell + 12 + font.getlength(label), top + 8 + label_px * 1.2),
                           fill=(255, 255, 255))
            draw.text((i * cell + 8, top + 5), label, font=font, fill=TEXT)
            if i:  # thin divider between cells
                draw.line((i * cell, top, i * cell, top + cell - 1), fill=(255, 255, 255), width=2)
        y += h
    with atomic_path(path) as tmp:
        sheet.save(tmp, format="PNG")
    return path
