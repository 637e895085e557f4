"""Training the latent sampler (``mclip.prior``): ``mclip train --stage prior``.

From a trained auto-encoder (``--init``), whose weights stay frozen:

1. every training and val clip is encoded once (unit latents, cached in ``OUT/cache``);
2. every label text is embedded once and turned into the model's text latent;
3. each step: a batch of clips, one phrasing of each clip's text, the flow-matching loss
   (``LatentPrior.loss``) -> AdamW on the sampler only.

The checkpoint ``OUT/last.pt`` is a whole model: the auto-encoder it was trained on plus
the sampler, so ``mclip text2motion -w OUT/last.pt`` samples from it. Resuming, Ctrl-C,
the lr schedule and the batch order are those of ``mclip.train``. One process (the
sampler is small: a CPU core trains it in minutes).
"""
from __future__ import annotations

import json
import random
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from .errors import MclipError
from .prior import LatentPrior, load_prior_config


def encode_latents(model, features: torch.Tensor, device, batch: int = 256) -> torch.Tensor:
    """(N, T, 25, 6) clips -> (N, D) unit latents, on the CPU."""
    out = []
    was = model.training
    model.eval()
    with torch.no_grad():
        for s in range(0, features.shape[0], batch):
            z = model.encode(features[s:s + batch].to(device)).float()
            out.append(torch.nn.functional.normalize(z, dim=-1).cpu())
    model.train(was)
    return torch.cat(out)


def _val_loss(prior: LatentPrior, z: torch.Tensor, c: torch.Tensor, seed: int, device) -> float:
    """Flow-matching loss over the val pairs with fixed noise (comparable across steps)."""
    g = torch.Generator().manual_seed(seed)
    prior.eval()
    total = 0.0
    with torch.no_grad():
        for s in range(0, z.shape[0], 512):
            total += float(prior.loss(z[s:s + 512].to(device), c[s:s + 512].to(device), g)) * len(z[s:s + 512])
    prior.train()
    return total / max(1, z.shape[0])


