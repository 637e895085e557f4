"""The 3D viewer page: motions as one self-contained HTML file (three.js inlined).

``write_viewer([(name, joints, fps), ...], "view.html")`` writes a page that plays the
motions side by side in the browser: an orbit camera (drag, right-drag, wheel),
play/pause (button or space), a frame slider, arrow keys to step, a speed choice
(0.25x..2x), a ground grid and each motion's pelvis path on the floor. The page needs no
network: three.js (``vendor/three.min.js``, built from the npm package by
``tools/vendor_three.sh``) and the data are inside it.

Coordinates: ``joints`` are metres in mclip's z-up world. They go into the page as they
are (float32, base64); the page keeps them in a three.js group turned -90 degrees about
x, so three.js's y-up world shows them upright: three.js (X, Y, Z) = (x, z, -y).

Side by side: each motion is moved on the floor (never turned) so that its first pelvis
position sits on a row along x, with room between the motions' extents; nothing else
changes. The camera starts in front of a person facing world -y (the way mclip's
motions start), turned ``AZIMUTH_DEG`` to their left, framing every frame of every motion.

For tests and scripts the page exposes ``window.mclipViewer`` (``setFrame(i)``,
``jointPositions(k)``: the joint meshes' world positions read back from the scene, in
the file's z-up metres with the side-by-side offset removed, ``snapshot()``, ``play()``,
``pause()``...). ``view.html?frame=N`` opens paused at frame N (set through the slider's
input event; without it the page plays at once); ``&azimuth=A&elevation=E`` (degrees)
choose the first view. Once drawn, the page writes ``snapshot()`` as JSON into
``<pre id="mclip-readback" data-state="ready">``.
"""
from __future__ import annotations

import base64
import json
import math
import os
import re
from importlib import resources
from pathlib import Path
from typing import Sequence, Tuple

import numpy as np

from ..errors import MclipError
from ..formats import VIEWER_EXTS
THREE_VERSION = "0.187.0"
AZIMUTH_DEG = 15.0        # camera turned from the person's front toward their left
ELEVATION_DEG = 16.0      # camera above the horizontal
FOV_DEG = 35.0            # vertical field of view
GAP_M = 0.7               # free floor between two motions' extents along x
MAX_FRAMES = 100_000      # all motions together: ~38 MB of page; beyond it, cut or resample

MotionItem = Tuple[str, np.ndarray, float]
"""(caption, joints (T, 24, 3) metres z-up, fps)."""


def _hex(rgb) -> str:
    return "#%02x%02x%02x" % tuple(int(c) for c in rgb)


def _vendor(name: str) -> str:
    return (resources.files("mclip.viewer") / "vendor" / name).read_text(encoding="utf-8")


def _template() -> str:
    return (resources.files("mclip.viewer") / "template.html").read_text(encoding="utf-8")


def check_motions(motions: Sequence[MotionItem]) -> list[tuple[str, np.ndarray, float]]:
    """The motions as (name, float32 C-contiguous (T, 24, 3), fps); MclipError naming the
    motion for a wrong shape, non-finite values or a bad frame rate."""
    from ..skeleton import FPS_RANGE, NUM_JOINTS

    if len(motions) == 0:
        raise MclipError("viewer: no motion to show")
    out, total = [], 0
    for i, item in enumerate(motions):
        try:
            name, joints, fps = item
        except (TypeError, ValueError):
            raise TypeError(f"motions[{i}]: expected (name, joints, fps), got {item!r}") from None
        name = str(name)
        arr = np.ascontiguousarray(joints, dtype=np.float32)
        if arr.ndim != 3 or arr.shape[1:] != (NUM_JOINTS, 3) or arr.shape[0] < 1:
            raise MclipError(f"{name}: expected joints of shape (T, 24, 3), got {tuple(arr.shape)}")
        if not np.isfinite(arr).all():
            raise MclipError(f"{name}: joints contain NaN or infinite values")
        fps = float(fps)
        if not (math.isfinite(fps) and 0 < fps <= FPS_RANGE[1]):
            raise MclipError(f"{name}: frame rate {fps} fps is outside 0..{FPS_RANGE[1]:g}")
        total += arr.shape[0]
        out.append((name, arr, fps))
    if total > MAX_FRAMES:
        raise MclipError(f"viewer: {total} frames in all is too much for one page (at most "
                         f"{MAX_FRAMES}); cut the motions or resample them (mclip convert "
                         f"writes 30 fps)")
    return out


def layout(joints_list: Sequence[np.ndarray]) -> list[tuple[float, float]]:
    """Floor offsets (dx, dy) in metres, one per motion: the first pelvis positions on a
    row along x, ``GAP_M`` between neighbouring motions' x extents (every frame), the row
    centred on x = 0, y = 0."""
    slots, prev_hi, starts = [], None, []
    for j in joints_list:
        p0 = j[0, 0, :2].astype(np.float64)
        lo = float(j[..., 0].min() - p0[0])
        hi = float(j[..., 0].max() - p0[0])
        x = 0.0 if prev_hi is None else prev_hi + GAP_M - lo
        slots.append(x)
        prev_hi = x + hi
        starts.append((p0, lo))
    first_lo = starts[0][1]
    mid = (slots[0] + first_lo + prev_hi) / 2
    return [(x - mid - p0[0], -p0[1]) for x, (p0, _) in zip(slots, starts)]


