"""Arm and head gestures: wave, clap, raise arms, point, salute, drink, shrug, ...

Each gesture is an *upper-body layer* ``fn(ctx, rig, side)`` that only writes the
joints of ``skeleton.UPPER_BODY_JOINTS`` (spine3 and above), so the same layer can be
put over any lower-body action (``compose.py``: "waves while walking"). Hands are
placed with the arm IK in the chest frame (``centre`` coordinates: metres from the
spine3 joint, x = body left, y up, z forward). ``side`` -1 = right hand, +1 = left.

Landmarks in centre coordinates (rest skeleton): shoulders (+-0.18, 0.15, -0.03),
chin (0, 0.25, 0.08), mouth (0, 0.30, 0.10), brow (0, 0.36, 0.10), chest front
(0, 0.05, 0.15), navel (0, -0.25, 0.15).
"""
from __future__ import annotations

import numpy as np

from .axes import ry, rz
from .context import Ctx
from .limbs import arm_ik
from .poses import arm_angles, head_turn
from .rig import FPS, OFF, Rig, side_name
from .timing import bump, smoothstep

SHOULDER_CENTRE = {s: OFF[side_name(s, "collar")] + OFF[side_name(s, "shoulder")] for s in (1, -1)}


def hand_to(rig: Rig, side: int, point: np.ndarray, pole=None) -> None:
    """IK one wrist to ``point`` (B, T, 3) in centre coordinates of the chest."""
    arm_ik(rig, side, point - SHOULDER_CENTRE[side], frame="chest", pole=pole)


def envelope(ctx: Ctx, rise: float = 0.35) -> np.ndarray:
    """(B, T) 0..1 how much a gesture is on: half the clips are mid-gesture throughout,
    the others raise into it after an idle hold and may lower again (hold segments)."""
    t = ctx.time()
    t0 = ctx.pad / FPS + ctx.u(0.0, 0.5) * ctx.seconds
    t1 = t0 + ctx.u(0.6, 1.5) * ctx.seconds
    env = smoothstep((t - t0) / rise) * (1 - smoothstep((t - t1) / rise))
    always = ctx.rng.random((ctx.B, 1)) < 0.5
    return np.where(always, 1.0, env)


def stack3(x, y, z) -> np.ndarray:
    x, y, z = np.broadcast_arrays(x, y, z)
    return np.stack([x, y, z], -1)


def rest_hand(side: int) -> np.ndarray:
    """Centre coordinates of a hanging wrist (arm down, elbow slightly bent)."""
    return np.array([side * 0.2, -0.4, 0.05])


def blend_to(rig: Rig, side: int, point: np.ndarray, env: np.ndarray, pole=None) -> None:
    """IK the wrist to a blend of the hanging position and ``point`` by ``env``."""
    p = rest_hand(side) + (point - rest_hand(side)) * env[..., None]
    hand_to(rig, side, p, pole)


# ------------------------------------------------------------------ gestures


def wave(ctx: Ctx, rig: Rig, side: int = -1) -> None:
    """Wave one hand above shoulder height, palm out, side to side."""
    env = envelope(ctx)
    ph = ctx.phase(1.4, 2.4)
    a = ctx.u(0.08, 0.15) * ctx.amp
    x = side * 0.42 + a * np.sin(2 * np.pi * ph)
    y = 0.42 + ctx.u(-0.05, 0.1) + 0.02 * np.cos(4 * np.pi * ph)
    blend_to(rig, side, stack3(x, y, 0.12 + 0 * x), env, pole=np.array([side, -0.5, -0.2]))
    head_turn(rig, yaw=side * 0.15 * env, pitch=-0.05 * env)


