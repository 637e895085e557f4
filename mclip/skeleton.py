"""The SMPL 24-joint skeleton with mclip's own rest pose, and forward kinematics.

Frames and units:
- The *body frame* is SMPL's: y up, the body faces +z, +x is the body's left; metres.
  ``REST_JOINTS`` are given in it (a standing neutral adult, about 1.74 m tall).
- The *world frame* is z-up, as in AMASS. A person standing upright has global
  orientation ``STAND`` (a +90 degree turn about x), which maps body +y to world +z
  and leaves them facing world -y.
- Forward kinematics follows smplx: every joint rotates about its rest position and
  the root translation is added last, so ``pelvis_world = REST_JOINTS[0] + trans``.
  That is how AMASS ``trans`` values are meant to be read.

The rest pose numbers are our own, from adult segment-length proportions (thigh
~0.24 H, shank ~0.24 H, upper arm ~0.17 H, forearm ~0.15 H); no SMPL data is used.
"""
from __future__ import annotations

import math

import numpy as np
import torch

NUM_JOINTS = 24

JOINT_NAMES = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
    "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hand", "right_hand",
)
JOINT_INDEX = {name: i for i, name in enumerate(JOINT_NAMES)}

PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)

# Rest joint positions in the body frame (metres, y up, facing +z, +x = left).
# Written for the left side; the right side mirrors x.
_REST_LEFT_AND_CENTRE = {
    "pelvis": (0.000, -0.230, 0.000),
    "left_hip": (0.085, -0.315, -0.005),
    "spine1": (0.000, -0.120, -0.015),
    "left_knee": (0.098, -0.720, 0.005),
    "spine2": (0.000, 0.020, 0.010),
    "left_ankle": (0.088, -1.135, -0.035),
    "spine3": (0.000, 0.080, 0.020),
    "left_foot": (0.110, -1.195, 0.090),
    "neck": (0.000, 0.290, -0.010),
    "left_collar": (0.075, 0.195, -0.005),
    "head": (0.000, 0.395, 0.040),
    "left_shoulder": (0.180, 0.228, -0.015),
    "left_elbow": (0.465, 0.218, -0.030),
    "left_wrist": (0.715, 0.222, -0.015),
    "left_hand": (0.795, 0.212, -0.020),
}


def _rest_table() -> np.ndarray:
    table = np.zeros((NUM_JOINTS, 3), dtype=np.float32)
    for i, name in enumerate(JOINT_NAMES):
        if name.startswith("right_"):
            x, y, z = _REST_LEFT_AND_CENTRE["left_" + name[len("right_"):]]
            table[i] = (-x, y, z)
        else:
            table[i] = _REST_LEFT_AND_CENTRE[name]
    return table


REST_JOINTS = _rest_table()
"""(24, 3) float32: rest joint positions in the body frame, metres."""

FPS = 30.0
FPS_RANGE = (1.0, 1000.0)  # frame rates of recordings; outside, resampling to 30 fps is absurd
"""The frame rate of every motion inside mclip (files of other rates are resampled)."""

# Height of the sole below the ankle / foot joints when standing, used to put the
# ground plane under a motion (the skeleton has no sole vertices).
ANKLE_HEIGHT = 0.080
FOOT_HEIGHT = 0.025
REST_GROUND_Y = float(REST_JOINTS[JOINT_INDEX["left_foot"], 1] - FOOT_HEIGHT)
"""Body-frame y of the floor under the rest pose (about -1.22 m)."""

# Global orientation of an upright person in the z-up world: +90 degrees about x.
STAND = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]], dtype=np.float32)
STAND_AXIS_ANGLE = np.array([math.pi / 2, 0.0, 0.0], dtype=np.float32)

