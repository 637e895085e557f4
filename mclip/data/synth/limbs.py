"""Limbs by IK: analytic two-bone IK that places the ankles and wrists where wanted.

``two_bone_ik`` solves a hinge chain (thigh + shank, upper arm + forearm) for an end
position with a pole that chooses where the middle joint points, clamping out-of-reach
targets to the reachable shell. ``leg_ik`` places an ankle at world positions (so a
planted foot never slides) by setting hip, knee and optionally the ankle's rotation;
``arm_ik`` places a wrist in the chest or world frame by setting shoulder and elbow.
``ARM_BEND`` is each elbow's hinge axis, shared with the angle-driven arms of ``poses``.
(Not ``mclip.ik``, which fits SMPL rotations to observed joint positions.)
"""
from __future__ import annotations

import numpy as np

from ...rotations_np import axis_angle_to_matrix, rotate
from .axes import aim, rx
from .rig import J, OFF, Rig, chain_global, side_name


def two_bone_ik(a: np.ndarray, b: np.ndarray, bend_axis: np.ndarray, target: np.ndarray,
                pole: np.ndarray, min_bend: float = 0.03, max_bend: float = 2.6):
    """Analytic two-bone IK in the parent frame of the first joint.

    a, b:      (3,) rest bone vectors (joint1 -> joint2, joint2 -> end).
    bend_axis: (3,) axis of the middle joint's hinge (positive angle = bend).
    target:    (..., 3) wanted end position relative to joint1, in joint1's parent frame.
    pole:      (..., 3) direction the middle joint should point towards.
    returns (R1 (..., 3, 3) local rotation of joint1, theta (...) hinge angle).
    Out-of-reach targets are clamped to the reachable shell (the chain then points at them).
    """
    k = bend_axis / np.linalg.norm(bend_axis)
    b_par = (b @ k) * k
    b_perp = b - b_par
    kxb = np.cross(k, b)
    C = a @ b_par
    A = a @ b_perp
    Bc = a @ kxb
    M = np.hypot(A, Bc)
    delta = np.arctan2(Bc, A)
    base = a @ a + b @ b + 2 * C
    # |a + R(theta) b|^2 = base + 2 M cos(theta - delta)
    D = np.linalg.norm(target, axis=-1)

    def dist(theta):
        return np.sqrt(base + 2 * M * np.cos(theta - delta))

    d_max, d_min = dist(min_bend), dist(max_bend)
    Dc = np.clip(D, d_min, d_max)
    c = np.clip((Dc ** 2 - base) / (2 * M), -1.0, 1.0)
    # the two solutions are delta +- acos(c); bending is the one that grows with theta
    # when the distance shrinks: pick the candidate in [min_bend, max_bend].
    t1 = delta + np.arccos(c)
    t2 = delta - np.arccos(c)
    t1 = (t1 + np.pi) % (2 * np.pi) - np.pi
    t2 = (t2 + np.pi) % (2 * np.pi) - np.pi
    ok1 = (t1 >= min_bend - 1e-6) & (t1 <= max_bend + 1e-6)
    theta = np.where(ok1, t1, t2)
    theta = np.clip(theta, min_bend, max_bend)
    Rb = axis_angle_to_matrix(k * theta[..., None])
    v = a + rotate(Rb, np.broadcast_to(b, Rb.shape[:-1]))
    R1 = aim(v, np.broadcast_to(a, v.shape), target, pole)
    return R1, theta


def leg_ik(rig: Rig, side: int, ankle_world: np.ndarray, foot_world_R: np.ndarray | None,
           knee_out: np.ndarray | float = 0.0, pole: np.ndarray | None = None) -> None:
    """Place one ankle at world positions (B, T, 3) by setting hip + knee (+ ankle).

    foot_world_R: (B, T, 3, 3) wanted world rotation of the foot (None: keep the ankle's
    current local rotation). knee_out: radians the knee points outwards (turn-out).
    """
    hip, knee, ankle = side_name(side, "hip"), side_name(side, "knee"), side_name(side, "ankle")
    R0 = rig.root_rotation()
    hip_world = rig.pelvis + rotate(R0, OFF[hip])
    d = rotate(np.swapaxes(R0, -1, -2), ankle_world - hip_world)   # pelvis frame
    ko = np.broadcast_to(np.asarray(knee_out, dtype=np.float64), d.shape[:-1])
    # the knee points "ahead of the leg": the hip->ankle direction turned 90 degrees
    # forward in the sagittal plane (down -> forward, forward -> up, back-down ->
    # forward-down), so it is never parallel to the leg; knee_out turns it outwards
    if pole is None:
        n = np.linalg.norm(d[..., 1:], axis=-1) + 1e-9
        pole = np.stack([side * np.sin(ko), np.cos(ko) * d[..., 2] / n, -np.cos(ko) * d[..., 1] / n], -1)
    pole = np.broadcast_to(pole, d.shape)
    R1, theta = two_bone_ik(OFF[knee], OFF[ankle], np.array([1.0, 0, 0]), d, pole,
                            min_bend=0.02, max_bend=2.5)
    rig.local[:, :, hip] = R1
    rig.local[:, :, knee] = rx(theta)
    if foot_world_R is not None:
        shank_world = R0 @ R1 @ rx(theta)
        rig.local[:, :, ankle] = np.swapaxes(shank_world, -1, -2) @ foot_world_R


ARM_BEND = {1: np.array([0.0, -1.0, 0.0]), -1: np.array([0.0, 1.0, 0.0])}


def arm_ik(rig: Rig, side: int, wrist_target: np.ndarray, frame: str = "chest",
           pole: np.ndarray | None = None) -> None:
    """Place one wrist by setting shoulder + elbow rotations.

    wrist_target: (B, T, 3) position; ``frame="chest"``: in the body frame of spine3
    relative to that shoulder's rest position (x = body left, y up, z forward);
    ``frame="world"``: world coordinates.
    pole: (B, T, 3) or (3,) where the elbow points, chest frame (default: out, down, back).
    """
    sh, el, wr = side_name(side, "shoulder"), side_name(side, "elbow"), side_name(side, "wrist")
    col = side_name(side, "collar")
    G3, P3 = chain_global(rig, J["spine3"])
    Gc = G3 @ rig.local[:, :, col]
    if frame == "chest":
        sh_chest = OFF[col] + rotate(rig.local[:, :, col], OFF[sh])
        rest_sh = OFF[col] + OFF[sh]
        tgt_col = rotate(np.swapaxes(rig.local[:, :, col], -1, -2),
                         wrist_target + rest_sh - sh_chest)
    else:
        sh_world = P3 + rotate(G3, OFF[col]) + rotate(Gc, OFF[sh])
        tgt_col = rotate(np.swapaxes(Gc, -1, -2), wrist_target - sh_world)
    if pole is None:
        pole = np.array([0.35 * side, -1.0, -0.45])
    pole = np.broadcast_to(pole, tgt_col.shape)
    if frame == "chest":
        pole = rotate(np.swapaxes(rig.local[:, :, col], -1, -2), pole)
    R1, theta = two_bone_ik(OFF[el], OFF[wr], ARM_BEND[side], tgt_col, pole,
                            min_bend=0.05, max_bend=2.6)
    rig.local[:, :, sh] = R1
    rig.local[:, :, el] = axis_angle_to_matrix(ARM_BEND[side] * theta[..., None])
