"""Pure evaluation metrics: small functions on tensors, no model, no files.

Everything here is independent of how the numbers were produced, so each function
can be checked against a hand-computed answer (see tests/test_evaluate.py).

Units: joint positions in metres in, millimetres out; angles in degrees out.
Shapes are given in each docstring; ``...`` is any batch shape.
"""
from __future__ import annotations

import math

import torch

from ..rotations import geodesic_angle

__all__ = [
    "mpjpe_mm", "root_aligned_mpjpe_mm", "mean_geodesic_deg",
    "topk_accuracy", "r_precision", "mean_cosine",
    "path_smoothness", "body_speed", "travel_speed", "foot_speed", "wrist_speed", "wrist_reach",
]

ANKLES = (7, 8)     # SMPL joints: left, right ankle
WRISTS = (20, 21)   # left, right wrist
CHEST = 9           # spine3


def mpjpe_mm(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Mean per-joint position error in millimetres.

    pred, target: (..., 24, 3) joint positions in metres (same frame).
    returns: mean over every joint of every frame of the Euclidean distance, in mm.
    """
    if pred.shape != target.shape:
        raise ValueError(f"mpjpe: shapes differ {tuple(pred.shape)} vs {tuple(target.shape)}")
    dist = torch.linalg.vector_norm(pred.double() - target.double(), dim=-1)
    return float(dist.mean() * 1000.0)


def root_aligned_mpjpe_mm(pred: torch.Tensor, target: torch.Tensor, root: int = 0) -> float:
    """MPJPE after moving each frame's root joint (pelvis) of both poses to the origin.

    This isolates the body pose from global drift of the root trajectory.
    pred, target: (..., 24, 3) metres. returns: mm.
    """
    return mpjpe_mm(pred - pred[..., root : root + 1, :], target - target[..., root : root + 1, :])


def mean_geodesic_deg(R_pred: torch.Tensor, R_target: torch.Tensor) -> float:
    """Mean rotation geodesic distance in degrees.

    R_pred, R_target: (..., 3, 3) rotation matrices (e.g. (B, T, 24, 3, 3) local joint
    rotations). The angle of R_pred^T R_target, averaged over all leading entries.
    """
    ang = geodesic_angle(R_pred.double(), R_target.double())
    return float(ang.mean() * (180.0 / math.pi))


def topk_accuracy(logits: torch.Tensor, labels: torch.Tensor, ks: tuple[int, ...] = (1, 5)) -> dict[int, float]:
    """Fraction of rows whose true class is among the k highest scores.

    logits: (N, C) scores (higher = more likely). labels: (N,) int class indices.
    returns: {k: accuracy in [0, 1]}; k larger than C counts as C (always correct).
    Ties are broken by torch.topk's order, i.e. not in the true class's favour
    by construction of anything here.
    """
    if logits.ndim != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(f"topk_accuracy: logits (N,C) and labels (N,) expected, got "
                         f"{tuple(logits.shape)} and {tuple(labels.shape)}")
    out: dict[int, float] = {}
    n = logits.shape[0]
    for k in ks:
        kk = min(k, logits.shape[1])
        top = logits.topk(kk, dim=1).indices  # (N, kk)
        hit = (top == labels[:, None]).any(dim=1)
        out[k] = float(hit.float().mean()) if n else float("nan")
    return out


def r_precision(
    motion_emb: torch.Tensor,
    text_emb: torch.Tensor,
    group_size: int = 32,
    ks: tuple[int, ...] = (1, 3),
) -> dict[int, float]:
    """Retrieval R-precision as in the text-to-motion literature.

    motion_emb: (N, D) embeddings of the generated motions (row i made from prompt i).
    text_emb:   (N, D) embeddings of the prompts.
    Rows are cut into consecutive groups of ``group_size`` (a trailing remainder smaller
    than the group is dropped, so every query competes with exactly group_size - 1
    distractors). Within a group each motion ranks all the group's prompts by cosine
    similarity; the score for k is the fraction of motions whose own prompt is in the
    top k. Shuffle rows beforehand (with a seed) for random distractors.
    returns: {k: R-precision in [0, 1]}, NaN when N < group_size.
    """
    if motion_emb.shape != text_emb.shape or motion_emb.ndim != 2:
        raise ValueError("r_precision: motion_emb and text_emb must both be (N, D)")
    m = torch.nn.functional.normalize(motion_emb.double(), dim=-1)
    t = torch.nn.functional.normalize(text_emb.double(), dim=-1)
    n_groups = m.shape[0] // group_size
    if n_groups == 0:
        return {k: float("nan") for k in ks}
    hits = {k: 0 for k in ks}
    for g in range(n_groups):
        sl = slice(g * group_size, (g + 1) * group_size)
        sim = m[sl] @ t[sl].T  # (G, G): motion i vs prompt j
        own = sim.diagonal()[:, None]
        # rank 0 = best; ties count against the query (strictly-greater + equal others).
        better = (sim > own).sum(dim=1)
        ties = (sim == own).sum(dim=1) - 1
        rank = better + ties
        for k in ks:
            hits[k] += int((rank < k).sum())
    total = n_groups * group_size
    return {k: hits[k] / total for k in ks}


def expected_calibration_error(prob: torch.Tensor, labels: torch.Tensor, bins: int = 15) -> float:
    """How far the top-1 probability is from the top-1 accuracy (0 = calibrated).

    prob: (N, C) class probabilities (rows sum to 1). labels: (N,) int class indices.
    The rows are binned by their top probability into ``bins`` equal-width bins over
    (0, 1]; ECE = sum over bins of (share of rows) * |accuracy - mean confidence|.
    """
    conf, pred = prob.double().max(dim=1)
    hit = (pred == labels).double()
    edges = torch.linspace(0.0, 1.0, bins + 1, dtype=torch.float64)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            ece += float(inside.double().mean()) * abs(float(hit[inside].mean() - conf[inside].mean()))
    return ece


def temperature_nll(cos: torch.Tensor, labels: torch.Tensor, temperature: float) -> float:
    """Mean negative log-likelihood of the true class under softmax(temperature * cos)."""
    logp = torch.log_softmax(temperature * cos.double(), dim=1)
    return float(-logp.gather(1, labels[:, None]).mean())


def fit_temperature(cos: torch.Tensor, labels: torch.Tensor, low: float = 1.0,
                    high: float = 1000.0, iters: int = 60) -> float:
    """The softmax temperature T that makes softmax(T * cos) most likely for ``labels``.

    cos: (N, C) cosines, labels: (N,). The NLL is convex in T (a linear term plus a
    log-sum-exp of T times fixed scores), so a ternary search on log T over
    [low, high] finds its minimum."""
    a, b = math.log(low), math.log(high)
    for _ in range(iters):
        m1, m2 = a + (b - a) / 3, b - (b - a) / 3
        if temperature_nll(cos, labels, math.exp(m1)) <= temperature_nll(cos, labels, math.exp(m2)):
            b = m2
        else:
            a = m1
    return math.exp((a + b) / 2)


def mean_cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean cosine similarity of matching rows: a, b (N, D) -> float in [-1, 1]."""
    return float(torch.nn.functional.cosine_similarity(a.double(), b.double(), dim=-1).mean())


def path_smoothness(joints_path: torch.Tensor) -> dict[str, float]:
    """How evenly a decoded interpolation path moves from step to step.

    joints_path: (S, B, T, 24, 3) joints in metres for S interpolation steps of B pairs.
    The step size d_s (s = 0..S-2) is the MPJPE in mm between consecutive steps,
    per pair. For a perfectly even path all d_s of a pair are equal.
    returns:
      step_mpjpe_mm   mean step size,
      max_step_ratio  mean over pairs of max_s d_s / mean_s d_s (1.0 = perfectly even;
                      S-1 would mean the whole change happens in one step),
      step_cv         mean over pairs of std_s d_s / mean_s d_s (0 = perfectly even),
      steps_mm        the S-1 step sizes, each averaged over pairs (a list).
    """
    if joints_path.ndim != 5 or joints_path.shape[0] < 2:
        raise ValueError("path_smoothness: joints_path must be (S>=2, B, T, 24, 3)")
    diff = joints_path[1:].double() - joints_path[:-1].double()  # (S-1, B, T, 24, 3)
    d = torch.linalg.vector_norm(diff, dim=-1).mean(dim=(-1, -2)) * 1000.0  # (S-1, B) mm
    mean = d.mean(dim=0)  # (B,)
    still = mean < 1e-9   # a path that does not move at all is trivially even
    safe = torch.where(still, torch.ones_like(mean), mean)
    ratio = torch.where(still, torch.ones_like(mean), d.max(dim=0).values / safe)
    cv = torch.where(still, torch.zeros_like(mean), d.std(dim=0, unbiased=False) / safe)
    return {
        "step_mpjpe_mm": float(d.mean()),
        "max_step_ratio": float(ratio.mean()),
        "step_cv": float(cv.mean()),
        "steps_mm": [float(v) for v in d.mean(dim=1)],
    }


def travel_speed(joints: torch.Tensor, fps: float = 30.0) -> torch.Tensor:
    """(N, T, J, 3) metres, z-up -> (N,) m/s: how far the root joint (index 0) gets over
    the ground from the first frame to the last, per second."""
    d = joints[:, -1, 0, :2] - joints[:, 0, 0, :2]
    return d.norm(dim=-1) * fps / max(joints.shape[1] - 1, 1)


def foot_speed(joints: torch.Tensor, fps: float = 30.0) -> torch.Tensor:
    """(N, T, 24, 3) metres -> (N,) m/s: mean speed of the two ankles (SMPL joints 7 and 8)
    relative to the root. A walk's steps; a decoder that glides (root travel at the
    right speed, legs still) keeps ``travel_speed`` and loses this."""
    return _limb_speed(joints, ANKLES, fps)


def wrist_speed(joints: torch.Tensor, fps: float = 30.0) -> torch.Tensor:
    """(N, T, 24, 3) metres -> (N,) m/s: mean speed of the two wrists (SMPL 20, 21)
    relative to the root: a punch's or a wave's movement."""
    return _limb_speed(joints, WRISTS, fps)


def _limb_speed(joints: torch.Tensor, idx: tuple[int, ...], fps: float) -> torch.Tensor:
    rel = joints[..., idx, :] - joints[..., :1, :]
    return (rel[:, 1:] - rel[:, :-1]).norm(dim=-1).mean(dim=(1, 2)) * fps


def wrist_reach(joints: torch.Tensor) -> torch.Tensor:
    """(N, T, 24, 3) metres -> (N,) m: the farthest either wrist gets from the chest
    (spine3) in the clip. Arms hanging ~0.45 m; a punch or a reach up ~0.6-0.7 m."""
    d = (joints[..., WRISTS, :] - joints[..., CHEST:CHEST + 1, :]).norm(dim=-1)   # (N, T, 2)
    return d.amax(dim=(1, 2))


def body_speed(joints: torch.Tensor, fps: float = 30.0) -> torch.Tensor:
    """How lively a motion is: (N, T, J, 3) metres -> (N,) mean joint speed in m/s,
    measured relative to the root joint (index 0), so travel does not count.

    A decoder that blurs a motion towards its average keeps the travel but loses the
    limbs' movement; comparing this number between generated and real clips shows it.
    """
    rel = joints - joints[..., :1, :]
    return (rel[:, 1:] - rel[:, :-1]).norm(dim=-1).mean(dim=(1, 2)) * fps


def mean_pairwise_distance_m(joints: torch.Tensor) -> float:
    """(K, T, J, 3) motions, metres -> the mean over all pairs (a, b), a < b, of their
    mean per-joint, per-frame Euclidean distance (m); nan for K < 2. The spread of a set
    of motions: 0 when they are all one motion."""
    K = joints.shape[0]
    if K < 2:
        return float("nan")
    flat = joints.reshape(K, -1, 3).double()
    d = (flat[:, None] - flat[None]).norm(dim=-1).mean(-1)        # (K, K)
    a, b = torch.triu_indices(K, K, offset=1)
    return float(d[a, b].mean())
