"""AMASS motion files -> 30 fps, 60-frame clips.

AMASS ships one ``.npz`` per take (SMPL-H ``poses`` (T, 156) or SMPL (T, 72), ``trans``
(T, 3) metres z-up, ``mocap_framerate`` e.g. 120). Reading and resampling (quaternion
slerp) is ``mclip.motion_io.load_motion``; this module finds the files BABEL points
at and cuts motions into the fixed-length clips the model trains on.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MclipError

__all__ = ["CLIP_FRAMES", "Clip", "find_amass_file", "load_amass", "cut_clips"]

CLIP_FRAMES = 60  # 2 s at 30 fps, as the paper


@dataclass
class Clip:
    """One window of a motion. poses (T, 24, 3) axis-angle, trans (T, 3), 30 fps.

    start: first frame in the 30 fps sequence; times in seconds are start / 30 ...
    (start + T) / 30.
    """

    start: int
    poses: np.ndarray
    trans: np.ndarray


def find_amass_file(amass_dir: str | Path, feat_p: str) -> Path | None:
    """Where the AMASS file named by a BABEL ``feat_p`` lies under ``amass_dir``, or None.

    BABEL writes paths like ``CMU/CMU/02/02_05_poses.npz`` (the dataset name twice,
    from its own folder layout), while an unpacked AMASS download usually reads
    ``CMU/02/02_05_poses.npz``; ``amass_dir`` may also point inside one dataset. We
    therefore try the path as given and with its first one or two parts dropped.
    """
    root = Path(amass_dir)
    parts = Path(str(feat_p).replace("\\", "/")).parts
    for drop in range(0, min(3, len(parts))):
        candidate = root.joinpath(*parts[drop:])
        if candidate.is_file():
            return candidate
    return None


def load_amass(path: str | Path, fps: float = 30.0):
    """-> ``motion_io.Motion`` at ``fps`` (z-up, metres; SMPL-H hands folded into joints 22/23)."""
    from ..motion_io import load_motion

    p = Path(path)
    if p.suffix.lower() != ".npz":
        raise MclipError(f"{p}: AMASS motions are .npz files")
    return load_motion(p, fps=fps)


def cut_clips(poses: np.ndarray, trans: np.ndarray, frames: int = CLIP_FRAMES,
              stride: int | None = None) -> list[Clip]:
    """Cut (T, 24, 3) poses + (T, 3) trans into windows of ``frames`` every ``stride`` frames.

    stride defaults to ``frames`` (back-to-back clips, as the paper). A tail shorter
    than ``frames`` is dropped; a motion shorter than one clip gives no clips.
    """
    stride = frames if stride is None else int(stride)
    if frames < 1 or stride < 1:
        raise ValueError(f"frames and stride must be >= 1, got {frames}, {stride}")
    T = poses.shape[0]
    return [Clip(s, poses[s:s + frames], trans[s:s + frames]) for s in range(0, T - frames + 1, stride)]
