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

import zlib
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..errors import MclipError
from .config import EvalConfig, LABEL_SETS, SECTIONS
from .clips import _load_clips
from .sections import _classification, _interpolation, _prompt_count, _reconstruction, _text2motion


# ---------------------------------------------------------------- model + text backbone


def _engine(engine_or_checkpoint, device: str | None):
    """An ``Engine`` is used as loaded; a checkpoint path (or None: the shipped
    weights) is loaded into one, with the text backbone it was trained against."""
    from ..engine import Engine

    if engine_or_checkpoint is None or isinstance(engine_or_checkpoint, (str, Path)):
        return Engine(engine_or_checkpoint, device=device)
    # Anything engine-shaped will do (tests pass a model with a known error).
    if all(hasattr(engine_or_checkpoint, a) for a in ("model", "embed_texts", "frames", "device")):
        return engine_or_checkpoint
    raise MclipError(f"evaluate: expected an Engine or a checkpoint path, got "
                     f"{type(engine_or_checkpoint).__name__}")



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
        from ..progress import Bars

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
