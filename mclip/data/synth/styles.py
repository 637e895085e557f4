"""Styles and modifiers layered over any action.

A style has two halves:
- *dynamics* that the actions read from the :class:`~.context.Ctx` (tempo, amplitude,
  crouch, bounce, sway, path wander, foot clearance, arm swing, stride, lean);
- a *posture* layer applied to the finished rig (:func:`apply_posture`): trunk bend,
  chest out, head pitch, shoulders raised/forward, tremor and body sway.
Speed (slow/fast) and size (small/big) modifiers scale tempo and amplitude.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .axes import rx, ry, rz
from .context import Ctx
from .poses import head_turn, spine_bend
from .rig import Rig
from .timing import smooth_noise


@dataclass(frozen=True)
class Style:
    """Per-style settings (neutral defaults). Angles in radians, lengths in metres."""

    tempo: float = 1.0
    amp: float = 1.0
    crouch: float = 0.0
    bounce: float = 1.0
    sway: float = 0.0
    wander: float = 0.0
    clearance: float = 1.0
    arm_swing: float = 1.0
    stride: float = 1.0
    lean: float = 0.0          # pelvis/trunk forward lean read by the actions
    spine: float = 0.0         # extra trunk bend (+ forward, slumped; - arched back)
    chest: float = 0.0         # upper-chest extension (+ = chest out)
    head: float = 0.0          # head pitch (+ = looking down)
    shoulders_up: float = 0.0  # collar raise
    shoulders_fwd: float = 0.0  # collar roll forward (+ = hunched)
    tremor: float = 0.0        # small fast shaking of head and arms
    sway_body: float = 0.0     # slow side-to-side trunk sway (drunk)
    bob_head: float = 0.0      # head bobbing (happy, childlike)


STYLES: dict[str, Style] = {
    "neutral": Style(),
    "happy": Style(tempo=1.15, amp=1.2, bounce=2.2, arm_swing=1.4, stride=1.05, chest=0.1,
                   head=-0.12, bob_head=0.08),
    "sad": Style(tempo=0.7, amp=0.6, bounce=0.5, arm_swing=0.3, stride=0.75, clearance=0.7,
                 lean=0.08, spine=0.3, head=0.45, shoulders_fwd=0.15, shoulders_up=-0.05),
    "proud": Style(tempo=0.9, amp=1.1, stride=1.1, arm_swing=1.1, spine=-0.12, chest=0.2,
                   head=-0.2, shoulders_fwd=-0.15, lean=-0.03),
    "angry": Style(tempo=1.3, amp=1.3, bounce=1.4, arm_swing=1.5, stride=1.1, lean=0.1,
                   spine=0.1, head=0.12, shoulders_up=0.12, shoulders_fwd=0.1, tremor=0.015),
    "old": Style(tempo=0.6, amp=0.6, crouch=0.06, bounce=0.4, stride=0.6, clearance=0.6,
                 arm_swing=0.4, lean=0.12, spine=0.35, head=-0.1, shoulders_fwd=0.2, tremor=0.02),
    "childlike": Style(tempo=1.35, amp=1.3, bounce=2.5, arm_swing=1.6, stride=0.8, clearance=1.4,
                       head=-0.05, bob_head=0.12, sway=0.02),
    "drunk": Style(tempo=0.8, amp=1.1, sway=0.07, wander=0.9, clearance=0.8, arm_swing=1.3,
                   head=0.2, sway_body=0.12, tremor=0.01),
    "tired": Style(tempo=0.65, amp=0.7, crouch=0.03, bounce=0.5, arm_swing=0.3, stride=0.8,
                   clearance=0.45, lean=0.06, spine=0.22, head=0.35, shoulders_fwd=0.12,
                   shoulders_up=-0.06),
    "sneaky": Style(tempo=0.75, amp=0.8, crouch=0.14, bounce=0.4, arm_swing=0.4, stride=0.8,
                    lean=0.2, spine=0.15, head=-0.15, clearance=1.2),
    "relaxed": Style(tempo=0.85, amp=0.95, arm_swing=1.2, spine=0.05, head=0.05, sway=0.01),
}
"""Style name -> settings; ``neutral`` is the plain action."""

SPEEDS = {"slow": 0.6, "fast": 1.6}
SIZES = {"small": 0.6, "big": 1.45}

_CTX_FIELDS = ("tempo", "amp", "crouch", "bounce", "sway", "wander", "clearance",
               "arm_swing", "stride", "lean")


def style_table(names: list[str], field: str) -> np.ndarray:
    """(B, 1) one style field for a list of style names."""
    return np.array([[getattr(STYLES[n], field)] for n in names], dtype=np.float64)


def make_ctx(rng: np.random.Generator, styles: list[str], speed: list[str | None],
             size: list[str | None], T: int, pad: int) -> Ctx:
    """Context for a batch: style dynamics x speed/size modifiers x a little jitter."""
    B = len(styles)
    vals = {f: style_table(styles, f) for f in _CTX_FIELDS}
    sp = np.array([[SPEEDS.get(s, 1.0)] for s in speed])
    sz = np.array([[SIZES.get(s, 1.0)] for s in size])
    vals["tempo"] = vals["tempo"] * sp * rng.uniform(0.9, 1.1, (B, 1))
    vals["amp"] = vals["amp"] * sz * rng.uniform(0.9, 1.1, (B, 1))
    vals["stride"] = vals["stride"] * np.sqrt(sz)
    return Ctx(rng, B, T, pad, **vals)


def apply_posture(rig: Rig, rng: np.random.Generator, styles: list[str], noise: float = 0.03) -> None:
    """Posture layer of each clip's style plus small smooth per-clip body noise.

    Writes spine, neck, head and collar joints only (legs keep their IK contact).
    """
    B, T = rig.B, rig.T
    col = lambda f: style_table(styles, f)            # noqa: E731  (B, 1)
    t = np.arange(T)[None, :] / 30.0
    sway = col("sway_body") * np.sin(2 * np.pi * 0.35 * t + rng.uniform(0, 6.3, (B, 1)))
    bob = col("bob_head") * np.sin(2 * np.pi * 1.8 * t + rng.uniform(0, 6.3, (B, 1)))
    trem = col("tremor")
    n = lambda s, k=1.5: smooth_noise(rng, (B,), T, s, k)   # noqa: E731
    spine_bend(rig, x=col("spine") + n(noise), y=n(noise), z=sway + n(noise * 0.7))
    rig.pre("spine3", rx(-col("chest") + 0 * t))
    head_turn(rig, pitch=col("head") + bob + trem * np.sin(2 * np.pi * 6 * t) + n(noise * 1.5),
              yaw=n(noise * 2), roll=-sway * 0.5 + n(noise))
    for side, name in ((1, "left_collar"), (-1, "right_collar")):
        up = col("shoulders_up") + 0 * t
        fwd = col("shoulders_fwd") + 0 * t
        rig.pre(name, rz(side * up) @ ry(-side * fwd))
    if trem.any():
        for name in ("left_elbow", "right_elbow", "left_wrist", "right_wrist"):
            rig.post(name, rx(trem * np.sin(2 * np.pi * 7 * t + rng.uniform(0, 6.3, (B, 1)))))
