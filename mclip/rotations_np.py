"""Rotations in numpy, for the code that runs without torch tensors: the procedural
corpus (``mclip.data.synth``) and BVH files (``mclip.bvh``). ``mclip.rotations`` holds the
torch versions the model and the engine use; tests check the two against each other and
against scipy.

Conventions: right-handed, column vectors (``v' = R @ v``), angles in radians; Euler
channel orders read left to right as intrinsic rotations (``"ZYX"``: R = Rz @ Ry @ Rx).
"""
from __future__ import annotations

import numpy as np


def axis_rotation(axis: str, angle: np.ndarray) -> np.ndarray:
    """(...,) radians about 'X', 'Y' or 'Z' -> (..., 3, 3) rotation matrices (numpy)."""
    c, s = np.cos(angle), np.sin(angle)
    o, z = np.ones_like(angle), np.zeros_like(angle)
    rows = {
        "X": (o, z, z, z, c, -s, z, s, c),
        "Y": (c, z, s, z, o, z, -s, z, c),
        "Z": (c, -s, z, s, c, z, z, z, o),
    }[axis]
    return np.stack(rows, axis=-1).reshape(np.shape(angle) + (3, 3))


def euler_to_matrix(angles: np.ndarray, order: str) -> np.ndarray:
    """(..., k) radians in channel ``order`` (e.g. "ZYX") -> (..., 3, 3).

    BVH channel order reads left to right as intrinsic rotations:
    ``R = R_order[0] @ R_order[1] @ ...``.
    """
    R = np.broadcast_to(np.eye(3), np.shape(angles)[:-1] + (3, 3)).copy()
    for k, axis in enumerate(order):
        R = R @ axis_rotation(axis, angles[..., k])
    return R


def matrix_to_euler_zyx(R: np.ndarray) -> np.ndarray:
    """(..., 3, 3) -> (..., 3) radians (z, y, x) with ``R = Rz(z) @ Ry(y) @ Rx(x)``.

    y lies in [-pi/2, pi/2]. At gimbal lock (|y| = pi/2) only z - x (or z + x) is
    defined; x is then set to 0 and z carries the whole turn.
    """
    R = np.asarray(R, dtype=np.float64)
    cos_y = np.hypot(R[..., 0, 0], R[..., 1, 0])
    y = np.arctan2(-R[..., 2, 0], cos_y)
    locked = cos_y < 1e-9
    z = np.where(locked, np.arctan2(-R[..., 0, 1], R[..., 1, 1]), np.arctan2(R[..., 1, 0], R[..., 0, 0]))
    x = np.where(locked, 0.0, np.arctan2(R[..., 2, 1], R[..., 2, 2]))
    return np.stack((z, y, x), axis=-1)


def axis_angle_to_matrix(aa: np.ndarray) -> np.ndarray:
    """(..., 3) axis-angle -> (..., 3, 3) (Rodrigues), safe at zero."""
    aa = np.asarray(aa, dtype=np.float64)
    th = np.linalg.norm(aa, axis=-1, keepdims=True)
    k = aa / np.maximum(th, 1e-12)
    K = np.zeros(aa.shape[:-1] + (3, 3))
    K[..., 0, 1], K[..., 0, 2] = -k[..., 2], k[..., 1]
    K[..., 1, 0], K[..., 1, 2] = k[..., 2], -k[..., 0]
    K[..., 2, 0], K[..., 2, 1] = -k[..., 1], k[..., 0]
    th = th[..., None]
    return np.eye(3) + np.sin(th) * K + (1 - np.cos(th)) * (K @ K)


def matrix_to_axis_angle(R: np.ndarray) -> np.ndarray:
    """(..., 3, 3) -> (..., 3) axis-angle with angle in [0, pi], via quaternions."""
    R = np.asarray(R, dtype=np.float64)
    m = R
    tr = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    # Shepperd's method: pick the largest of 4 candidates for numerical safety.
    cand = np.stack([tr, m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]], -1)
    which = np.argmax(cand, -1)
    q = np.zeros(R.shape[:-2] + (4,))
    s0 = np.sqrt(np.maximum(1 + tr, 1e-12)) * 2
    s1 = np.sqrt(np.maximum(1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2], 1e-12)) * 2
    s2 = np.sqrt(np.maximum(1 + m[..., 1, 1] - m[..., 0, 0] - m[..., 2, 2], 1e-12)) * 2
    s3 = np.sqrt(np.maximum(1 + m[..., 2, 2] - m[..., 0, 0] - m[..., 1, 1], 1e-12)) * 2
    q0 = np.stack([0.25 * s0, (m[..., 2, 1] - m[..., 1, 2]) / s0,
                   (m[..., 0, 2] - m[..., 2, 0]) / s0, (m[..., 1, 0] - m[..., 0, 1]) / s0], -1)
    q1 = np.stack([(m[..., 2, 1] - m[..., 1, 2]) / s1, 0.25 * s1,
                   (m[..., 0, 1] + m[..., 1, 0]) / s1, (m[..., 0, 2] + m[..., 2, 0]) / s1], -1)
    q2 = np.stack([(m[..., 0, 2] - m[..., 2, 0]) / s2, (m[..., 0, 1] + m[..., 1, 0]) / s2,
                   0.25 * s2, (m[..., 1, 2] + m[..., 2, 1]) / s2], -1)
    q3 = np.stack([(m[..., 1, 0] - m[..., 0, 1]) / s3, (m[..., 0, 2] + m[..., 2, 0]) / s3,
                   (m[..., 1, 2] + m[..., 2, 1]) / s3, 0.25 * s3], -1)
    q = np.where((which == 0)[..., None], q0,
                 np.where((which == 1)[..., None], q1, np.where((which == 2)[..., None], q2, q3)))
    q = q * np.where(q[..., :1] < 0, -1.0, 1.0)  # w >= 0 -> angle in [0, pi]
    vn = np.linalg.norm(q[..., 1:], axis=-1, keepdims=True)
    angle = 2 * np.arctan2(vn, q[..., :1])
    return q[..., 1:] * (angle / np.maximum(vn, 1e-12))


def rotate(R: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(..., 3, 3) @ (..., 3) -> (..., 3)."""
    return np.einsum("...ij,...j->...i", R, v)
