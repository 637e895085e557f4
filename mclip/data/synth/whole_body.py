"""Whole-body actions in place: standing, jumps, squats, sitting, bowing, kneeling, lying.

Most start from :func:`standing` (pelvis at standing height, arms hanging, a slow
weight shift) and move the pelvis; :func:`plant_feet` then solves both legs with IK
for feet that stay where they were at the first frame, so the knees bend exactly as
much as the pelvis drops and planted feet cannot slide.
"""
from __future__ import annotations

import numpy as np

from .axes import euler, rx, rz
from .contact import ankle_from_ground, foot_rotation, foot_spot
from .context import Ctx
from .limbs import leg_ik
from .locomotion import gait_rig, run_gait, walk_gait
from .poses import arm_angles, head_turn, spine_bend
from .rig import FPS, J, STANDING_PELVIS_Z, Rig
from .timing import bump, smooth_noise, smootherstep, smoothstep

G = 9.81


def standing(ctx: Ctx) -> Rig:
    """An idle standing rig: small weight shift and breathing, arms hanging."""
    B, T = ctx.B, ctx.T
    rig = Rig(B, T)
    rig.pelvis[..., 2] = STANDING_PELVIS_Z - 0.012 - ctx.crouch
    rig.pelvis[..., 0] += smooth_noise(ctx.rng, (B,), T, 0.012, 0.4)
    rig.pelvis[..., 1] += smooth_noise(ctx.rng, (B,), T, 0.006, 0.4)
    breath = 0.015 * np.sin(2 * np.pi * 0.25 * ctx.time() + ctx.u(0, 6.3))
    spine_bend(rig, x=-breath + ctx.lean)
    for side in (1, -1):
        arm_angles(rig, side, flex=0.05 + smooth_noise(ctx.rng, (B,), T, 0.04, 0.5),
                   abduct=0.12 + smooth_noise(ctx.rng, (B,), T, 0.02, 0.5), elbow=ctx.u(0.1, 0.3),
                   twist=0.1)
    return rig


def plant_feet(rig: Rig, width=0.0, toe_out=0.12, front=0.0, pitch=None, lift=None,
               sides=(1, -1)) -> None:
    """IK both legs to feet planted where they stand at frame 0 (heading of frame 0).

    pitch/lift: optional dict side -> (B, T) heel rise (rad) and toe lift (m).
    """
    for side in sides:
        xy = foot_spot(rig, side, width, side * np.asarray(front))
        yaw = rig.heading[:, :1] + side * toe_out + 0 * rig.heading
        p = np.zeros((rig.B, rig.T)) if pitch is None else np.broadcast_to(pitch[side], (rig.B, rig.T))
        h = np.zeros((rig.B, rig.T)) if lift is None else np.broadcast_to(lift[side], (rig.B, rig.T))
        ankle = ankle_from_ground(xy, h, yaw, p, side)
        leg_ik(rig, side, ankle, foot_rotation(yaw, p))


def hermite(p0, v0, p1, v1, s, dur):
    """Cubic Hermite from (p0, v0) to (p1, v1) over ``dur`` seconds, s in [0, 1]."""
    s2, s3 = s * s, s * s * s
    return ((2 * s3 - 3 * s2 + 1) * p0 + (s3 - 2 * s2 + s) * dur * v0
            + (-2 * s3 + 3 * s2) * p1 + (s3 - s2) * dur * v1)


