"""Sport moves: punches, boxing, kicks, throwing, golf, tennis, baseball.

Upper-body layers (``fn(ctx, rig, side)``, side -1 = right hand) follow the arms.py
convention; kicks are whole-body actions (``fn(ctx) -> Rig``) standing on one leg with
the supporting foot planted by IK and the kicking leg driven by joint angles.
"""
from __future__ import annotations

import numpy as np

from .arms import blend_to, envelope, hand_to, stack3
from .axes import euler, rx, ry
from .context import Ctx
from .poses import arm_angles, head_turn, spine_bend
from .rig import J, Rig
from .timing import bump, smooth_noise, smootherstep, smoothstep
from .whole_body import plant_feet, standing


def guard_point(side: int) -> np.ndarray:
    """Boxing guard: fist beside the chin."""
    return np.array([side * 0.12, 0.22, 0.22])


def strike_pulse(ph: np.ndarray, out: float = 0.25, back: float = 0.45) -> np.ndarray:
    """0 -> 1 -> 0 over one cycle fraction: fast out (``out``), slower back."""
    f = ph - np.floor(ph)
    return np.where(f < out, smootherstep(f / out),
                    np.where(f < back + out, 1 - smootherstep((f - out) / back), 0.0))


def punch(ctx: Ctx, rig: Rig, side: int = -1) -> None:
    """Straight punches (jab/cross) with one hand from a guard; the other stays up."""
    env = envelope(ctx, 0.25)
    ph = ctx.phase(0.8, 1.4)
    e = strike_pulse(ph) * env
    reach = ctx.u(0.5, 0.58)
    hit = stack3(side * 0.02 + 0 * e, 0.2 + 0 * e, reach + 0 * e)
    p = guard_point(side) + (hit - guard_point(side)) * e[..., None]
    blend_to(rig, side, p, env, pole=np.array([side, -1.0, -0.2]))
    blend_to(rig, -side, np.broadcast_to(guard_point(-side), p.shape), env, pole=np.array([-side, -1, -0.2]))
    rig.pre("spine3", ry(-side * 0.35 * e * ctx.amp))
    head_turn(rig, pitch=0.1 * env)


def hook(ctx: Ctx, rig: Rig, side: int = -1) -> None:
    """Hooks: the fist swings round in a horizontal arc, elbow up."""
    env = envelope(ctx, 0.25)
    ph = ctx.phase(0.7, 1.1)
    e = strike_pulse(ph, 0.3, 0.45) * env
    ang = side * (1.2 - 1.9 * e)              # around the body: from the side to across
    p = stack3(np.sin(ang) * 0.45, 0.22 + 0 * e, 0.1 + np.cos(ang) * 0.35)
    p = guard_point(side) + (p - guard_point(side)) * smoothstep(e * 3)[..., None]
    blend_to(rig, side, p, env, pole=np.array([side, 0.3, -0.3]))
    blend_to(rig, -side, np.broadcast_to(guard_point(-side), p.shape), env, pole=np.array([-side, -1, -0.2]))
    rig.pre("spine3", ry(-side * 0.5 * e * ctx.amp))


def boxing(ctx: Ctx, rig: Rig, side: int = -1) -> None:
    """Guard up with jab-cross combinations and small head movement."""
    ph = ctx.phase(0.8, 1.2)
    jab = strike_pulse(ph, 0.15, 0.3)
    cross = strike_pulse(ph - 0.3, 0.15, 0.3) * (ctx.rng.random((ctx.B, 1)) < 0.8)
    for s, e, r in ((1, jab, 0.5), (-1, cross, 0.56)):
        hit = stack3(s * 0.03 + 0 * e, 0.22 + 0 * e, r + 0 * e)
        p = guard_point(s) + (hit - guard_point(s)) * e[..., None]
        hand_to(rig, s, p, pole=np.array([s, -1.0, -0.2]))
    rig.pre("spine3", ry(0.3 * cross - 0.15 * jab) @ rx(0.1 + 0 * jab))
    head_turn(rig, pitch=0.15 + smooth_noise(ctx.rng, (ctx.B,), ctx.T, 0.05, 1.0))


