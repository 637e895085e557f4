"""The held-out clips an evaluation scores, read once: features, texts, actions and
what the texts' real clips do (liveliness, families, spread of one text's clips).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import MclipError
from . import metrics as M
from .config import EvalConfig
from .physics import FAMILY_LIMB_METRICS, _limb_metrics, action_family, clearance, leaves_ground


# ---------------------------------------------------------------- data


@dataclass
class _Clips:
    """The held-out clips under evaluation, in evaluation order."""

    features: torch.Tensor        # (N, T, 25, 6) canonicalized model features
    texts: list[str]
    actions: list[str]            # manifest "action" ("" when missing)
    babel: list[list[str]]        # BABEL class candidates of each clip, best first
    heldout_phrasing: list[bool | None]  # text never shown in training; None = not recorded
    all_texts: list[str] = field(default_factory=list)  # every distinct text of the split
    # per distinct text, means over the split's clips with that text of "speed" (body
    # speed, m/s), "flies" (leaves the ground, 0/1), "clearance" (highest the body
    # gets off the floor, m), "travel" (root speed over the ground, m/s) and the limbs
    # (``FAMILY_LIMB_METRICS``; "foot_speed_m_s" is the ankles' speed relative to the root)
    # (ankle speed relative to the root, m/s): what a generation from that prompt is
    # compared to
    text_liveliness: dict[str, dict[str, float]] = field(default_factory=dict)
    text_family: dict[str, str | None] = field(default_factory=dict)   # per text, its clips' family
    split_actions: list[str] = field(default_factory=list)  # every distinct action of the split
    # mean distance (m) between two clips of the split that share one text, over the
    # texts that have several (nan when none): what several takes of one prompt may differ by
    same_text_spread_m: float = float("nan")


def _read_info(data_dir: Path) -> dict:
    p = data_dir / "info.json"
    if not p.exists():
        return {}
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise MclipError(f"{p}: cannot read ({e})") from None


def _babel_candidates(record: dict) -> list[str]:
    """A clip's BABEL class names: prepared BABEL data stores its main class as "action"
    and all of them in params["babel60"]; the synthetic corpus names one in params["babel"]."""
    params = record.get("params") or {}
    out = [record.get("action"), params.get("babel")] + list(params.get("babel60") or [])
    return [str(c) for c in out if c]


def _load_clips(data_dir: Path, cfg: EvalConfig, rng: np.random.Generator) -> tuple[_Clips, dict]:
    """At most ``cfg.n`` clips of ``cfg.split``, chosen and ordered by ``rng``.

    A clip stored with several phrasings gets one of them (drawn by ``rng``) as its
    text; every phrasing of the split is a text2motion prompt candidate. Whether a
    clip's phrasing was held out of training is the writer's per-clip flag
    ``params["heldout_phrasing"]`` (the synthetic corpus sets it).
    """
    from collections import Counter

    from ..data.dataset import ClipDataset, read_manifest

    counts = Counter(str(r.get("split")) for r in read_manifest(data_dir))
    if counts.get(cfg.split, 0) == 0:
        have = ", ".join(f"{k} ({v} clips)" for k, v in sorted(counts.items()))
        raise MclipError(f"--split {cfg.split}: {data_dir} has no such clips (it has: {have})")
    info = _read_info(data_dir)
    ds = ClipDataset(data_dir, cfg.split)
    chosen = rng.permutation(len(ds))[: cfg.n]
    texts, held = [], []
    for i in chosen:
        t = ds.texts[i]
        texts.append(t if isinstance(t, str) else t[int(rng.integers(len(t)))])
        flag = (ds.records[i].get("params") or {}).get("heldout_phrasing")
        held.append(None if flag is None else bool(flag))
    every = sorted({p for t in ds.texts for p in ([t] if isinstance(t, str) else t)})
    clips = _Clips(
        features=ds.features[torch.as_tensor(chosen, dtype=torch.long)],
        texts=texts,
        actions=[ds.actions[i] for i in chosen],
        babel=[_babel_candidates(ds.records[i]) for i in chosen],
        heldout_phrasing=held,
        all_texts=every,
        text_liveliness=_text_liveliness(ds) if "text2motion" in cfg.sections else {},
        text_family=_text_families(ds) if "text2motion" in cfg.sections else {},
        split_actions=sorted({a for a in ds.actions if a}),
        same_text_spread_m=_same_text_spread(ds, cfg.takes) if "text2motion" in cfg.sections else float("nan"),
    )
    return clips, info


def _same_text_spread(ds, k: int, most: int = 256) -> float:
    """Mean pairwise distance (m, ``metrics.mean_pairwise_distance_m``) between up to k
    clips sharing one text, averaged over (at most ``most``, in split order) texts of a
    ``ClipDataset`` with two clips or more; nan when no text has two."""
    groups = [ix[:k] for ix in _clips_per_text(ds).values() if len(ix) >= 2][:most]
    if not groups:
        return float("nan")
    return float(np.mean([M.mean_pairwise_distance_m(_joints(ds.features[g])) for g in groups]))


def _text_liveliness(ds) -> dict[str, dict[str, float]]:
    """Per distinct text of a ``ClipDataset``: means over its clips of body speed,
    leaving the ground, clearance, travel and foot speed (see ``_Clips.text_liveliness``)."""
    stats: dict[str, list[torch.Tensor]] = {"speed": [], "flies": [], "clearance": [],
                                            "travel": []}
    stats.update({k: [] for k in FAMILY_LIMB_METRICS})
    for sl in _batches(len(ds), 512):
        j = _joints(ds.features[sl])
        stats["speed"].append(M.body_speed(j))
        stats["travel"].append(M.travel_speed(j))
        stats["flies"].append(leaves_ground(j).float())
        stats["clearance"].append(clearance(j))
        for k, v in _limb_metrics(j).items():
            stats[k].append(v)
    cat = {k: torch.cat(v).double() for k, v in stats.items()}
    return {t: {k: float(v[ix].mean()) for k, v in cat.items()} for t, ix in _clips_per_text(ds).items()}


def _clips_per_text(ds) -> dict[str, list[int]]:
    """Per distinct text (every phrasing) of a ``ClipDataset``: its clips' indices."""
    per_text: dict[str, list[int]] = {}
    for i, t in enumerate(ds.texts):
        for phrasing in ([t] if isinstance(t, str) else t):
            per_text.setdefault(phrasing, []).append(i)
    return per_text


def _text_families(ds) -> dict[str, str | None]:
    """Per distinct text of a ``ClipDataset``: the action family (``action_family``)
    most of its clips have, or None."""
    from collections import Counter

    votes: dict[str, Counter] = {}
    for t, a in zip(ds.texts, ds.actions):
        for phrasing in ([t] if isinstance(t, str) else t):
            votes.setdefault(phrasing, Counter())[action_family(a) if a else None] += 1
    return {t: c.most_common(1)[0][0] for t, c in votes.items()}


# ---------------------------------------------------------------- helpers


def _batches(n: int, size: int):
    for i in range(0, n, size):
        yield slice(i, min(n, i + size))


def _joints(x: torch.Tensor) -> torch.Tensor:
    """(..., T, 25, 6) features -> (..., T, 24, 3) joints, metres, z-up (skeleton FK)."""
    from ..representation import from_features
    from ..skeleton import forward_kinematics

    R, tr = from_features(x)
    return forward_kinematics(R, tr)