def _page_data(items, title: str) -> dict:
    from .. import skeleton
    from ..render import config as look   # the stick figure's palette and proportions

    side = ["L" if n.startswith("left_") else "R" if n.startswith("right_") else "C"
            for n in skeleton.JOINT_NAMES]
    offsets = layout([j for _, j, _ in items])
    lo = np.full(3, np.inf)
    hi = np.full(3, -np.inf)
    motions = []
    for (name, joints, fps), (dx, dy) in zip(items, offsets):
        shifted = joints.astype(np.float64) + np.array([dx, dy, 0.0])
        lo = np.minimum(lo, shifted.reshape(-1, 3).min(0))
        hi = np.maximum(hi, shifted.reshape(-1, 3).max(0))
        motions.append({
            "name": name, "fps": fps, "frames": int(joints.shape[0]),
            "offset": [dx, dy],
            "top": float(joints[..., 2].max() + look.HEAD_RADIUS * 2),
            "joints": base64.b64encode(joints.astype("<f4").tobytes()).decode("ascii"),
        })
    hi[2] += look.HEAD_RADIUS * 2
    return {
        "title": title,
        "joints": skeleton.NUM_JOINTS,
        "bones": [list(b) for b in skeleton.BONES],
        "side": side,
        "pelvis": skeleton.JOINT_INDEX["pelvis"], "neck": skeleton.JOINT_INDEX["neck"],
        "head": skeleton.JOINT_INDEX["head"], "headAlong": look.HEAD_CENTRE_ALONG,
        "ground": float(min(0.0, lo[2])),
        "layout": {"min": lo.tolist(), "max": hi.tolist()},
        "camera": {"azimuth": AZIMUTH_DEG, "elevation": ELEVATION_DEG, "fov": FOV_DEG},
        "figure": {"joint": 0.03, "pelvis": 0.04, "bone": 0.022, "head": look.HEAD_RADIUS,
                   "shadow": look.SHADOW_RADIUS, "path": 0.035},
        "colors": {"left": _hex(look.LEFT), "right": _hex(look.RIGHT), "centre": _hex(look.CENTRE),
                   "leftDot": _hex(look.LEFT_DOT), "rightDot": _hex(look.RIGHT_DOT),
                   "head": _hex(look.HEAD_FILL), "shadow": _hex(look.SHADOW),
                   "trajectory": _hex(look.TRAJECTORY), "grid": _hex(look.GRID),
                   "gridMajor": _hex(look.GRID_MAJOR), "floor": _hex(look.FLOOR_NEAR),
                   "horizon": _hex(look.SKY_BOTTOM), "sky": _hex(look.SKY_TOP)},
        "motions": motions,
    }


def _script_safe(text: str) -> str:
    """Text that cannot end the <script> element it is put in."""
    if "</script" in text.lower() or "<!--" in text:
        raise ValueError("inlined script holds '</script' or '<!--'")
    return text


def _escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def viewer_html(motions: Sequence[MotionItem], title: str | None = None) -> str:
    """The page's text (see the module docstring); ``title`` defaults to the names."""
    from .. import __version__
    from ..render import config as look

    items = check_motions(motions)
    names = [n for n, _, _ in items]
    title = title or ("mclip: " + ", ".join(names))
    data = json.dumps(_page_data(items, title), separators=(",", ":"), allow_nan=False)
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    licence = _vendor("LICENSE").strip().replace("--", "- -")
    parts = {
        "{{VERSION}}": _escape_html(__version__),
        "{{TITLE}}": _escape_html(title),
        "{{HEADING}}": _escape_html(title),
        "{{THREE_VERSION}}": THREE_VERSION,
        "{{THREE_LICENSE}}": "\n".join("  " + ln if ln else "" for ln in licence.splitlines()),
        "{{LEFT}}": _hex(look.LEFT), "{{RIGHT}}": _hex(look.RIGHT),
        "{{TRAJECTORY}}": _hex(look.TRAJECTORY), "{{SKY}}": _hex(look.SKY_BOTTOM),
        "{{DATA}}": data,
        "{{THREE_JS}}": _script_safe(_vendor("three.min.js")),
    }
    page = _template()
    for key in parts:
        if page.count(key) != 1:
            raise AssertionError(f"viewer template: {key} must appear exactly once")
    # one pass: what is put in (captions, data) is never scanned for keys again
    return re.sub(r"\{\{[A-Z_]+\}\}", lambda m: parts[m.group(0)], page)


def write_viewer(motions: Sequence[MotionItem], path: str | os.PathLike,
                 title: str | None = None) -> Path:
    """Write the viewer page of ``motions`` [(name, joints (T, 24, 3) metres z-up, fps)]
    to ``path`` (.html), atomically. Returns the path."""
    from ..atomic import atomic_write_text

    path = Path(path)
    if path.suffix.lower() not in VIEWER_EXTS:
        raise MclipError(f"{path}: a viewer page is written as {' or '.join(VIEWER_EXTS)}")
    return atomic_write_text(path, viewer_html(motions, title))


__all__ = ["write_viewer", "viewer_html", "layout", "check_motions", "MotionItem", "THREE_VERSION"]
