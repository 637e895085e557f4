"""Output: a rig as SMPL arrays, and the rigid moves of finished clips.

``finalize`` turns a :class:`~.rig.Rig` into SMPL axis-angle ``poses (B, T, 24, 3)`` (root
orientation at joint 0) and ``trans (B, T, 3)``, both float32. ``mirror`` swaps
left and right (a reflection about the world x = 0 plane) and ``place`` turns clips about
the world z axis through their first-frame pelvis and moves them to a new start: both act
on the arrays, so they apply to any clip, not only to rigs.
"""
from __future__ import annotations

import numpy as np

from ... import skeleton
from ...rotations_np import axis_angle_to_matrix, matrix_to_axis_angle
from .axes import rz
from .rig import REST, Rig


def finalize(rig: Rig) -> tuple[np.ndarray, np.ndarray]:
    """Rig -> (poses (B, T, 24, 3) axis-angle float32, trans (B, T, 3) float32)."""
    R = rig.local.copy()
    R[:, :, 0] = rig.root_rotation()
    poses = matrix_to_axis_angle(R).astype(np.float32)
    trans = (rig.pelvis - REST[0]).astype(np.float32)
    return poses, trans


def mirror(poses: np.ndarray, trans: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Left/right mirror about the world x = 0 plane (body left <-> right).

    poses (..., T, 24, 3), trans (..., T, 3). The reflection diag(-1, 1, 1) acts the same
    in the world and the body frame, so axis-angle (x, y, z) -> (x, -y, -z) with the
    left and right joints swapped.
    """
    p = poses[..., list(skeleton.MIRROR), :].copy()
    p[..., 1:] *= -1
    t = trans.copy()
    t[..., 0] = -t[..., 0] + 2 * REST[0, 0]
    return p, t


def place(poses: np.ndarray, trans: np.ndarray, yaw: np.ndarray, xy: np.ndarray):
    """Turn clips about the world z axis through their first-frame pelvis and move them.

    poses (B, T, 24, 3), trans (B, T, 3), yaw (B,) radians, xy (B, 2) new start pelvis xy.
    """
    Rz = rz(yaw)                                           # (B, 3, 3)
    R0 = axis_angle_to_matrix(poses[:, :, 0])
    poses = poses.copy()
    poses[:, :, 0] = matrix_to_axis_angle(Rz[:, None] @ R0)
    pel = trans + REST[0]
    start = pel[:, :1, :].copy()
    rel = pel - start
    rel = np.einsum("bij,btj->bti", Rz, rel)
    out = rel + start
    out[..., :2] += xy[:, None, :] - start[..., :2]
    return poses.astype(np.float32), (out - REST[0]).astype(np.float32)
