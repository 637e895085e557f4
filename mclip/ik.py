"""Inverse kinematics: joint rotations (+ root translation) from joint positions.

A ``.npy`` joints file ``(T, 24, 3)`` (metres, z-up, 30 fps) has no rotations, but the
model reads rotations. ``fit_rotations`` recovers them in two steps:

1. **Analytic start.** Walk the tree from the root. For each joint, choose its world
   rotation so that its rest bones point where the observed child joints are: with one
   child, the smallest rotation that swings the rest bone onto the observed bone; with
   several children (pelvis, spine3), the best rotation of all child bones at once
   (Kabsch / orthogonal Procrustes). The local rotation is the parent's world rotation
   undone. For joints of the same proportions as ``skeleton.REST_JOINTS`` this already
   reproduces the positions exactly.
2. **Polish.** A short Adam optimisation of the 6D rotations and translation through
   ``skeleton.forward_kinematics`` lowers the position error when the joints come from a
   body of other proportions, with a small pull towards the start (bone twist is not
   seen in positions; the start has the least twist) and towards smooth motion.

Leaf joints (feet, head, hands) have no child to aim at: their local rotation stays
the identity.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import skeleton
from .errors import MclipError
from .rotations import matrix_to_axis_angle, matrix_to_rot6d, rot6d_to_matrix

_CHILDREN = tuple(tuple(c for c in range(skeleton.NUM_JOINTS) if skeleton.PARENTS[c] == j)
                  for j in range(skeleton.NUM_JOINTS))


@dataclass
class IKConfig:
    """Polish settings. ``iters=0`` keeps the analytic start."""

    iters: int = 60
    lr: float = 0.01
    prior_weight: float = 1e-3   # pull of each 6D rotation towards the analytic start
    smooth_weight: float = 1e-2  # frame-to-frame change of the 6D rotations
    tolerance: float = 2e-3      # metres: a start this close is kept as it is


def _swing(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Smallest rotation taking direction a to direction b: (..., 3) x2 -> (..., 3, 3).

    Rodrigues' formula about a x b; antiparallel vectors turn pi about any perpendicular.
    """
    a = torch.nn.functional.normalize(a, dim=-1, eps=1e-9)
    b = torch.nn.functional.normalize(b, dim=-1, eps=1e-9)
    v = torch.cross(a, b, dim=-1)
    c = (a * b).sum(-1)
    s = torch.linalg.vector_norm(v, dim=-1)
    # Perpendicular axis for the antiparallel case: a x (1,0,0), or a x (0,1,0).
    ex = torch.zeros_like(a); ex[..., 0] = 1
    ey = torch.zeros_like(a); ey[..., 1] = 1
    perp = torch.cross(a, ex, dim=-1)
    perp = torch.where(torch.linalg.vector_norm(perp, dim=-1, keepdim=True) < 1e-3,
                       torch.cross(a, ey, dim=-1), perp)
    anti = (c < -0.9999) & (s < 1e-4)
    axis = torch.where(anti[..., None], perp, v / s.clamp(min=1e-12)[..., None])
    axis = torch.nn.functional.normalize(axis, dim=-1, eps=1e-9)
    angle = torch.where(anti, torch.full_like(c, torch.pi), torch.atan2(s, c))
    K = torch.zeros(a.shape[:-1] + (3, 3), dtype=a.dtype)
    x, y, z = axis.unbind(-1)
    K[..., 0, 1], K[..., 0, 2] = -z, y
    K[..., 1, 0], K[..., 1, 2] = z, -x
    K[..., 2, 0], K[..., 2, 1] = -y, x
    eye = torch.eye(3, dtype=a.dtype).expand_as(K)
    sa, ca = torch.sin(angle)[..., None, None], torch.cos(angle)[..., None, None]
    R = eye + sa * K + (1 - ca) * (K @ K)
    return torch.where((s < 1e-9)[..., None, None] & ~anti[..., None, None], eye, R)


