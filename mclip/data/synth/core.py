"""Building blocks of the procedural motion generator (numpy, batched over clips).

Frames and units (see ``mclip.skeleton``):
- world: z up, metres, 30 fps; at heading 0 a person faces world -y and their
  left is world +x. Heading (yaw) is positive counter-clockwise seen from above,
  i.e. a positive heading change is a turn to the left.
- body frame (the rest pose): y up, facing +z, +x = the body's left. Every joint's
  local frame equals the body frame in the rest pose, so a local rotation reads
  in body axes: flexing a hip (thigh forward) is a *negative* turn about x, bending
  the spine forward or a knee backward is a *positive* turn about x.

A clip batch is a :class:`Rig`: per-joint local rotations plus a root described as
``heading`` (yaw about world z), ``lean`` (pelvis tilt in the body frame) and the
``pelvis`` world position. Leg and arm poses come either from joint-angle curves or
from the analytic two-bone IK below (feet planted at world positions never slide).
``finalize`` turns a rig into SMPL axis-angle ``poses (B, T, 24, 3)`` and ``trans``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ... import skeleton
from ...rotations_np import axis_angle_to_matrix, axis_rotation, matrix_to_axis_angle, rotate

FPS = skeleton.FPS
J = skeleton.JOINT_INDEX
REST = skeleton.REST_JOINTS.astype(np.float64)
PARENTS = skeleton.PARENTS
OFF = REST - REST[[0] + list(PARENTS[1:])]
OFF[0] = REST[0]
"""(24, 3) rest bone vectors from each joint's parent (body frame, metres)."""

GROUND_Y = skeleton.REST_GROUND_Y
STANDING_PELVIS_Z = float(REST[0, 1] - GROUND_Y)
"""World height of the pelvis joint of an upright person standing on z = 0 (~0.99 m)."""

# Contact radii: how far the body surface lies below each joint (metres). The lowest
# "joint minus radius" of a supported body touches the floor.
CONTACT_RADIUS = np.full(24, 0.06)
CONTACT_RADIUS[[J["left_ankle"], J["right_ankle"]]] = REST[J["left_ankle"], 1] - GROUND_Y
CONTACT_RADIUS[[J["left_foot"], J["right_foot"]]] = skeleton.FOOT_HEIGHT
CONTACT_RADIUS[[J["left_knee"], J["right_knee"]]] = 0.05
CONTACT_RADIUS[[J["left_wrist"], J["right_wrist"], J["left_hand"], J["right_hand"]]] = 0.03
CONTACT_RADIUS[[J["pelvis"], J["spine1"], J["spine2"], J["spine3"]]] = 0.10
CONTACT_RADIUS[J["head"]] = 0.09

# Side-dependent joint names: side +1 = left, -1 = right.
def side_name(side: int, part: str) -> int:
    return J[("left_" if side > 0 else "right_") + part]


# ------------------------------------------------------------------ rotations


def rx(a) -> np.ndarray:
    """(...,) angle in radians -> (..., 3, 3) rotation about x."""
    return axis_rotation("X", np.asarray(a, dtype=np.float64))


def ry(a) -> np.ndarray:
    """(...,) -> (..., 3, 3) rotation about y."""
    return axis_rotation("Y", np.asarray(a, dtype=np.float64))


def rz(a) -> np.ndarray:
    """(...,) -> (..., 3, 3) rotation about z."""
    return axis_rotation("Z", np.asarray(a, dtype=np.float64))


def euler(x=0.0, y=0.0, z=0.0) -> np.ndarray:
    """Local joint rotation ``Rz(z) @ Ry(y) @ Rx(x)``, angles broadcast -> (..., 3, 3).

    For a spine/neck joint: x = bend forward (+), y = twist to the left (+),
    z = side bend (+ tilts the upper body to the body's right, i.e. +y toward -x).
    """
    x, y, z = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (x, y, z)))
    return rz(z) @ ry(y) @ rx(x)


