"""Inverse kinematics: joint rotations (+ root translation) from joint positions.

A ``.npy`` joints file ``(T, 24, 3)`` (metres, z-up, 30 fps) has no rotations, but the
model reads rotations, and it reads the same motion with other rotations as another
motion. ``fit_rotations`` recovers them in two steps:

1. **Analytic start.** A body of other size is first scaled to the rest skeleton
   (``body_scale``), and noisy joints are smoothed in time by as much as their bones
   change length (``position_noise``). Walk the tree from the root. For each joint, choose its world
   rotation so that its rest bones point where the observed child joints are: with one
   child, the smallest rotation that swings the rest bone onto the observed bone; with
   several children (pelvis, spine3), the best rotation of all child bones at once
   (Kabsch / orthogonal Procrustes). The local rotation is the parent's world rotation
   undone. Positions leave each bone's twist about itself open; it is chosen as a body
   moves: knees and elbows are hinges, which fixes the twist of the hip or shoulder
   above them (``HINGES``); a foot does not roll (its left axis stays level); the head,
   which has no child, turns on as the neck turns; every other twist is the least.
   For joints of the same proportions as ``skeleton.REST_JOINTS`` this already
   reproduces the positions exactly.
2. **Polish.** A short Adam optimisation of the 6D rotations and translation through
   ``skeleton.forward_kinematics`` lowers the position error when the joints come from a
   body of other proportions, with a small pull towards the start and towards smooth
   motion.

Feet and hands, the other leaves, keep the identity.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from . import skeleton
from .errors import MclipError
from .rotations import axis_angle_to_matrix, matrix_to_axis_angle, matrix_to_rot6d, rot6d_to_matrix

_CHILDREN = tuple(tuple(c for c in range(skeleton.NUM_JOINTS) if skeleton.PARENTS[c] == j)
                  for j in range(skeleton.NUM_JOINTS))

# Knees and elbows are hinges (SMPL's body frame: +x = body left, y up, z forward): a
# knee bends about x (positive: the shin goes back), an elbow about -y on the left and +y
# on the right (positive: the forearm comes forward). The hinge fixes the twist of the
# hip or shoulder above it, which positions alone leave open: it is the twist that puts
# the knee's or elbow's bend in the plane of the limb.
_J = skeleton.JOINT_INDEX
HINGES = {  # upper joint -> (hinge joint, end joint, hinge axis in the hinge's frame)
    _J["left_hip"]: (_J["left_knee"], _J["left_ankle"], (1.0, 0.0, 0.0)),
    _J["right_hip"]: (_J["right_knee"], _J["right_ankle"], (1.0, 0.0, 0.0)),
    _J["left_shoulder"]: (_J["left_elbow"], _J["left_wrist"], (0.0, -1.0, 0.0)),
    _J["right_shoulder"]: (_J["right_elbow"], _J["right_wrist"], (0.0, 1.0, 0.0)),
}
PLANE_SEEN = 0.05   # sine of the bend (3 degrees) from which a limb's plane is trusted
_ANKLES = (_J["left_ankle"], _J["right_ankle"])
_NECK, _HEAD = _J["neck"], _J["head"]


@dataclass
class IKConfig:
    """Polish settings. ``iters=0`` keeps the analytic start."""

    iters: int = 60
    lr: float = 0.01
    prior_weight: float = 1e-3   # pull of each 6D rotation towards the analytic start
    smooth_weight: float = 1e-2  # frame-to-frame change of the 6D rotations
    tolerance: float = 2e-3      # metres: a start this close is kept as it is
    noise_floor: float = 1e-3    # metres of position noise below which nothing is smoothed
    smooth_per_mm: float = 0.3   # Gaussian sigma in frames (30 fps) per mm of noise ...
    smooth_max: float = 2.5      # ... up to this (5 mm: 1.5 frames, cut-off about 3 Hz)


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


def _solve_cos_sin(B: torch.Tensor, C: torch.Tensor, want: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Both roots x of B cos x + C sin x = want, (...,) each: (phi + a, phi - a).

    Where |want| exceeds sqrt(B^2 + C^2) both are the nearest x (the extremum).
    """
    rho = torch.sqrt(B * B + C * C).clamp(min=1e-9)
    phi, a = torch.atan2(C, B), torch.acos((want / rho).clamp(-1.0, 1.0))
    return phi + a, phi - a


