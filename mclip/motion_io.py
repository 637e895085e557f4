"""Motion files: the ``Motion`` type, readers and writers, resampling, atomic writes.

Formats (see SPEC "File formats"):

- ``.npz``  SMPL motion as AMASS stores it: ``poses`` (T, 72) axis-angle (SMPL-H
  (T, 156) and SMPL-X (T, 165) are read too), ``trans`` (T, 3) metres, z-up world,
  ``mocap_framerate``, ``betas``, ``gender``. Any frame rate is resampled to 30 fps.
- ``.npy``  joint positions (T, 24, 3) float32, metres, z-up, 30 fps. No rotations.
- ``.bvh``  SMPL hierarchy for Blender and friends (y-up, centimetres; see mclip/bvh.py).

Every writer goes through :func:`atomic_path`: the data is written to a temporary
name in the target folder and moved over the target with ``os.replace`` only once it
is complete, so a crash or Ctrl-C never leaves a half-written file behind.

User mistakes (missing file, wrong key, bad shape, NaN...) raise ``MclipError`` with
the file name and the problem; the CLI prints it as one line.
"""
from __future__ import annotations

import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import bvh, skeleton
from .atomic import atomic_path, atomic_write
from .errors import MclipError
from .formats import MOTION_EXTS, RENDER_EXTS, VIEWER_EXTS
from .rotations import (
    axis_angle_to_matrix,
    axis_angle_to_quaternion,
    matrix_to_axis_angle,
    quaternion_slerp,
    quaternion_to_axis_angle,
)

__all__ = [
    "Motion", "load_motion", "load_joints", "save_motion", "save_joints", "resample",
    "motion_from_rotmats", "atomic_path", "atomic_write", "convert", "motion_info",
    "MOTION_EXTENSIONS", "FPS",
]

FPS = skeleton.FPS
MOTION_EXTENSIONS = MOTION_EXTS
NUM_JOINTS = skeleton.NUM_JOINTS


# ----------------------------------------------------------------- the Motion type


@dataclass
class Motion:
    """One motion on the SMPL skeleton.

    poses: (T, 24, 3) float32 axis-angle local joint rotations, [0] = global orientation.
    trans: (T, 3) float32 root translation, metres, z-up world (smplx semantics:
           pelvis = skeleton.REST_JOINTS[0] + trans).
    fps:   frames per second (30 for everything ``load_motion`` returns by default).
    betas, gender: the body shape an AMASS file carried (any length, e.g. 16), written
           back on save so a round trip keeps it; mclip's skeleton ignores them. None:
           the neutral body (10 zeros).
    """

    poses: np.ndarray
    trans: np.ndarray
    fps: float = FPS
    betas: np.ndarray | None = None
    gender: str | None = None

    def __post_init__(self) -> None:
        self.poses = np.ascontiguousarray(self.poses, dtype=np.float32)
        self.trans = np.ascontiguousarray(self.trans, dtype=np.float32)
        self.fps = float(self.fps)
        T = self.poses.shape[0] if self.poses.ndim else 0
        if self.poses.shape != (T, NUM_JOINTS, 3) or self.trans.shape != (T, 3):
            raise ValueError(f"Motion expects poses (T, 24, 3) and trans (T, 3), "
                             f"got {self.poses.shape} and {self.trans.shape}")
        if not self.fps > 0:
            raise ValueError(f"Motion fps must be positive, got {self.fps}")
        if self.betas is not None:
            self.betas = np.asarray(self.betas, dtype=np.float64).reshape(-1)

    @property
    def num_frames(self) -> int:
        return int(self.poses.shape[0])

    @property
    def duration(self) -> float:
        """Seconds: frames / fps (90 frames at 30 fps = 3.0 s)."""
        return self.num_frames / self.fps

    def rotmats(self) -> torch.Tensor:
        """(T, 24, 3, 3) float32 torch rotation matrices of ``poses``."""
        with torch.no_grad():
            return axis_angle_to_matrix(torch.from_numpy(self.poses))

    def joints(self) -> np.ndarray:
        """(T, 24, 3) float32 world joint positions (metres, z-up) by forward kinematics."""
        return skeleton.joints_from_axis_angle(self.poses, self.trans)

    @property
    def travel(self) -> float:
        """Metres the root moves over the ground (path length of trans in x, y)."""
        return float(np.linalg.norm(np.diff(self.trans[:, :2].astype(np.float64), axis=0), axis=1).sum())

    def __repr__(self) -> str:
        return (f"Motion({self.num_frames} frames, {self.fps:g} fps, {self.duration:.2f} s, "
                f"travel {self.travel:.2f} m)")

    def save(self, path: str | os.PathLike) -> Path:
        """Write the motion by extension: .npz (SMPL, AMASS keys), .npy (joints), .bvh."""
        save_motion(self, path)
        return Path(path)

    def render(self, path: str | os.PathLike, caption: str | None = None,
               fps: float | None = None) -> Path:
        """Draw it as a stick figure: .mp4, .gif or .png (a contact sheet); see ``mclip.render``."""
        from .render import render

        return render(self.joints(), path, caption=caption, fps=float(fps or self.fps))

    def view(self, path: str | os.PathLike, caption: str | None = None) -> Path:
        """Write it as an interactive 3D viewer page (.html); see ``mclip.viewer``."""
        from .viewer import write_viewer

        return write_viewer([(caption or Path(path).stem, self.joints(), self.fps)], path)