def aim(u_from: np.ndarray, w_from: np.ndarray, u_to: np.ndarray, w_to: np.ndarray) -> np.ndarray:
    """Rotation R (..., 3, 3) with R u_from || u_to and R w_from in the (u_to, w_to) half-plane.

    All vectors (..., 3); the ``w`` vectors only choose the twist about ``u``.
    """
    def frame(u, w):
        e1 = u / np.linalg.norm(u, axis=-1, keepdims=True)
        w = w - (w * e1).sum(-1, keepdims=True) * e1
        e2 = w / np.maximum(np.linalg.norm(w, axis=-1, keepdims=True), 1e-12)
        return np.stack([e1, e2, np.cross(e1, e2)], -1)  # columns

    E = frame(np.broadcast_to(u_from, np.broadcast_shapes(u_from.shape, w_from.shape)), w_from)
    F = frame(np.broadcast_to(u_to, np.broadcast_shapes(u_to.shape, w_to.shape)), w_to)
    return F @ np.swapaxes(E, -1, -2)


# ------------------------------------------------------------------ time bases


def smoothstep(x):
    """Clamped C1 ease 0 -> 1 on x in [0, 1]."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def smootherstep(x):
    """Clamped C2 ease 0 -> 1."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * x * (x * (6 * x - 15) + 10)


def bump(x):
    """0 -> 1 -> 0 on x in [0, 1], smooth (sin^2), zero outside."""
    x = np.clip(x, 0.0, 1.0)
    return np.sin(np.pi * x) ** 2


def smooth_noise(rng: np.random.Generator, shape: tuple, T: int, scale: float,
                 knots_per_s: float = 1.5) -> np.ndarray:
    """Band-limited noise (shape + (T,)): random knots joined by cosine interpolation.

    ``scale`` is the standard deviation of the knots; the curve is C1-smooth so it adds
    no jerk spikes.
    """
    n_knots = int(np.ceil(T / FPS * knots_per_s)) + 2
    knots = rng.normal(0.0, scale, shape + (n_knots,))
    pos = np.arange(T) / FPS * knots_per_s
    i0 = np.floor(pos).astype(int)
    f = smoothstep(pos - i0)
    return knots[..., i0] * (1 - f) + knots[..., i0 + 1] * f


def smooth_below(z: np.ndarray, radius: int = 5) -> np.ndarray:
    """(B, T) -> (B, T) smooth curve that never exceeds ``z``.

    A running minimum over +-radius frames, then a binomial blur of the same radius:
    each output is an average of values <= z there. Used for pelvis heights that must
    stay under leg-reach limits without kinks (kinks are acceleration spikes).
    """
    from numpy.lib.stride_tricks import sliding_window_view

    w = 2 * radius + 1
    zp = np.pad(z, ((0, 0), (radius, radius)), mode="edge")
    eroded = sliding_window_view(zp, w, axis=1).min(-1)
    kern = np.array([math.comb(w - 1, i) for i in range(w)], dtype=np.float64)
    kern /= kern.sum()
    ep = np.pad(eroded, ((0, 0), (radius, radius)), mode="edge")
    return (sliding_window_view(ep, w, axis=1) * kern).sum(-1)


def cumulative_phase(freq: np.ndarray) -> np.ndarray:
    """(B, T) frequency in cycles/s -> (B, T) phase in cycles (starts at 0)."""
    ph = np.cumsum(freq, axis=1) / FPS
    return ph - ph[:, :1]


