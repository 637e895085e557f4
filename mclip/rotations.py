"""Rotation representations, batched in torch.

Conventions (used everywhere in mclip):
- rotation matrices act on column vectors: ``v_world = R @ v_local``;
- 6D (Zhou et al., 2019) = the first two *columns* of R, concatenated: ``(..., 6)``;
- axis-angle = unit axis times angle in radians: ``(..., 3)`` (what AMASS stores);
- quaternions are ``(w, x, y, z)`` with ``w >= 0`` after normalisation: ``(..., 4)``.

Every function takes any leading batch shape. Conversions are written to stay
finite (values and gradients) at angle 0 and near pi, where the textbook formulas
divide by sin(angle).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "rot6d_to_matrix", "matrix_to_rot6d",
    "axis_angle_to_matrix", "matrix_to_axis_angle",
    "axis_angle_to_quaternion", "quaternion_to_axis_angle",
    "quaternion_to_matrix", "matrix_to_quaternion",
    "quaternion_multiply", "quaternion_slerp",
    "axis_angle_to_rot6d", "rot6d_to_axis_angle",
    "rotation_about", "geodesic_angle",
]

_EPS = 1e-8


def rot6d_to_matrix(d6: torch.Tensor) -> torch.Tensor:
    """(..., 6) -> (..., 3, 3) by Gram-Schmidt on the two stored columns.

    Any 6-vector with two non-parallel halves maps to a valid rotation, which is
    what makes 6D a good network output (Zhou et al.).
    """
    a1, a2 = d6[..., 0:3], d6[..., 3:6]
    b1 = F.normalize(a1, dim=-1, eps=_EPS)
    b2 = F.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1, eps=_EPS)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack((b1, b2, b3), dim=-1)


def matrix_to_rot6d(R: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 6): first column then second column."""
    return torch.cat((R[..., :, 0], R[..., :, 1]), dim=-1)


def axis_angle_to_quaternion(aa: torch.Tensor) -> torch.Tensor:
    """(..., 3) -> (..., 4) wxyz. Uses sin(x/2)/x with a Taylor series near 0."""
    angle = torch.linalg.vector_norm(aa, dim=-1, keepdim=True)
    half = 0.5 * angle
    small = angle < 1e-4
    # sin(a/2)/a = 1/2 - a^2/48 + ...; the where() keeps the gradient finite at 0.
    safe = torch.where(small, torch.ones_like(angle), angle)
    k = torch.where(small, 0.5 - angle * angle / 48.0, torch.sin(half) / safe)
    return torch.cat((torch.cos(half), aa * k), dim=-1)


def quaternion_to_axis_angle(q: torch.Tensor) -> torch.Tensor:
    """(..., 4) wxyz -> (..., 3), angle in [0, pi]. Stable at 0 and at pi (atan2)."""
    q = F.normalize(q, dim=-1, eps=_EPS)
    q = torch.where(q[..., :1] < 0, -q, q)  # same rotation, angle <= pi
    xyz = q[..., 1:]
    s = torch.linalg.vector_norm(xyz, dim=-1, keepdim=True)
    angle = 2.0 * torch.atan2(s, q[..., :1])
    small = s < 1e-4
    safe = torch.where(small, torch.ones_like(s), s)
    # angle / s = 2 atan2(s, w) / s = (2 / w) (1 - s^2 / (3 w^2) + ...) near s = 0; keeping w
    # in the series keeps its gradient with respect to w right as well.
    w = q[..., :1].clamp(min=_EPS)
    k = torch.where(small, (2.0 / w) * (1.0 - s * s / (3.0 * w * w)), angle / safe)
    return xyz * k


def quaternion_to_matrix(q: torch.Tensor) -> torch.Tensor:
    """(..., 4) wxyz -> (..., 3, 3)."""
    q = F.normalize(q, dim=-1, eps=_EPS)
    w, x, y, z = q.unbind(-1)
    two = 2.0
    m = torch.stack((
        1 - two * (y * y + z * z), two * (x * y - w * z), two * (x * z + w * y),
        two * (x * y + w * z), 1 - two * (x * x + z * z), two * (y * z - w * x),
        two * (x * z - w * y), two * (y * z + w * x), 1 - two * (x * x + y * y),
    ), dim=-1)
    return m.reshape(q.shape[:-1] + (3, 3))


