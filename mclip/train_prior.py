"""Training the latent sampler (``mclip.prior``): ``mclip train --stage prior``.

From a trained auto-encoder (``--init``), whose weights stay frozen:

1. every training and val clip is encoded once (unit latents, cached in ``OUT/cache``);
2. every label text is embedded once and turned into the model's text latent;
3. each step: a batch of clips, one phrasing of each clip's text, the flow-matching loss
   (``LatentPrior.loss``) -> AdamW on the sampler only.

The checkpoint ``OUT/last.pt`` is a whole model: the auto-encoder it was trained on plus
the sampler, so ``mclip text2motion -w OUT/last.pt`` samples from it. The loop, with
resuming, Ctrl-C, the lr schedule and the batch order, is ``mclip.train``'s
(``mclip.loop.Loop``). One process (the sampler is small: a CPU core trains it in minutes).
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from .errors import MclipError
from .loop import Loop, make_optimizer, optimise, resume_optimizer, seed_everything
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
    ``mclip.train.open_run``) resumed; returns a ``mclip.loop.TrainResult``.
    ``mclip.train.train`` calls this for ``stage = "prior"``."""
    from .checkpoint import checkpoint_config, checkpoint_prior, checkpoint_weights, load_weights_into
    from .checkpoint import read_checkpoint, save_checkpoint
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

    # the data: every clip's unit latent and every text's latent, computed once
    data_root, train_ds, val_ds = T.open_splits(cfg, d)
    if backbone is None:
        backbone = T._load_backbone(cfg.backbone or mcfg.backbone, device)
    if backbone.dim != mcfg.latent_dim:
        raise MclipError(f"{source_path}: a {mcfg.latent_dim}-d latent, backbone "
                         f"'{backbone.name}' gives {backbone.dim}")
    cache = out / "cache"
    table = T.text_table(backbone, train_ds, val_ds, cache / "text", d)

    def latents(ds, split: str) -> torch.Tensor:
        return T.cached(cache / f"latents_{split}_{len(ds)}.pt",
                         lambda: encode_latents(model, ds.features, device), d)

    train_z = latents(train_ds, "train")
    with torch.no_grad():
        text_z = model.text_latent(table.embeddings.to(device)).cpu()   # (texts, D)
    row = table.row
    val = None
    if val_ds is not None:
        val_c = text_z[[row[t if isinstance(t, str) else t[0]] for t in val_ds.texts]]
        val = (latents(val_ds, "val")[: cfg.val_max_clips], val_c[: cfg.val_max_clips])

    # the sampler, its optimizer and (resuming) their saved state
    seed_everything(cfg.seed)
    prior = LatentPrior(pcfg).to(device)
    optimizer = make_optimizer(prior.parameters(), cfg)
    if pcfg.whiten and state is None:
        prior.set_latent_stats(train_z)
    if state is not None:
        prior.load_state_dict(checkpoint_prior(state, last)[0])
    step = resume_optimizer(optimizer, state, cfg, d)

    def one_step(idx: list[int]) -> dict[str, float]:
        z = train_z[idx].to(device)
        c = text_z[[row[train_ds.text(i)] for i in idx]].to(device)
        loss = prior.loss(z, c)
        optimise(optimizer, loss, prior.parameters(), cfg.grad_clip)
        return {"prior": float(loss.detach())}

    def save(step: int, extra: dict) -> None:
        save_checkpoint(last, model, mcfg, asdict(cfg), optimizer, step,
                        {**extra, "data": str(data_root)}, prior=prior, prior_cfg=pcfg)

    loop = Loop(cfg, d, device, optimizer, len(train_ds), step, max_steps_this_call,
                label="prior", val_key="prior")
    prior.train()
    return loop.run(one_step, save,
                    config={"train": asdict(cfg), "model": mcfg.to_dict(), "prior": pcfg.to_dict()},
                    validate=(lambda: {"prior": _val_loss(prior, val[0], val[1], cfg.seed, device)})
                    if val is not None else None)
