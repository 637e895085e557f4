"""Dance moves on the beat (110-130 bpm, scaled by tempo): groove, disco, twist, raise the roof.

All keep the feet planted (IK) and move the pelvis, trunk and arms; knees bounce on
the beat because the pelvis dips and the legs follow it.
"""
from __future__ import annotations

import numpy as np

from .arms import hand_to, stack3
from .axes import euler
from .context import Ctx
from .poses import arm_angles, head_turn, spine_bend
from .rig import Rig
from .whole_body import plant_feet, standing


def _dancer(ctx: Ctx) -> tuple[Rig, np.ndarray, np.ndarray]:
    """Every move's start: a standing rig, the (B, T) beats since a random offset, and
    the style's amplitude."""
    rig = standing(ctx)                   # draws first: the order of draws makes the corpus
    return rig, ctx.phase(1.8, 2.2), ctx.amp


def _bounce(b: np.ndarray) -> np.ndarray:
    """(B, T) knee bounce: 0 on each beat, 1 half-way between beats."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * b)


def _sway_hips(rig: Rig, b: np.ndarray, shift, dip: float, bob, pitch: float, roll: float,
               yaw: float) -> np.ndarray:
    """Weight from one foot to the other, one side per beat: the pelvis shifts ``shift``
    m sideways and sits ``dip`` m lower plus ``bob`` m with each bounce; the trunk leans
    ``pitch`` forward and rolls / yaws with the sway. Returns the (B, T) sway in [-1, 1]."""
    sway = np.sin(np.pi * b)
    rig.pelvis[..., 0] += shift * sway
    rig.pelvis[..., 2] -= dip + bob * _bounce(b)
    rig.lean[:] = euler(pitch + 0 * b, roll * sway, yaw * sway)
    return sway


def groove(ctx: Ctx) -> Rig:
    """Side-to-side weight shift, knees bouncing, bent arms swinging, head nodding."""
    rig, b, a = _dancer(ctx)
    sway = _sway_hips(rig, b, shift=0.06 * a, dip=0.03, bob=0.03 * a, pitch=0.05, roll=0.15, yaw=-0.08)
    spine_bend(rig, z=0.12 * sway, y=-0.1 * sway)
    for side in (1, -1):
        arm_angles(rig, side, flex=0.5 + 0.35 * a * side * sway, abduct=0.3, elbow=1.3)
    head_turn(rig, pitch=0.12 * np.sin(2 * np.pi * b), roll=0.08 * sway)
    plant_feet(rig, width=ctx.u(0.08, 0.14), toe_out=0.2)
    return rig


def disco(ctx: Ctx) -> Rig:
    """The disco point: right hand up to the upper right, then down across to the left hip."""
    rig, b, a = _dancer(ctx)
    up = 0.5 - 0.5 * np.cos(np.pi * b)                 # 1 on odd beats
    hi = np.array([-0.45, 0.65, 0.15])
    lo = np.array([0.2, -0.35, 0.2])
    p = lo + (hi - lo) * up[..., None]
    hand_to(rig, -1, p)
    hand_to(rig, 1, np.broadcast_to(np.array([0.2, -0.33, 0.0]), p.shape), pole=np.array([1.0, 0.0, -0.5]))
    _sway_hips(rig, b, shift=0.05 * a, dip=0.02, bob=0.03, pitch=0.0, roll=0.2, yaw=-0.06)
    spine_bend(rig, z=-0.1 * (up - 0.5))
    head_turn(rig, yaw=-0.5 * (up - 0.5), pitch=-0.3 * (up - 0.5))
    plant_feet(rig, width=ctx.u(0.08, 0.15), toe_out=0.2)
    return rig


def twist(ctx: Ctx) -> Rig:
    """The twist: hips swivel one way and the shoulders the other, knees bent."""
    rig, b, a = _dancer(ctx)
    tw = np.sin(np.pi * b)
    rig.pelvis[..., 2] -= 0.08 + 0.04 * _bounce(b)
    rig.lean[:] = euler(0.15 + 0 * b, 0.45 * a * tw)
    spine_bend(rig, y=-0.7 * a * tw, x=0.05)
    for side in (1, -1):
        arm_angles(rig, side, flex=0.7 + 0.4 * tw * side, abduct=0.5, elbow=1.4)
    head_turn(rig, yaw=0.1 * tw)
    plant_feet(rig, width=ctx.u(0.06, 0.12), toe_out=0.1,
               pitch={1: 0.25 + 0 * b, -1: 0.25 + 0 * b})
    return rig


def raise_roof(ctx: Ctx) -> Rig:
    """Both hands pump above the head on every beat, knees bouncing."""
    rig, b, a = _dancer(ctx)
    pump = _bounce(b)
    for side in (1, -1):
        p = stack3(side * 0.3 + 0 * pump, 0.3 + 0.35 * a * pump, 0.1 + 0 * pump)
        hand_to(rig, side, p, pole=np.array([side, -0.6, -0.2]))
    rig.pelvis[..., 2] -= 0.02 + 0.04 * pump
    rig.pelvis[..., 0] += 0.04 * np.sin(np.pi * b)
    head_turn(rig, pitch=0.15 * np.sin(2 * np.pi * b) - 0.1)
    plant_feet(rig, width=ctx.u(0.08, 0.14), toe_out=0.2)
    return rig
