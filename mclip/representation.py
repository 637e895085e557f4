"""Model features: what the auto-encoder reads and writes.

A clip is ``(..., T, 25, 6)`` (see docs/ARCHITECTURE.md "Model features"):

- rows 0..23: the 24 local joint rotations in 6D (``rotations.matrix_to_rot6d``),
  row 0 being the global orientation;
- row 24: the root translation ``(tx, ty, tz, 0, 0, 0)`` in metres, world z-up.

Before a clip becomes features it is *canonicalized*: the whole clip is turned
about world z so that its first frame faces world -y (the direction an upright
``skeleton.STAND`` body faces) and shifted so that the first frame's pelvis sits
above the origin (height is kept). The model then never has to learn where in the
room, or which way round, a motion happened.

Heading convention: ``heading`` is the yaw (radians, counter-clockwise about +z)
that turns the STAND facing (-y) into the body's facing. 0 = facing -y,
+pi/2 = facing +x.
"""
from __future__ import annotations

import numpy as np
import torch

from . import skeleton
from .rotations import (
    axis_angle_to_matrix,
    matrix_to_axis_angle,
    matrix_to_rot6d,
    rot6d_to_matrix,
)

__all__ = [
    "NUM_ROWS", "heading", "canonicalize", "to_features", "from_features",
    "motion_to_features", "features_to_motion",
]

NUM_ROWS = 25
"""24 joint rotations + 1 root-translation row."""

# Below this horizontal length (of a unit vector) the body's forward axis is too
# close to vertical (lying face down / up) to give a reliable heading; we then read
# the heading from the body's left axis instead.
_MIN_HORIZONTAL = 0.2


def heading(rotmats_root: torch.Tensor) -> torch.Tensor:
    """Yaw of the body's facing about world z: (..., 3, 3) root rotations -> (...) radians.

    The body faces its own +z axis (SMPL body frame); in the world that is
    ``R @ (0, 0, 1)``, the third column of R. Its horizontal part gives the yaw,
    measured from world -y (0 for ``skeleton.STAND``). When the body lies face down
    or up the forward axis is near vertical, and the heading is taken from the left
    axis (first column) crossed with world up, which agrees with the forward axis
    for an upright body.
    """
    fwd = rotmats_root[..., :2, 2]                       # (..., 2) forward x, y
    left = rotmats_root[..., :2, 0]                      # (..., 2) left x, y
    from_left = torch.stack((left[..., 1], -left[..., 0]), dim=-1)  # left x ez
    use_fwd = torch.linalg.vector_norm(fwd, dim=-1, keepdim=True) >= _MIN_HORIZONTAL
    v = torch.where(use_fwd, fwd, from_left)
    # facing direction (sin h, -cos h) == Rz(h) @ (0, -1)
    return torch.atan2(v[..., 0], -v[..., 1])


def _yaw_matrix(angle: torch.Tensor) -> torch.Tensor:
    """(...) radians -> (..., 3, 3) rotation about world z, in the angle's dtype."""
    c, s = torch.cos(angle), torch.sin(angle)
    o, z = torch.ones_like(angle), torch.zeros_like(angle)
    return torch.stack((c, -s, z, s, c, z, z, z, o), dim=-1).reshape(angle.shape + (3, 3))


def canonicalize(
    rotmats: torch.Tensor,
    trans: torch.Tensor,
    rest: torch.Tensor | np.ndarray = skeleton.REST_JOINTS,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Turn and shift a clip so its first frame faces -y with the pelvis above the origin.

    rotmats: (..., T, 24, 3, 3) local rotations (row 0 = global orientation), z-up world.
    trans:   (..., T, 3) root translation in metres (smplx semantics: the pelvis is at
             ``rest[0] + trans``).
    returns: (rotmats, trans) of the same shapes. Only joint 0 and trans change;
             the first frame's pelvis z (height) is kept.

    The whole clip is rotated rigidly about world z by ``-heading(frame 0)``, so joint
    positions from ``skeleton.forward_kinematics`` are the original ones rotated about
    the origin, then shifted in xy.
    """
    yaw0 = heading(rotmats[..., 0, 0, :, :])             # (...)
    Rc = _yaw_matrix(-yaw0)                              # (..., 3, 3)
    Rc_t = Rc[..., None, :, :]                           # broadcast over T
    root = Rc_t @ rotmats[..., :, 0, :, :]               # (..., T, 3, 3)
    rotmats = torch.cat((root[..., :, None, :, :], rotmats[..., :, 1:, :, :]), dim=-3)

    # FK rotates each body about its pelvis, found at rest0 + trans; rotating the world
    # therefore moves the pelvis to Rc (rest0 + trans), i.e. trans' = Rc (rest0 + trans) - rest0.
    rest0 = torch.as_tensor(np.asarray(rest)[0], dtype=trans.dtype, device=trans.device)
    pelvis = ((Rc_t @ (trans + rest0)[..., None])[..., 0])  # (..., T, 3)
    shift = pelvis[..., :1, :].clone()                   # first frame pelvis
    shift[..., 2] = 0.0                                  # keep height
    trans = pelvis - shift - rest0
    return rotmats, trans


def to_features(rotmats: torch.Tensor, trans: torch.Tensor) -> torch.Tensor:
    """(..., T, 24, 3, 3) rotations + (..., T, 3) translation -> (..., T, 25, 6) features.

    Does not canonicalize (call ``canonicalize`` first, or use ``motion_to_features``).
    """
    rot6 = matrix_to_rot6d(rotmats)                      # (..., T, 24, 6)
    root = torch.cat((trans, torch.zeros_like(trans)), dim=-1)[..., None, :]
    return torch.cat((rot6, root.to(rot6.dtype)), dim=-2)


def from_features(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(..., T, 25, 6) -> (rotmats (..., T, 24, 3, 3), trans (..., T, 3)).

    Rotations go through Gram-Schmidt, so any network output gives valid rotations.
    """
    return rot6d_to_matrix(x[..., :24, :]), x[..., 24, :3]


def motion_to_features(poses_aa, trans, canonical: bool = True) -> torch.Tensor:
    """numpy/torch axis-angle (..., T, 24, 3) or (..., T, 72) + trans (..., T, 3) -> (..., T, 25, 6).

    float32 torch tensor; canonicalized unless ``canonical=False``.
    """
    aa = torch.as_tensor(np.asarray(poses_aa, dtype=np.float32))
    if aa.shape[-1] == 72:
        aa = aa.reshape(aa.shape[:-1] + (24, 3))
    tr = torch.as_tensor(np.asarray(trans, dtype=np.float32))
    R = axis_angle_to_matrix(aa)
    if canonical:
        R, tr = canonicalize(R, tr)
    return to_features(R, tr)


def features_to_motion(x) -> tuple[np.ndarray, np.ndarray]:
    """(..., T, 25, 6) features -> numpy (poses (..., T, 24, 3) axis-angle, trans (..., T, 3)), float32."""
    x = torch.as_tensor(x, dtype=torch.float32)
    with torch.no_grad():
        R, tr = from_features(x.detach().cpu())
        aa = matrix_to_axis_angle(R)
    return aa.numpy().astype(np.float32), tr.numpy().astype(np.float32)
