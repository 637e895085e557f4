"""The per-batch context an action function gets: its random source, size and modifiers.

A :class:`Ctx` carries the batch size ``B``, the frames to build ``T`` (output frames plus
a pad cut from each end) and per-clip modifiers as (B, 1) arrays that broadcast over time,
filled by ``styles.make_ctx`` from the clip's style, speed and size: ``tempo``, ``amp``
and the posture fields (crouch, bounce, sway, wander, clearance, arm swing, stride, lean).
Its methods draw per-clip random values (``u``) and time a movement: ``phase`` for a
repeated one at a random rate, ``one_shot`` for one done once between idle holds.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...skeleton import FPS
from .timing import smootherstep


@dataclass
class Ctx:
    """What an action function gets: the batch size, length and per-clip modifiers.

    Every modifier is an array (B, 1) so it broadcasts over time. ``tempo`` > 1 is
    faster, ``amp`` > 1 bigger; the posture fields come from the style (see styles.py)
    and are read by the actions that move the legs and pelvis themselves.
    """

    rng: np.random.Generator
    B: int
    T: int                      # frames to produce (output frames + 2 * pad)
    pad: int                    # frames cut from each end afterwards
    tempo: np.ndarray
    amp: np.ndarray
    crouch: np.ndarray          # metres the pelvis sits lower (bent knees)
    bounce: np.ndarray          # extra vertical bob, multiplier (1 = normal)
    sway: np.ndarray            # extra lateral sway of the pelvis, metres
    wander: np.ndarray          # heading noise, radians (drunk)
    clearance: np.ndarray       # foot lift multiplier (tired feet drag)
    arm_swing: np.ndarray       # arm swing multiplier
    stride: np.ndarray          # step length multiplier
    lean: np.ndarray            # forward trunk lean of the pelvis, radians

    def u(self, lo: float, hi: float) -> np.ndarray:
        """(B, 1) uniform random values."""
        return self.rng.uniform(lo, hi, (self.B, 1))

    def time(self) -> np.ndarray:
        """(1, T) seconds."""
        return (np.arange(self.T) / FPS)[None, :]

    @property
    def seconds(self) -> float:
        """Length of the output window in seconds."""
        return (self.T - 2 * self.pad) / FPS

    def phase(self, freq_lo: float, freq_hi: float) -> np.ndarray:
        """(B, T) cycles of a repeated movement at a random rate (scaled by tempo)."""
        f = self.u(freq_lo, freq_hi) * self.tempo
        return f * self.time() + self.u(0.0, 1.0)

    def one_shot(self, dur_lo: float, dur_hi: float, ease=None) -> np.ndarray:
        """(B, T) progress 0 -> 1 of a movement done once inside the output window.

        Its duration is random in [dur_lo, dur_hi] s / tempo; it starts after a random
        idle hold, and a hold follows it when time is left (idle hold segments).
        """
        ease = smootherstep if ease is None else ease
        dur = self.u(dur_lo, dur_hi) / self.tempo
        dur = np.minimum(dur, self.seconds * 0.9)
        slack = np.maximum(self.seconds - dur, 0.0)
        t0 = self.pad / FPS + slack * self.u(0.05, 0.6)
        return ease((self.time() - t0) / dur)