LEFT_JOINTS = tuple(i for i, n in enumerate(JOINT_NAMES) if n.startswith("left_"))
RIGHT_JOINTS = tuple(i for i, n in enumerate(JOINT_NAMES) if n.startswith("right_"))
# Mirror pairs: index j <-> MIRROR[j] (left <-> right), centre joints map to themselves.
MIRROR = tuple(
    JOINT_INDEX[n.replace("left_", "right_")] if n.startswith("left_")
    else JOINT_INDEX[n.replace("right_", "left_")] if n.startswith("right_") else i
    for i, n in enumerate(JOINT_NAMES)
)
BONES = tuple((PARENTS[j], j) for j in range(1, NUM_JOINTS))
"""(parent, child) pairs, 23 bones."""


def _descendants(root: int) -> tuple[int, ...]:
    out = [root]
    for j in range(root + 1, NUM_JOINTS):
        if PARENTS[j] in out:
            out.append(j)
    return tuple(out)


UPPER_BODY_JOINTS = _descendants(JOINT_INDEX["spine3"])
"""spine3 and everything above it (neck, head, collars, arms)."""
LOWER_BODY_JOINTS = tuple(j for j in range(NUM_JOINTS) if j not in UPPER_BODY_JOINTS)
"""pelvis, hips, legs, feet, spine1, spine2."""


def rest_offsets(rest: torch.Tensor | np.ndarray = REST_JOINTS) -> torch.Tensor:
    """(24, 3) bone vectors from each joint's parent (the root keeps its position).

    Keeps the dtype of a floating tensor (float64 FK stays float64 throughout).
    """
    rest = torch.as_tensor(rest)
    if not rest.is_floating_point():
        rest = rest.float()
    parents = torch.tensor([0] + list(PARENTS[1:]), device=rest.device)
    off = rest - rest[parents]
    off[0] = rest[0]
    return off


def forward_kinematics(
    rotmats: torch.Tensor,
    trans: torch.Tensor | None = None,
    rest: torch.Tensor | np.ndarray = REST_JOINTS,
) -> torch.Tensor:
    """Joint positions from local joint rotations.

    rotmats: (..., 24, 3, 3) local rotations, [0] = global orientation.
    trans:   (..., 3) root translation, world frame (None = zero).
    rest:    (24, 3) rest joint positions in the body frame.
    returns: (..., 24, 3) world positions in metres.
    """
    # Subtract in the caller's dtype: float32 offsets would cost float64 FK ~1e-8 m.
    off = rest_offsets(torch.as_tensor(rest).to(device=rotmats.device, dtype=rotmats.dtype))
    glob = [rotmats[..., 0, :, :]]
    pos = [off[0].expand(rotmats.shape[:-3] + (3,))]
    for j in range(1, NUM_JOINTS):
        p = PARENTS[j]
        glob.append(glob[p] @ rotmats[..., j, :, :])
        pos.append(pos[p] + (glob[p] @ off[j][:, None])[..., 0])
    joints = torch.stack(pos, dim=-2)
    if trans is not None:
        joints = joints + trans[..., None, :].to(joints.dtype)
    return joints


def global_rotations(rotmats: torch.Tensor) -> torch.Tensor:
    """(..., 24, 3, 3) local -> (..., 24, 3, 3) world rotations of each joint's frame."""
    glob = [rotmats[..., 0, :, :]]
    for j in range(1, NUM_JOINTS):
        glob.append(glob[PARENTS[j]] @ rotmats[..., j, :, :])
    return torch.stack(glob, dim=-3)


def joints_from_axis_angle(poses: np.ndarray, trans: np.ndarray | None = None) -> np.ndarray:
    """numpy convenience: (T, 24, 3) axis-angle (+ (T, 3) trans) -> (T, 24, 3) joints, float32."""
    from .rotations import axis_angle_to_matrix

    with torch.no_grad():
        R = axis_angle_to_matrix(torch.as_tensor(np.asarray(poses, dtype=np.float32)))
        t = None if trans is None else torch.as_tensor(np.asarray(trans, dtype=np.float32))
        return forward_kinematics(R, t).numpy()