def boxing_stance(ctx: Ctx) -> Rig:
    """Whole body: staggered stance, knees soft, bouncing on the balls of the feet."""
    rig = standing(ctx)
    ph = ctx.phase(1.6, 2.2)
    bounce = 0.5 + 0.5 * np.sin(2 * np.pi * ph)
    rig.pelvis[..., 2] -= 0.06 - 0.03 * bounce
    rig.heading[:] += 0.5                    # side-on stance, turned to the right
    rig.lean[:] = euler(0.12 + 0 * ph, -0.4 + 0 * ph)
    boxing(ctx, rig)
    plant_feet(rig, width=0.08, front=0.16, toe_out=0.3, pitch={1: 0.2 * bounce + 0.1, -1: 0.3 * bounce + 0.15})
    return rig


def throw(ctx: Ctx, rig: Rig, side: int = -1) -> None:
    """Overhand throw: wind up behind the head, whip forward, follow through down."""
    s = ctx.one_shot(1.0, 1.5, ease=lambda x: np.clip(x, 0, 1))
    wind = smoothstep(s / 0.45)
    whip = smootherstep((s - 0.45) / 0.2)
    back = 1 - smoothstep((s - 0.75) / 0.25)
    cock = np.array([side * 0.35, 0.35, -0.3])
    release = np.array([side * 0.1, 0.35, 0.55])
    follow = np.array([-side * 0.2, -0.3, 0.35])
    rest_pose = np.array([side * 0.2, -0.4, 0.05])
    p = rest_pose + (cock - rest_pose) * wind[..., None]
    p = p + (release - cock) * whip[..., None]
    p = p + (follow - release) * smoothstep((s - 0.62) / 0.18)[..., None]
    p = rest_pose + (p - rest_pose) * np.maximum(back, 1 - smoothstep(s / 0.05))[..., None] * (s > 0)[..., None]
    hand_to(rig, side, p, pole=np.array([side, -0.2, -0.6]))
    other = np.array([-side * 0.3, 0.2, 0.4])
    blend_to(rig, -side, np.broadcast_to(other, p.shape), wind * back)
    rig.pre("spine3", ry(side * (0.5 * wind - 1.0 * whip) * back) @ rx(0.3 * whip * back - 0.15 * wind * back))


def golf_swing(ctx: Ctx, rig: Rig, side: int = -1) -> None:
    """Both hands together on a tilted circle in front of the body (world frame: the ball
    is on the floor): address, backswing up over the right shoulder (side = -1),
    downswing through the ball and follow-through over the left shoulder."""
    from .limbs import arm_ik

    s = ctx.one_shot(1.4, 2.0, ease=lambda x: np.clip(x, 0, 1))
    back = smoothstep(s / 0.5)
    down = smootherstep((s - 0.5) / 0.22)
    ang = 2.3 * back - 4.2 * down * (1 - 0.15 * (1 - ctx.amp))   # around the swing circle
    h = rig.heading
    fwd = np.stack([np.sin(h), -np.cos(h), 0 * h], -1)
    left = np.stack([np.cos(h), np.sin(h), 0 * h], -1)
    up = np.array([0.0, 0.0, 1.0])
    tilt = 0.45                                    # swing plane leans toward the ball
    dn = -up * np.cos(tilt) + fwd * np.sin(tilt)
    centre = rig.pelvis + fwd * 0.22 + up * 0.42
    # + ang swings the hands to the hand's own side (the right for side = -1)
    hands = centre + 0.6 * (np.cos(ang)[..., None] * dn + np.sin(ang)[..., None] * left * side)
    for sd in (1, -1):
        arm_ik(rig, sd, hands + left * 0.03 * sd, frame="world", pole=np.array([sd, -1.0, -0.3]))
    rig.pre("spine3", ry(side * (0.6 * back - 1.1 * down)))
    head_turn(rig, pitch=0.45 * (1 - down) + 0.1, yaw=-side * 0.3 * down)


def tennis_forehand(ctx: Ctx, rig: Rig, side: int = -1) -> None:
    """Racket hand sweeps round the body at waist to shoulder height: back on its own
    side, then across the front to the other shoulder, the trunk turning with it."""
    s = ctx.one_shot(1.0, 1.4, ease=lambda x: np.clip(x, 0, 1))
    prep = smoothstep(s / 0.4)
    swing = smootherstep((s - 0.4) / 0.3)
    th = side * (0.3 + 1.7 * prep - 2.9 * swing)   # 0 = in front, side * pi/2 = own side
    r = 0.5
    p = stack3(np.sin(th) * r, -0.3 + 0.45 * swing, np.cos(th) * r)
    hand_to(rig, side, p, pole=np.array([side, -1.0, -0.5]))
    blend_to(rig, -side, np.broadcast_to(np.array([-side * 0.2, 0.0, 0.4]), p.shape), prep * (1 - swing))
    rig.pre("spine3", ry(side * (0.6 * prep - 1.1 * swing)))