def hinge_bend(upper: torch.Tensor, lower: torch.Tensor, axis: torch.Tensor,
               cos_angle: torch.Tensor) -> torch.Tensor:
    """Bend of a hinge that makes the angle between a limb's two bones the observed one.

    upper, lower: (3,) rest bones (upper joint -> hinge, hinge -> end), the lower one in
    the hinge's frame; axis: (3,) unit hinge axis; cos_angle: (...,) observed cosine of
    the angle between the two bones (directions only, so a body of other proportions
    bends as much). returns (...,) radians, the larger of the two solutions (a knee or an
    elbow bends one way).

    upper . R(axis, b) lower = A + B cos b + C sin b, with lower split along the axis (A)
    and across it (B, C).
    """
    along = (lower @ axis) * axis
    across = lower - along
    A = upper @ along
    B = upper @ across
    C = upper @ torch.linalg.cross(axis, across)
    want = cos_angle * torch.linalg.vector_norm(upper) * torch.linalg.vector_norm(lower) - A
    return _solve_cos_sin(B, C, want)[0]


def level_twist(G: torch.Tensor, bone: torch.Tensor) -> torch.Tensor:
    """Turn world rotations about their bone so that the body's left axis lies level.

    G: (T, 3, 3) world rotations of a foot (ankle joint) that already point its rest bone
    along ``bone`` (T, 3), world z-up. A foot's roll is not seen in two points; feet
    seldom roll (on the floor or in the air), so the twist is the smallest one that makes
    ``G @ x`` (the foot's left) horizontal. returns (T, 3, 3).
    """
    b = torch.nn.functional.normalize(bone, dim=-1)
    w = G[..., :, 0]                                          # the foot's left axis, world
    along = (w * b).sum(-1, keepdim=True) * b
    # z of R(b, psi) w = along_z + cos(psi) (w - along)_z + sin(psi) (b x w)_z = 0
    roots = _solve_cos_sin((w - along)[..., 2], torch.linalg.cross(b, w)[..., 2], -along[..., 2])
    psi = torch.where(roots[0].abs() < roots[1].abs(), roots[0], roots[1])
    psi = torch.remainder(psi + torch.pi, 2 * torch.pi) - torch.pi
    return axis_angle_to_matrix(b * psi[..., None]) @ G