def batched_interp(xq: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-row linear interpolation: xq (B, K), x (B, T) increasing, y (B, T, ...) -> (B, K, ...).

    Clamps outside [x[0], x[-1]].
    """
    B, T = x.shape
    idx = np.empty(xq.shape, dtype=int)
    for b in range(B):  # searchsorted per row (cheap: K, T ~ 100)
        idx[b] = np.searchsorted(x[b], xq[b], side="right")
    idx = np.clip(idx, 1, T - 1)
    rows = np.arange(B)[:, None]
    x0, x1 = x[rows, idx - 1], x[rows, idx]
    w = np.clip((xq - x0) / np.maximum(x1 - x0, 1e-12), 0.0, 1.0)
    y0, y1 = y[rows, idx - 1], y[rows, idx]
    w = w.reshape(w.shape + (1,) * (y.ndim - 2))
    return y0 * (1 - w) + y1 * w


# ------------------------------------------------------------------ the rig


@dataclass
class Rig:
    """A batch of B clips of T frames being built.

    local:   (B, T, 24, 3, 3) local rotations of joints 1..23 (index 0 unused).
    heading: (B, T) yaw about world z, radians (0 = facing -y).
    lean:    (B, T, 3, 3) pelvis rotation in the body frame (tilt, roll, twist).
    pelvis:  (B, T, 3) pelvis world position, metres, z up.
    airborne:(B, T) bool, frames where no body part need touch the ground (jumps).
    anchor:  if True, ``ground`` also moves the root horizontally so that the lowest,
             slowest body points do not slide (for poses driven by angles alone).
    """

    B: int
    T: int
    local: np.ndarray = field(init=False)
    heading: np.ndarray = field(init=False)
    lean: np.ndarray = field(init=False)
    pelvis: np.ndarray = field(init=False)
    airborne: np.ndarray = field(init=False)
    anchor: bool = False

    def __post_init__(self):
        self.local = np.broadcast_to(np.eye(3), (self.B, self.T, 24, 3, 3)).copy()
        self.heading = np.zeros((self.B, self.T))
        self.lean = np.broadcast_to(np.eye(3), (self.B, self.T, 3, 3)).copy()
        self.pelvis = np.zeros((self.B, self.T, 3))
        self.pelvis[..., 2] = STANDING_PELVIS_Z
        self.airborne = np.zeros((self.B, self.T), dtype=bool)

    def root_rotation(self) -> np.ndarray:
        """(B, T, 3, 3) global orientation = Rz(heading) @ STAND @ lean."""
        return rz(self.heading) @ skeleton.STAND.astype(np.float64) @ self.lean

    def set(self, joint: str | int, R: np.ndarray) -> None:
        """Set a local rotation, R broadcastable to (B, T, 3, 3)."""
        j = J[joint] if isinstance(joint, str) else joint
        self.local[:, :, j] = R

    def pre(self, joint: str | int, R: np.ndarray) -> None:
        """Compose an extra rotation in the parent frame: local <- R @ local."""
        j = J[joint] if isinstance(joint, str) else joint
        self.local[:, :, j] = R @ self.local[:, :, j]

    def post(self, joint: str | int, R: np.ndarray) -> None:
        """Compose an extra rotation in the joint frame: local <- local @ R."""
        j = J[joint] if isinstance(joint, str) else joint
        self.local[:, :, j] = self.local[:, :, j] @ R

    def crop(self, start: int, T: int) -> "Rig":
        out = Rig(self.B, T)
        out.local = self.local[:, start:start + T].copy()
        out.heading = self.heading[:, start:start + T].copy()
        out.lean = self.lean[:, start:start + T].copy()
        out.pelvis = self.pelvis[:, start:start + T].copy()
        out.airborne = self.airborne[:, start:start + T].copy()
        out.anchor = self.anchor
        return out



def global_transforms(rig: Rig, upto: int = 23) -> tuple[np.ndarray, np.ndarray]:
    """World rotations (B, T, k, 3, 3) and positions (B, T, k, 3) of joints 0..upto.

    Joints are in topological order, so a prefix of the table is closed under parents.
    """
    R0 = rig.root_rotation()
    G = [R0]
    P = [rig.pelvis]
    for j in range(1, upto + 1):
        p = PARENTS[j]
        P.append(P[p] + rotate(G[p], OFF[j]))
        G.append(G[p] @ rig.local[:, :, j])
    return np.stack(G, 2), np.stack(P, 2)


def joint_positions(rig: Rig) -> np.ndarray:
    """(B, T, 24, 3) world joint positions of the rig."""
    return global_transforms(rig)[1]


def chain_global(rig: Rig, j: int) -> tuple[np.ndarray, np.ndarray]:
    """World rotation (B, T, 3, 3) and position (B, T, 3) of joint j (ancestors only)."""
    chain = []
    k = j
    while k > 0:
        chain.append(k)
        k = PARENTS[k]
    G = rig.root_rotation()
    P = rig.pelvis.copy()
    for k in reversed(chain):
        P = P + rotate(G, OFF[k])
        G = G @ rig.local[:, :, k]
    return G, P


# ------------------------------------------------------------------ IK


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


# ------------------------------------------------------------------ feet and ground

ANKLE_Y = REST[J["left_ankle"], 1]
# Foot geometry in the foot's own (body-axes) frame, relative to the ankle joint:
# the toe-ground point under the foot joint and the heel-ground point behind the ankle.
# The toe pivot is the foot (toe-base) joint itself, so a rising heel keeps that joint
# exactly where it was (FOOT_HEIGHT above the floor).
TOE_GROUND = REST[J["left_foot"]] - REST[J["left_ankle"]]
HEEL_GROUND = np.array([0.0, GROUND_Y - ANKLE_Y, -0.035])
ANKLE_UNDER = np.array([0.0, GROUND_Y - ANKLE_Y, 0.0])


def foot_rotation(yaw: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """World rotation of a foot: (B, T) yaw (heading) and pitch (+ = heel up / toes down)."""
    return rz(yaw) @ skeleton.STAND.astype(np.float64) @ rx(pitch)


def ankle_from_ground(ground_xy: np.ndarray, lift: np.ndarray, yaw: np.ndarray,
                      pitch: np.ndarray, side: int) -> np.ndarray:
    """World ankle position of a foot that rolls about its heel (pitch < 0) or toe (pitch > 0).

    ground_xy: (B, T, 2) world point under the ankle when the foot is flat.
    lift: (B, T) how far the pivot is raised above its flat-foot height. returns (B, T, 3).
    """
    Rf = foot_rotation(yaw, pitch)
    Rflat = foot_rotation(yaw, np.zeros_like(pitch))
    toe = np.array([TOE_GROUND[0] * side, TOE_GROUND[1], TOE_GROUND[2]])
    heel = HEEL_GROUND
    pivot_local = np.where((pitch >= 0)[..., None], toe, heel)
    under = np.concatenate([ground_xy, np.zeros(ground_xy.shape[:-1] + (1,))], -1)
    # ground point of the pivot when flat (world), then hang the ankle from it
    pivot_world = under + rotate(Rflat, pivot_local - ANKLE_UNDER)
    pivot_world[..., 2] += lift
    return pivot_world + rotate(Rf, -pivot_local)


def ground(rig: Rig, ground_z: np.ndarray | None = None) -> None:
    """Put the body on the floor z = 0 (in place).

    Vertical: the lowest ``joint - CONTACT_RADIUS`` touches z = 0 on supported frames;
    airborne frames are only lifted out of the floor, never pulled down. Horizontal
    (``rig.anchor``): root velocity cancels the mean slide of the low, slow points.
    """
    pos = joint_positions(rig)
    low = pos[..., 2] - CONTACT_RADIUS
    lowest = low.min(-1)                                   # (B, T)
    dz = np.where(rig.airborne, np.maximum(-lowest, 0.0), -lowest)
    rig.pelvis[..., 2] += dz
    if rig.anchor:
        pos[..., 2] += dz[..., None]
        low = pos[..., 2] - CONTACT_RADIUS
        # contact weight: within 3 cm of the lowest point
        w = np.clip(1.0 - (low - low.min(-1, keepdims=True)) / 0.03, 0.0, 1.0) ** 2
        w = w * (~rig.airborne)[..., None]
        vel = np.diff(pos[..., :2], axis=1)                # (B, T-1, 24, 2)
        wm = 0.5 * (w[:, 1:] + w[:, :-1])
        wsum = wm.sum(-1, keepdims=True)
        slide = (wm[..., None] * vel).sum(-2) / np.maximum(wsum, 1e-9)
        slide = np.where(wsum > 1e-6, slide, 0.0)
        corr = -np.cumsum(slide, axis=1)
        rig.pelvis[:, 1:, :2] += corr


# ------------------------------------------------------------------ output


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


# ------------------------------------------------------------------ per-batch context


@dataclass
class Ctx:
    """What an action function gets: the batch size, length and per-clip modifiers.

    Every modifier is an array (B, 1) so it broadcasts over time. ``tempo`` > 1 is
    faster, ``amp`` > 1 bigger; the posture fields come from the style (see styles.py)
    and are read by the actions that move the legs and pelvis themselves.
    """

    rng: np.random.Generator
    B: int
    T: int                      # frames to produce (output frames + 2 * pad)
    pad: int                    # frames cut from each end afterwards
    tempo: np.ndarray
    amp: np.ndarray
    crouch: np.ndarray          # metres the pelvis sits lower (bent knees)
    bounce: np.ndarray          # extra vertical bob, multiplier (1 = normal)
    sway: np.ndarray            # extra lateral sway of the pelvis, metres
    wander: np.ndarray          # heading noise, radians (drunk)
    clearance: np.ndarray       # foot lift multiplier (tired feet drag)
    arm_swing: np.ndarray       # arm swing multiplier
    stride: np.ndarray          # step length multiplier
    lean: np.ndarray            # forward trunk lean of the pelvis, radians

    def u(self, lo: float, hi: float) -> np.ndarray:
        """(B, 1) uniform random values."""
        return self.rng.uniform(lo, hi, (self.B, 1))

    def time(self) -> np.ndarray:
        """(1, T) seconds."""
        return (np.arange(self.T) / FPS)[None, :]

    @property
    def seconds(self) -> float:
        """Length of the output window in seconds."""
        return (self.T - 2 * self.pad) / FPS

    def phase(self, freq_lo: float, freq_hi: float) -> np.ndarray:
        """(B, T) cycles of a repeated movement at a random rate (scaled by tempo)."""
        f = self.u(freq_lo, freq_hi) * self.tempo
        return f * self.time() + self.u(0.0, 1.0)

    def one_shot(self, dur_lo: float, dur_hi: float, ease=None) -> np.ndarray:
        """(B, T) progress 0 -> 1 of a movement done once inside the output window.

        Its duration is random in [dur_lo, dur_hi] s / tempo; it starts after a random
        idle hold, and a hold follows it when time is left (idle hold segments).
        """
        ease = smootherstep if ease is None else ease
        dur = self.u(dur_lo, dur_hi) / self.tempo
        dur = np.minimum(dur, self.seconds * 0.9)
        slack = np.maximum(self.seconds - dur, 0.0)
        t0 = self.pad / FPS + slack * self.u(0.05, 0.6)
        return ease((self.time() - t0) / dur)


# ------------------------------------------------------------------ arm angles


def arm_angles(rig: Rig, side: int, flex=0.0, abduct=0.15, elbow=0.1, twist=0.0,
               wrist=0.0) -> None:
    """Set one arm from angles (radians, broadcast to (B, T)).

    flex: shoulder flexion (+ swings the arm forward/up from hanging), abduct: raise
    sideways from hanging (pi/2 = T-pose), elbow: bend (+ forearm forward), twist:
    internal rotation of the upper arm, wrist: wrist flexion.
    """
    sh, el, wr = side_name(side, "shoulder"), side_name(side, "elbow"), side_name(side, "wrist")
    R = rx(-np.asarray(flex, dtype=np.float64)) @ rz(side * (np.asarray(abduct, dtype=np.float64) - np.pi / 2)) \
        @ rx(side * np.asarray(twist, dtype=np.float64))
    rig.local[:, :, sh] = np.broadcast_to(R, (rig.B, rig.T, 3, 3))
    th = np.broadcast_to(np.asarray(elbow, dtype=np.float64), (rig.B, rig.T))
    rig.local[:, :, el] = axis_angle_to_matrix(ARM_BEND[side] * th[..., None])
    rig.local[:, :, wr] = np.broadcast_to(rz(-side * np.asarray(wrist, dtype=np.float64)),
                                          (rig.B, rig.T, 3, 3))


def spine_bend(rig: Rig, x=0.0, y=0.0, z=0.0, weights=(0.35, 0.35, 0.3)) -> None:
    """Spread a trunk rotation (bend x, twist y, side-bend z; radians) over the 3 spine joints."""
    for j, w in zip(("spine1", "spine2", "spine3"), weights):
        rig.pre(j, np.broadcast_to(euler(np.asarray(x) * w, np.asarray(y) * w, np.asarray(z) * w),
                                   (rig.B, rig.T, 3, 3)))


def head_turn(rig: Rig, pitch=0.0, yaw=0.0, roll=0.0) -> None:
    """Neck + head rotation (pitch + = look down, yaw + = look left), split 40/60."""
    rig.pre("neck", np.broadcast_to(euler(np.asarray(pitch) * 0.4, np.asarray(yaw) * 0.4,
                                          np.asarray(roll) * 0.4), (rig.B, rig.T, 3, 3)))
    rig.pre("head", np.broadcast_to(euler(np.asarray(pitch) * 0.6, np.asarray(yaw) * 0.6,
                                          np.asarray(roll) * 0.6), (rig.B, rig.T, 3, 3)))


def foot_spot(rig: Rig, side: int, width=0.0, front=0.0, frame: int = 0) -> np.ndarray:
    """(B, T, 2) fixed floor point under one ankle, from the pelvis at ``frame``."""
    h = rig.heading[:, frame:frame + 1]
    fwd = np.stack([np.sin(h), -np.cos(h)], -1)
    left = np.stack([np.cos(h), np.sin(h)], -1)
    lat = side * (abs(REST[J["left_ankle"], 0]) + np.asarray(width))
    p = rig.pelvis[:, frame:frame + 1, :2] + left * np.asarray(lat)[..., None] \
        + fwd * (np.asarray(front)[..., None] + REST[J["left_ankle"], 2])
    return np.broadcast_to(p, (rig.B, rig.T, 2)).copy()