def tennis_serve(ctx: Ctx, rig: Rig, side: int = -1) -> None:
    """Toss with the free hand, racket hand up behind the head, strike high in front."""
    s = ctx.one_shot(1.3, 1.8, ease=lambda x: np.clip(x, 0, 1))
    toss = bump(np.clip(s / 0.6, 0, 1))
    cock = smoothstep((s - 0.15) / 0.35)
    hit = smootherstep((s - 0.55) / 0.15)
    follow = smoothstep((s - 0.72) / 0.2)
    rest = np.array([side * 0.2, -0.4, 0.05])
    behind = np.array([side * 0.3, 0.45, -0.25])
    contact = np.array([side * 0.1, 0.7, 0.25])
    down = np.array([-side * 0.25, -0.35, 0.3])
    p = rest + (behind - rest) * cock[..., None]
    p = p + (contact - behind) * hit[..., None]
    p = p + (down - contact) * follow[..., None]
    hand_to(rig, side, p, pole=np.array([side, -0.5, -0.5]))
    blend_to(rig, -side, np.broadcast_to(np.array([-side * 0.1, 0.7, 0.25]), p.shape), toss)
    rig.pre("spine3", rx(-0.3 * cock * (1 - hit) + 0.35 * follow) @ ry(side * 0.3 * cock * (1 - hit)))
    head_turn(rig, pitch=-0.6 * toss * (1 - follow))


def baseball_swing(ctx: Ctx, rig: Rig, side: int = -1) -> None:
    """Hands together by the back shoulder, level swing round to the front shoulder."""
    s = ctx.one_shot(1.0, 1.4, ease=lambda x: np.clip(x, 0, 1))
    load = smoothstep(s / 0.4)
    swing = smootherstep((s - 0.4) / 0.25)
    ang = side * (1.3 * load - 3.0 * swing)  # horizontal angle of the hands around the chest
    r = 0.35 + 0.15 * bump(np.clip(swing, 0, 1))
    for sd in (1, -1):
        p = stack3(np.sin(ang) * r + sd * 0.03, 0.2 - 0.15 * bump(swing), np.cos(ang) * r)
        hand_to(rig, sd, p, pole=np.array([sd, -1.0, -0.2]))
    rig.pre("spine3", ry(side * (0.5 * load - 1.2 * swing)))
    head_turn(rig, yaw=-side * 0.6 * (1 - swing))


