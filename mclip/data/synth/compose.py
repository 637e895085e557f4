"""The action registry and the batch generator: plan clips, build them, label them.

Every clip is a *body action* (whole body, or plain standing) plus, optionally, an
*arm layer* whose upper-body joints (``skeleton.UPPER_BODY_JOINTS``) replace the body
action's: "waves" = standing + wave layer, "waves while walking" = walk + wave layer.
Clips are planned and built in blocks of ``BLOCK`` clips; block ``k`` depends only on
``(seed, k)``, so output is the same for any shard size or number of workers.
Inside a block, clips are grouped by body action and by arm layer so that each
action function runs once, vectorised over its group.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ... import skeleton
from . import arms, dance, locomotion as loco, sport, whole_body as wb
from .contact import ground
from .context import Ctx
from .language import PHRASES, describe
from .output import finalize, mirror, place
from .rig import Rig
from .styles import SIZES, SPEEDS, STYLES, apply_posture, make_ctx

VERSION = "1.0"
BLOCK = 1024
PAD = 30                     # frames built before and after each clip, then cut
COMPOSE_P = 0.15             # share of clips with an arm layer over another action
STYLE_P = 0.45               # share of clips with a non-neutral style
SPEED_P = 0.2
SIZE_P = 0.15


@dataclass(frozen=True)
class Action:
    """One entry of the registry.

    body: ``fn(ctx) -> Rig`` for whole-body actions (None for arm-only actions);
    arm: ``fn(ctx, rig, side)`` upper-body layer (None for body actions);
    side: hand used by the arm layer (-1 right, +1 left);
    mirror: the action a left/right mirrored clip becomes (itself if side-neutral);
    category: for reports; lower_ok: may carry an arm layer in compositions.
    """

    name: str
    category: str
    body: Callable[[Ctx], Rig] | None = None
    arm: Callable | None = None
    side: int = -1
    mirror: str | None = None
    lower_ok: bool = False
    weight: float = 1.0


def _standing(ctx: Ctx) -> Rig:
    rig = wb.standing(ctx)
    wb.plant_feet(rig, width=ctx.u(-0.01, 0.06))
    return rig


def _registry() -> dict[str, Action]:
    A = Action
    items = [
        # locomotion
        A("walk", "locomotion", loco.walk, lower_ok=True, weight=3.0),
        A("jog", "locomotion", loco.jog, lower_ok=True, weight=1.5),
        A("run", "locomotion", loco.run, lower_ok=True, weight=2.0),
        A("sprint", "locomotion", loco.sprint),
        A("walk_backwards", "locomotion", loco.walk_backwards, lower_ok=True),
        A("side_step_left", "locomotion", loco.side_step_left, mirror="side_step_right", lower_ok=True),
        A("side_step_right", "locomotion", loco.side_step_right, mirror="side_step_left", lower_ok=True),
        A("turn_left", "locomotion", loco.turn_left, mirror="turn_right", lower_ok=True),
        A("turn_right", "locomotion", loco.turn_right, mirror="turn_left", lower_ok=True),
        A("walk_circle", "locomotion", loco.walk_circle, lower_ok=True),
        A("march", "locomotion", loco.march, lower_ok=True),
        A("tiptoe", "locomotion", loco.tiptoe, lower_ok=True),
        A("limp", "locomotion", loco.limp, lower_ok=True),
        A("walk_stop", "locomotion", loco.walk_stop, lower_ok=True),
        A("walk_start", "locomotion", loco.walk_start, lower_ok=True),
        A("skip", "locomotion", wb.skip),
        A("crawl", "locomotion", loco.crawl),
        # jumps
        A("jump_in_place", "jump", wb.jump_in_place, weight=1.5),
        A("jump_forward", "jump", wb.jump_forward),
        A("hop", "jump", wb.hop),
        A("jumping_jacks", "jump", wb.jumping_jacks),
        # whole body
        A("stand", "whole body", wb.stand, lower_ok=True, weight=1.5),
        A("sit_down", "whole body", wb.sit_down, weight=1.5),
        A("stand_up", "whole body", wb.stand_up, weight=1.5),
        A("sit", "whole body", wb.sit, lower_ok=True),
        A("squat", "whole body", wb.squat, lower_ok=True),
        A("kneel", "whole body", wb.kneel),
        A("bow", "whole body", wb.bow),
        A("crouch", "whole body", wb.crouch),
        A("stretch_up", "whole body", wb.stretch_up),
        A("touch_toes", "whole body", wb.touch_toes),
        A("turn_around", "whole body", wb.turn_around),
        A("balance", "whole body", wb.balance, lower_ok=True),
        A("lie_down", "whole body", wb.lie_down),
        A("get_up", "whole body", wb.get_up),
        # arms (over standing)
        A("wave_right", "arms", arm=arms.wave, side=-1, mirror="wave_left", weight=1.5),
        A("wave_left", "arms", arm=arms.wave, side=1, mirror="wave_right"),
        A("wave_both", "arms", arm=arms.wave_both),
        A("clap", "arms", arm=arms.clap, weight=1.5),
        A("raise_right_arm", "arms", arm=arms.raise_arm, side=-1, mirror="raise_left_arm"),
        A("raise_left_arm", "arms", arm=arms.raise_arm, side=1, mirror="raise_right_arm"),
        A("raise_both_arms", "arms", arm=arms.raise_both_arms),
        A("point", "arms", arm=arms.point),
        A("salute", "arms", arm=arms.salute),
        A("drink", "arms", arm=arms.drink),
        A("shrug", "arms", arm=arms.shrug),
        A("look_around", "arms", arm=arms.look_around),
        A("flap", "arms", arm=arms.flap),
        A("conduct", "arms", arm=arms.conduct),
        A("swim", "arms", arm=arms.swim),
        A("hands_on_hips", "arms", arm=arms.hands_on_hips),
        # sport
        A("punch", "sport", arm=sport.punch, weight=1.5),
        A("hook", "sport", arm=sport.hook),
        A("boxing", "sport", sport.boxing_stance),
        A("kick_front", "sport", sport.kick_front, weight=1.5),
        A("kick_side", "sport", sport.kick_side),
        A("karate_kick", "sport", sport.karate_kick),
        A("throw", "sport", arm=sport.throw, weight=1.5),
        A("golf_swing", "sport", sport.golf),
        A("tennis_forehand", "sport", arm=sport.tennis_forehand),
        A("tennis_serve", "sport", arm=sport.tennis_serve),
        A("baseball_swing", "sport", sport.baseball),
        # dance
        A("dance_groove", "dance", dance.groove),
        A("dance_disco", "dance", dance.disco),
        A("dance_twist", "dance", dance.twist),
        A("dance_raise_roof", "dance", dance.raise_roof),
    ]
    reg = {a.name: a for a in items}
    assert all(a in PHRASES for a in reg), [a for a in reg if a not in PHRASES]
    return reg


ACTIONS: dict[str, Action] = _registry()
"""name -> Action, in a fixed order (the order is part of the seed contract)."""

ARM_LAYERS = tuple(n for n, a in ACTIONS.items()
                   if a.arm is not None and n not in ("swim",))
"""Arm actions that may be layered over a body action."""
LOWERS = tuple(n for n, a in ACTIONS.items() if a.lower_ok)


@dataclass
class ClipPlan:
    action: str                 # body action, or the arm action for arm-only clips
    upper: str | None           # arm layer over a body action (compositions)
    style: str
    speed: str | None
    size: str | None
    mirror: bool
    heading: float
    start: tuple[float, float]
    text: str = ""
    heldout: bool = False

    @property
    def body(self) -> str:
        """The body action that builds the lower body ('stand' for arm-only clips)."""
        return "_standing" if ACTIONS[self.action].body is None else self.action

    @property
    def layer(self) -> str | None:
        """The arm action whose upper body is transplanted (None = the body's own)."""
        return self.upper if self.upper is not None else (
            self.action if ACTIONS[self.action].body is None else None)


def plan_block(rng: np.random.Generator, n: int, actions: tuple[str, ...]) -> list[ClipPlan]:
    """Random clip plans (action, style, modifiers, mirror, placement, text)."""
    names = list(actions)
    w = np.array([ACTIONS[a].weight for a in names])
    w = w / w.sum()
    lowers = [a for a in names if a in LOWERS]
    uppers = [a for a in names if a in ARM_LAYERS]
    styles = [s for s in STYLES if s != "neutral"]
    plans = []
    for _ in range(n):
        upper = None
        if lowers and uppers and rng.random() < COMPOSE_P:
            action = lowers[int(rng.integers(len(lowers)))]
            upper = uppers[int(rng.integers(len(uppers)))]
        else:
            action = names[int(rng.choice(len(names), p=w))]
        style = styles[int(rng.integers(len(styles)))] if rng.random() < STYLE_P else "neutral"
        speed = list(SPEEDS)[int(rng.integers(2))] if rng.random() < SPEED_P else None
        size = list(SIZES)[int(rng.integers(2))] if rng.random() < SIZE_P else None
        mir = bool(rng.random() < 0.5)
        p = ClipPlan(action, upper, style, speed, size, mir, float(rng.uniform(-np.pi, np.pi)),
                     (float(rng.uniform(-2, 2)), float(rng.uniform(-2, 2))))
        # the text names what is seen: a mirrored right-hand wave is a left-hand wave
        shown_a = ACTIONS[action].mirror or action if mir else action
        shown_u = (ACTIONS[upper].mirror or upper) if (mir and upper) else upper
        t = describe(rng, shown_a, style, speed, size, shown_u)
        p.text, p.heldout = t.text, t.heldout
        plans.append(p)
    return plans


def shown(plan: ClipPlan) -> tuple[str, str | None]:
    """(action, upper) as seen in the output, after mirroring."""
    a = (ACTIONS[plan.action].mirror or plan.action) if plan.mirror else plan.action
    u = plan.upper
    if u is not None and plan.mirror:
        u = ACTIONS[u].mirror or u
    return a, u


def build_block(rng: np.random.Generator, plans: list[ClipPlan], frames: int):
    """Motions for planned clips -> poses (n, T, 24, 3), trans (n, T, 3) float32."""
    n = len(plans)
    T = frames + 2 * PAD
    poses = np.zeros((n, frames, 24, 3), np.float32)
    trans = np.zeros((n, frames, 3), np.float32)
    rigs: dict[int, Rig] = {}
    # body actions, one call per action over its clips
    for body in sorted({p.body for p in plans}):
        idx = [i for i, p in enumerate(plans) if p.body == body]
        ctx = make_ctx(rng, [plans[i].style for i in idx], [plans[i].speed for i in idx],
                       [plans[i].size for i in idx], T, PAD)
        fn = _standing if body == "_standing" else ACTIONS[body].body
        rig = fn(ctx)
        for k, i in enumerate(idx):
            rigs[i] = (rig, k)
    upper_j = list(skeleton.UPPER_BODY_JOINTS)
    layered: dict[int, np.ndarray] = {}
    for layer in sorted({p.layer for p in plans if p.layer is not None}):
        idx = [i for i, p in enumerate(plans) if p.layer == layer]
        ctx = make_ctx(rng, [plans[i].style for i in idx], [plans[i].speed for i in idx],
                       [plans[i].size for i in idx], T, PAD)
        rig = wb.standing(ctx)
        act = ACTIONS[layer]
        act.arm(ctx, rig, act.side)
        for k, i in enumerate(idx):
            layered[i] = rig.local[k][:, upper_j]
    # assemble per body group: transplant layers, posture, ground, cut, finalise
    for body in sorted({p.body for p in plans}):
        idx = [i for i, p in enumerate(plans) if p.body == body]
        rig = rigs[idx[0]][0]
        for k, i in enumerate(idx):
            if i in layered:
                rig.local[k][:, upper_j] = layered[i]
        # the padding only served the action functions (gait footprints, smoothing)
        rig = rig.crop(PAD, frames)
        apply_posture(rig, rng, [plans[i].style for i in idx])
        ground(rig)
        p, t = finalize(rig)
        mir = np.array([plans[i].mirror for i in idx])
        if mir.any():
            p[mir], t[mir] = mirror(p[mir], t[mir])
        yaw = np.array([plans[i].heading for i in idx])
        xy = np.array([plans[i].start for i in idx])
        p, t = place(p, t, yaw, xy)
        poses[idx], trans[idx] = p, t
    return poses, trans


def generate_block(seed: int, block: int, frames: int = 60, actions: tuple[str, ...] | None = None,
                   n: int = BLOCK):
    """Block ``block`` of the corpus for ``seed``: (poses, trans, plans)."""
    rng = np.random.default_rng([seed, block])
    plans = plan_block(rng, n, tuple(actions) if actions else tuple(ACTIONS))
    poses, trans = build_block(rng, plans, frames)
    return poses, trans, plans


def action_clips(action: str, n: int, seed: int = 0, frames: int = 60, style: str | None = "neutral",
                 upper: str | None = None, mirrored: bool = False, placed: bool = False):
    """n clips of one action (for tests, the gallery and previews).

    style: a style name, or None for random styles; placed=False keeps heading 0 and
    the start at the origin (facing -y). returns (poses, trans, plans).
    """
    if action not in ACTIONS:
        raise KeyError(action)
    rng = np.random.default_rng([seed, 999_983])
    styles = [s for s in STYLES]
    plans = []
    for _ in range(n):
        st = style if style is not None else styles[int(rng.integers(len(styles)))]
        p = ClipPlan(action, upper, st, None, None, mirrored,
                     float(rng.uniform(-np.pi, np.pi)) if placed else 0.0,
                     (float(rng.uniform(-2, 2)), float(rng.uniform(-2, 2))) if placed else (0.0, 0.0))
        a, u = shown(p)
        t = describe(rng, a, st, None, None, u)
        p.text, p.heldout = t.text, t.heldout
        plans.append(p)
    poses, trans = build_block(rng, plans, frames)
    return poses, trans, plans
