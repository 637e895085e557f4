"""What the engine's classify and search return (JSON-ready), and the softmax
temperatures of classification a checkpoint carries."""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import MclipError


CLIP_TEMPERATURE = 100.0
TEMPERATURE_RANGE = (1.0, 1000.0)   # a classify temperature outside this is a mistake
"""Logit scale of classification without a calibrated one: softmax(100 * cosine), CLIP's
learned value (exp(4.6052) = 100), which the paper's classifier follows (its 4.4 cites CLIP)."""


@dataclass
class LabelScore:
    label: str
    probability: float
    cosine: float


@dataclass
class WindowScores:
    start_s: float
    end_s: float
    top: list[LabelScore]


def classify_temperature(meta: dict, path) -> dict[str, float]:
    """The softmax temperatures of zero-shot classification a checkpoint carries, by label
    set: ``{"babel60": T, ..., "other": T}`` ("other": any other label list). They are
    fitted on held-out clips (``mclip eval --split val``'s calibration rows) and stored by
    ``mclip export --classify-temperature``; a plain number is "other"; CLIP's 100 when
    the checkpoint has none. A label set's best temperature depends on how many labels
    it has and how close they are, so one number cannot serve all."""
    t = (meta.get("extra") or {}).get("classify_temperature", CLIP_TEMPERATURE)
    temps = dict(t) if isinstance(t, dict) else {"other": t}
    temps.setdefault("other", CLIP_TEMPERATURE)
    for k, v in temps.items():
        low, high = TEMPERATURE_RANGE
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (low <= float(v) <= high):
            raise MclipError(f"{path}: classify_temperature {k} must be a number in {low:g}..{high:g}, "
                             f"got {v!r}")
    return {str(k): float(v) for k, v in temps.items()}


def label_set_key(labels) -> str:
    """Which of a checkpoint's classify temperatures a ``labels`` argument uses."""
    from .label_sets import BUILTIN_SETS

    return labels.lower() if isinstance(labels, str) and labels.lower() in BUILTIN_SETS else "other"


@dataclass
class Classification:
    """``top``: the k best labels of the whole motion (its mean latent), probability and
    cosine in the same order; ``windows``: per 2 s window, when asked for."""

    top: list[LabelScore]
    windows: list[WindowScores] = field(default_factory=list)
    temperature: float = CLIP_TEMPERATURE

    def to_dict(self) -> dict:
        def row(s: LabelScore) -> dict:
            return {"label": s.label, "probability": s.probability, "cosine": s.cosine}
        out = {"temperature": self.temperature, "top": [row(s) for s in self.top]}
        if self.windows:
            out["windows"] = [{"start_s": w.start_s, "end_s": w.end_s,
                               "top": [row(s) for s in w.top]} for w in self.windows]
        return out


@dataclass
class SearchResult:
    """``hits``: (path, cosine) best first; ``skipped``: (path, why) unreadable files."""

    hits: list[tuple[str, float]]
    skipped: list[tuple[str, str]]
    encoded: int            # files encoded this time
    cached: int             # files whose latent came from the cache

    def to_dict(self) -> dict:
        return {"hits": [{"path": p, "score": s} for p, s in self.hits],
                "skipped": [{"path": p, "error": e} for p, e in self.skipped],
                "encoded": self.encoded, "cached": self.cached}
