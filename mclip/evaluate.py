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
                    of the generated motion next to the same metrics on real clips.
4. interpolation    decode a straight line between two clips' latents at S steps:
                    plausibility at the worst step and how evenly the path moves.

Everything runs in ``torch.no_grad`` in eval mode, batch by batch, with one seed
deciding which clips, prompts and pairs are used, so the same call gives the same
numbers. All motion is compared in the canonical frame (``representation.canonicalize``:
first frame faces -y, pelvis above the origin), z-up world, metres, 30 fps.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .errors import MclipError
from .eval import metrics as M

__all__ = ["EvalConfig", "evaluate", "SECTIONS"]

SECTIONS = ("reconstruction", "classification", "text2motion", "interpolation")


@dataclass
class EvalConfig:
    """Knobs of one evaluation run (the CLI exposes the common ones)."""

    split: str = "test"
    n: int = 512                  # clips (and at most this many prompts) to evaluate
    seed: int = 0
    batch_size: int = 64
    labels: str = "auto"          # "auto" | "actions" | "babel60"
    group_size: int = 32          # R-precision: 1 true prompt + 31 distractors
    interp_pairs: int = 32        # clip pairs for the latent interpolation test
    interp_steps: int = 7         # points on each path, endpoints included (>= 5)
    sections: tuple[str, ...] = SECTIONS
    device: str | None = None


# ---------------------------------------------------------------- model + text backbone


@dataclass
class _Models:
    model: torch.nn.Module        # MotionCLIP: encode (B,T,25,6)->(B,D), decode (B,D),T->(B,T,25,6)
    backbone: object              # .encode_text(list[str]) -> (N, D) L2-normalised
    device: torch.device
    frames: int
    source: str


def _resolve_models(engine_or_checkpoint, device: str | None) -> _Models:
    """An ``Engine`` is used as loaded; a path is loaded with ``load_checkpoint``."""
    if isinstance(engine_or_checkpoint, (str, Path)):
        from .backbones import load_backbone
        from .checkpoint import load_checkpoint

        path = Path(engine_or_checkpoint)
        if not path.exists():
            raise MclipError(f"{path}: no such checkpoint")
        dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        model, cfg, _meta = load_checkpoint(path)
        model = model.to(dev).eval()
        backbone = load_backbone(cfg.backbone, dev)
        return _Models(model, backbone, dev, int(cfg.num_frames), str(path))
    eng = engine_or_checkpoint
    model = getattr(eng, "model", None)
    backbone = getattr(eng, "backbone", None)
    if model is None or backbone is None:
        raise MclipError("evaluate: expected an Engine (with .model and .backbone) or a checkpoint path")
    dev = next(model.parameters()).device
    return _Models(model.eval(), backbone, dev, int(model.cfg.num_frames),
                   str(getattr(eng, "weights", "engine")))


def _encode_text(backbone, texts: list[str], device: torch.device) -> torch.Tensor:
    """(N,) strings -> (N, D) float32 unit vectors on ``device``."""
    e = torch.as_tensor(backbone.encode_text(list(texts)), dtype=torch.float32)
    return torch.nn.functional.normalize(e, dim=-1).to(device)


# ---------------------------------------------------------------- data


@dataclass
class _Clips:
    """The held-out clips under evaluation, in evaluation order."""

    features: torch.Tensor        # (N, T, 25, 6) canonicalized model features
    texts: list[str]
    actions: list[str]
    heldout_phrasing: list[bool]  # text is a phrasing never shown in training
    all_texts: list[str] = field(default_factory=list)  # every distinct text of the split


def _read_info(data_dir: Path) -> dict:
    p = data_dir / "info.json"
    if not p.exists():
        return {}
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise MclipError(f"{p}: cannot read ({e})") from None


def _load_clips(data_dir: Path, cfg: EvalConfig, rng: np.random.Generator) -> tuple[_Clips, dict]:
    raise NotImplementedError  # filled in once mclip.data.dataset lands


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


# ---------------------------------------------------------------- the run


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
    progress: show a Rich progress bar on stderr.
    on_section: called with the results so far after each finished section (the CLI
    uses it to save work that a Ctrl-C must not lose).
    returns: {"meta": {...}, "reconstruction": {...}, "classification": {...},
              "text2motion": {...}, "interpolation": {...}} (see the module docstring).
    """
    raise NotImplementedError
