"""Feet and ground: where the feet stand and how the body meets the floor z = 0.

``foot_rotation`` and ``ankle_from_ground`` place a foot that rolls about its heel or toe
(the ankle hangs from the pivot, so a rising heel keeps the toe joint where it was);
``foot_spot`` is a fixed floor point under one ankle relative to the pelvis; ``ground``
lowers or lifts each frame so that the lowest ``joint - CONTACT_RADIUS`` touches the floor
(airborne frames are only lifted out of it) and, for an anchored rig, cancels the slide of
the low, slow points. ``CONTACT_RADIUS`` is how far the body surface lies below each joint.
"""
from __future__ import annotations

import numpy as np

from ... import skeleton
from ...rotations_np import rotate
from .axes import rx, rz
from .rig import GROUND_Y, J, REST, Rig, joint_positions

# Contact radii: how far the body surface lies below each joint (metres). The lowest
# "joint minus radius" of a supported body touches the floor.
CONTACT_RADIUS = np.full(24, 0.06)
CONTACT_RADIUS[[J["left_ankle"], J["right_ankle"]]] = REST[J["left_ankle"], 1] - GROUND_Y
CONTACT_RADIUS[[J["left_foot"], J["right_foot"]]] = skeleton.FOOT_HEIGHT
CONTACT_RADIUS[[J["left_knee"], J["right_knee"]]] = 0.05
CONTACT_RADIUS[[J["left_wrist"], J["right_wrist"], J["left_hand"], J["right_hand"]]] = 0.03
CONTACT_RADIUS[[J["pelvis"], J["spine1"], J["spine2"], J["spine3"]]] = 0.10
CONTACT_RADIUS[J["head"]] = 0.09

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



def foot_spot(rig: Rig, side: int, width=0.0, front=0.0, frame: int = 0) -> np.ndarray:
    """(B, T, 2) fixed floor point under one ankle, from the pelvis at ``frame``."""
    h = rig.heading[:, frame:frame + 1]
    fwd = np.stack([np.sin(h), -np.cos(h)], -1)
    left = np.stack([np.cos(h), np.sin(h)], -1)
    lat = side * (abs(REST[J["left_ankle"], 0]) + np.asarray(width))
    p = rig.pelvis[:, frame:frame + 1, :2] + left * np.asarray(lat)[..., None] \
        + fwd * (np.asarray(front)[..., None] + REST[J["left_ankle"], 2])
    return np.broadcast_to(p, (rig.B, rig.T, 2)).copy()


def ground(rig: Rig) -> None:
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
