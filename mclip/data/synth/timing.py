"""Time bases: the curves over a clip's frames (30 fps) that actions are timed with.

``smoothstep``, ``smootherstep`` and ``bump`` shape a movement's progress from 0 to 1 (or
0 -> 1 -> 0); ``smooth_noise`` is band-limited jitter that adds no jerk spikes;
``smooth_below`` keeps a curve under a limit without kinks (pelvis heights under the
legs' reach); ``cumulative_phase`` integrates a varying rate into cycles; and
``batched_interp`` resamples per clip (e.g. footsteps planned in phase onto frames). The
per-batch timing of random one-shot and repeated movements is on ``context.Ctx``.
"""
from __future__ import annotations

import math

import numpy as np

from ...skeleton import FPS


def smoothstep(x):
    """Clamped C1 ease 0 -> 1 on x in [0, 1]."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def smootherstep(x):
    """Clamped C2 ease 0 -> 1."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * x * (x * (6 * x - 15) + 10)


def bump(x):
    """0 -> 1 -> 0 on x in [0, 1], smooth (sin^2), zero outside."""
    x = np.clip(x, 0.0, 1.0)
    return np.sin(np.pi * x) ** 2


def smooth_noise(rng: np.random.Generator, shape: tuple, T: int, scale: float,
                 knots_per_s: float = 1.5) -> np.ndarray:
    """Band-limited noise (shape + (T,)): random knots joined by cosine interpolation.

    ``scale`` is the standard deviation of the knots; the curve is C1-smooth so it adds
    no jerk spikes.
    """
    n_knots = int(np.ceil(T / FPS * knots_per_s)) + 2
    knots = rng.normal(0.0, scale, shape + (n_knots,))
    pos = np.arange(T) / FPS * knots_per_s
    i0 = np.floor(pos).astype(int)
    f = smoothstep(pos - i0)
    return knots[..., i0] * (1 - f) + knots[..., i0 + 1] * f


def smooth_below(z: np.ndarray, radius: int = 5) -> np.ndarray:
    """(B, T) -> (B, T) smooth curve that never exceeds ``z``.

    A running minimum over +-radius frames, then a binomial blur of the same radius:
    each output is an average of values <= z there. Used for pelvis heights that must
    stay under leg-reach limits without kinks (kinks are acceleration spikes).
    """
    from numpy.lib.stride_tricks import sliding_window_view

    w = 2 * radius + 1
    zp = np.pad(z, ((0, 0), (radius, radius)), mode="edge")
    eroded = sliding_window_view(zp, w, axis=1).min(-1)
    kern = np.array([math.comb(w - 1, i) for i in range(w)], dtype=np.float64)
    kern /= kern.sum()
    ep = np.pad(eroded, ((0, 0), (radius, radius)), mode="edge")
    return (sliding_window_view(ep, w, axis=1) * kern).sum(-1)


def cumulative_phase(freq: np.ndarray) -> np.ndarray:
    """(B, T) frequency in cycles/s -> (B, T) phase in cycles (starts at 0)."""
    ph = np.cumsum(freq, axis=1) / FPS
    return ph - ph[:, :1]


def batched_interp(xq: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-row linear interpolation: xq (B, K), x (B, T) increasing, y (B, T, ...) -> (B, K, ...).

    Clamps outside [x[0], x[-1]].
    """
    B, T = x.shape
    idx = np.empty(xq.shape, dtype=int)
    for b in range(B):  # searchsorted per row (cheap: K, T ~ 100)
        idx[b] = np.searchsorted(x[b], xq[b], side="right")
    idx = np.clip(idx, 1, T - 1)
    rows = np.arange(B)[:, None]
    x0, x1 = x[rows, idx - 1], x[rows, idx]
    w = np.clip((xq - x0) / np.maximum(x1 - x0, 1e-12), 0.0, 1.0)
    y0, y1 = y[rows, idx - 1], y[rows, idx]
    w = w.reshape(w.shape + (1,) * (y.ndim - 2))
    return y0 * (1 - w) + y1 * w
