"""`mclip eval`: how good is a checkpoint? Four measurements on held-out clips.

1. reconstruction   encode -> decode a clip; MPJPE (mm) of forward-kinematics joints,
                    with root translation and root-aligned, and the mean rotation
                    geodesic error (degrees) of the 24 local joint rotations.
2. classification   zero-shot action recognition: cosine of the motion latent to the
                    text embedding of every label; top-1 / top-5 accuracy, overall and
                    split into clips whose phrasing was seen in training vs held out.
                    Labels: the split's distinct actions (synthetic corpus) or the
                    BABEL-60 classes (real BABEL data), as the paper's Table 3.
3. text2motion      prompt -> backbone -> decoder -> motion, re-encoded: R-precision
                    (top-1/3 among 32) and mean cosine(prompt, re-encoded motion),
                    plus physical plausibility (foot skate, ground penetration, jerk)
                    of the generated motion next to the same metrics on real clips,
                    and whether it is as lively as the real clips of the same prompts:
                    body speed (joints relative to the pelvis) and the share of clips
                    that leave the ground (a jump's flight).
4. interpolation    decode S evenly spaced points of the great-circle path (slerp)
                    between two clips' latents: plausibility at the worst step and
                    how evenly the decoded motion changes along the path.

Everything runs in ``torch.no_grad`` in eval mode, batch by batch, with one seed
deciding which clips, prompts and pairs are used, so the same call gives the same
numbers (each section draws from its own stream of that seed, so running one section
alone gives the same numbers as in a full run). All motion is compared in the
canonical frame (``representation.canonicalize``: first frame faces -y, pelvis above
the origin, height kept), z-up world, metres, 30 fps. Generated motion is the raw
decoder output: unlike ``Engine.text2motion`` it is not moved onto the floor, so ground
penetration and floating measure the model itself.
"""
from __future__ import annotations

import json
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .errors import MclipError
from .eval import metrics as M

__all__ = ["EvalConfig", "evaluate", "SECTIONS"]

SECTIONS = ("reconstruction", "classification", "text2motion", "interpolation")
LABEL_SETS = ("auto", "actions", "babel60")


@dataclass
class EvalConfig:
    """Knobs of one evaluation run (the CLI exposes the common ones)."""

    split: str = "test"
    n: int = 512                  # clips (and prompts, at least group_size) to evaluate
    seed: int = 0
    batch_size: int = 64
    labels: str = "auto"          # "auto" | "actions" | "babel60"
    group_size: int = 32          # R-precision: 1 true prompt + 31 distractors
    interp_pairs: int = 32        # clip pairs for the latent interpolation test
    interp_steps: int = 7         # points on each path, endpoints included (>= 5)
    sections: tuple[str, ...] = SECTIONS
    device: str | None = None
    takes: int = 4                # text2motion: takes per prompt for the spread rows ...
    takes_prompts: int = 64       # ... over this many prompts
    guidance: float | None = None     # the sampler's guidance and steps (None: its own)
    sample_steps: int | None = None


# ---------------------------------------------------------------- model + text backbone


def _engine(engine_or_checkpoint, device: str | None):
    """An ``Engine`` is used as loaded; a checkpoint path (or None: the shipped
    weights) is loaded into one, with the text backbone it was trained against."""
    from .engine import Engine

    if engine_or_checkpoint is None or isinstance(engine_or_checkpoint, (str, Path)):
        return Engine(engine_or_checkpoint, device=device)
    # Anything engine-shaped will do (tests pass a model with a known error).
    if all(hasattr(engine_or_checkpoint, a) for a in ("model", "embed_texts", "frames", "device")):
        return engine_or_checkpoint
    raise MclipError(f"evaluate: expected an Engine or a checkpoint path, got "
                     f"{type(engine_or_checkpoint).__name__}")


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

    from .data.dataset import ClipDataset, read_manifest

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
    from .representation import from_features
    from .skeleton import forward_kinematics

    R, tr = from_features(x)
    return forward_kinematics(R, tr)


