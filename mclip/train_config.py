"""The settings of a training run: one declaration each (``TrainConfig``).

Every setting is a field with its default, a help line and, for numbers, its range; the
``mclip train`` options, the checks on recipe files and saved runs, and what ``--resume``
may change all come from these declarations, so a new setting is written once. This
module does not import torch (``mclip --help`` stays fast).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .errors import MclipError


def setting(default, help: str, range: tuple | None = None, resume: bool = False,
            shown: str | None = None):
    """A TrainConfig field: ``help`` for ``mclip train --help``; ``range`` (low, high) for
    numbers, checked for flags, files and saved runs alike; ``resume``: may change when
    a run is resumed; ``shown``: the default as help shows it (else the value)."""
    return field(default=default, metadata={"help": help, "range": range, "resume": resume,
                                            "shown": shown})


BIG = 10 ** 9   # upper bounds far beyond any sensible run: a typo fails instead of allocating


@dataclass
class TrainConfig:
    """Everything a training run needs; stored inside every checkpoint."""

    data: str = setting("synth", "Dataset folder (manifest.jsonl + shards/); 'synth': generate the "
                        "procedural corpus into OUT/data first; 'amass': prepare --amass-dir + "
                        "--babel-dir into OUT/data first.")
    out: str = setting("runs/default", "Run folder: last.pt, log.jsonl, samples/, cache/.")
    model: str = setting("default-cpu", "Model config: default-cpu, small-cpu, paper, paper-minilm "
                         "or a JSON file.")
    stage: str = setting("autoencoder", "autoencoder (the paper's training) or prior: the latent "
                         "sampler text2motion draws from, for the trained auto-encoder given by "
                         "--init (kept frozen).")
    prior: str = setting("default", "With --stage prior: the sampler's config (mclip/configs/prior) "
                         "or a JSON file.")
    backbone: str | None = setting(None, "Text backbone the latent is aligned to: minilm or clip.",
                                   shown="the model config's")
    batch_size: int = setting(32, "Clips per step, per process (the paper: 20).", (1, 65536))
    lr: float = setting(1e-4, "AdamW learning rate.", (0.0, 10.0), resume=True)
    weight_decay: float = setting(0.01, "AdamW weight decay.", (0.0, 10.0))
    adam_beta2: float = setting(0.999, "AdamW's second-moment decay.", (0.0, 0.999999), resume=True)
    lr_schedule: str = setting("constant", "constant (the paper) or cosine (to lr/10 at the end).",
                               resume=True)
    warmup_steps: int = setting(0, "Linear lr warm-up steps from 0.", (0, BIG), resume=True)
    steps: int | None = setting(None, "Optimiser steps in all.", (1, BIG), resume=True,
                                shown="from --epochs")
    epochs: float = setting(100.0, "Epochs when --steps is not given (the paper's 100).",
                            (1e-6, 1e6), resume=True)
    lambda_rot: float = setting(100.0, "Eq. (1): weight of the rotation term.", (0.0, 1e6))
    lambda_vel: float = setting(100.0, "Eq. (1): weight of the velocity term.", (0.0, 1e6))
    lambda_pos: float = setting(100.0, "Eq. (1): weight of the joint-position term.", (0.0, 1e6))
    lambda_text: float = setting(1.0, "Eq. (4): text-loss weight against 100 per reconstruction term.",
                                 (0.0, 1e6))
    lambda_image: float = setting(1.0, "Image-loss weight.", (0.0, 1e6))
    lambda_text_recon: float = setting(
        0.0, "Beyond the paper: weight of reconstructing each clip from its text's latent (trains "
        "the decoder on the path text2motion --sampler direct uses; 0 = off).", (0.0, 1e6))
    init: str | None = setting(None, "Start from this checkpoint's weights (same model config, or "
                               "its paper form: carried over, same function) instead of random.")
    text_loss: bool = setting(True, "Align z to label texts.")
    image_loss: bool = setting(True, "Align z to rendered frames (backbones with an image tower).")
    grad_clip: float = setting(0.0, "Max gradient norm (0: off; the paper does not clip).", (0.0, 1e6))
    ckpt_every: int = setting(500, "Steps between checkpoints.", (1, BIG), resume=True)
    val_every: int = setting(500, "Steps between validation losses.", (1, BIG), resume=True)
    val_max_clips: int = setting(1024, "Validation loss over at most this many val clips.", (1, BIG))
    sample_every: int = setting(2000, "Steps between sample GIFs (0: none).", (0, BIG), resume=True)
    sample_texts: int = setting(4, "Val texts decoded into each sample GIF.", (0, 64))
    log_every: int = setting(10, "Steps between log.jsonl lines.", (1, BIG), resume=True)
    seed: int = setting(0, "Seeds init, batch order and the synth corpus.", (0, 2 ** 63 - 1))
    device: str = setting("auto", "auto (CUDA when present), cpu or cuda.", resume=True)
    smpl_dir: str | None = setting(None, "SMPL model folder: vertex loss instead of joints.")
    synth_clips: int = setting(20000, "Corpus size for --data synth.", (1, 10 ** 7))
    amass_dir: str | None = setting(None, "With --data amass: AMASS .npz folder.")
    babel_dir: str | None = setting(None, "With --data amass: BABEL json folder.")
    threads: int = setting(0, "torch CPU threads (0: torch's choice).", (0, 1024), resume=True)
    progress: bool = setting(True, "A progress bar on stderr (rank 0).", resume=True)

    def check(self) -> "TrainConfig":
        """Every numeric setting of its type and in its range, whether it came from a
        flag, a recipe or a saved run: one ``MclipError`` naming the flag otherwise."""
        for name, (low, high) in SETTING_RANGES.items():
            v = getattr(self, name)
            if v is None and name == "steps":
                continue
            kind = int if isinstance(low, int) and isinstance(high, int) else float
            flag = "--" + name.replace("_", "-")
            ok_type = (isinstance(v, int) if kind is int else isinstance(v, (int, float)))
            if isinstance(v, bool) or not ok_type:
                raise MclipError(f"{flag} {v!r}: must be {'an integer' if kind is int else 'a number'}")
            if not (math.isfinite(v) and low <= v <= high):
                raise MclipError(f"{flag} {v}: must be between {_num(low)} and {_num(high)}")
        return self

    def loss_weights(self):
        from .losses import LossWeights

        return LossWeights(self.lambda_rot, self.lambda_vel, self.lambda_pos,
                           self.lambda_text, self.lambda_image, self.lambda_text_recon)

    @classmethod
    def from_dict(cls, d: dict, source: str = "config") -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise MclipError(f"{source}: unknown training settings {unknown} "
                             f"(known: {', '.join(sorted(known))})")
        return cls(**d)


SETTING_RANGES = {f.name: f.metadata["range"] for f in fields(TrainConfig) if f.metadata.get("range")}
# What a resumed run may change: how much longer and how it goes on (schedule, threads,
# device, logging), never what it is (data, model, losses, seed).
RESUME_MAY_CHANGE = tuple(f.name for f in fields(TrainConfig) if f.metadata.get("resume"))


def _num(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def resumed_config(saved: TrainConfig, changes: dict, where: str) -> TrainConfig:
    """The config a resumed run goes on with: ``saved`` plus ``changes`` (settings given
    again with --resume). Settings outside ``RESUME_MAY_CHANGE`` may be repeated but not
    changed. The lr is a pure function of (step, settings), so a new --lr, --lr-schedule
    or --steps takes effect from the current step: ``--lr 1e-4 --lr-schedule constant``
    gives a constant tail, and a longer cosine --steps moves up the curve."""
    cfg = TrainConfig.from_dict(asdict(saved), where)
    for key, value in changes.items():
        if key == "out" or value is None:
            continue
        if key in RESUME_MAY_CHANGE:
            setattr(cfg, key, value)
        elif getattr(saved, key) != value:
            flag = "--" + key.replace("_", "-")
            raise MclipError(f"--resume: {flag} {value} differs from the run's {getattr(saved, key)} "
                             f"({where}); only {', '.join('--' + k.replace('_', '-') for k in RESUME_MAY_CHANGE)} "
                             f"may change")
    return cfg


RECIPE_DIR = Path(__file__).parent / "configs" / "train"


def recipe_path(name: str) -> Path:
    """The shipped training recipe ``name`` (``mclip/configs/train/NAME.toml``)."""
    p = RECIPE_DIR / f"{name}.toml"
    if not p.is_file():
        have = ", ".join(sorted(q.stem for q in RECIPE_DIR.glob("*.toml"))) or "none"
        raise MclipError(f"--recipe {name}: no such recipe (shipped: {have})")
    return p


def load_train_config(path: str | os.PathLike, **overrides) -> TrainConfig:
    """A TrainConfig from a JSON or TOML file; keyword overrides (not None) win."""
    data = read_settings_file(path)
    data.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig.from_dict(data, str(path))


def read_settings_file(path: str | os.PathLike) -> dict:
    """The settings (TrainConfig keys) a JSON or TOML file gives, as a dict."""
    p = Path(path)
    if not p.is_file():
        raise MclipError(f"{p}: no such config file")
    try:
        if p.suffix == ".toml":
            import tomllib

            data = tomllib.loads(p.read_text())
        else:
            data = json.loads(p.read_text())
    except Exception as e:
        raise MclipError(f"{p}: cannot parse config ({e})") from None
    if not isinstance(data, dict):
        raise MclipError(f"{p}: expected a table/object of settings")
    return data