def _kick(ctx: Ctx, kind: str, height=(-0.15, 0.45), crouch: float = 0.0) -> Rig:
    """Kick with the right leg: chamber, extend, retract, put the foot back down.

    Both legs use IK: the left foot stays planted, the right ankle follows a path
    from its footprint to a chambered point under the raised knee, out to the target
    (forwards, or sideways for a side kick) and back, so it never dips into the floor.
    """
    from ...rotations_np import axis_angle_to_matrix, matrix_to_axis_angle, rotate
    from .contact import ankle_from_ground, foot_rotation, foot_spot
    from .limbs import leg_ik
    from .rig import OFF

    rig = standing(ctx)
    s = ctx.one_shot(0.9, 1.3, ease=lambda x: np.clip(x, 0, 1))
    up = smoothstep(s / 0.3)                       # floor -> chamber
    ext = bump(np.clip((s - 0.28) / 0.42, 0, 1))    # chamber -> extended -> chamber
    down = smoothstep((s - 0.7) / 0.3)             # chamber -> floor
    lift = up * (1 - down)
    shift = smoothstep(s / 0.2) * (1 - smoothstep((s - 0.8) / 0.2))
    rig.pelvis[..., 0] += 0.08 * shift            # weight over the left foot
    elev = ctx.u(*height) * ctx.amp ** 0.5          # kick height (rad above horizontal)
    rig.pelvis[..., 2] -= crouch                    # fighting stance: knees bent
    if kind == "side":
        rig.lean[:] = euler(0.05 * lift, 0.0, 0.5 * lift)          # lean away, to the left
    else:
        rig.lean[:] = euler(-0.15 * lift)
    plant_feet(rig, sides=(1,))
    # the right ankle path, in the pelvis' heading frame (x left, z forward), from the hip
    R0 = rig.root_rotation()
    hip = rig.pelvis + rotate(R0, OFF[J["right_hip"]])
    h = rig.heading
    fwd = np.stack([np.sin(h), -np.cos(h), 0 * h], -1)
    left = np.stack([np.cos(h), np.sin(h), 0 * h], -1)
    upv = np.array([0.0, 0.0, 1.0])
    floor_xy = foot_spot(rig, -1, 0.0)
    yaw = rig.heading[:, :1] - 0.12 + 0 * h
    flat = ankle_from_ground(floor_xy, np.zeros_like(h), yaw, np.zeros_like(h), -1)
    reach = 0.74
    if kind == "side":
        chamber = hip - left * 0.05 - upv[None, None] * 0.38 + fwd * 0.15
        out = hip - left * reach * np.cos(elev)[..., None] + upv * (reach * np.sin(elev))[..., None]
    else:
        chamber = hip + fwd * 0.3 - upv[None, None] * 0.3
        out = hip + fwd * (reach * np.cos(elev))[..., None] + upv * (reach * np.sin(elev))[..., None]
    path = flat + (chamber - flat) * lift[..., None]
    path = path + (out - chamber) * ext[..., None] * lift[..., None]
    path[..., 2] = np.maximum(path[..., 2], flat[..., 2])
    # knee pointing forward on the floor, up (front) or forward-up (side) in the air;
    # a fixed forward pole would turn the knee down once the foot rises past the hip
    w = smoothstep(lift)[..., None]
    air_pole = np.array([-0.3, 0.5, 0.8]) if kind == "side" else np.array([0.0, 1.0, 0.25])
    pole = np.array([0.0, 0.3, 1.0]) * (1 - w) + air_pole * w
    leg_ik(rig, -1, path, None, pole=pole)
    # foot: flat on the floor, pointed (front) or blade edge (side) in the air
    shank = R0 @ rig.local[:, :, J["right_hip"]] @ rig.local[:, :, J["right_knee"]]
    flat_R = np.swapaxes(shank, -1, -2) @ foot_rotation(yaw, np.zeros_like(h))
    air_R = rx(0.6 if kind != "side" else 0.2) + 0 * flat_R
    rel = matrix_to_axis_angle(np.swapaxes(flat_R, -1, -2) @ air_R)
    rig.local[:, :, J["right_ankle"]] = flat_R @ axis_angle_to_matrix(rel * smoothstep(lift / 0.5)[..., None])
    for sd in (1, -1):
        arm_angles(rig, sd, flex=0.3 * lift, abduct=0.2 + 0.5 * lift, elbow=0.3 + 0.6 * lift)
    return rig


def kick_front(ctx: Ctx) -> Rig:
    return _kick(ctx, "front")


def kick_side(ctx: Ctx) -> Rig:
    return _kick(ctx, "side")


def karate_kick(ctx: Ctx) -> Rig:
    """A high snap kick from a low stance with the fists up in guard."""
    rig = _kick(ctx, "front", height=(0.35, 0.75), crouch=0.06)
    for sd in (1, -1):
        hand_to(rig, sd, np.broadcast_to(guard_point(sd) + np.array([0, -0.1, 0.05]), (ctx.B, ctx.T, 3)),
                pole=np.array([sd, -1.0, -0.2]))
    return rig


def golf(ctx: Ctx) -> Rig:
    """Whole body golf swing: wide stance, hips back, trunk bent over the ball."""
    rig = standing(ctx)
    rig.pelvis[..., 2] -= 0.05
    rig.pelvis[..., 1] += 0.06
    rig.lean[:] = euler(0.35 + 0 * rig.heading)
    spine_bend(rig, x=0.2)
    golf_swing(ctx, rig)
    plant_feet(rig, width=ctx.u(0.08, 0.14), toe_out=0.2)
    return rig


def baseball(ctx: Ctx) -> Rig:
    """Whole body bat swing from a side-on stance with the hips turning through."""
    rig = standing(ctx)
    s = ctx.one_shot(1.0, 1.4)
    rig.pelvis[..., 2] -= 0.06
    rig.lean[:] = euler(0.15 + 0 * s, 0.3 - 0.6 * s)
    baseball_swing(ctx, rig)
    plant_feet(rig, width=ctx.u(0.12, 0.18), toe_out=0.25)
    return rig
