"""Poses from angles: an arm, the trunk and the head set by joint angles rather than IK.

``arm_angles`` sets a shoulder, elbow and wrist from flexion, abduction, elbow bend, twist
and wrist flexion (radians, broadcast over the batch and frames); ``spine_bend`` spreads a
trunk bend, twist and side-bend over the three spine joints; ``head_turn`` splits a look
(pitch, yaw, roll) between neck and head. ``spine_bend`` and ``head_turn`` compose onto
the joints' current rotations, so styles and actions can layer them.
"""
from __future__ import annotations

import numpy as np

from ...rotations_np import axis_angle_to_matrix
from .axes import euler, rx, rz
from .limbs import ARM_BEND
from .rig import Rig, side_name


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
