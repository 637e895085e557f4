"""The four sections of ``mclip eval``: reconstruction, zero-shot classification (with
calibration), text-to-motion (R-precision, liveliness, stepping, flight, spread,
abstract prompts) and latent interpolation.
"""
from __future__ import annotations


import numpy as np
import torch

from . import metrics as M
from .config import EvalConfig
from .clips import _Clips, _batches, _joints
from .physics import FAMILY_LIMB_METRICS, PLAUSIBILITY_KEYS, _family_report, _family_rows, _limb_metrics, _plausibility, clearance, leaves_ground


def _reconstruction(eng, clips: _Clips, cfg: EvalConfig, tick) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """Encode + decode every clip. returns (section, z (N, D), real joints (N, T, 24, 3))."""
    from ..representation import from_features

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
        from ..data.babel import normalize_class
        from ..label_sets import load_label_set

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
    from ..engine import interpolate_latents

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
