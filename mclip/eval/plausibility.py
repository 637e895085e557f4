"""Plausibility metrics for motion (generated, decoded or real): the evaluation's physical
numbers (``eval.physics``) and the corpus gallery (``data.synth.gallery``) measure with them.

All functions take world joint positions ``joints (N, T, 24, 3)`` (metres, z up,
30 fps, floor at ``floor`` metres) or SMPL axis-angle ``poses (N, T, 24, 3)`` and
return one number per clip ``(N,)`` unless said otherwise.

Contact: a foot joint (ankle or toe) is *in contact* on a frame pair when its sole
is low (``sole height < height`` in both frames) and it moves slower than
``max_speed`` (m/s) horizontally. The sole height of a foot joint is its height
minus how high it sits above the floor when standing (skeleton.ANKLE/FOOT heights).
"""
from __future__ import annotations

import numpy as np

from .. import skeleton

FPS = skeleton.FPS
J = skeleton.JOINT_INDEX
FOOT_JOINTS = (J["left_ankle"], J["right_ankle"], J["left_foot"], J["right_foot"])
_ankle_h = float(skeleton.REST_JOINTS[J["left_ankle"], 1] - skeleton.REST_GROUND_Y)
SOLE_HEIGHT = np.array([_ankle_h, _ankle_h, skeleton.FOOT_HEIGHT, skeleton.FOOT_HEIGHT])
"""Height of each FOOT_JOINTS joint above the floor when standing flat (m)."""

# How far the body surface reaches below each joint (m): feet from the rest pose,
# hands/knees/trunk/head roughly (used for floor penetration).
SURFACE = np.full(24, 0.04)
SURFACE[list(FOOT_JOINTS)] = SOLE_HEIGHT
SURFACE[[J["pelvis"], J["spine1"], J["spine2"], J["spine3"]]] = 0.08
SURFACE[J["head"]] = 0.08
SURFACE[[J["left_wrist"], J["right_wrist"], J["left_hand"], J["right_hand"]]] = 0.025

_REST_BONES = np.array([np.linalg.norm(skeleton.REST_JOINTS[c] - skeleton.REST_JOINTS[p])
                        for p, c in skeleton.BONES])