def train_prior(cfg, state: dict | None = None, backbone=None, max_steps_this_call: int | None = None):
    """Run the sampler stage, fresh or (``state``: the run's last.pt, from
    ``mclip.train.open_run``) resumed; returns a ``mclip.train.TrainResult``.
    ``mclip.train.train`` calls this for ``stage = "prior"``."""
    from .progress import Bars

    from .atomic import atomic_write_bytes
    from .checkpoint import (atomic_torch_save, checkpoint_config,
                             checkpoint_prior, checkpoint_weights, load_weights_into,
                             read_checkpoint, save_checkpoint)
    from .model import MotionCLIP
    from . import train as T

    d = T.dist_from_env()
    if d.enabled:
        raise MclipError("--stage prior runs in one process (the sampler is small); "
                         "start it without torchrun")
    out = Path(cfg.out)
    last = out / "last.pt"
    if state is not None:                 # the run's checkpoint holds its auto-encoder
        source, source_path = state, last
    else:
        if not cfg.init:
            raise MclipError("--stage prior: give --init, the trained auto-encoder to sample for")
        source, source_path = read_checkpoint(cfg.init), cfg.init
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = T.pick_device(cfg.device, d)
    mcfg = checkpoint_config(source, source_path)
    model = MotionCLIP(mcfg)
    load_weights_into(model, checkpoint_weights(source, source_path), source_path, "model")
    model.to(device).eval().requires_grad_(False)
    trained = source.get("train_config") or {}
    if trained.get("text_loss") is False or (mcfg.center_text and not model.text_mean.any()):
        raise MclipError(f"{source_path}: its auto-encoder has no text alignment (trained "
                         f"without the text loss); the sampler needs text latents")
    pcfg = (checkpoint_prior(state, last)[1] if state is not None else load_prior_config(cfg.prior))
    pcfg.latent_dim = mcfg.latent_dim
    pcfg = type(pcfg).from_dict(pcfg.to_dict())

    data_root, train_ds, val_ds = T.open_splits(cfg, d)
    if backbone is None:
        backbone = T._load_backbone(cfg.backbone or mcfg.backbone, device)
    if backbone.dim != mcfg.latent_dim:
        raise MclipError(f"{source_path}: a {mcfg.latent_dim}-d latent, backbone "
                         f"'{backbone.name}' gives {backbone.dim}")
    cache = out / "cache"
    texts = list(dict.fromkeys(T._all_texts(train_ds) + ([] if val_ds is None else T._all_texts(val_ds))))
    table = T.TextTable(texts, T.embed_texts(backbone, texts, cache / "text"))

    def latents(ds, split: str) -> torch.Tensor:
        path = cache / f"latents_{split}_{len(ds)}.pt"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_torch_save(encode_latents(model, ds.features, device), path)
        return torch.load(path, weights_only=True)

    train_z = latents(train_ds, "train")
    with torch.no_grad():
        text_z = model.text_latent(table.embeddings.to(device)).cpu()   # (texts, D)
    row = table.row
    val = None
    if val_ds is not None:
        val_c = text_z[[row[t if isinstance(t, str) else t[0]] for t in val_ds.texts]]
        val = (latents(val_ds, "val")[: cfg.val_max_clips], val_c[: cfg.val_max_clips])

    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    random.seed(cfg.seed)
    prior = LatentPrior(pcfg).to(device)
    optimizer = torch.optim.AdamW(prior.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay,
                                  betas=(0.9, cfg.adam_beta2))
    if pcfg.whiten and state is None:
        prior.set_latent_stats(train_z)
    step = 0
    if state is not None:
        prior.load_state_dict(checkpoint_prior(state, last)[0])
        optimizer.load_state_dict(state["optimizer"])
        for group in optimizer.param_groups:
            group["betas"] = (0.9, cfg.adam_beta2)
        step = state["step"]
        rngs = state["extra"].get("rng", [])
        if rngs:
            T.set_rng_state(rngs[0])

    n = len(train_ds)
    per_epoch = max(1, n // cfg.batch_size)
    total = cfg.steps if cfg.steps is not None else int(np.ceil(cfg.epochs * per_epoch))
    stop_at = total if max_steps_this_call is None else min(total, step + max_steps_this_call)
    T.learning_rate(cfg, 0, total)
    train_cfg_dict = asdict(cfg)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / "config.json", json.dumps(
        {"train": train_cfg_dict, "model": mcfg.to_dict(), "prior": pcfg.to_dict()}, indent=2).encode())

    def checkpoint(metrics: dict) -> None:
        save_checkpoint(last, model, mcfg, train_cfg_dict, optimizer, step,
                        {"rng": [T.rng_state()], "metrics": metrics, "data": str(data_root)},
                        prior=prior, prior_cfg=pcfg)

    progress = Bars(enabled=cfg.progress, transient=False)
    result = T.TrainResult(step=step, checkpoint=None)
    batches = T.batches_from(step, n, cfg.batch_size, cfg.seed, d)
    t0, clips_done, val_loss = time.perf_counter(), 0, None
    prior.train()
    with open(out / "log.jsonl", "a", encoding="utf-8") as log_file, T.StopFlag() as flag, progress:
        show = progress.task("prior", total, completed=step)
        while step < stop_at and not flag.stop:
            epoch, idx = next(batches)
            for group in optimizer.param_groups:
                group["lr"] = T.learning_rate(cfg, step, total)
            z = train_z[idx].to(device)
            c = text_z[[row[train_ds.text(i)] for i in idx]].to(device)
            loss = prior.loss(z, c)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(prior.parameters(), cfg.grad_clip)
            optimizer.step()
            step += 1
            clips_done += len(idx)
            result.last_losses = {"prior": float(loss.detach())}
            show(step, info=f"prior {result.last_losses['prior']:.4g}")
            if step % cfg.log_every == 0:
                rate = clips_done / max(time.perf_counter() - t0, 1e-9)
                log_file.write(json.dumps({"step": step, "epoch": epoch, "lr": optimizer.param_groups[0]["lr"],
                                           "clips_per_s": rate, **result.last_losses}) + "\n")
                log_file.flush()
            if val is not None and (step % cfg.val_every == 0 or step == total):
                val_loss = _val_loss(prior, val[0], val[1], cfg.seed, device)
                log_file.write(json.dumps({"step": step, "val_prior": val_loss}) + "\n")
                log_file.flush()
                progress.print(f"step {step}: val prior {val_loss:.4g}")
            if step % cfg.ckpt_every == 0 and step < stop_at:
                checkpoint({"val_loss": val_loss})
        interrupted = flag.stop and step < stop_at
    checkpoint({"val_loss": val_loss})
    result.step, result.checkpoint, result.interrupted = step, last, interrupted
    result.val_loss = val_loss
    result.clips_per_s = clips_done / max(time.perf_counter() - t0, 1e-9)
    return result
