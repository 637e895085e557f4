"""Walking, running and stepping: footprints on a path, then leg IK.

A gait is a path (heading + pelvis ground track integrated from body-frame velocity
and yaw rate) and a phase (cycles; one cycle = a left and a right step). Each foot
is planted at a footprint for the stance part of its cycle (``duty``) and swings to
the next footprint for the rest. Footprints are the path point at mid-stance, offset
sideways by the step width, so planted feet never slide by construction. The pelvis
follows the path with a vertical bob and a sideways sway over the stance foot, at a
height the legs can reach (soft-minimum with the reach of each stance leg).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...rotations_np import rotate
from .axes import aim, euler, rx
from .contact import ankle_from_ground, foot_rotation
from .context import Ctx
from .limbs import arm_ik, leg_ik
from .poses import arm_angles, head_turn, spine_bend
from .rig import FPS, J, OFF, REST, STANDING_PELVIS_Z, Rig, chain_global, side_name
from .timing import (batched_interp, bump, cumulative_phase, smooth_below, smooth_noise,
                     smootherstep, smoothstep)

LEG_REACH = float(np.linalg.norm(OFF[J["left_knee"]]) + np.linalg.norm(OFF[J["left_ankle"]]))


@dataclass
class Gait:
    """Gait parameters, each (B, 1) or (B, T). Speeds in m/s, angles in radians."""

    cadence: np.ndarray          # cycles per second (2 steps per cycle)
    v_fwd: np.ndarray            # forward speed (negative = backwards)
    v_lat: np.ndarray            # sideways speed (+ = to the body's left)
    yaw_rate: np.ndarray         # rad/s (+ = turning left)
    duty: np.ndarray             # fraction of the cycle a foot is planted
    clearance: np.ndarray        # swing foot lift (m)
    p_land: np.ndarray           # foot pitch at touch-down (- = toes up, heel first)
    p_off: np.ndarray            # foot pitch at lift-off (+ = heel up)
    width: np.ndarray            # extra half distance between the feet (m)
    height: np.ndarray           # wanted pelvis height (m)
    bob: np.ndarray              # vertical pelvis bob amplitude (m)
    sway: np.ndarray             # sideways pelvis sway amplitude (m)
    arm_swing: np.ndarray        # shoulder swing amplitude (rad)
    elbow: np.ndarray            # mean elbow bend (rad)
    trunk: np.ndarray            # forward trunk lean (rad)
    flight: bool = False         # running: the pelvis rises between stances
    stance_pitch: np.ndarray | float = 0.0   # pitch held during stance (tiptoe > 0)
    right_offset: np.ndarray | float = 0.5   # phase of the right foot (0.5 = symmetric)
    right_duty: np.ndarray | None = None     # duty of the right foot (limp)
    toe_out: float = 0.08
    stance_hop: np.ndarray | float = 0.0     # skipping: a hop (m) in the middle of each stance
    envelope: np.ndarray | None = None        # (B, T) 0..1 walking <-> standing (starts and stops)
    start_phase: np.ndarray | None = None     # (B, 1) phase at frame 0 (default random)


def walk_gait(ctx: Ctx, speed: float = 1.3) -> Gait:
    """A normal walk around ``speed`` m/s with random variation and the ctx style."""
    u = ctx.u
    cad = u(0.85, 1.0) * np.sqrt(ctx.tempo)
    step_scale = ctx.stride * np.sqrt(ctx.tempo) * ctx.amp ** 0.3
    v = speed * u(0.85, 1.15) * step_scale * cad / 0.92
    return Gait(cadence=cad, v_fwd=v, v_lat=0 * v, yaw_rate=0 * v, duty=u(0.58, 0.63),
                clearance=u(0.05, 0.08) * ctx.clearance, p_land=-u(0.15, 0.3),
                p_off=u(0.35, 0.6), width=u(0.0, 0.03), height=STANDING_PELVIS_Z - 0.015 - ctx.crouch,
                bob=u(0.015, 0.03) * ctx.bounce, sway=u(0.015, 0.03) + ctx.sway,
                arm_swing=u(0.25, 0.45) * ctx.arm_swing * ctx.amp, elbow=u(0.15, 0.4),
                trunk=u(0.0, 0.06) + ctx.lean)


def run_gait(ctx: Ctx, speed: float = 3.5) -> Gait:
    """Running with a flight phase; ``speed`` 2.5 (jog) .. 7 (sprint) m/s."""
    u = ctx.u
    fast = np.clip((speed - 2.5) / 4.5, 0, 1)
    cad = (1.35 + 0.4 * fast) * u(0.92, 1.08) * ctx.tempo ** 0.3
    v = speed * u(0.85, 1.15) * ctx.stride * ctx.tempo ** 0.7 * ctx.amp ** 0.3
    return Gait(cadence=cad, v_fwd=v, v_lat=0 * v, yaw_rate=0 * v,
                duty=(0.4 - 0.16 * fast) * u(0.95, 1.05),
                clearance=(0.12 + 0.12 * fast) * u(0.8, 1.2) * ctx.clearance,
                p_land=-u(0.0, 0.2), p_off=u(0.6, 0.9), width=u(-0.03, 0.0),
                height=STANDING_PELVIS_Z - 0.04 - 0.02 * fast - ctx.crouch,
                bob=(0.035 + 0.01 * fast) * u(0.8, 1.2) * ctx.bounce, sway=u(0.005, 0.015) + ctx.sway,
                arm_swing=(0.5 + 0.3 * fast) * u(0.85, 1.15) * ctx.arm_swing * ctx.amp,
                elbow=u(1.3, 1.6), trunk=(0.08 + 0.12 * fast) * u(0.8, 1.2) + ctx.lean,
                flight=True)


def settle_phase(phase: np.ndarray, env: np.ndarray, duty: np.ndarray) -> np.ndarray:
    """Stretch the slowing part of a gait phase so a stopping walk ends with both feet down.

    phase, env (B, T); duty (B, 1). Both feet stand when the left foot's cycle fraction
    is in [0, duty - 0.5] or [0.5, duty]; the final phase is moved forward (by under half
    a cycle) to the middle of the next such window, spread over the slowing frames.
    """
    c = (duty - 0.5) / 2
    end = phase[:, -1:]
    delta = np.mod(c - np.mod(end, 1.0), 0.5)
    slowing = env < 0.999
    first = np.where(slowing.any(1), slowing.argmax(1), phase.shape[1] - 1)
    start = np.take_along_axis(phase, first[:, None], 1)
    R = np.clip((phase - start) / np.maximum(end - start, 1e-6), 0, 1)
    return phase + delta * R


def limit_sweep(g: Gait) -> None:
    """Keep the stance sweep (ground a planted foot travels under the hip, speed x stance
    time) within what a leg reaches: a shorter stance for runs, a slower walk otherwise.
    Without this, big or fast styles would push the pelvis unrealistically low."""
    speed = np.hypot(g.v_fwd, g.v_lat)
    if g.flight:
        g.duty = np.maximum(np.minimum(g.duty, 0.85 * g.cadence / np.maximum(speed, 1e-6)), 0.18)
    else:
        scale = np.minimum(1.0, 1.0 * g.cadence / np.maximum(speed * g.duty, 1e-6))
        g.v_fwd, g.v_lat = g.v_fwd * scale, g.v_lat * scale


def gait_rig(ctx: Ctx, g: Gait, heading0: np.ndarray | None = None) -> Rig:
    """Build the whole-body rig (legs by IK, arms swinging) for a gait."""
    limit_sweep(g)
    B, T = ctx.B, ctx.T
    rig = Rig(B, T)
    bt = (B, T)
    env = np.ones(bt) if g.envelope is None else np.broadcast_to(g.envelope, bt)
    cad = np.broadcast_to(g.cadence, bt) * env
    start = ctx.rng.uniform(0, 1, (B, 1)) if g.start_phase is None else g.start_phase
    phase = cumulative_phase(cad) + start
    if g.envelope is not None and not g.flight:
        phase = settle_phase(phase, env, np.broadcast_to(g.duty, (B, 1)))
    # path: heading and ground track
    yaw = (np.broadcast_to(g.yaw_rate, bt) + smooth_noise(ctx.rng, (B,), T, 1.0, 0.7) * ctx.wander) * env
    heading = (np.zeros((B, 1)) if heading0 is None else heading0) + np.cumsum(yaw, 1) / FPS
    fwd = np.stack([np.sin(heading), -np.cos(heading)], -1)
    left = np.stack([np.cos(heading), np.sin(heading)], -1)
    vel = fwd * np.broadcast_to(g.v_fwd, bt)[..., None] + left * np.broadcast_to(g.v_lat, bt)[..., None]
    vel = vel * env[..., None]
    track = np.cumsum(vel, 1) / FPS
    rig.heading[:] = heading

    # pelvis tilt (forward lean) and the small yaw/roll oscillation of a walking pelvis
    ang = 2 * np.pi * phase
    pel_yaw = 0.06 * np.sin(ang) * np.clip(np.abs(g.v_fwd) / 1.3, 0, 1.5) * env
    pel_roll = 0.035 * np.sin(2 * ang) * env
    rig.lean[:] = euler(np.broadcast_to(g.trunk * 0.5, bt), pel_yaw, pel_roll * 0.5)

    hip_drop = -(OFF[J["left_hip"], 1])                       # pelvis -> hip, metres
    sides = ((1, phase, np.broadcast_to(g.duty, bt)),
             (-1, phase + g.right_offset,
              np.broadcast_to(g.duty if g.right_duty is None else g.right_duty, bt)))
    ankles, feet_R, stance_w, z_limits, hops = {}, {}, [], [], []
    pel_xy = track + left * (np.broadcast_to(g.sway, bt) * np.sin(ang) * env)[..., None]
    for side, ph, duty in sides:
        n = np.floor(ph)
        fr = ph - n
        in_stance = fr < duty
        # footprint k is where the path is at the middle of that stance; the path is
        # extrapolated past the clip so steps near its ends land where they should
        ph_x, track_x, head_x = extend(ph, 90), extend(track, 90), extend(heading, 90)

        def footprint(k):
            q = k + duty / 2
            xy = batched_interp(q, ph_x, track_x)
            hd = batched_interp(q, ph_x, head_x[..., None])[..., 0]
            lf = np.stack([np.cos(hd), np.sin(hd)], -1)
            fw = np.stack([np.sin(hd), -np.cos(hd)], -1)
            lat = side * (abs(REST[J["left_ankle"], 0]) + g.width)
            xy = xy + lf * np.broadcast_to(lat, hd.shape)[..., None] + fw * REST[J["left_ankle"], 2]
            return xy, hd + side * g.toe_out
        xy0, hd0 = footprint(n)
        xy1, hd1 = footprint(n + 1)
        su = np.clip((fr - duty) / (1 - duty), 0, 1)           # swing progress
        s = smoothstep(su)
        ground_xy = np.where(in_stance[..., None], xy0, xy0 + (xy1 - xy0) * s[..., None])
        dh = (hd1 - hd0 + np.pi) % (2 * np.pi) - np.pi
        fyaw = np.where(in_stance, hd0, hd0 + dh * s)
        hop = g.stance_hop * bump(np.clip((fr / duty - 0.35) / 0.5, 0, 1))
        lift = np.where(in_stance, hop, bump(su) * g.clearance)
        # pitch: heel-first touch-down, flat, heel rise before lift-off, swing back
        sp = np.broadcast_to(g.stance_pitch, bt)
        st = fr / duty
        p_st = sp + g.p_land * (1 - smoothstep(st / 0.18)) + (g.p_off - sp) * smoothstep((st - 0.72) / 0.28)
        p_sw = g.p_off + (g.p_land - g.p_off) * smoothstep(su / 0.8)
        pitch = sp + (np.where(in_stance, p_st, p_sw) - sp) * env   # feet flatten when standing
        ankle = ankle_from_ground(ground_xy, lift, fyaw, pitch, side)
        ankles[side] = ankle
        feet_R[side] = foot_rotation(fyaw, pitch)
        # highest pelvis this stance leg allows (0.985 of full reach, keep knee soft)
        hip_xy = pel_xy + left * (side * abs(OFF[J["left_hip"], 0]))
        dxy = np.linalg.norm(ankle[..., :2] - hip_xy, axis=-1)
        reach = np.sqrt(np.maximum((0.985 * LEG_REACH) ** 2 - dxy ** 2, 0.2 ** 2))
        # the limit fades in over the end of the swing and out after lift-off, so the
        # pelvis height stays smooth (a step change here would be an acceleration spike)
        w = np.where(in_stance, 1.0, smoothstep((su - 0.6) / 0.4) + 1 - smoothstep(su / 0.3))
        z_limits.append(ankle[..., 2] + hip_drop + reach + (1 - w) * 1.0)
        stance_w.append(in_stance & (lift < 1e-3))
        hops.append(np.where(in_stance, hop, 0.0))

    # pelvis height: wanted height + bob, soft-capped by the stance legs' reach
    if g.flight:
        duty = np.broadcast_to(g.duty, bt)
        z = g.height - g.bob * np.cos(4 * np.pi * (phase - duty / 2))
    else:
        z = g.height + g.bob * env * np.cos(4 * np.pi * (phase - 0.3))
    z = z + hops[0] + hops[1]
    z = smooth_below(np.minimum.reduce([z] + z_limits), radius=3 if g.flight else 5)
    rig.pelvis[..., :2] = pel_xy
    rig.pelvis[..., 2] = z
    rig.airborne[:] = ~(stance_w[0] | stance_w[1])
    for side in (1, -1):
        leg_ik(rig, side, ankles[side], feet_R[side])

    # trunk: lean, counter-rotation of the chest, arms swinging against the legs
    spine_bend(rig, x=g.trunk * 0.5, y=-pel_yaw * 1.6, z=-pel_roll * 0.5)
    head_turn(rig, pitch=-g.trunk * 0.6)
    for side, off in ((1, 0.0), (-1, 0.5)):
        sw = -np.cos(2 * np.pi * (phase + off))             # +1 = arm forward
        arm_angles(rig, side, flex=g.arm_swing * env * sw + 0.05, abduct=0.12 + 0.05 * g.arm_swing,
                   elbow=g.elbow + 0.25 * g.arm_swing * (sw + 1), twist=0.1)
    return rig


# ------------------------------------------------------------------ actions


def walk(ctx: Ctx) -> Rig:
    return gait_rig(ctx, walk_gait(ctx))


def jog(ctx: Ctx) -> Rig:
    return gait_rig(ctx, run_gait(ctx, 2.6))


def run(ctx: Ctx) -> Rig:
    return gait_rig(ctx, run_gait(ctx, 3.8))


def sprint(ctx: Ctx) -> Rig:
    return gait_rig(ctx, run_gait(ctx, 6.0))


def walk_backwards(ctx: Ctx) -> Rig:
    g = walk_gait(ctx, speed=0.8)
    g.v_fwd = -g.v_fwd
    g.p_land, g.p_off = ctx.u(0.1, 0.25), -ctx.u(0.0, 0.1)
    g.trunk = g.trunk - 0.03
    g.arm_swing = g.arm_swing * 0.6
    return gait_rig(ctx, g)


def _side_step(ctx: Ctx, side: int) -> Rig:
    g = walk_gait(ctx, speed=0.6)
    g.v_lat = side * g.v_fwd
    g.v_fwd = 0 * g.v_fwd
    g.p_land, g.p_off = 0 * g.p_land, ctx.u(0.0, 0.15)
    g.width = ctx.u(0.04, 0.1)
    g.arm_swing = g.arm_swing * 0.3
    g.sway = g.sway + 0.02
    return gait_rig(ctx, g)


def side_step_left(ctx: Ctx) -> Rig:
    return _side_step(ctx, 1)


def side_step_right(ctx: Ctx) -> Rig:
    return _side_step(ctx, -1)


def _turn_walk(ctx: Ctx, side: int) -> Rig:
    g = walk_gait(ctx, speed=1.0)
    # turn through 60..180 degrees within the 2 s of the clip
    g.yaw_rate = side * ctx.u(0.5, 1.5) * ctx.tempo
    return gait_rig(ctx, g)


def turn_left(ctx: Ctx) -> Rig:
    return _turn_walk(ctx, 1)


def turn_right(ctx: Ctx) -> Rig:
    return _turn_walk(ctx, -1)


def walk_circle(ctx: Ctx) -> Rig:
    g = walk_gait(ctx, speed=1.1)
    radius = ctx.u(1.0, 2.5)
    sign = np.where(ctx.rng.random((ctx.B, 1)) < 0.5, 1.0, -1.0)
    g.yaw_rate = sign * g.v_fwd / radius
    return gait_rig(ctx, g)


def march(ctx: Ctx) -> Rig:
    g = walk_gait(ctx, speed=0.9)
    g.clearance = ctx.u(0.22, 0.32) * ctx.amp * ctx.clearance
    g.p_land, g.p_off = ctx.u(-0.05, 0.05), ctx.u(0.2, 0.35)
    g.cadence = g.cadence * 0.9
    g.arm_swing = ctx.u(0.6, 0.9) * ctx.amp
    g.elbow = ctx.u(0.0, 0.1)
    g.trunk = 0 * g.trunk - 0.03 + ctx.lean
    return gait_rig(ctx, g)


def tiptoe(ctx: Ctx) -> Rig:
    g = walk_gait(ctx, speed=0.6)
    g.stance_pitch = ctx.u(0.5, 0.75)
    g.p_land = 0 * g.p_land
    g.p_off = g.stance_pitch + 0.1
    g.height = g.height + 0.07
    g.arm_swing = g.arm_swing * 0.5
    g.elbow = ctx.u(0.6, 1.0)
    g.clearance = g.clearance * 0.8
    return gait_rig(ctx, g)


def limp(ctx: Ctx) -> Rig:
    """An uneven walk: the right (hurt) leg is loaded briefly, the left step is hurried."""
    g = walk_gait(ctx, speed=0.8)
    g.cadence = g.cadence * 0.8
    g.duty = ctx.u(0.66, 0.72)
    g.right_duty = ctx.u(0.5, 0.55)
    g.right_offset = ctx.u(0.55, 0.6)
    g.sway = g.sway + ctx.u(0.02, 0.04)
    g.bob = g.bob * 2
    return gait_rig(ctx, g)


def extend(x: np.ndarray, n: int) -> np.ndarray:
    """(B, T, ...) -> (B, T + 2n, ...): continue the first/last step linearly on both ends."""
    k = np.arange(1, n + 1).reshape((1, n) + (1,) * (x.ndim - 2))
    head = x[:, :1] - (x[:, 1:2] - x[:, :1]) * k[:, ::-1]
    tail = x[:, -1:] + (x[:, -1:] - x[:, -2:-1]) * k
    return np.concatenate([head, x, tail], 1)


def _limb_steps(ph: np.ndarray, duty: float, track: np.ndarray, heading: np.ndarray,
                fwd_off: float, lat_off: float):
    """Ground point (B, T, 2) and swing progress of one limb stepping along a path.

    ph: (B, T) this limb's phase (cycles); each cycle = stance (``duty``) + swing. The
    footprint of cycle k is the path point at mid-stance plus body-frame offsets.
    returns (ground_xy, in_stance, swing_progress).
    """
    n = np.floor(ph)
    fr = ph - n

    ph_x, track_x, head_x = extend(ph, 90), extend(track, 90), extend(heading, 90)

    def print_at(k):
        q = k + duty / 2
        xy = batched_interp(q, ph_x, track_x)
        hd = batched_interp(q, ph_x, head_x[..., None])[..., 0]
        fw = np.stack([np.sin(hd), -np.cos(hd)], -1)
        lf = np.stack([np.cos(hd), np.sin(hd)], -1)
        return xy + fw * fwd_off + lf * lat_off

    xy0, xy1 = print_at(n), print_at(n + 1)
    in_stance = fr < duty
    su = np.clip((fr - duty) / (1 - duty), 0, 1)
    xy = np.where(in_stance[..., None], xy0, xy0 + (xy1 - xy0) * smoothstep(su)[..., None])
    return xy, in_stance, su


def crawl(ctx: Ctx) -> Rig:
    """Crawl on hands and knees: trunk horizontal, diagonal limbs move together.

    Hands and knees are stepped like feet (footprints on the path); the arms reach
    the hand points with IK, the legs put the ankle behind the knee on the floor so
    the shin lies flat.
    """
    B, T = ctx.B, ctx.T
    rig = Rig(B, T)
    f = ctx.u(0.45, 0.65) * ctx.tempo
    v = ctx.u(0.25, 0.4) * ctx.tempo * ctx.stride
    phase = cumulative_phase(np.broadcast_to(f, (B, T))) + ctx.u(0, 1)
    yaw = smooth_noise(ctx.rng, (B,), T, 0.15, 0.5) + ctx.wander * smooth_noise(ctx.rng, (B,), T, 1.0, 0.5)
    heading = np.cumsum(yaw, 1) / FPS
    fwd = np.stack([np.sin(heading), -np.cos(heading)], -1)
    track = np.cumsum(fwd * v[..., None], 1) / FPS
    rig.heading[:] = heading
    duty = 0.72
    lean = 1.45                                    # trunk nearly horizontal, shoulders a bit higher
    rig.lean[:] = euler(lean + 0.03 * np.sin(4 * np.pi * phase), 0.06 * np.sin(2 * np.pi * phase))
    hip_z = 0.05 + 0.38                             # knee on the floor, thigh about vertical
    rig.pelvis[..., :2] = track
    rig.pelvis[..., 2] = hip_z + 0.02 + 0.012 * np.cos(4 * np.pi * phase)
    spine_bend(rig, x=-0.12)
    head_turn(rig, pitch=-0.7)
    up = np.array([0.0, 0.0, 1.0])
    shin = float(np.linalg.norm(OFF[J["left_ankle"]]))
    for side, off in ((1, 0.0), (-1, 0.5)):
        # knees: same side as the hand half a cycle later (diagonal pairs move together)
        kxy, kst, ksu = _limb_steps(phase + off + 0.5 + 0.05, duty, track, heading, -0.02,
                                    side * 0.11)
        klift = np.where(kst, 0.0, bump(ksu) * 0.06)
        h = heading
        back = -np.stack([np.sin(h), -np.cos(h)], -1)
        ankle = np.concatenate([kxy + back * shin * 0.97, (0.07 + klift)[..., None]], -1)
        leg_ik(rig, side, ankle, None)
        rig.set(side_name(side, "ankle"), rx(1.1 + 0 * h))
        hxy, hst, hsu = _limb_steps(phase + off, duty, track, heading, 0.47, side * 0.17)
        hlift = np.where(hst, 0.0, bump(hsu) * 0.08)
        wrist = np.concatenate([hxy, (0.035 + hlift)[..., None]], -1)
        arm_ik(rig, side, wrist, frame="world", pole=np.array([0.3 * side, -1.0, 0.3]))
        # hand flat on the floor, fingers forward: aim the wrist->hand bone
        wr, hd = side_name(side, "wrist"), side_name(side, "hand")
        rig.local[:, :, wr] = np.eye(3)
        Gw, _ = chain_global(rig, wr)
        fwd3 = np.concatenate([np.stack([np.sin(h), -np.cos(h)], -1), np.zeros(h.shape + (1,))], -1)
        Gt = np.swapaxes(Gw, -1, -2)
        rig.local[:, :, wr] = aim(np.broadcast_to(OFF[hd], fwd3.shape), np.broadcast_to(np.array([0.0, 1.0, 0.0]), fwd3.shape),
                                  rotate(Gt, fwd3), rotate(Gt, np.broadcast_to(up, fwd3.shape)))
    return rig


def walk_stop(ctx: Ctx) -> Rig:
    """Walk, slow down over about two steps and stand still with both feet down."""
    g = walk_gait(ctx, speed=1.2)
    t0 = ctx.pad / FPS + ctx.u(0.3, 0.9)
    g.envelope = 1 - smootherstep((ctx.time() - t0) / (ctx.u(0.6, 0.9) / np.sqrt(ctx.tempo)))
    return gait_rig(ctx, g)


def walk_start(ctx: Ctx) -> Rig:
    """Stand still (both feet down), then set off walking."""
    g = walk_gait(ctx, speed=1.2)
    t0 = ctx.pad / FPS + ctx.u(0.2, 0.8)
    g.envelope = smootherstep((ctx.time() - t0) / (ctx.u(0.6, 0.9) / np.sqrt(ctx.tempo)))
    # frozen at a double-support moment until it starts
    g.start_phase = (g.duty - 0.5) / 2 + np.where(ctx.rng.random((ctx.B, 1)) < 0.5, 0.0, 0.5)
    return gait_rig(ctx, g)