def jump_profile(ctx: Ctx, height: np.ndarray, t0: np.ndarray, crouch=0.18):
    """Pelvis height offset (B, T), airborne mask and take-off progress for one jump.

    Phases (seconds): crouch 0.35, push 0.18 (accelerate to v0 with the feet planted),
    ballistic flight 2 v0 / g, landing 0.22 (absorb to a dip), recover 0.4.
    returns (dz, airborne, flight_progress 0..1, heel_rise 0..1).
    """
    t = ctx.time() - t0
    v0 = np.sqrt(2 * G * height)
    tf = 2 * v0 / G
    a, b = 0.35, 0.35 + 0.18
    c = b + tf
    d = c + 0.22
    e = d + 0.45
    ext = 0.07                                   # pelvis rise from heel lift at take-off
    z = np.zeros(np.broadcast_shapes(t.shape, height.shape))
    z = np.where(t < a, -crouch * smootherstep(t / a), z)
    z = np.where((t >= a) & (t < b), hermite(-crouch, 0.0, ext, v0, (t - a) / (b - a), b - a), z)
    tau = t - b
    z = np.where((t >= b) & (t < c), ext + v0 * tau - 0.5 * G * tau ** 2, z)
    z = np.where((t >= c) & (t < d), hermite(ext, -v0, -crouch * 0.7, 0.0, (t - c) / (d - c), d - c), z)
    z = np.where((t >= d) & (t < e), -crouch * 0.7 * (1 - smootherstep((t - d) / (e - d))), z)
    z = np.where(t < 0, 0.0, z)
    airborne = (t >= b) & (t < c)
    fprog = np.clip((t - b) / tf, 0, 1)
    heel = np.where((t >= a) & (t < c + 0.05), smoothstep((t - a) / (b - a)), 0.0)
    heel = np.where(t >= c, 1 - smoothstep((t - c) / 0.08), heel)
    return z, airborne, fprog, heel, (a, b, c, d, e)


def _jump(ctx: Ctx, forward: float) -> Rig:
    rig = standing(ctx)
    H = ctx.u(0.15, 0.35) * ctx.amp * (0.6 if forward else 1.0)
    dist = forward * ctx.u(0.5, 1.0) * ctx.amp
    v0 = np.sqrt(2 * G * H)
    total = 0.35 + 0.18 + 2 * v0 / G + 0.22 + 0.45
    slack = np.maximum(ctx.seconds - total, 0.05)
    t0 = ctx.pad / FPS + slack * ctx.u(0.1, 0.7)
    dz, air, fprog, heel, (a, b, c, d, e) = jump_profile(ctx, H, t0)
    t = ctx.time() - t0
    z_stand = rig.pelvis[..., 2].copy()
    rig.pelvis[..., 2] = z_stand + dz
    # forward travel: pelvis eases forward over push + flight + landing
    travel = dist * smoothstep((t - a) / (d - a))
    rig.pelvis[..., 1] -= travel                         # heading 0 faces -y
    rig.airborne[:] = air
    lean = 0.35 * bump(np.clip(t / (b + 0.05), 0, 1)) + 0.25 * bump(np.clip((t - c + 0.1) / 0.6, 0, 1))
    rig.lean[:] = euler(lean * 0.6)
    spine_bend(rig, x=lean * 0.6)
    # feet: planted, heels rise in the push, hang under the body in flight
    lift = np.maximum(dz - 0.07, 0.0) * air
    pitch = 0.7 * heel
    for side in (1, -1):
        xy0 = foot_spot(rig, side, 0.02)
        xy = xy0.copy()
        xy[..., 1] -= dist * smoothstep(fprog) * np.ones_like(t)
        yaw = side * 0.12 + 0 * t
        ankle = ankle_from_ground(xy, lift, yaw, pitch, side)
        leg_ik(rig, side, ankle, foot_rotation(yaw, pitch))
    # arms: back in the crouch, forward and up in the push and flight, down after
    arm = -0.6 * bump(np.clip(t / (a + 0.1), 0, 1)) + 2.2 * bump(np.clip((t - a + 0.05) / (c - a + 0.4), 0, 1))
    for side in (1, -1):
        arm_angles(rig, side, flex=arm * ctx.amp ** 0.5, abduct=0.2, elbow=0.3)
    return rig


def jump_in_place(ctx: Ctx) -> Rig:
    return _jump(ctx, 0.0)


def jump_forward(ctx: Ctx) -> Rig:
    return _jump(ctx, 1.0)


def stand(ctx: Ctx) -> Rig:
    rig = standing(ctx)
    head_turn(rig, pitch=smooth_noise(ctx.rng, (ctx.B,), ctx.T, 0.08, 0.4),
              yaw=smooth_noise(ctx.rng, (ctx.B,), ctx.T, 0.2, 0.4))
    plant_feet(rig, width=ctx.u(-0.01, 0.06))
    return rig