def sole_heights(joints: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """(N, T, 24, 3) -> (N, T, 4) sole heights of left/right ankle, left/right toe (m)."""
    return joints[..., FOOT_JOINTS, 2] - floor - SOLE_HEIGHT


def foot_contacts(joints: np.ndarray, floor: float = 0.0, height: float = 0.03,
                  max_speed: float = 1.0, fps: float = FPS) -> np.ndarray:
    """(N, T, 24, 3) -> (N, T-1, 4) bool: foot joint low and slow on frames t and t+1."""
    h = sole_heights(joints, floor)
    low = (h[:, 1:] < height) & (h[:, :-1] < height)
    v = np.linalg.norm(np.diff(joints[..., FOOT_JOINTS, :2], axis=1), axis=-1) * fps
    return low & (v < max_speed)


def foot_skate(joints: np.ndarray, floor: float = 0.0, height: float = 0.03,
               max_speed: float = 1.0, fps: float = FPS) -> np.ndarray:
    """(N,) mean horizontal slide of foot joints per contact frame (m/frame); 0 if none.

    A perfectly planted foot scores 0; a foot sliding 1 cm per frame scores 0.01.
    """
    c = foot_contacts(joints, floor, height, max_speed, fps)
    d = np.linalg.norm(np.diff(joints[..., FOOT_JOINTS, :2], axis=1), axis=-1)
    n = c.sum((1, 2))
    return np.where(n > 0, (d * c).sum((1, 2)) / np.maximum(n, 1), 0.0)


def ground_penetration(joints: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """(N,) deepest point of the body surface below the floor over the clip (m, >= 0)."""
    depth = floor - (joints[..., 2] - SURFACE)
    return np.maximum(depth.max((1, 2)), 0.0)


def airborne_frames(joints: np.ndarray, floor: float = 0.0, gap: float = 0.03) -> np.ndarray:
    """(N, T) bool: every body surface point is more than ``gap`` above the floor (flight)."""
    return (joints[..., 2] - SURFACE - floor).min(-1) > gap


def bone_length_error(joints: np.ndarray) -> np.ndarray:
    """(N,) largest |bone length - rest bone length| over bones and frames (m)."""
    p = np.array([b[0] for b in skeleton.BONES])
    c = np.array([b[1] for b in skeleton.BONES])
    L = np.linalg.norm(joints[..., c, :] - joints[..., p, :], axis=-1)
    return np.abs(L - _REST_BONES).max((1, 2))


def acceleration(joints: np.ndarray, fps: float = FPS) -> np.ndarray:
    """(N,) largest joint acceleration magnitude (m/s^2), from second differences."""
    a = np.diff(joints, 2, axis=1) * fps ** 2
    return np.linalg.norm(a, axis=-1).max((1, 2))


def jerk(joints: np.ndarray, fps: float = FPS) -> np.ndarray:
    """(N,) mean joint jerk magnitude (m/s^3), from third differences."""
    j = np.diff(joints, 3, axis=1) * fps ** 3
    return np.linalg.norm(j, axis=-1).mean((1, 2))


def max_jerk(joints: np.ndarray, fps: float = FPS) -> np.ndarray:
    """(N,) largest joint jerk magnitude (m/s^3)."""
    j = np.diff(joints, 3, axis=1) * fps ** 3
    return np.linalg.norm(j, axis=-1).max((1, 2))


def knee_flexion(joints: np.ndarray) -> np.ndarray:
    """(N, T, 2) signed knee flexion (rad) of the left and right knee from positions.

    Magnitude = angle between thigh and shank. Sign: + when the shank turns backwards
    relative to the thigh about the hips' left-right axis (a normal bend), - when it
    bends forwards (hyper-extension). Positions cannot tell a sideways hinge (a thigh
    raised 90 degrees to the side) apart, so use ``hinge_angles`` when rotations exist.
    """
    lateral = joints[..., J["left_hip"], :] - joints[..., J["right_hip"], :]
    out = []
    for s in ("left", "right"):
        hip, knee, ank = (joints[..., J[f"{s}_{n}"], :] for n in ("hip", "knee", "ankle"))
        thigh, shank = knee - hip, ank - knee
        cos = (thigh * shank).sum(-1) / (np.linalg.norm(thigh, axis=-1) * np.linalg.norm(shank, axis=-1))
        ang = np.arccos(np.clip(cos, -1, 1))
        sign = np.where((np.cross(thigh, shank) * lateral).sum(-1) < 0, -1.0, 1.0)
        out.append(sign * ang)
    return np.stack(out, -1)


def _hinge(poses: np.ndarray, joint: int, axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signed angle about ``axis`` (swing-twist) and off-axis angle of a local rotation."""
    aa = np.asarray(poses[..., joint, :], dtype=np.float64)
    th = np.linalg.norm(aa, axis=-1)
    k = aa / np.maximum(th, 1e-9)[..., None]
    # quaternion (w, v); twist about axis = atan2(v . axis, w)
    w = np.cos(th / 2)
    v = k * np.sin(th / 2)[..., None]
    tw = 2 * np.arctan2(v @ axis, w)
    tw = (tw + np.pi) % (2 * np.pi) - np.pi
    # swing = the rest of the rotation (q * twist^-1): cos(swing/2) = |(w, v.axis)|,
    # sin(swing/2) = |v off the axis|; atan2 keeps it accurate near zero
    vt = v @ axis
    v_off = np.linalg.norm(v - vt[..., None] * axis, axis=-1)
    swing = 2 * np.arctan2(v_off, np.sqrt(w ** 2 + vt ** 2))
    return tw, swing


KNEE_AXIS = np.array([1.0, 0.0, 0.0])
ELBOW_AXIS = {"left": np.array([0.0, -1.0, 0.0]), "right": np.array([0.0, 1.0, 0.0])}


def hinge_angles(poses: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Knee and elbow bend (rad, + = normal direction) and off-hinge angle from poses.

    poses (N, T, 24, 3) axis-angle -> {"left_knee": (bend (N, T), off (N, T)), ...}.
    """
    out = {}
    for s in ("left", "right"):
        out[f"{s}_knee"] = _hinge(poses, J[f"{s}_knee"], KNEE_AXIS)
        out[f"{s}_elbow"] = _hinge(poses, J[f"{s}_elbow"], ELBOW_AXIS[s])
    return out


LIMITS = {"knee": (-0.1, 2.7), "elbow": (-0.1, 2.8)}
"""Allowed hinge range (rad): slight hyper-extension, full bend."""


def joint_limit_violation(poses: np.ndarray, off_hinge: float = 0.35) -> np.ndarray:
    """(N,) fraction of frames where a knee or elbow bends backwards, past full bend,
    or twists off its hinge by more than ``off_hinge`` rad."""
    bad = np.zeros(poses.shape[:2], dtype=bool)
    for name, (bend, off) in hinge_angles(poses).items():
        lo, hi = LIMITS[name.split("_")[1]]
        bad |= (bend < lo) | (bend > hi) | (off > off_hinge)
    return bad.mean(1)


def report(joints: np.ndarray, poses: np.ndarray | None = None, fps: float = FPS) -> dict[str, float]:
    """Mean (and worst) of every metric over a batch, as plain floats (for tables)."""
    out = {
        "foot_skate_cm": float(foot_skate(joints, fps=fps).mean() * 100),
        "penetration_cm_max": float(ground_penetration(joints).max() * 100),
        "bone_error_mm_max": float(bone_length_error(joints).max() * 1000),
        "jerk_mean": float(jerk(joints, fps).mean()),
        "accel_max": float(acceleration(joints, fps).max()),
        "airborne_frac": float(airborne_frames(joints).mean()),
    }
    if poses is not None:
        out["limit_violation_frac"] = float(joint_limit_violation(poses).mean())
    return out