def _hinged(upper_joint: int, joints: torch.Tensor, start: torch.Tensor
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """World rotation of a hip or shoulder whose limb bends at a hinge, and the bend.

    start: (T, 3, 3) the least-twisted rotation that points the upper bone where it is
    seen. The bend follows from the angle between the observed bones (``hinge_bend``);
    the start is then twisted about the upper bone until the bent lower bone lies in the
    plane of the observed one. A limb too straight to show a plane keeps the start.
    returns ((T, 3, 3) world rotation, (T, 3, 3) the hinge's local rotation).
    """
    mid, end, axis = HINGES[upper_joint]
    off = skeleton.rest_offsets().to(joints.dtype)
    axis = torch.tensor(axis, dtype=joints.dtype)
    unit = lambda v: torch.nn.functional.normalize(v, dim=-1, eps=1e-9)  # noqa: E731
    v1 = unit(joints[:, mid] - joints[:, upper_joint])                 # (T, 3)
    v2 = unit(joints[:, end] - joints[:, mid])
    bend = axis_angle_to_matrix(axis * hinge_bend(off[mid], off[end], axis, (v1 * v2).sum(-1))[:, None])
    u2 = (start @ (bend @ unit(off[end]))[..., None])[..., 0]
    p = u2 - (u2 * v1).sum(-1, keepdim=True) * v1                      # across the upper bone
    q = v2 - (v2 * v1).sum(-1, keepdim=True) * v1
    psi = torch.atan2((torch.linalg.cross(p, q) * v1).sum(-1), (p * q).sum(-1))
    seen = (torch.minimum(p.norm(dim=-1), q.norm(dim=-1)) / PLANE_SEEN).clamp(max=1.0)
    return axis_angle_to_matrix(v1 * (seen * psi)[:, None]) @ start, bend


def analytic_rotations(joints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """joints (T, 24, 3) world metres -> (rotmats (T, 24, 3, 3) local, trans (T, 3))."""
    T = joints.shape[0]
    off = skeleton.rest_offsets().to(joints.dtype)       # (24, 3) rest bone vectors
    glob = [None] * skeleton.NUM_JOINTS
    local = torch.eye(3, dtype=joints.dtype).repeat(T, skeleton.NUM_JOINTS, 1, 1)
    bent = {}   # knee or elbow -> its hinge rotation, which its swing then only corrects
    for j in range(skeleton.NUM_JOINTS):
        p = skeleton.PARENTS[j]
        parent_glob = glob[p] if p >= 0 else torch.eye(3, dtype=joints.dtype).expand(T, 3, 3)
        kids = _CHILDREN[j]
        if not kids:
            if j == _HEAD:   # unseen: the head turns on as the neck turns
                local[:, j] = local[:, _NECK]
            glob[j] = parent_glob @ local[:, j]
            continue
        observed = joints[:, list(kids)] - joints[:, j:j + 1]          # (T, K, 3)
        rest = off[list(kids)].expand(T, len(kids), 3)                  # (T, K, 3)
        if len(kids) == 1:
            # Swing the parent-predicted bone onto the observed one.
            base = parent_glob @ bent[j] if j in bent else parent_glob
            predicted = (base @ rest[:, 0, :, None])[..., 0]
            G = _swing(predicted, observed[:, 0]) @ base
            if j in HINGES:
                G, bent[HINGES[j][0]] = _hinged(j, joints, G)
            elif j in _ANKLES:
                G = level_twist(G, observed[:, 0])
        else:
            G = _kabsch(rest, observed)
        glob[j] = G
        local[:, j] = parent_glob.transpose(-1, -2) @ G
    trans = joints[:, 0] - torch.as_tensor(skeleton.REST_JOINTS[0], dtype=joints.dtype)
    return local, trans



def _bone_lengths(joints: torch.Tensor) -> torch.Tensor:
    """(T, 24, 3) -> (T, 23) metres from each joint to its parent."""
    parents = torch.tensor(skeleton.PARENTS[1:])
    return torch.linalg.vector_norm(joints[:, 1:] - joints[:, parents], dim=-1)


def body_scale(joints: torch.Tensor) -> float:
    """How much larger than ``skeleton.REST_JOINTS`` a body is: (T, 24, 3) -> float.

    The median over frames of the summed bone lengths over the rest ones; 1.0 where it is
    within 0.1 % (the same skeleton, up to float error).
    """
    bones = _bone_lengths(joints).sum(-1)
    rest = float(torch.linalg.vector_norm(skeleton.rest_offsets()[1:], dim=-1).sum())
    s = float(bones.median()) / rest
    return 1.0 if abs(s - 1.0) < 1e-3 else s


def position_noise(joints: torch.Tensor) -> float:
    """Metres of noise on joint positions, per axis: (T, 24, 3) -> float.

    Bones keep their length, so a length's change over time is noise: the median over
    bones of each length's standard deviation over frames, over sqrt(2) (both ends move).
    0 for joints made by forward kinematics, whatever the body's proportions.
    """
    if joints.shape[0] < 3:
        return 0.0
    return float(_bone_lengths(joints).std(0).median()) / math.sqrt(2)


def smooth_in_time(joints: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian low-pass of (T, 24, 3) positions over frames (sigma in frames; the ends
    repeat the first and last frame)."""
    r = max(1, math.ceil(3 * sigma))
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=joints.dtype) / sigma) ** 2)
    x = joints.reshape(joints.shape[0], -1).T[:, None]                          # (72, 1, T)
    x = torch.nn.functional.pad(x, (r, r), mode="replicate")
    y = torch.nn.functional.conv1d(x, (k / k.sum())[None, None])
    return y[:, 0].T.reshape(joints.shape)


def fit_rotations(joints: np.ndarray, cfg: IKConfig | None = None, source: str = "joints"
                  ) -> tuple[np.ndarray, np.ndarray, float]:
    """Fit SMPL rotations to joint positions.

    joints: (T, 24, 3) float, metres, z-up world, floor at z = 0.
    returns: (poses (T, 24, 3) axis-angle float32, trans (T, 3) float32 of the rest
              skeleton (a body of other size is retargeted: see ``body_scale``), mean
              joint error in metres of the fit against the joints given (noisy joints
              are smoothed first: ``position_noise``), scaled back to the input's size).
    """
    cfg = cfg or IKConfig()
    J = np.asarray(joints, dtype=np.float32)
    if J.ndim != 3 or J.shape[1:] != (24, 3) or J.shape[0] < 1:
        raise MclipError(f"{source}: joints must be (T, 24, 3), got {J.shape}")
    if not np.isfinite(J).all():
        raise MclipError(f"{source}: joints contain NaN or inf")
    # A body of other size is retargeted to the rest skeleton: the same rotations, the
    # path scaled with it about the floor's origin so that planted feet stay planted.
    scale = body_scale(torch.from_numpy(J))
    given = torch.from_numpy(J / scale)
    # The encoder reads small turns of a joint as another motion, so noisy positions
    # (measured by their bones' jitter) are smoothed first, by as much as they are noisy.
    noise = position_noise(given)
    target = given
    if noise > cfg.noise_floor:
        target = smooth_in_time(given, min(cfg.smooth_max, cfg.smooth_per_mm * noise * 1000))
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
            R, tr = R0, t0
        err = torch.linalg.vector_norm(skeleton.forward_kinematics(R, tr) - given, dim=-1)
        poses = matrix_to_axis_angle(R).numpy().astype(np.float32)
        return poses, tr.detach().numpy().astype(np.float32), float(err.mean()) * scale


def fit_motion(joints: np.ndarray, source: str = "joints"):
    """A ``Motion`` (30 fps) of joints (T, 24, 3): ``fit_rotations``'s rotations and path.

    returns (Motion, mean joint error in metres).
    """
    from .motion_io import Motion

    poses, trans, err = fit_rotations(joints, source=source)
    return Motion(poses, trans, skeleton.FPS), err