def motion_from_rotmats(rotmats, trans, fps: float = FPS) -> Motion:
    """Build a Motion from (T, 24, 3, 3) rotation matrices (torch or numpy) and (T, 3) trans."""
    with torch.no_grad():
        R = torch.as_tensor(np.asarray(rotmats) if not torch.is_tensor(rotmats) else rotmats)
        poses = matrix_to_axis_angle(R.detach().double().cpu()).float().numpy()
    t = trans.detach().cpu().numpy() if torch.is_tensor(trans) else np.asarray(trans)
    return Motion(poses, t, fps)


def resample(motion: Motion, fps: float = FPS) -> Motion:
    """Resample to ``fps``: per-joint quaternion slerp for rotations, linear translation.

    The new frames sit at times k / fps, k = 0, 1, ... up to the last input frame's
    time (no extrapolation), so 61 frames at 60 fps -> 31 frames at 30 fps and
    25 frames at 25 fps (1 s) -> 30 frames at 30 fps. Interpolating axis-angle
    vectors linearly would be wrong (it neither keeps unit speed nor the shorter arc).
    """
    if abs(motion.fps - fps) < 1e-6:
        return Motion(motion.poses.copy(), motion.trans.copy(), fps, motion.betas, motion.gender)
    T = motion.num_frames
    n_out = int(math.floor((T - 1) * fps / motion.fps + 1e-6)) + 1
    u = np.arange(n_out, dtype=np.float64) * (motion.fps / fps)  # position in input frames
    i0 = np.minimum(np.floor(u + 1e-9).astype(np.int64), T - 1)
    i1 = np.minimum(i0 + 1, T - 1)
    frac = np.clip(u - i0, 0.0, 1.0)

    with torch.no_grad():
        q = axis_angle_to_quaternion(torch.from_numpy(motion.poses.astype(np.float64)))  # (T, 24, 4)
        t = torch.from_numpy(frac)[:, None].expand(n_out, NUM_JOINTS)
        q_new = quaternion_slerp(q[torch.from_numpy(i0)], q[torch.from_numpy(i1)], t)
        poses = quaternion_to_axis_angle(q_new).numpy()
    tr = motion.trans.astype(np.float64)
    trans = tr[i0] * (1.0 - frac)[:, None] + tr[i1] * frac[:, None]
    return Motion(poses, trans, fps, motion.betas, motion.gender)


# ----------------------------------------------------------------- reading


def _check_input(path: str | os.PathLike) -> tuple[Path, str]:
    """The path as Path and its lower-case extension; MclipError if it can't be read."""
    p = Path(path)
    if not p.exists():
        raise MclipError(f"{p}: no such file")
    if p.is_dir():
        raise MclipError(f"{p}: is a directory, expected a motion file (.npz, .npy or .bvh)")
    if not os.access(p, os.R_OK):
        raise MclipError(f"{p}: permission denied")
    ext = p.suffix.lower()
    if ext not in MOTION_EXTENSIONS:
        raise MclipError(f"{p}: unknown extension '{p.suffix}' (expected .npz, .npy or .bvh)")
    return p, ext