def _kabsch(src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    """Rotation R minimising sum |R src_i - dst_i|^2: (..., N, 3) x2 -> (..., 3, 3)."""
    H = src.transpose(-1, -2) @ dst                      # (..., 3, 3) = sum src_i dst_i^T
    U, _, Vt = torch.linalg.svd(H)
    d = torch.sign(torch.linalg.det(Vt.transpose(-1, -2) @ U.transpose(-1, -2)))
    D = torch.diag_embed(torch.stack([torch.ones_like(d), torch.ones_like(d), d], dim=-1))
    return Vt.transpose(-1, -2) @ D @ U.transpose(-1, -2)


def analytic_rotations(joints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """joints (T, 24, 3) world metres -> (rotmats (T, 24, 3, 3) local, trans (T, 3))."""
    T = joints.shape[0]
    off = skeleton.rest_offsets().to(joints.dtype)       # (24, 3) rest bone vectors
    glob = [None] * skeleton.NUM_JOINTS
    local = torch.eye(3, dtype=joints.dtype).repeat(T, skeleton.NUM_JOINTS, 1, 1)
    for j in range(skeleton.NUM_JOINTS):
        p = skeleton.PARENTS[j]
        parent_glob = glob[p] if p >= 0 else torch.eye(3, dtype=joints.dtype).expand(T, 3, 3)
        kids = _CHILDREN[j]
        if not kids:
            glob[j] = parent_glob
            continue
        observed = joints[:, list(kids)] - joints[:, j:j + 1]          # (T, K, 3)
        rest = off[list(kids)].expand(T, len(kids), 3)                  # (T, K, 3)
        if len(kids) == 1:
            # Swing the parent-predicted bone onto the observed one.
            predicted = (parent_glob @ rest[:, 0, :, None])[..., 0]
            G = _swing(predicted, observed[:, 0]) @ parent_glob
        else:
            G = _kabsch(rest, observed)
        glob[j] = G
        local[:, j] = parent_glob.transpose(-1, -2) @ G
    trans = joints[:, 0] - torch.as_tensor(skeleton.REST_JOINTS[0], dtype=joints.dtype)
    return local, trans


def fit_rotations(joints: np.ndarray, cfg: IKConfig | None = None, source: str = "joints"
                  ) -> tuple[np.ndarray, np.ndarray, float]:
    """Fit SMPL rotations to joint positions.

    joints: (T, 24, 3) float, metres, z-up world.
    returns: (poses (T, 24, 3) axis-angle float32, trans (T, 3) float32,
              mean joint error in metres after fitting).
    """
    cfg = cfg or IKConfig()
    J = np.asarray(joints, dtype=np.float32)
    if J.ndim != 3 or J.shape[1:] != (24, 3) or J.shape[0] < 1:
        raise MclipError(f"{source}: joints must be (T, 24, 3), got {J.shape}")
    if not np.isfinite(J).all():
        raise MclipError(f"{source}: joints contain NaN or inf")
    target = torch.from_numpy(J)
    with torch.no_grad():
        R0, t0 = analytic_rotations(target)
    d6_start = matrix_to_rot6d(R0)
    d6 = d6_start.clone().requires_grad_(True)
    tr = t0.clone().requires_grad_(True)
    with torch.no_grad():
        start_err = float(torch.linalg.vector_norm(
            skeleton.forward_kinematics(R0, t0) - target, dim=-1).mean())
    # Adam's first steps move every parameter by about lr whatever the gradient, so an
    # already exact start (same proportions) is left alone.
    if cfg.iters > 0 and start_err > cfg.tolerance:
        opt = torch.optim.Adam([d6, tr], lr=cfg.lr)
        for _ in range(cfg.iters):
            opt.zero_grad()
            pred = skeleton.forward_kinematics(rot6d_to_matrix(d6), tr)
            loss = ((pred - target) ** 2).sum(-1).mean()
            loss = loss + cfg.prior_weight * ((d6 - d6_start) ** 2).mean()
            if d6.shape[0] > 1:
                loss = loss + cfg.smooth_weight * ((d6[1:] - d6[:-1]) ** 2).mean()
            loss.backward()
            opt.step()
    with torch.no_grad():
        R = rot6d_to_matrix(d6)
        err = torch.linalg.vector_norm(skeleton.forward_kinematics(R, tr) - target, dim=-1)
        if float(err.mean()) > start_err:          # never return worse than the start
            R, tr, err = R0, t0, torch.full_like(err, start_err)
        poses = matrix_to_axis_angle(R).numpy().astype(np.float32)
        return poses, tr.detach().numpy().astype(np.float32), float(err.mean())