def squat(ctx: Ctx) -> Rig:
    """Repeated squats: hips back and down, trunk forward, arms forward for balance."""
    rig = standing(ctx)
    ph = ctx.phase(0.35, 0.55)
    depth = ctx.u(0.25, 0.42) * ctx.amp ** 0.5
    s = 0.5 - 0.5 * np.cos(2 * np.pi * ph)
    rig.pelvis[..., 2] -= depth * s
    rig.pelvis[..., 1] += 0.12 * s * depth / 0.35           # hips go back (+y behind)
    rig.lean[:] = euler(0.55 * s * depth / 0.35)
    spine_bend(rig, x=0.1 * s)
    head_turn(rig, pitch=-0.35 * s)
    for side in (1, -1):
        arm_angles(rig, side, flex=0.1 + 1.4 * s, abduct=0.15, elbow=0.2)
    plant_feet(rig, width=ctx.u(0.05, 0.12), toe_out=0.3)
    return rig


def _sit_pose(ctx: Ctx, s: np.ndarray, rig: Rig) -> None:
    """Blend from standing (s = 0) to sitting on a seat (s = 1), feet planted."""
    seat = ctx.u(0.42, 0.5)                         # seat height (m)
    z_stand = rig.pelvis[..., 2].copy()
    z_sit = seat + 0.09
    back = ctx.u(0.25, 0.32)
    rig.pelvis[..., 2] = z_stand + (z_sit - z_stand) * s
    rig.pelvis[..., 1] += back * smoothstep(s * 1.2)
    lean = 0.7 * bump(s) + 0.05 * s
    rig.lean[:] = euler(lean * 0.7)
    spine_bend(rig, x=lean * 0.3)
    head_turn(rig, pitch=-lean * 0.4)
    for side in (1, -1):
        arm_angles(rig, side, flex=0.3 + 0.6 * bump(s) + 0.3 * s, abduct=0.15, elbow=0.4 + 0.6 * s)
    plant_feet(rig, width=ctx.u(0.0, 0.06), toe_out=0.15)


def sit_down(ctx: Ctx) -> Rig:
    rig = standing(ctx)
    _sit_pose(ctx, ctx.one_shot(1.2, 1.8), rig)
    return rig


def stand_up(ctx: Ctx) -> Rig:
    rig = standing(ctx)
    _sit_pose(ctx, 1 - ctx.one_shot(1.2, 1.8), rig)
    return rig


def sit(ctx: Ctx) -> Rig:
    rig = standing(ctx)
    _sit_pose(ctx, np.ones((ctx.B, ctx.T)), rig)
    head_turn(rig, yaw=smooth_noise(ctx.rng, (ctx.B,), ctx.T, 0.3, 0.4))
    return rig


def crouch(ctx: Ctx) -> Rig:
    rig = standing(ctx)
    s = ctx.one_shot(0.6, 1.0)
    rig.pelvis[..., 2] -= ctx.u(0.35, 0.45) * s
    rig.pelvis[..., 1] += 0.1 * s
    rig.lean[:] = euler(0.6 * s)
    spine_bend(rig, x=0.3 * s)
    head_turn(rig, pitch=-0.5 * s)
    for side in (1, -1):
        arm_angles(rig, side, flex=0.2 + 0.9 * s, abduct=0.2, elbow=0.3 + 0.8 * s)
    plant_feet(rig, width=ctx.u(0.05, 0.12), toe_out=0.3, pitch={1: 0.4 * s, -1: 0.4 * s})
    return rig


def bow(ctx: Ctx) -> Rig:
    rig = standing(ctx)
    s = ctx.one_shot(1.2, 1.8, ease=bump)
    depth = ctx.u(0.5, 1.0) * ctx.amp ** 0.5
    rig.lean[:] = euler(depth * 0.6 * s)
    rig.pelvis[..., 1] += 0.12 * depth * s
    spine_bend(rig, x=depth * 0.4 * s)
    head_turn(rig, pitch=0.2 * s)
    plant_feet(rig, width=ctx.u(0.0, 0.03))
    return rig