def _grounded(joints: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(N, T, 24, 3) -> (joints as float64 numpy, floor (N, 1, 1) m): each clip's floor is
    its lowest body-surface point over the whole clip (the corpus' surface offsets,
    ``synth.metrics.SURFACE``). Like the engine, which puts the lowest sole on z = 0, this
    judges a clip by where it stands, not by the height a raw decoder put it at."""
    from .data.synth import metrics as pm

    j = joints.detach().cpu().double().numpy()
    return j, (j[..., 2] - pm.SURFACE).min(axis=(1, 2), keepdims=True)


def clearance(joints: torch.Tensor) -> torch.Tensor:
    """(N, T, 24, 3) metres, z-up -> (N,) the highest the whole body gets off its floor
    (m, see ``_grounded``): max over frames of the lowest body-surface point.
    A real jump clears 0.1-0.3 m; walking about 0."""
    from .data.synth import metrics as pm

    j, floor = _grounded(joints)
    return torch.from_numpy((j[..., 2] - pm.SURFACE - floor).min(axis=-1).max(axis=-1))


def leaves_ground(joints: torch.Tensor, min_frames: int = 3) -> torch.Tensor:
    """(N, T, 24, 3) metres, z-up -> (N,) bool: the clip has at least ``min_frames``
    frames (0.1 s at 30 fps) with the whole body off its floor (``_grounded``) by the
    corpus' own flight test (``synth.metrics.airborne_frames``): a jump's flight.
    A raw decoder output floating above z = 0 does not count."""
    from .data.synth import metrics as pm

    j, floor = _grounded(joints)
    return torch.from_numpy(pm.airborne_frames(j, floor).sum(axis=1) >= min_frames)


# ---------------------------------------------------------------- the run


PLAUSIBILITY_KEYS = ("foot_skate_mm", "ground_penetration_mm", "jerk")


def _plausibility(joints: torch.Tensor) -> dict[str, float]:
    """Physical plausibility of clips, from the corpus' own metrics (mclip.data.synth.metrics).

    joints: (N, T, 24, 3) metres, z-up world, floor at z = 0, 30 fps.
    returns means over the N clips of: foot_skate_mm (horizontal slide of a planted foot
    joint per contact frame), ground_penetration_mm (deepest body-surface point below
    the floor in the clip), jerk (mean joint jerk, m/s^3).
    """
    from .data.synth import metrics as pm

    j = joints.detach().cpu().double().numpy()
    return {
        "n": int(j.shape[0]),
        "foot_skate_mm": float(pm.foot_skate(j).mean() * 1000.0),
        "ground_penetration_mm": float(pm.ground_penetration(j).mean() * 1000.0),
        "jerk": float(pm.jerk(j).mean()),
    }


def _reconstruction(eng, clips: _Clips, cfg: EvalConfig, tick) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """Encode + decode every clip. returns (section, z (N, D), real joints (N, T, 24, 3))."""
    from .representation import from_features

    zs, real, recon = [], [], []
    sums = {"mpjpe_mm": 0.0, "root_aligned_mpjpe_mm": 0.0, "rotation_error_deg": 0.0}
    speed = speed_hat = 0.0                                  # summed body speeds (m/s)
    n = clips.features.shape[0]
    for sl in _batches(n, cfg.batch_size):
        x = clips.features[sl].to(eng.device)
        z = eng.model.encode(x)
        x_hat = eng.model.decode(z, x.shape[1])
        R, _ = from_features(x)
        R_hat, _ = from_features(x_hat)
        j, j_hat = _joints(x), _joints(x_hat)
        b = x.shape[0]
        sums["mpjpe_mm"] += M.mpjpe_mm(j_hat, j) * b
        sums["root_aligned_mpjpe_mm"] += M.root_aligned_mpjpe_mm(j_hat, j) * b
        sums["rotation_error_deg"] += M.mean_geodesic_deg(R_hat, R) * b
        speed += float(M.body_speed(j).sum())
        speed_hat += float(M.body_speed(j_hat).sum())
        zs.append(z.cpu())
        real.append(j.cpu())
        recon.append(j_hat.cpu())
        tick(b)
    section = {"n": n, **{k: v / n for k, v in sums.items()},
               # below 1: the reconstruction moves less than the clip (blurred in time)
               "liveliness_ratio": speed_hat / speed if speed > 0 else float("nan")}
    real_j = torch.cat(real)
    section["families"] = _family_report(torch.cat(recon), real_j, clips.actions)
    return section, torch.cat(zs), real_j


# Action families whose limbs the reconstruction must keep moving: which keywords of the
# body action (before any "+arm layer") put a clip in which family. Corpus actions and
# BABEL classes both read this way ("kick_front" / "kick", "jump_forward" / "jump").
FAMILIES: dict[str, tuple[str, ...]] = {
    "locomotion": ("walk", "jog", "run", "sprint", "side_step", "march", "tiptoe", "limp",
                   "skip", "crawl"),
    "kicks": ("kick",),
    "jumps": ("jump", "hop"),
    "arm actions": ("wave", "clap", "raise", "point", "salute", "drink", "shrug", "flap",
                    "conduct", "swim", "punch", "hook", "throw", "tennis", "boxing"),
}
# what each family is judged on: the feet (speed relative to the pelvis, highest ankle)
# or the hands (speed, farthest from the chest)
FAMILY_LIMB_METRICS = ("foot_speed_m_s", "ankle_peak_m", "wrist_speed_m_s", "wrist_reach_m")


def action_family(action: str) -> str | None:
    """The family (``FAMILIES``) of a clip's action, or None. "walk+wave" is locomotion:
    the body action decides, the arm layer rides on it."""
    body = action.split("+")[0].lower().replace(" ", "_")
    for family, keys in FAMILIES.items():
        if any(k in body for k in keys):
            return family
    return None


def ankle_peak(joints: torch.Tensor) -> torch.Tensor:
    """(N, T, 24, 3) metres, z-up -> (N,) m: the highest either ankle gets above the
    clip's floor (``_grounded``). Standing ~0.08 m; a front kick 0.6-1.2 m."""
    j, floor = _grounded(joints)
    return torch.from_numpy((j[..., M.ANKLES, 2] - floor).max(axis=(1, 2)))


def _limb_metrics(joints: torch.Tensor) -> dict[str, torch.Tensor]:
    """(N, T, 24, 3) -> each of ``FAMILY_LIMB_METRICS`` per clip (N,)."""
    return {"foot_speed_m_s": M.foot_speed(joints), "ankle_peak_m": ankle_peak(joints),
            "wrist_speed_m_s": M.wrist_speed(joints), "wrist_reach_m": M.wrist_reach(joints)}


def _family_report(recon: torch.Tensor, real: torch.Tensor, actions: list[str]) -> dict:
    """Per action family: how far the reconstructed limbs move against the real clip's.
    recon, real: (N, T, 24, 3). For each metric the means over the family's clips, real
    and reconstructed, and their ratio (1 = as lively; a frozen leg shows as ~0)."""
    fam = [action_family(a) if a else None for a in actions]
    return _family_rows(_limb_metrics(recon), _limb_metrics(real), fam, "reconstructed")


def _family_rows(got: dict[str, torch.Tensor], want: dict[str, torch.Tensor],
                 fam: list[str | None], label: str) -> dict:
    """Per family of ``FAMILIES``: n and, per metric of ``FAMILY_LIMB_METRICS``, the means
    of ``want`` ("real") and ``got`` (``label``) over the family's rows and their ratio.
    got, want: metric -> (N,); fam: the family of each row."""
    out = {}
    for family in FAMILIES:
        idx = [i for i, f in enumerate(fam) if f == family]
        if not idx:
            continue
        rows = {"n": len(idx)}
        for k in FAMILY_LIMB_METRICS:
            r, g = float(want[k][idx].double().mean()), float(got[k][idx].double().mean())
            # no ratio where the real limb does not move (a standing wave's feet): None,
            # which JSON writes as null and compares equal to itself
            rows[k] = {"real": r, label: g, "ratio": g / r if r > 1e-3 else None}
        out[family] = rows
    return out


def _action_label_text(action: str, info: dict) -> str:
    """The plain label text of an action: the corpus' label ("walk+wave" -> "walk and
    wave hands", as its own joined phrasing) or the name with "_" as spaces."""
    labels = {a: d.get("label") for a, d in (info.get("actions") or {}).items() if isinstance(d, dict)}
    return " and ".join(labels.get(part) or part.replace("_", " ") for part in action.split("+"))


def _class_targets(clips: _Clips, info: dict, cfg: EvalConfig) -> tuple[str, list[str], list[str], list[int | None]]:
    """(protocol, class names, text fed to the backbone per class, class index per clip
    or None when the clip has no class in the set)."""
    protocol = cfg.labels
    if protocol == "auto":
        source = str(info.get("source", "")).lower()
        protocol = "babel60" if "babel" in source else "actions"
    if protocol == "babel60":
        from .data.babel import normalize_class
        from .label_sets import load_label_set

        names = load_label_set("babel60")
        index = {normalize_class(c): i for i, c in enumerate(names)}
        targets = []
        for cands in clips.babel:
            hits = [index[normalize_class(c)] for c in cands if normalize_class(c) in index]
            targets.append(hits[0] if hits else None)
        return protocol, names, list(names), targets
    # The whole split's actions, however few clips are scored. Actions whose label text is
    # the same ("wave_left", "wave_right" -> "wave") are one class: a text classifier
    # cannot tell identical texts apart.
    text_of = {a: _action_label_text(a, info) for a in clips.split_actions}
    names = sorted(set(text_of.values()))
    index = {t: i for i, t in enumerate(names)}
    return protocol, names, list(names), \
        [index.get(text_of.get(a)) if a else None for a in clips.actions]


def _classification(eng, clips: _Clips, z: torch.Tensor, info: dict, cfg: EvalConfig) -> dict:
    """Zero-shot top-1/top-5 of cosine(z, label text) against each clip's class, for all
    clips and apart for clips whose phrasing was seen in training / held out."""
    protocol, names, texts, targets = _class_targets(clips, info, cfg)
    keep = [i for i, t in enumerate(targets) if t is not None]
    section: dict = {"protocol": protocol, "num_classes": len(names), "n": len(keep),
                     "label_texts": dict(zip(names, texts))}
    if not keep:
        return section
    text_emb = eng.embed_texts(texts).cpu()                                # (C, D) unit
    zk = torch.nn.functional.normalize(z[keep].float(), dim=-1)            # (K, D)
    logits = zk @ text_emb.T                                               # (K, C) cosines
    labels = torch.tensor([targets[i] for i in keep])
    flags = [clips.heldout_phrasing[i] for i in keep]
    groups = {"all": [True] * len(keep),
              "seen_phrasing": [f is False for f in flags],
              "heldout_phrasing": [f is True for f in flags]}
    for name, mask in groups.items():
        mask = torch.tensor(mask)
        if int(mask.sum()) == 0:
            continue
        acc = M.topk_accuracy(logits[mask], labels[mask], ks=(1, 5))
        section[name] = {"n": int(mask.sum()), "top1": acc[1], "top5": acc[5]}
    # the corpus' own action texts are a label list like any other: the "other" temperature
    section["calibration"] = _calibration(logits, labels, eng.temperature_for(
        protocol if protocol != "actions" else None))
    return section


def _calibration(cos: torch.Tensor, labels: torch.Tensor, temperature: float) -> dict:
    """Do the shown probabilities mean what they say? The expected calibration error of
    softmax(T * cos) at the model's T, and the T that fits these clips best (run on the
    val split, it is the value to store with ``mclip export --classify-temperature``)."""
    fitted = M.fit_temperature(cos, labels)
    return {
        "temperature": temperature,
        "ece": M.expected_calibration_error(torch.softmax(temperature * cos, dim=1), labels),
        "nll": M.temperature_nll(cos, labels, temperature),
        "fitted_temperature": fitted,
        "ece_at_fitted": M.expected_calibration_error(torch.softmax(fitted * cos, dim=1), labels),
        "nll_at_fitted": M.temperature_nll(cos, labels, fitted),
    }


def _prompt_count(cfg: EvalConfig, available: int) -> int:
    """n prompts, but at least one R-precision group when the split has that many."""
    return min(available, max(cfg.n, cfg.group_size))


def _latents(eng, prompts: list[str], sampler: str, cfg: "EvalConfig", takes: int = 1) -> torch.Tensor:
    """(P * takes, D) latents text2motion decodes for ``prompts``, prompt by prompt
    (``Engine.text_latents``; the direct path's takes are all the prompt's direction)."""
    if sampler == "direct":
        return eng.embed_texts(prompts).repeat_interleave(takes, dim=0)
    return eng.text_latents(prompts, takes=takes, seed=cfg.seed, sampler=sampler,
                            guidance=cfg.guidance, steps=cfg.sample_steps)


def _text2motion(eng, clips: _Clips, real_joints: torch.Tensor, cfg: EvalConfig,
                 rng: np.random.Generator, tick, sampler: str = "direct") -> dict:
    """Generate from held-out prompts (the split's texts) with ``sampler`` ("direct" or
    "prior", see ``Engine.text_latents``), re-encode, score retrieval, plausibility,
    liveliness and the spread of several takes."""
    prompts = list(clips.all_texts)
    order = rng.permutation(len(prompts))[: _prompt_count(cfg, len(prompts))]
    prompts = [prompts[i] for i in order]
    texts, gen_z, gen_joints = [], [], []
    for sl in _batches(len(prompts), cfg.batch_size):
        e = eng.embed_texts(prompts[sl])      # (B, D)
        z = _latents(eng, prompts[sl], sampler, cfg)
        x_gen = eng.model.decode(z, eng.frames)                      # (B, T, 25, 6)
        gen_z.append(eng.model.encode(x_gen).cpu())
        gen_joints.append(_joints(x_gen).cpu())
        texts.append(e.cpu())
        tick(e.shape[0])
    text_emb, motion_emb = torch.cat(texts), torch.cat(gen_z)
    gen = torch.cat(gen_joints)
    rp = M.r_precision(motion_emb, text_emb, group_size=cfg.group_size, ks=(1, 3))
    real = {k: np.array([clips.text_liveliness[p][k] for p in prompts])
            for k in ("speed", "flies", "clearance", "travel", "foot_speed_m_s")}
    real_speed = float(real["speed"].mean())
    gen_speed = float(M.body_speed(gen).mean())
    return {
        "n": len(prompts),
        "sampler": sampler,
        # scored in whole groups: 1 true prompt + group_size - 1 others
        "r_precision": {"n": (len(prompts) // cfg.group_size) * cfg.group_size,
                        "group_size": cfg.group_size, "top1": rp[1], "top3": rp[3]},
        "text_motion_cosine": M.mean_cosine(motion_emb, text_emb),
        "plausibility": {"generated": _plausibility(gen),
                         "real": _plausibility(real_joints)},
        # against the real clips of the same prompts
        "liveliness": {"generated_m_s": gen_speed, "real_m_s": real_speed,
                       "ratio": gen_speed / real_speed if real_speed > 0 else float("nan")},
        "leaves_ground": _flight_report(leaves_ground(gen), clearance(gen).numpy(),
                                        real["flies"], real["clearance"]),
        "stepping": _stepping_report(M.travel_speed(gen).numpy(), M.foot_speed(gen).numpy(),
                                     real["travel"], real["foot_speed_m_s"]),
        "families": _prompt_family_report(gen, prompts, clips),
        "spread": _spread_report(eng, prompts[: cfg.takes_prompts], clips, real_joints, sampler, cfg),
        "abstract_prompts": _abstract_report(eng, clips, real_joints, sampler, cfg),
    }


# Prompts that name no action of the corpus, and the actions a reader would expect
# (issue #13). Scored only on data whose split has those actions.
ABSTRACT_PROMPTS = {
    "couch": ("sit_down", "sit", "lie_down"),
    "kangaroo": ("hop", "jump_forward", "jump_in_place", "skip"),
    "boxing": ("boxing", "punch", "hook"),
    "hello!": ("wave_right", "wave_left", "wave_both"),
    "a soccer player": ("kick_front", "kick_side", "run", "jog"),
    "a bird": ("flap",),
    "in the pool": ("swim",),
    "applause": ("clap",),
}


def _base_action(action: str) -> str:
    """A layered action's first part ("walk+wave_right" -> "walk")."""
    return action.split("+")[0]


def _abstract_report(eng, clips: _Clips, real_joints: torch.Tensor, sampler: str, cfg: EvalConfig) -> dict:
    """Do prompts that name no corpus action land on the related one? Each of
    ``ABSTRACT_PROMPTS`` gets ``cfg.takes`` takes; a take is labelled by its nearest real
    clip among the evaluated ones (mean joint distance in the canonical frame: the
    model plays no part in the label) and hits when that clip's action is one of the
    prompt's. "nn_real" is the same nearest-neighbour labelling of each real clip by the
    others (leave one out): how far the labelling itself can be trusted."""
    actions = [_base_action(a) for a in clips.actions]
    present = set(actions)
    prompts = {p: rel for p, rel in ABSTRACT_PROMPTS.items() if present & set(rel)}
    if not prompts:
        return {"n_prompts": 0}
    K = cfg.takes
    z = _latents(eng, list(prompts), sampler, cfg, takes=K)
    gen = _joints(eng.model.decode(z, eng.frames)).cpu()                  # (P * K, T, 24, 3)
    real = real_joints.reshape(real_joints.shape[0], -1, 3).double()

    def nearest(x: torch.Tensor, exclude_self: bool = False) -> torch.Tensor:
        d = (x.reshape(x.shape[0], -1, 3).double()[:, None] - real[None]).norm(dim=-1).mean(-1)
        if exclude_self:
            d.fill_diagonal_(float("inf"))
        return d.argmin(dim=1)

    nn = nearest(gen)
    per = {}
    for i, (p, rel) in enumerate(prompts.items()):
        got = [actions[j] for j in nn[i * K:(i + 1) * K].tolist()]
        per[p] = {"hits": sum(a in rel for a in got), "takes": K, "nearest_actions": got}
    loo = nearest(real_joints, exclude_self=True)
    return {"n": K * len(prompts), "n_prompts": len(prompts), "takes_per_prompt": K,
            "hit_rate": sum(v["hits"] for v in per.values()) / (K * len(prompts)),
            "nn_real": float(np.mean([actions[j] == actions[i] for i, j in enumerate(loo.tolist())])),
            "prompts": per}


def _spread_report(eng, prompts: list[str], clips: _Clips, real_joints: torch.Tensor,
                   sampler: str, cfg: EvalConfig) -> dict:
    """How varied are the takes? ``cfg.takes`` takes of each prompt, decoded (canonical
    frame, root travel included; metres):
    - "takes": mean distance between two takes of one prompt (multimodality), against
      two real clips of one text ("real", the split's texts with several clips) and two
      real clips of one action ("real_same_action": any phrasing or style, an upper
      bound for a prompt);
    - "prompts": mean distance between the first takes of different prompts (diversity),
      against the evaluated real clips."""
    K = cfg.takes
    z = _latents(eng, prompts, sampler, cfg, takes=K)
    gen = torch.cat([_joints(eng.model.decode(z[sl], eng.frames)).cpu()
                     for sl in _batches(z.shape[0], cfg.batch_size)]).reshape(len(prompts), K, *real_joints.shape[1:])
    takes = float(np.nanmean([M.mean_pairwise_distance_m(g) for g in gen]))
    by_action: dict[str, list[int]] = {}
    for i, a in enumerate(clips.actions):
        by_action.setdefault(a, []).append(i)
    groups = [idx[:K] for idx in by_action.values() if len(idx) >= 2]
    real_takes = float(np.mean([M.mean_pairwise_distance_m(real_joints[g]) for g in groups])) if groups else float("nan")
    return {"n_prompts": len(prompts), "takes_per_prompt": K,
            "takes_m": {"generated": takes, "real": clips.same_text_spread_m,
                        "real_same_action": real_takes, "n_action_groups": len(groups)},
            "prompts_m": {"generated": M.mean_pairwise_distance_m(gen[:, 0]),
                          "real": M.mean_pairwise_distance_m(real_joints[: len(prompts)])}}


def _prompt_family_report(gen: torch.Tensor, prompts: list[str], clips: _Clips) -> dict:
    """Per action family of the prompts (their real clips' family): the generated limbs
    (``FAMILY_LIMB_METRICS``) against the mean of the prompt's real clips, averaged over
    the family's prompts, and their ratio. gen: (P, T, 24, 3), one motion per prompt."""
    want = {k: torch.tensor([clips.text_liveliness[p][k] for p in prompts], dtype=torch.float64)
            for k in FAMILY_LIMB_METRICS}
    return _family_rows(_limb_metrics(gen), want, [clips.text_family.get(p) for p in prompts],
                        "generated")


TRAVEL_M_S = 0.5    # real clips faster than this over the ground are locomotion (a slow walk ~0.8)


def _stepping_report(gen_travel: np.ndarray, gen_feet: np.ndarray,
                     real_travel: np.ndarray, real_feet: np.ndarray) -> dict:
    """Do generations of locomotion prompts step, or glide? Over the prompts whose real
    clips travel (mean root speed > ``TRAVEL_M_S``): root speed and ankle speed relative
    to the root, generated against real. Per prompt, all m/s; real_* are means over the
    prompt's real clips."""
    moving = real_travel > TRAVEL_M_S

    def mean(values):
        return float(values[moving].mean()) if moving.any() else float("nan")

    feet_real = mean(real_feet)
    return {"n_travelling_prompts": int(moving.sum()),
            "travel_m_s": {"generated": mean(gen_travel), "real": mean(real_travel)},
            "foot_speed_m_s": {"generated": mean(gen_feet), "real": feet_real},
            "foot_speed_ratio": (mean(gen_feet) / feet_real if feet_real > 0 else float("nan"))}


def _flight_report(gen_flies: torch.Tensor, gen_clearance: np.ndarray,
                   real_flies: np.ndarray, real_clearance: np.ndarray) -> dict:
    """Do generations leave the ground where the prompts' real clips do? Split by what
    the real clips do: where most fly (a jump) the generation should too, and clear the
    floor by as much; where none does, a generation off the ground is hovering.
    Per prompt: gen_flies (bool), gen_clearance (m); real_* are the means over the
    prompt's real clips."""
    gen = gen_flies.float().numpy()
    flies, grounded = real_flies > 0.5, real_flies == 0.0

    def mean(values, mask):
        return float(values[mask].mean()) if mask.any() else float("nan")

    return {"generated": float(gen.mean()), "real": float(real_flies.mean()),
            "n_flying_prompts": int(flies.sum()), "when_real_flies": mean(gen, flies),
            "clearance_when_real_flies_m": {"generated": mean(gen_clearance, flies),
                                            "real": mean(real_clearance, flies)},
            "n_grounded_prompts": int(grounded.sum()), "when_real_grounded": mean(gen, grounded),
            "clearance_when_real_grounded_m": {"generated": mean(gen_clearance, grounded),
                                               "real": mean(real_clearance, grounded)}}


def _interpolation(eng, z: torch.Tensor, cfg: EvalConfig, rng: np.random.Generator, tick) -> dict:
    """Great-circle paths (engine's slerp: evenly spaced directions) between the latents
    of random clip pairs, decoded at every step.

    With even steps in latent space a smooth decoder moves the body by similar amounts
    from step to step; a jumpy one does most of the change in one step.
    """
    from .engine import interpolate_latents

    n = z.shape[0]
    if n < 2:
        return {"n": 0}
    pairs = min(cfg.interp_pairs, n * (n - 1) // 2)
    a = rng.integers(0, n, size=pairs)
    b = (a + rng.integers(1, n, size=pairs)) % n                          # b != a
    zu = torch.nn.functional.normalize(z.float(), dim=-1)
    path = torch.stack([interpolate_latents(zu[i], zu[j], cfg.interp_steps, slerp=True)
                        for i, j in zip(a, b)], dim=1)                     # (S, P, D)
    joints = []
    for s in range(cfg.interp_steps):
        per_step = []
        for sl in _batches(pairs, cfg.batch_size):
            x = eng.model.decode(path[s, sl].to(eng.device), eng.frames)
            per_step.append(_joints(x).cpu())
        joints.append(torch.cat(per_step))
        tick(1)
    joints = torch.stack(joints)                                           # (S, P, T, 24, 3)
    per_step_metrics = [_plausibility(j) for j in joints]
    worst = {k: max(m[k] for m in per_step_metrics) for k in PLAUSIBILITY_KEYS}
    return {"n": pairs, "steps": cfg.interp_steps, "path": "slerp", **M.path_smoothness(joints),
            "plausibility_max": worst, "plausibility_per_step": per_step_metrics}


def _rng(seed: int, stream: str) -> np.random.Generator:
    """An independent random stream per purpose, all fixed by ``seed``."""
    return np.random.default_rng([int(seed), zlib.crc32(stream.encode())])


def _check_config(cfg: EvalConfig) -> None:
    """User errors in the knobs, before anything slow happens."""
    if cfg.n < 1:
        raise MclipError(f"--n {cfg.n}: must be at least 1")
    if cfg.interp_steps < 5:
        raise MclipError(f"--steps {cfg.interp_steps}: must be at least 5")
    if cfg.labels not in LABEL_SETS:
        raise MclipError(f"--labels {cfg.labels}: unknown (choose from {', '.join(LABEL_SETS)})")
    if not cfg.sections:
        raise MclipError(f"--only: name at least one section ({', '.join(SECTIONS)})")
    unknown = [s for s in cfg.sections if s not in SECTIONS]
    if unknown:
        raise MclipError(f"--only: unknown section(s) {unknown} (choose from {', '.join(SECTIONS)})")
    if cfg.batch_size < 1 or cfg.group_size < 2 or cfg.interp_pairs < 1:
        raise MclipError("evaluate: batch_size, interp_pairs must be >= 1 and group_size >= 2")


def evaluate(
    engine_or_checkpoint,
    data_dir: str | Path,
    split: str = "test",
    n: int = 512,
    seed: int = 0,
    *,
    config: EvalConfig | None = None,
    progress: bool = False,
    on_section: Callable[[dict], None] | None = None,
) -> dict:
    """Evaluate a checkpoint (path) or a loaded ``Engine`` on a prepared data folder.

    data_dir: a corpus or prepared AMASS/BABEL folder (manifest.jsonl + shards/).
    split, n, seed: which clips (at most n, picked with ``seed``).
    config: further knobs (its split/n/seed are replaced by the arguments).
    progress: show a Rich progress bar on stderr.
    on_section: called with the results so far after each finished section (the CLI
    uses it to save work that a Ctrl-C must not lose).
    returns: {"meta": {...}, "reconstruction": {...}, "classification": {...},
              "text2motion": {...}, "interpolation": {...}} (see the module docstring).
    """
    from dataclasses import replace

    cfg = replace(config or EvalConfig(), split=split, n=int(n), seed=int(seed))
    _check_config(cfg)
    data_dir = Path(data_dir)
    torch.manual_seed(cfg.seed)

    clips, info = _load_clips(data_dir, cfg, _rng(cfg.seed, "data"))  # bad data fails before the model loads
    eng = _engine(engine_or_checkpoint, cfg.device)
    results: dict = {"meta": {
        "checkpoint": str(getattr(eng, "weights_path", "?")), "data": str(data_dir), "split": cfg.split,
        "n_clips": int(clips.features.shape[0]), "seed": cfg.seed, "frames": eng.frames,
        "fps": 30, "device": str(eng.device), "config": asdict(cfg), "complete": False}}

    def done(name: str, section: dict) -> None:
        results[name] = section
        if on_section is not None:
            on_section(results)

    n_clips = clips.features.shape[0]
    n_prompts = _prompt_count(cfg, len(clips.all_texts))
    with _Progress(progress) as bar, torch.no_grad():
        # Every section needs the clips' latents (and text2motion their joints): one pass.
        tick = bar.stage("reconstruction", n_clips)
        rec, z, real = _reconstruction(eng, clips, cfg, tick)
        if "reconstruction" in cfg.sections:
            done("reconstruction", rec)
        if "classification" in cfg.sections:
            done("classification", _classification(eng, clips, z, info, cfg))
        if "text2motion" in cfg.sections:
            # the engine's own sampler first; with a latent sampler, the paper's direct
            # path beside it ("text2motion_direct"), on the same prompts
            samplers = ["prior", "direct"] if getattr(eng, "prior", None) is not None else ["direct"]
            for sampler in samplers:
                tick = bar.stage(f"text2motion ({sampler})", n_prompts)
                done("text2motion" if sampler == samplers[0] else "text2motion_direct",
                     _text2motion(eng, clips, real, cfg, _rng(cfg.seed, "text2motion"), tick, sampler))
        if "interpolation" in cfg.sections:
            tick = bar.stage("interpolation", cfg.interp_steps)
            done("interpolation", _interpolation(eng, z, cfg, _rng(cfg.seed, "interpolation"), tick))
    results["meta"]["complete"] = True
    return results


class _Progress:
    """``progress.Bars`` with one bar per stage (elapsed time, kept on screen)."""

    def __init__(self, enabled: bool):
        from .progress import Bars

        self._bars = Bars(enabled, transient=False, elapsed=True)

    def __enter__(self) -> "_Progress":
        self._bars.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._bars.__exit__(*exc)

    def stage(self, name: str, total: int) -> Callable[[int], None]:
        """Start a stage; returns tick(k) advancing it by k units."""
        update, done = self._bars.task(f"{name:<15}", max(1, total)), [0]

        def tick(k: int = 1) -> None:
            done[0] += k
            update(done[0])

        return tick