def wave_both(ctx: Ctx, rig: Rig, side: int = -1) -> None:
    env = envelope(ctx)
    ph = ctx.phase(1.2, 2.0)
    a = ctx.u(0.1, 0.2) * ctx.amp
    for s in (1, -1):
        x = s * 0.35 + a * np.sin(2 * np.pi * ph)
        blend_to(rig, s, stack3(x, 0.5 + 0 * x, 0.12 + 0 * x), env, pole=np.array([s, -0.3, -0.2]))
    head_turn(rig, pitch=-0.1 * env)


def clap(ctx: Ctx, rig: Rig, side: int = -1) -> None:
    env = envelope(ctx, 0.3)
    ph = ctx.phase(1.5, 2.6)
    gap = 0.03 + ctx.u(0.12, 0.22) * ctx.amp * (0.5 + 0.5 * np.cos(2 * np.pi * ph)) ** 1.5
    y = ctx.u(-0.15, 0.05)
    for s in (1, -1):
        x = s * (gap / 2 + 0.03)
        blend_to(rig, s, stack3(x, y + 0 * x, 0.33 + 0 * x), env)


def raise_arm(ctx: Ctx, rig: Rig, side: int = -1) -> None:
    env = envelope(ctx, 0.5)
    hi = ctx.u(2.7, 3.05)
    arm_angles(rig, side, flex=0.05 + (hi - 0.05) * env, abduct=0.12 + 0.15 * env, elbow=0.15 * (1 - env) + 0.05)
    head_turn(rig, pitch=-0.15 * env)


def raise_both_arms(ctx: Ctx, rig: Rig, side: int = -1) -> None:
    env = envelope(ctx, 0.5)
    hi = ctx.u(2.6, 3.0)
    spread = ctx.u(0.1, 0.5)
    for s in (1, -1):
        arm_angles(rig, s, flex=0.05 + (hi - 0.05) * env, abduct=0.12 + spread * env, elbow=0.1)
    head_turn(rig, pitch=-0.2 * env)


def point(ctx: Ctx, rig: Rig, side: int = -1) -> None:
    """Point with a straight arm: forward, forward-up or out to the side."""
    env = envelope(ctx, 0.35)
    az = ctx.u(-0.3, 1.2)                      # 0 = straight ahead, + = towards its own side
    el = ctx.u(-0.2, 0.5)
    d = stack3(side * np.sin(az) * np.cos(el), np.sin(el), np.cos(az) * np.cos(el))
    p = SHOULDER_CENTRE[side] + 0.6 * d
    blend_to(rig, side, np.broadcast_to(p, (ctx.B, ctx.T, 3)), env)
    head_turn(rig, yaw=side * az[..., 0][:, None] * 0.7 * env, pitch=-el * 0.5 * env)


def salute(ctx: Ctx, rig: Rig, side: int = -1) -> None:
    env = envelope(ctx, 0.3)
    p = np.array([side * 0.09, 0.37, 0.12])
    blend_to(rig, side, np.broadcast_to(p, (ctx.B, ctx.T, 3)), env, pole=np.array([side, 0.1, -0.1]))
    head_turn(rig, pitch=-0.05 * env)


def drink(ctx: Ctx, rig: Rig, side: int = -1) -> None:
    """Bring a cup from waist height to the mouth, tip it, bring it down."""
    s = ctx.one_shot(1.4, 2.0, ease=lambda x: np.clip(x, 0, 1))
    lift = smoothstep(s / 0.3) * (1 - smoothstep((s - 0.75) / 0.25))
    tip = bump(np.clip((s - 0.3) / 0.45, 0, 1))
    start = np.array([side * 0.15, -0.2, 0.3])
    mouth = np.array([side * 0.05, 0.26, 0.16])
    p = start + (mouth - start) * lift[..., None]
    hand_to(rig, side, p)
    rig.post(side_name(side, "wrist"), rz(side * 0.6 * tip))
    head_turn(rig, pitch=-0.35 * tip)