def stretch_up(ctx: Ctx) -> Rig:
    rig = standing(ctx)
    s = ctx.one_shot(1.0, 1.6, ease=bump)
    for side in (1, -1):
        arm_angles(rig, side, flex=0.05 + 3.0 * s * ctx.amp ** 0.2, abduct=0.12 + 0.15 * s, elbow=0.3 * (1 - s))
    spine_bend(rig, x=-0.15 * s)
    head_turn(rig, pitch=-0.3 * s)
    plant_feet(rig, pitch={1: 0.3 * s, -1: 0.3 * s})
    return rig


def touch_toes(ctx: Ctx) -> Rig:
    rig = standing(ctx)
    s = ctx.one_shot(1.3, 2.0, ease=bump)
    rig.lean[:] = euler(1.2 * s)
    rig.pelvis[..., 1] += 0.15 * s
    rig.pelvis[..., 2] -= 0.03 * s
    spine_bend(rig, x=0.5 * s)
    head_turn(rig, pitch=0.2 * s)
    for side in (1, -1):
        arm_angles(rig, side, flex=0.05 + 1.5 * s, abduct=0.12, elbow=0.1)
    plant_feet(rig)
    return rig


def balance(ctx: Ctx) -> Rig:
    """Stand on one leg: weight over the left foot, right knee lifted, arms out."""
    rig = standing(ctx)
    s = ctx.one_shot(0.5, 0.8)
    rig.pelvis[..., 0] += 0.09 * s                   # over the left foot (+x)
    wob = smooth_noise(ctx.rng, (ctx.B,), ctx.T, 0.04, 1.2) * s
    rig.lean[:] = euler(wob * 0.3, 0 * wob, wob)
    for side in (1, -1):
        arm_angles(rig, side, flex=0.1, abduct=0.15 + ctx.u(0.8, 1.4) * s + wob, elbow=0.2)
    plant_feet(rig, sides=(1,))
    lift = ctx.u(0.8, 1.4) * s
    rig.local[:, :, J["right_hip"]] = rx(-lift)
    rig.local[:, :, J["right_knee"]] = rx(lift * 1.2)
    rig.local[:, :, J["right_ankle"]] = rx(0.3 * s)
    return rig


def turn_around(ctx: Ctx) -> Rig:
    """Step around on the spot through about 180 degrees."""
    g = walk_gait(ctx, speed=0.0)
    g.v_fwd = 0 * g.v_fwd + 0.05
    g.yaw_rate = np.where(ctx.rng.random((ctx.B, 1)) < 0.5, 1.0, -1.0) * np.pi / ctx.u(1.4, 1.9) * ctx.tempo
    g.arm_swing = g.arm_swing * 0.3
    g.p_land = 0 * g.p_land
    g.p_off = 0.2 + 0 * g.p_off
    g.bob = g.bob * 0.3
    return gait_rig(ctx, g)


def hop(ctx: Ctx) -> Rig:
    """Hops on the left foot (mirroring makes the right), the right leg held bent."""
    rig = standing(ctx)
    rig.pelvis[..., 0] += 0.08
    ph = ctx.phase(1.4, 1.9)
    n, fr = np.floor(ph), ph - np.floor(ph)
    duty = 0.5
    H = ctx.u(0.06, 0.12) * ctx.amp
    flight = np.clip((fr - duty) / (1 - duty), 0, 1)
    air = fr >= duty
    # stance dip sized so the vertical velocity is continuous at landing and take-off
    dip = 4 * H * duty / ((1 - duty) * np.pi)
    dz = np.where(air, 4 * H * flight * (1 - flight), -dip * np.sin(np.pi * fr / duty))
    adv = ctx.u(0.0, 0.25) * ctx.amp                 # metres per hop forward
    step = n + smoothstep(flight)
    rig.pelvis[..., 1] -= adv * step
    rig.pelvis[..., 2] += dz + 0.04
    rig.airborne[:] = air
    xy = foot_spot(rig, 1, 0.0)
    xy[..., 1] = xy[:, :1, 1] - adv * (step - step[:, :1])
    pitch = np.where(air, 0.4, 0.4 * smoothstep((fr / duty - 0.6) / 0.4))
    ankle = ankle_from_ground(xy, np.where(air, np.maximum(dz + 0.04 - 0.07, 0), 0.0), 0.1 + 0 * fr, pitch, 1)
    leg_ik(rig, 1, ankle, foot_rotation(0.1 + 0 * fr, pitch))
    rig.local[:, :, J["right_hip"]] = rx(-0.3 + 0 * fr)
    rig.local[:, :, J["right_knee"]] = rx(1.3 + 0 * fr)
    for side in (1, -1):
        arm_angles(rig, side, flex=0.2 + 0.3 * np.sin(2 * np.pi * ph), abduct=0.5, elbow=0.6)
    return rig