def _real(arr: np.ndarray) -> bool:
    """Integers or floats: not booleans, strings, objects or complex numbers."""
    return np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)


def _finite(name: str, what: str, arr: np.ndarray) -> None:
    if not np.isfinite(arr).all():
        raise MclipError(f"{name}: '{what}' contains NaN or inf")


# Beyond these a value is not a recording but garbage, and float32 maths on it (squares
# in FK, velocities) overflows to inf/NaN: refused when read.
MAX_ANGLE_RAD = 1e3      # axis-angle magnitude, ~160 turns
MAX_POSITION_M = 1e4     # root or joint position, 10 km from the origin
MIN_BONE_M = 1e-3        # a bone shorter than 1 mm in most frames: a degenerate skeleton
FPS_RANGE = skeleton.FPS_RANGE


def _check_rate(name: str, what: str, fps: float) -> None:
    if not (math.isfinite(fps) and FPS_RANGE[0] <= fps <= FPS_RANGE[1]):
        raise MclipError(f"{name}: '{what}' is {fps:g} fps; a recording's frame rate is "
                         f"{FPS_RANGE[0]:g} to {FPS_RANGE[1]:g}")


def _bounded(name: str, what: str, arr: np.ndarray, limit: float, unit: str) -> None:
    big = float(np.abs(arr).max()) if arr.size else 0.0
    if big > limit:
        raise MclipError(f"{name}: '{what}' holds values up to {big:.3g} {unit} (at most "
                         f"{limit:g} is a plausible motion)")


def _check_skeleton(name: str, joints: np.ndarray) -> None:
    """(T, 24, 3) joints must have bones: all-zero or collapsed joints fit no rotations."""
    parents, children = (list(side) for side in zip(*skeleton.BONES))
    lengths = np.linalg.norm(joints[:, children] - joints[:, parents], axis=-1)
    short = np.median(lengths, axis=0) < MIN_BONE_M
    if short.any():
        child = children[int(np.argmax(short))]
        raise MclipError(f"{name}: degenerate skeleton ({int(short.sum())} of {len(short)} bones "
                         f"have zero length, e.g. the one to {skeleton.JOINT_NAMES[child]})")


# Width of AMASS/SMPL-family pose vectors -> (joints in the file, index of the
# left/right index-finger base joint, or None).
#
# SMPL's joints 22/23 ('left_hand', 'right_hand') sit at the knuckles, where SMPL-H and
# SMPL-X put the base of the index finger (left_index1 / right_index1). So we give them
# those joints' rotations: the closest single rotation to "how the hand is bent". They
# are leaves of our skeleton, so this changes no joint position, only what a BVH shows.
# Files with body joints only (66 values) get zeros there.
_POSE_LAYOUTS = {
    66: (22, None),         # body only (22 joints)
    72: (24, None),         # SMPL: 24 joints, hands included
    156: (52, (22, 37)),    # SMPL-H: 22 body + 15 left hand + 15 right hand
    165: (55, (25, 40)),    # SMPL-X: 22 body + jaw + 2 eyes + 15 + 15 hand joints
}


def _smpl_poses(name: str, poses: np.ndarray) -> np.ndarray:
    """AMASS ``poses`` (T, 66 | 72 | 156 | 165) or (T, J, 3) -> (T, 24, 3) SMPL axis-angle."""
    if poses.ndim == 3 and poses.shape[2] == 3:
        poses = poses.reshape(poses.shape[0], -1)
    if poses.ndim != 2 or poses.shape[1] not in _POSE_LAYOUTS:
        raise MclipError(f"{name}: 'poses' has shape {poses.shape}, expected (T, 72) SMPL "
                         f"or (T, 156) SMPL-H axis-angle (also read: (T, 66), (T, 165))")
    T = poses.shape[0]
    n_joints, hands = _POSE_LAYOUTS[poses.shape[1]]
    per_joint = poses.reshape(T, n_joints, 3)
    out = np.zeros((T, NUM_JOINTS, 3), dtype=np.float32)
    if n_joints == 24:
        out[:] = per_joint
    else:
        out[:, :22] = per_joint[:, :22]
        if hands is not None:
            out[:, 22] = per_joint[:, hands[0]]
            out[:, 23] = per_joint[:, hands[1]]
    return out


