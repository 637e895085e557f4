"""Saving and loading MotionCLIP checkpoints.

A checkpoint is one ``torch.save`` dict:

    {"format": "mclip-checkpoint", "version": 1,
     "model_config": {...ModelConfig...}, "train_config": {...} or None,
     "model": state_dict, "optimizer": state_dict or None, "step": int,
     "extra": {...}  (RNG states, metrics, anything the trainer wants back),
     "prior_config": {...PriorConfig...}, "prior": state_dict}   (only with a latent sampler)

Writes are atomic (temp file in the target folder, then ``os.replace``): a crash or
Ctrl-C never leaves a half-written checkpoint. Shipped weights (``weights/x.pt``) carry
a ``weights/x.pt.sha256`` beside them; the loader verifies it when present so a
truncated download or a corrupt file gives a clear error, not a confusing unpickling one.
"""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import torch

from .atomic import atomic_write_bytes
from .errors import MclipError
from .model import MotionCLIP, ModelConfig
from .prior import LatentPrior, PriorConfig

FORMAT = "mclip-checkpoint"
VERSION = 1


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def checksum_path(path: str | os.PathLike) -> Path:
    """Where the checksum of ``path`` lives: ``<path>.sha256``."""
    return Path(str(path) + ".sha256")


def atomic_torch_save(obj, path: Path) -> None:
    """``torch.save`` that never leaves a half-written file at ``path``."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def write_checksum(path: str | os.PathLike) -> Path:
    """Write ``<path>.sha256`` in sha256sum format (``<hex>  <name>``)."""
    path = Path(path)
    out = checksum_path(path)
    atomic_write_bytes(out, f"{sha256_of(path)}  {path.name}\n".encode())
    return out


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The plain model inside DistributedDataParallel (or the model itself)."""
    return model.module if hasattr(model, "module") else model


def save_checkpoint(path: str | os.PathLike, model: torch.nn.Module, model_cfg: ModelConfig,
                    train_cfg: dict | None = None, optimizer=None, step: int = 0,
                    extra: dict | None = None, checksum: bool = False,
                    prior: torch.nn.Module | None = None, prior_cfg: PriorConfig | None = None) -> Path:
    """Write a full training checkpoint atomically; returns its path.

    ``train_cfg`` is a plain dict (``dataclasses.asdict(TrainConfig)``), so loading a
    checkpoint never needs the training code's classes. ``checksum=True`` also writes
    ``<path>.sha256`` (for weights that will be shipped). ``prior``/``prior_cfg``: the
    latent sampler trained for this auto-encoder (``mclip.prior``), saved beside it.
    """
    path = Path(path)
    state = {
        "format": FORMAT,
        "version": VERSION,
        "model_config": model_cfg.to_dict(),
        "train_config": train_cfg,
        "model": _unwrap(model).state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "step": int(step),
        "extra": extra or {},
    }
    if prior is not None:
        state["prior_config"] = prior_cfg.to_dict()
        state["prior"] = _unwrap(prior).state_dict()
    atomic_torch_save(state, path)
    if checksum:
        write_checksum(path)
    return path