def jumping_jacks(ctx: Ctx) -> Rig:
    """Jump feet apart with arms up, jump back together with arms down."""
    rig = standing(ctx)
    ph = ctx.phase(0.6, 0.85)                     # one jack = two hops
    hop_ph = 2 * ph
    n, fr = np.floor(hop_ph), hop_ph - np.floor(hop_ph)
    duty = 0.45
    flight = np.clip((fr - duty) / (1 - duty), 0, 1)
    air = fr >= duty
    H = ctx.u(0.05, 0.08) * ctx.amp
    # stance dip sized so the vertical velocity is continuous at landing and take-off
    dip = 4 * H * duty / ((1 - duty) * np.pi)
    dz = np.where(air, 4 * H * flight * (1 - flight), -dip * np.sin(np.pi * fr / duty))
    # heels rise before take-off and come down on landing; the toes leave the floor
    # with the body (pivot on the toe while pitched)
    heel = np.where(air, 1 - smoothstep((flight - 0.6) / 0.4), smoothstep((fr - (duty - 0.25)) / 0.25))
    pitch = 0.35 * heel
    rig.pelvis[..., 2] += dz
    rig.airborne[:] = air
    wide = (n % 2 == 0)                           # landing wide after even hops
    target = np.where(wide, 1.0, 0.0)
    prev = 1 - target
    open_ = np.where(air, prev + (target - prev) * smoothstep(flight), prev)
    w = 0.25 * ctx.amp * open_
    lift = np.where(air, dz, 0.0)
    for side in (1, -1):
        xy = foot_spot(rig, side, 0.0)
        xy[..., 0] += side * w
        yaw = side * 0.15 + 0 * fr
        ankle = ankle_from_ground(xy, lift, yaw, pitch, side)
        leg_ik(rig, side, ankle, foot_rotation(yaw, pitch))
        arm_angles(rig, side, flex=0.0, abduct=0.15 + 2.75 * open_, elbow=0.15)
    return rig


def skip(ctx: Ctx) -> Rig:
    g = run_gait(ctx, 2.2)
    g.cadence = g.cadence * 0.75
    g.duty = ctx.u(0.5, 0.56)
    g.stance_hop = ctx.u(0.06, 0.12) * ctx.amp
    g.flight = False
    g.clearance = ctx.u(0.2, 0.3)
    g.arm_swing = g.arm_swing * 1.4
    g.elbow = ctx.u(0.5, 0.9)
    g.trunk = 0 * g.trunk + ctx.lean
    return gait_rig(ctx, g)


