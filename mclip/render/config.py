"""What the stick-figure renderer is told and shows: ``RenderConfig``, its colours and
proportions, and the checks on its inputs (joints, output names).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import MclipError
from ..formats import RENDER_EXTS, VIEWER_EXTS
from ..skeleton import BONES, JOINT_INDEX, NUM_JOINTS



ProgressFn = Callable[[int, int], None]
"""progress(done, total), called after each frame (or sheet cell) is finished."""

OUTPUT_SUFFIXES = RENDER_EXTS

# ------------------------------------------------------------------ colours (RGB)
SKY_TOP = (226, 232, 240)
SKY_BOTTOM = (246, 246, 243)
FLOOR_NEAR = (232, 228, 219)
FLOOR_FAR = (240, 238, 232)
GRID = (196, 189, 175)
GRID_MAJOR = (172, 164, 149)
TRAJECTORY = (128, 142, 162)
TEXT = (28, 30, 36)
LEFT = (30, 100, 215)
RIGHT = (228, 88, 30)
CENTRE = (50, 54, 64)
LEFT_DOT = (16, 58, 140)
RIGHT_DOT = (150, 50, 12)
HEAD_FILL = (250, 250, 250)
SHADOW = (198, 192, 180)
PROGRESS = (110, 122, 140)

_PELVIS = JOINT_INDEX["pelvis"]
_NECK = JOINT_INDEX["neck"]
_HEAD = JOINT_INDEX["head"]
_BONE_PARENT = np.array([p for p, _ in BONES])
_BONE_CHILD = np.array([c for _, c in BONES])

# The head joint sits at the base of the skull; the skull's centre is a little further
# along neck -> head, and its radius is about 0.1 m (top of head ~1.74 m when standing).
HEAD_CENTRE_ALONG = 0.45
HEAD_RADIUS = 0.10
SHADOW_RADIUS = 0.26


@dataclass(frozen=True)
class RenderConfig:
    """How stick-figure renders look. Sizes in pixels, angles in degrees."""

    size: int = 480                # cell width = height (rounded up to even for H.264)
    elevation_deg: float = 20.0    # camera above the horizontal
    azimuth_deg: float = 30.0      # camera turned from the person's front toward their left
    min_distance: float = 4.0      # metres from the motion's centre, at least
    margin: float = 0.06           # fraction of the cell kept free around the figure
    trajectory: bool = True        # pelvis path on the ground
    shadow: bool = True            # disc under the pelvis
    progress_bar: bool = True      # thin time bar along the bottom of each cell
    legend: bool = True            # "left / right" colour key
    antialias: bool = True         # smooth figure edges in .mp4/.png/raw frames (not .gif)
    gif_fps: float = 15.0          # GIF frame rate is at most about this; real time is kept
    sheet_frames: int = 8          # frames on a .png contact sheet
    sheet_cols: int = 4            # columns of a single motion's contact sheet
    crf: int = 20                  # H.264 quality (lower = better)


# =================================================================== input checks


def check_joints(joints, name: str = "joints") -> np.ndarray:
    """Validate and return joints as a C-contiguous float32 array (T, 24, 3)."""
    arr = np.asarray(joints, dtype=np.float32)
    if arr.ndim != 3 or arr.shape[1:] != (NUM_JOINTS, 3) or arr.shape[0] < 1:
        raise MclipError(f"{name}: expected joints of shape (T, 24, 3), got {tuple(arr.shape)}")
    if not np.isfinite(arr).all():
        raise MclipError(f"{name}: joints contain NaN or infinite values")
    return np.ascontiguousarray(arr)


def output_kind(path) -> str:
    """'.mp4' | '.gif' | '.png' from the file name, or MclipError."""
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        hint = "; `mclip view` writes an interactive .html page" if suffix in VIEWER_EXTS else ""
        raise MclipError(
            f"{path}: unknown output extension '{suffix or '(none)'}' (use .mp4, .gif or .png{hint})"
        )
    return suffix


# =================================================================== camera