def _read_npz(p: Path) -> Motion:
    name = str(p)
    if not zipfile.is_zipfile(p):
        raise MclipError(f"{name}: not an .npz archive (not a zip file)")
    try:
        data = np.load(p, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise MclipError(f"{name}: cannot read as .npz ({e})") from None
    with data:
        keys = set(data.files)

        def get(key: str) -> np.ndarray:
            try:
                return np.asarray(data[key])
            except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as e:
                raise MclipError(f"{name}: cannot read '{key}' ({e})") from None

        if "poses" not in keys:
            hint = " (an AMASS shape.npz? it holds body shape only)" if "betas" in keys else ""
            raise MclipError(f"{name}: missing key 'poses'{hint}")
        if "trans" not in keys:
            raise MclipError(f"{name}: missing key 'trans'")
        fps_key = next((k for k in ("mocap_framerate", "mocap_frame_rate", "fps") if k in keys), None)
        if fps_key is None:
            raise MclipError(f"{name}: missing key 'mocap_framerate' (the frame rate)")
        poses, trans, fps = get("poses"), get("trans"), get(fps_key)
        betas = get("betas") if "betas" in keys else None
        gender = get("gender") if "gender" in keys else None

    for key, arr in (("poses", poses), ("trans", trans), (fps_key, fps)):
        if not _real(arr):
            raise MclipError(f"{name}: '{key}' is not real-valued numbers (dtype {arr.dtype})")
    poses = _smpl_poses(name, poses.astype(np.float64))
    T = poses.shape[0]
    if T == 0:
        raise MclipError(f"{name}: the motion is empty (0 frames)")
    if trans.shape != (T, 3):
        raise MclipError(f"{name}: 'trans' has shape {trans.shape}, expected ({T}, 3) to match 'poses'")
    if fps.size != 1:
        raise MclipError(f"{name}: '{fps_key}' should be one number, got shape {fps.shape}")
    fps = float(fps.reshape(()))
    _finite(name, "poses", poses)
    _finite(name, "trans", trans)
    _bounded(name, "poses", poses, MAX_ANGLE_RAD, "rad")
    _bounded(name, "trans", trans, MAX_POSITION_M, "m")
    if not (math.isfinite(fps) and fps > 0):
        raise MclipError(f"{name}: '{fps_key}' must be a positive frame rate, got {fps}")
    _check_rate(name, fps_key, fps)
    # the body shape is kept for the round trip only: an unusable one is dropped, not fatal
    if betas is not None and not (_real(betas) and betas.ndim == 1 and 0 < betas.size <= 400
                                  and np.isfinite(betas).all()):
        betas = None
    if gender is not None and gender.dtype.kind in "US" and gender.size == 1:
        g = gender.reshape(()).item()
        gender = g.decode("utf-8", "replace") if isinstance(g, bytes) else str(g)
    else:
        gender = None
    return Motion(poses, trans, fps, betas, gender)


def _read_bvh(p: Path) -> Motion:
    try:
        text = p.read_text(encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise MclipError(f"{p}: not a readable BVH file (not text)") from None
    except OSError as e:
        raise MclipError(f"{p}: cannot read ({e.strerror or e})") from None
    rotmats, trans, fps = bvh.parse_bvh(text, str(p))
    _check_rate(str(p), "Frame Time", fps)
    _bounded(str(p), "root position", trans, MAX_POSITION_M, "m")
    return motion_from_rotmats(rotmats, trans, fps)


def _read_npy_joints(p: Path) -> np.ndarray:
    name = str(p)
    try:
        with open(p, "rb") as f:
            magic = f.read(6)
    except OSError as e:
        raise MclipError(f"{name}: cannot read ({e.strerror or e})") from None
    if magic != b"\x93NUMPY" and not zipfile.is_zipfile(p):
        # np.load would try it as a pickle and advise unsafe loading: never do that
        raise MclipError(f"{name}: not a .npy array (no NumPy header; a text or other file "
                         f"named .npy?)")
    try:
        arr = np.load(p, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise MclipError(f"{name}: not a readable .npy array ({e})") from None
    if not isinstance(arr, np.ndarray):  # np.load returns an NpzFile for zip archives
        arr.close()
        raise MclipError(f"{name}: is an .npz archive, not an .npy array")
    if not _real(arr):
        raise MclipError(f"{name}: joint array is not real-valued numbers (dtype {arr.dtype})")
    if arr.ndim != 3 or arr.shape[1:] != (NUM_JOINTS, 3):
        raise MclipError(f"{name}: joint array has shape {arr.shape}, expected (T, 24, 3)")
    if arr.shape[0] == 0:
        raise MclipError(f"{name}: the motion is empty (0 frames)")
    _finite(name, "joints", arr)
    _bounded(name, "joints", arr, MAX_POSITION_M, "m")
    _check_skeleton(name, arr)
    return arr.astype(np.float32)


def load_motion(path: str | os.PathLike, fps: float | None = FPS) -> Motion:
    """Read an ``.npz`` (AMASS / SMPL-H / ours) or ``.bvh`` motion.

    fps: resample to this rate (quaternion slerp); None keeps the file's own rate.
    """
    p, ext = _check_input(path)
    if ext == ".npy":
        raise MclipError(f"{p}: holds joint positions only (no rotations); "
                         f"an .npz or .bvh motion is needed here")
    motion = _read_npz(p) if ext == ".npz" else _read_bvh(p)
    motion = motion if fps is None else resample(motion, fps)
    if not np.isfinite(motion.joints()).all():
        raise MclipError(f"{p}: its poses give non-finite joint positions")
    return motion


def load_joints(path: str | os.PathLike) -> np.ndarray:
    """(T, 24, 3) float32 joint positions, metres, z-up, 30 fps from .npy, .npz or .bvh."""
    p, ext = _check_input(path)
    if ext == ".npy":
        return _read_npy_joints(p)
    return load_motion(p).joints()


# ----------------------------------------------------------------- writing


def _out_ext(path: str | os.PathLike) -> str:
    if Path(path).is_dir():
        raise MclipError(f"{path}: is a directory, expected an output file name such as "
                         f"{Path(path) / 'motion.npz'}")
    ext = Path(path).suffix.lower()
    if ext not in MOTION_EXTENSIONS:
        hint = (" (use `mclip render` for video)" if ext in RENDER_EXTS
                else " (use `mclip view` for a 3D viewer page)" if ext in VIEWER_EXTS else "")
        raise MclipError(f"{path}: unknown output extension '{Path(path).suffix}' "
                         f"(expected .npz, .npy or .bvh){hint}")
    return ext


def save_joints(joints: np.ndarray, path: str | os.PathLike) -> None:
    """Write (T, 24, 3) joint positions (metres, z-up, 30 fps) as a float32 ``.npy``."""
    ext = _out_ext(path)
    if ext != ".npy":
        raise MclipError(f"{path}: joint positions hold no rotations, so they can only be "
                         f"written as .npy (an {ext} file needs a Motion with rotations)")
    joints = np.asarray(joints, dtype=np.float32)
    if joints.ndim != 3 or joints.shape[1:] != (NUM_JOINTS, 3) or joints.shape[0] == 0:
        raise ValueError(f"save_joints expects (T, 24, 3) with T > 0, got {joints.shape}")
    if not np.isfinite(joints).all():
        raise MclipError(f"{path}: not written, the joints contain NaN or infinite values")
    with atomic_path(path) as tmp:
        np.save(tmp, joints)


def save_motion(motion: Motion, path: str | os.PathLike, bvh_units: str = "cm") -> None:
    """Write a motion by extension: ``.npz`` (AMASS keys), ``.npy`` (joints), ``.bvh``.

    Non-30 fps motions are resampled to 30 fps first (every mclip file is 30 fps).
    """
    ext = _out_ext(path)
    if motion.num_frames == 0:
        raise ValueError("save_motion: the motion has no frames")
    if not (np.isfinite(motion.poses).all() and np.isfinite(motion.trans).all()):
        raise MclipError(f"{path}: not written, the motion contains NaN or infinite values")
    motion = resample(motion, FPS)
    if ext == ".npy":
        save_joints(motion.joints(), path)
    elif ext == ".npz":
        with atomic_path(path) as tmp:
            np.savez(
                tmp,
                poses=motion.poses.reshape(motion.num_frames, NUM_JOINTS * 3),
                trans=motion.trans,
                mocap_framerate=np.float64(FPS),
                # the input's body shape when it had one; else the neutral body
                betas=motion.betas if motion.betas is not None else np.zeros(10, dtype=np.float64),
                gender=np.array(motion.gender or "neutral"),
            )
    else:
        try:
            text = bvh.bvh_text(motion.rotmats().double().numpy(), motion.trans, FPS, bvh_units)
        except MclipError as e:
            raise MclipError(f"{path}: {e}") from None
        with atomic_write(path, "w", encoding="utf-8") as f:
            f.write(text)


def convert(src: str | os.PathLike, dst: str | os.PathLike, bvh_units: str = "cm") -> dict:
    """Convert between .npz, .npy (joints) and .bvh; returns a small summary dict.

    .npy -> .npz/.bvh fits the rotations (``ik.fit_motion``; the summary's ``fit_error_m``
    is the mean joint error of the fit).
    """
    out_ext = _out_ext(dst)
    p, in_ext = _check_input(src)
    summary = {"input": str(src), "output": str(dst)}
    if in_ext == ".npy" and out_ext == ".npy":
        joints = _read_npy_joints(p)
        save_joints(joints, dst)
        frames = joints.shape[0]
    else:
        if in_ext == ".npy":
            from .ik import fit_motion

            motion, err = fit_motion(_read_npy_joints(p), source=str(p))
            summary["fit_error_m"] = round(err, 6)
        else:
            motion = load_motion(p)
        save_motion(motion, dst, bvh_units)
        frames = motion.num_frames
    return {**summary, "frames": int(frames), "fps": FPS}


# ----------------------------------------------------------------- summary


def motion_info(path: str | os.PathLike) -> dict:
    """What `mclip info` shows: frames, rates, duration, ranges, travel (JSON-ready).

    Positions are metres in the z-up world; statistics are computed at 30 fps.
    """
    p, ext = _check_input(path)
    if ext == ".npy":
        joints = _read_npy_joints(p)
        file_fps, file_frames, has_rot = FPS, joints.shape[0], False
    else:
        raw = load_motion(p, fps=None)
        file_fps, file_frames, has_rot = raw.fps, raw.num_frames, True
        joints = resample(raw, FPS).joints()
    J = joints.astype(np.float64)
    T = J.shape[0]
    pelvis = J[:, 0]
    step = np.linalg.norm(np.diff(pelvis[:, :2], axis=0), axis=1)
    extent = J[:, :, 2].max(axis=1) - J[:, :, 2].min(axis=1)
    r = lambda a: round(float(a), 4)  # noqa: E731  (4 decimals = 0.1 mm)
    return {
        "file": str(p),
        "format": ext[1:],
        "has_rotations": has_rot,
        "file_frames": int(file_frames),
        "file_fps": r(file_fps),
        "frames": int(T),
        "fps": FPS,
        "duration_s": r(T / FPS),
        "joint_range_m": {ax: [r(J[..., k].min()), r(J[..., k].max())] for k, ax in enumerate("xyz")},
        "root_travel_m": {"path": r(step.sum()), "net": r(np.linalg.norm(pelvis[-1, :2] - pelvis[0, :2]))},
        "pelvis_height_m": [r(pelvis[:, 2].min()), r(pelvis[:, 2].max())],
        "body_extent_z_m": [r(extent.min()), r(extent.max())],
        "lowest_joint_z_m": r(J[..., 2].min()),
    }