def shrug(ctx: Ctx, rig: Rig, side: int = -1) -> None:
    s = ctx.one_shot(0.8, 1.3, ease=bump)
    up = ctx.u(0.2, 0.35) * ctx.amp
    for sd in (1, -1):
        rig.pre(side_name(sd, "collar"), rz(sd * up * s))
        arm_angles(rig, sd, flex=0.15 + 0.2 * s, abduct=0.2 + 0.3 * s, elbow=0.2 + 1.2 * s, twist=-0.6 * s)
    head_turn(rig, roll=0.15 * s * np.sign(ctx.u(-1, 1)))


def look_around(ctx: Ctx, rig: Rig, side: int = -1) -> None:
    ph = ctx.phase(0.25, 0.45)
    yaw = ctx.u(0.7, 1.1) * np.sin(2 * np.pi * ph)
    pitch = 0.15 * np.sin(2 * np.pi * 2 * ph + 1)
    head_turn(rig, yaw=yaw, pitch=pitch)
    rig.pre("spine3", ry(0.25 * yaw))


def flap(ctx: Ctx, rig: Rig, side: int = -1) -> None:
    env = envelope(ctx, 0.3)
    ph = ctx.phase(1.2, 2.0)
    a = (0.5 + 0.5 * np.sin(2 * np.pi * ph)) * ctx.amp
    for s in (1, -1):
        arm_angles(rig, s, flex=0.1, abduct=0.2 + (0.6 + 1.3 * a) * env, elbow=0.2, twist=-0.2)


def conduct(ctx: Ctx, rig: Rig, side: int = -1) -> None:
    """Beat a 4/4 pattern with the right hand (down, in, out, up); the left hand rises."""
    env = envelope(ctx, 0.3)
    beat = ctx.phase(0.45, 0.7) * 4                          # beats
    b = np.floor(beat) % 4
    f = beat - np.floor(beat)
    pts = np.array([[0.0, 0.35], [0.0, -0.05], [-0.15, 0.05], [0.2, 0.05]])   # (x_in, y)
    nxt = pts[((b + 1) % 4).astype(int)]
    cur = pts[b.astype(int)]
    e = smoothstep(f)
    xy = cur + (nxt - cur) * e[..., None] + np.stack([0 * f, 0.05 * np.sin(np.pi * f)], -1)
    a = ctx.amp[..., None]
    x = side * 0.3 - side * xy[..., 0] * a[..., 0]
    y = 0.1 + xy[..., 1] * a[..., 0]
    blend_to(rig, side, stack3(x, y, 0.35 + 0 * x), env, pole=np.array([side, -0.6, -0.2]))
    lh = 0.5 + 0.5 * np.sin(2 * np.pi * beat / 8)
    blend_to(rig, -side, stack3(-side * 0.3 + 0 * x, -0.1 + 0.35 * lh, 0.3 + 0 * x), env)
    head_turn(rig, pitch=-0.1 * env)


def swim(ctx: Ctx, rig: Rig, side: int = -1) -> None:
    """Front-crawl arms standing: alternate overhead windmills with a trunk roll."""
    ph = ctx.phase(0.5, 0.8)
    for s, off in ((1, 0.0), (-1, 0.5)):
        ang = 2 * np.pi * (ph + off)
        arm_angles(rig, s, flex=np.mod(ang, 2 * np.pi), abduct=0.25, elbow=0.35 + 0.3 * np.sin(ang), twist=0.3)
    rig.pre("spine3", ry(0.25 * np.sin(2 * np.pi * ph)))
    head_turn(rig, yaw=-0.3 * np.sin(2 * np.pi * ph))


def hands_on_hips(ctx: Ctx, rig: Rig, side: int = -1) -> None:
    env = envelope(ctx, 0.4)
    for s in (1, -1):
        blend_to(rig, s, np.broadcast_to(np.array([s * 0.2, -0.33, 0.0]), (ctx.B, ctx.T, 3)), env,
                 pole=np.array([s, 0.0, -0.5]))