def kneel(ctx: Ctx) -> Rig:
    """Go down on the right knee: right foot steps back, then the pelvis lowers."""
    rig = standing(ctx)
    s = ctx.one_shot(1.2, 1.8)
    step = smoothstep(s / 0.35)
    down = smoothstep((s - 0.3) / 0.7)
    rig.pelvis[..., 2] = rig.pelvis[..., 2] + (0.49 - rig.pelvis[..., 2]) * down
    rig.pelvis[..., 1] += 0.18 * down
    rig.lean[:] = euler(0.15 * bump(down) + 0.05 * down)
    plant_feet(rig, sides=(1,), front=0.30)
    # right foot: step back 0.45 m, then the heel rises as the knee goes down
    xy = foot_spot(rig, -1, 0.0)
    xy[..., 1] += 0.5 * step
    lift = 0.06 * bump(np.clip(s / 0.35, 0, 1))
    pitch = 1.25 * down
    ankle = ankle_from_ground(xy, lift, -0.1 + 0 * s, pitch, -1)
    leg_ik(rig, -1, ankle, foot_rotation(-0.1 + 0 * s, pitch))
    for side in (1, -1):
        arm_angles(rig, side, flex=0.1 + 0.4 * down, abduct=0.15, elbow=0.4 + 0.6 * down)
    return rig


# ------------------------------------------------------------------ floor actions

# Key poses of lying down, as (lean, hip flexion, knee, shoulder flexion, elbow, head pitch):
# lean + = trunk forward, - = backwards (supine at -1.45). The feet keep flat on the floor
# while they carry weight (ankle = hip - lean - knee), relax when lying.
_LIE_KEYS = np.array([
    # lean  hip   knee  arm   elbow head  spine
    [0.00, 0.00, 0.05, 0.05, 0.20, 0.00, 0.00],   # standing
    [0.55, 2.00, 2.20, 1.20, 0.30, -0.30, 0.10],  # deep squat, arms forward for balance
    [-0.30, 2.05, 1.80, -0.50, 0.20, 0.00, 0.35],  # sitting on the floor, knees up, hands behind
    [-1.00, 0.75, 0.60, -0.30, 0.20, 0.30, 0.10],  # leaning back on the elbows
    [-1.48, 0.09, 0.08, 0.00, 0.15, 0.10, 0.00],  # lying on the back
])
_LIE_TIMES = np.array([0.0, 0.3, 0.55, 0.78, 1.0])


def _lie_pose(ctx: Ctx, s: np.ndarray) -> Rig:
    """Angle-driven rig along the lying-down key poses at progress s (B, T) in [0, 1].

    The root is then placed by ``ground`` with horizontal anchoring (``rig.anchor``):
    whatever touches the floor (feet, then buttocks, back, head) does not slide.
    """
    rig = standing(ctx)
    rig.anchor = True
    k = np.clip(np.searchsorted(_LIE_TIMES, s, side="right") - 1, 0, len(_LIE_TIMES) - 2)
    f = smootherstep((s - _LIE_TIMES[k]) / (_LIE_TIMES[k + 1] - _LIE_TIMES[k]))[..., None]
    v = _LIE_KEYS[k] + (_LIE_KEYS[k + 1] - _LIE_KEYS[k]) * f
    lean, hip, knee, arm, elbow, head, spine = np.moveaxis(v, -1, 0)
    rig.lean[:] = euler(lean)
    spine_bend(rig, x=spine)
    # while weight is on the feet (before lying back) keep them flat on the floor
    on_feet = 1 - smoothstep((s - 0.55) / 0.25)
    ankle = (hip - lean - knee) * on_feet + 0.35 * (1 - on_feet)
    for side in (1, -1):
        rig.set(side_name_leg(side, "hip"), rz(side * 0.08 + 0 * s) @ rx(-hip))
        rig.set(side_name_leg(side, "knee"), rx(knee))
        rig.set(side_name_leg(side, "ankle"), rx(ankle))
        arm_angles(rig, side, flex=arm, abduct=0.2 + 0.15 * (1 - on_feet), elbow=elbow)
    head_turn(rig, pitch=head)
    return rig


def side_name_leg(side: int, part: str) -> str:
    return ("left_" if side > 0 else "right_") + part


def lie_down(ctx: Ctx) -> Rig:
    return _lie_pose(ctx, ctx.one_shot(2.2, 3.0, ease=lambda x: np.clip(x, 0, 1)))


def get_up(ctx: Ctx) -> Rig:
    return _lie_pose(ctx, 1 - ctx.one_shot(2.2, 3.0, ease=lambda x: np.clip(x, 0, 1)))