def read_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> dict:
    """The raw checkpoint dict, after checks: exists, checksum (if any), right format.

    Raises MclipError naming the file for anything wrong with it.
    """
    path = Path(path)
    if not path.is_file():
        raise MclipError(f"{path}: no such checkpoint file")
    sums = checksum_path(path)
    if sums.is_file():
        words = sums.read_text().split()
        expected = words[0].lower() if words else ""
        actual = sha256_of(path)
        if expected != actual:
            raise MclipError(
                f"{path}: checksum mismatch (file is corrupt or truncated; expected sha256 "
                f"{expected[:12]}..., got {actual[:12]}...). Re-download or re-export it.")
    try:
        # weights_only: tensors, numbers, strings and containers only, never arbitrary
        # pickled objects, so loading a checkpoint from elsewhere cannot run code.
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as e:  # unpickling errors come in many types
        raise MclipError(f"{path}: not a readable mclip checkpoint ({type(e).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise MclipError(f"{path}: not an mclip checkpoint")
    if state.get("version", 0) > VERSION:
        raise MclipError(f"{path}: checkpoint version {state['version']} is newer than this "
                         f"mclip understands ({VERSION}); upgrade mclip")
    return state


def checkpoint_config(state: dict, path) -> ModelConfig:
    """The checkpoint's ModelConfig, checked (``ModelConfig.__post_init__``); any fault is
    one MclipError naming the file."""
    if "model_config" not in state:
        raise MclipError(f"{path}: checkpoint has no model_config")
    try:
        return ModelConfig.from_dict(state["model_config"])
    except MclipError as e:
        raise MclipError(f"{path}: {e}") from None


def checkpoint_weights(state: dict, path) -> dict:
    """The checkpoint's state dict, checked to be names -> tensors."""
    sd = state.get("model")
    if not isinstance(sd, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                           for k, v in sd.items()):
        raise MclipError(f"{path}: checkpoint's model is not a dict of named tensors")
    return sd


def checkpoint_prior(state: dict, path) -> tuple[dict, PriorConfig] | None:
    """The checkpoint's latent sampler as (state dict, PriorConfig), checked; None when
    it has none. Any fault is one MclipError naming the file."""
    if "prior" not in state:
        return None
    try:
        cfg = PriorConfig.from_dict(state.get("prior_config"))
    except MclipError as e:
        raise MclipError(f"{path}: {e}") from None
    sd = state["prior"]
    if not isinstance(sd, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                           for k, v in sd.items()):
        raise MclipError(f"{path}: checkpoint's prior is not a dict of named tensors")
    return sd, cfg


def load_weights_into(module: torch.nn.Module, sd: dict, path, what: str) -> None:
    """Load ``sd`` (as float32) into ``module``, or one MclipError naming the first
    missing, unexpected or wrongly shaped tensor."""
    sd = {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}
    want, have = module.state_dict(), set(sd)
    missing, unexpected = sorted(set(want) - have), sorted(have - set(want))
    wrong = [k for k in sorted(have & set(want)) if sd[k].shape != want[k].shape]
    if missing or unexpected or wrong:
        why = (f"missing {missing[:3]}" if missing else
               f"unexpected {unexpected[:3]}" if unexpected else
               f"{wrong[0]} is {tuple(sd[wrong[0]].shape)}, the config gives {tuple(want[wrong[0]].shape)}")
        raise MclipError(f"{path}: {what} weights do not match its config ({why})")
    bad = next((k for k, v in sd.items() if v.is_floating_point() and not torch.isfinite(v).all()), None)
    if bad is not None:
        raise MclipError(f"{path}: {what} weights contain NaN or infinite values ({bad}); "
                         f"the file is damaged or came from a diverged run")
    module.load_state_dict(sd)


def load_prior(state_or_meta: dict, path, device: str | torch.device = "cpu") -> LatentPrior | None:
    """The latent sampler stored in a checkpoint (or in ``load_checkpoint``'s meta), in
    eval mode on ``device``; None when the checkpoint has none."""
    found = checkpoint_prior(state_or_meta, path)
    if found is None:
        return None
    sd, cfg = found
    prior = LatentPrior(cfg)
    load_weights_into(prior, sd, path, "sampler")
    return prior.to(device).eval()


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu",
                    backbone: str | None = None) -> tuple[MotionCLIP, ModelConfig, dict]:
    """Load a model for use: ``(model in eval mode on device, its ModelConfig, meta)``.

    meta holds the rest of the checkpoint (train_config, step, optimizer, extra).
    ``backbone``: when given, the checkpoint must have been trained against it.
    """
    state = read_checkpoint(path, device)
    cfg = checkpoint_config(state, path)
    if backbone is not None and cfg.backbone != backbone:
        raise MclipError(f"{path}: trained against backbone '{cfg.backbone}', "
                         f"not '{backbone}'")
    model = MotionCLIP(cfg)
    load_weights_into(model, checkpoint_weights(state, path), path, "model")
    model.to(device).eval()
    meta = {k: v for k, v in state.items() if k not in ("model", "model_config")}
    return model, cfg, meta


def export_for_release(ckpt: str | os.PathLike, out: str | os.PathLike,
                       card: dict | None = None,
                       classify_temperature: dict[str, float] | None = None) -> Path:
    """Ship a checkpoint: model weights only, in float16, config inside, plus
    ``<out>.sha256``. No optimizer, no RNG: a quarter of a training checkpoint's size.
    ``card`` (training data, scores...) is stored under extra["card"];
    ``classify_temperature`` ({label set or "other": T}, fitted on held-out clips:
    ``mclip eval``'s calibration rows) under extra["classify_temperature"], else the
    source checkpoint's is kept."""
    state = read_checkpoint(ckpt)
    def half(sd: dict, keep: tuple[str, ...] = ()) -> dict:
        return {k: v.half() if v.is_floating_point() and not k.startswith(keep) else v
                for k, v in sd.items()}

    # the feature statistics stay float32: the decoder's output is scaled by them
    weights = half(state["model"], keep=("feature_",))
    extra = {"card": card or {}, "exported_from_step": state.get("step", 0),
             "dtype": "float16"}
    kept = (state.get("extra") or {}).get("classify_temperature")
    if classify_temperature is not None or kept is not None:
        extra["classify_temperature"] = dict(classify_temperature if classify_temperature is not None
                                             else kept if isinstance(kept, dict) else {"other": kept})
    prior = checkpoint_prior(state, ckpt)
    release = {
        "format": FORMAT, "version": VERSION, "model_config": state["model_config"],
        "train_config": state.get("train_config"), "model": weights, "optimizer": None,
        "step": state.get("step", 0), "extra": extra,
    }
    if prior is not None:
        release["prior_config"] = prior[1].to_dict()
        release["prior"] = half(prior[0])
    out = Path(out)
    atomic_torch_save(release, out)
    write_checksum(out)
    return out