def matrix_to_quaternion(R: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 4) wxyz with w >= 0.

    Shepperd's method: of the four candidate formulas pick, per element, the one
    whose denominator is largest, so no branch divides by a small number.
    """
    m = R.reshape(R.shape[:-2] + (9,))
    m00, m01, m02, m10, m11, m12, m20, m21, m22 = m.unbind(-1)
    t = torch.stack((
        1 + m00 + m11 + m22,
        1 + m00 - m11 - m22,
        1 - m00 + m11 - m22,
        1 - m00 - m11 + m22,
    ), dim=-1)
    r = torch.sqrt(t.clamp(min=_EPS))  # r_i = 2 * |component i|
    cands = torch.stack((
        torch.stack((r[..., 0] ** 2, m21 - m12, m02 - m20, m10 - m01), -1) / (2 * r[..., 0:1]),
        torch.stack((m21 - m12, r[..., 1] ** 2, m10 + m01, m02 + m20), -1) / (2 * r[..., 1:2]),
        torch.stack((m02 - m20, m10 + m01, r[..., 2] ** 2, m12 + m21), -1) / (2 * r[..., 2:3]),
        torch.stack((m10 - m01, m20 + m02, m21 + m12, r[..., 3] ** 2), -1) / (2 * r[..., 3:4]),
    ), dim=-2)  # (..., 4 candidates, 4)
    best = t.argmax(dim=-1)
    q = torch.gather(cands, -2, best[..., None, None].expand(best.shape + (1, 4))).squeeze(-2)
    q = F.normalize(q, dim=-1, eps=_EPS)
    return torch.where(q[..., :1] < 0, -q, q)


def axis_angle_to_matrix(aa: torch.Tensor) -> torch.Tensor:
    """(..., 3) -> (..., 3, 3) (through the quaternion: no 1/angle anywhere)."""
    return quaternion_to_matrix(axis_angle_to_quaternion(aa))


def matrix_to_axis_angle(R: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 3), angle in [0, pi]."""
    return quaternion_to_axis_angle(matrix_to_quaternion(R))


def axis_angle_to_rot6d(aa: torch.Tensor) -> torch.Tensor:
    """(..., 3) -> (..., 6)."""
    return matrix_to_rot6d(axis_angle_to_matrix(aa))


def rot6d_to_axis_angle(d6: torch.Tensor) -> torch.Tensor:
    """(..., 6) -> (..., 3)."""
    return matrix_to_axis_angle(rot6d_to_matrix(d6))


def quaternion_multiply(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hamilton product a * b of (..., 4) wxyz quaternions (rotation b, then a)."""
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack((
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    ), dim=-1)


def quaternion_slerp(q0: torch.Tensor, q1: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
    """Spherical interpolation (..., 4) along the shorter arc; t=0 gives q0, t=1 gives q1.

    ``t`` broadcasts against the batch shape (pass ``(...,)`` or a float).
    """
    q0 = F.normalize(q0, dim=-1, eps=_EPS)
    q1 = F.normalize(q1, dim=-1, eps=_EPS)
    t = torch.as_tensor(t, dtype=q0.dtype, device=q0.device)
    if t.dim() > 0:
        t = t[..., None]
    dot = (q0 * q1).sum(-1, keepdim=True)
    q1 = torch.where(dot < 0, -q1, q1)  # shorter arc
    dot = dot.abs().clamp(max=1.0)
    theta = torch.acos(dot)
    sin_t = torch.sin(theta)
    near = sin_t < 1e-4  # nearly equal: linear interpolation is exact to first order
    safe = torch.where(near, torch.ones_like(sin_t), sin_t)
    w0 = torch.where(near, 1 - t, torch.sin((1 - t) * theta) / safe)
    w1 = torch.where(near, t, torch.sin(t * theta) / safe)
    return F.normalize(w0 * q0 + w1 * q1, dim=-1, eps=_EPS)


def rotation_about(axis: str, angle: torch.Tensor | float) -> torch.Tensor:
    """Rotation matrix (..., 3, 3) about the world axis 'x', 'y' or 'z' by ``angle`` radians."""
    # Keep a floating tensor's dtype and device (float64 in, float64 out).
    if not (torch.is_tensor(angle) and angle.is_floating_point()):
        angle = torch.as_tensor(angle, dtype=torch.get_default_dtype())
    c, s = torch.cos(angle), torch.sin(angle)
    o, z = torch.ones_like(angle), torch.zeros_like(angle)
    rows = {
        "x": (o, z, z, z, c, -s, z, s, c),
        "y": (c, z, s, z, o, z, -s, z, c),
        "z": (c, -s, z, s, c, z, z, z, o),
    }[axis]
    return torch.stack(rows, dim=-1).reshape(angle.shape + (3, 3))


def geodesic_angle(R1: torch.Tensor, R2: torch.Tensor) -> torch.Tensor:
    """Angle (radians) of the rotation between R1 and R2: (..., 3, 3) x2 -> (...)."""
    rel = R1.transpose(-1, -2) @ R2
    return torch.linalg.vector_norm(matrix_to_axis_angle(rel), dim=-1)
