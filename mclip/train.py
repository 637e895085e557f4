"""Training MotionCLIP (paper section 3 and 4.1): ``mclip train`` and ``torchrun -m mclip train``.

One loop serves one CPU, one GPU and many GPUs (PyTorch DDP under ``torchrun``):

1. The dataset folder's train and val splits are loaded as feature tensors
   ``(N, 60, 25, 6)`` (``mclip.data.dataset.ClipDataset``, in RAM).
2. Every label text (all phrasings) is embedded once by the frozen backbone
   (``backbones.TextEmbeddingCache``, cached on disk), so a step only looks rows up.
3. When the backbone has an image tower and the image loss is on, one random frame of
   each training clip is rendered (``render.pose_image``) and embedded once, cached too.
4. Each step: a batch of clips -> model -> eq. (4) loss (``mclip.losses``) -> AdamW.
   Every ``val_every`` steps the val loss, every ``sample_every`` a GIF of decoded val
   texts in ``OUT/samples/``, every ``ckpt_every`` an atomic checkpoint ``OUT/last.pt``.

Resuming (``--resume``) restores weights, optimizer, step and every RNG, and the batch
order is a pure function of (seed, epoch, step), so N steps + resume N steps gives the
same weights as 2N steps straight. Ctrl-C finishes the current step, saves, and exits.

Under DDP each process sees ``batch_size`` clips per step (the global batch is
``batch_size * world_size``), a ``DistributedSampler`` splits each epoch, and only rank 0
writes checkpoints, logs and samples.
"""
from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from .errors import MclipError
from .losses import LossWeights, motionclip_loss
from .model import MotionCLIP, load_model_config


from .distributed import (Dist, StopFlag, barrier, dist_from_env, pick_device,  # noqa: F401
                          stop_requested, threading_main)
from .train_config import (RECIPE_DIR, RESUME_MAY_CHANGE, SETTING_RANGES, TrainConfig,  # noqa: F401
                           load_train_config, read_settings_file, recipe_path, resumed_config)


# ------------------------------------------------------------------ data


def _resolve_data(cfg: TrainConfig, d: Dist) -> Path:
    """The dataset folder. ``synth`` generates the procedural corpus into OUT/data once;
    ``amass`` prepares AMASS + BABEL (``amass_dir``, ``babel_dir``) into OUT/data once."""
    if cfg.data == "amass":
        return _prepare_amass(cfg, d)
    if cfg.data != "synth":
        return Path(cfg.data)
    root = Path(cfg.out) / "data"
    if d.main and not (root / "manifest.jsonl").exists():
        try:
            from .data import synth
        except ImportError:
            raise MclipError("--data synth: the procedural corpus (mclip.data.synth) is not "
                             "available in this install; pass a dataset folder") from None
        synth.write_corpus(root, n=cfg.synth_clips, seed=cfg.seed)
    barrier(d)
    return root


def open_splits(cfg: TrainConfig, d: Dist):
    """(data folder, its train split, its val split or None) as ``ClipDataset``s."""
    from .data.dataset import ClipDataset

    data_root = _resolve_data(cfg, d)
    train_ds = ClipDataset(data_root, "train")
    try:
        val_ds = ClipDataset(data_root, "val")
    except MclipError:
        val_ds = None
    return data_root, train_ds, val_ds


def _prepare_amass(cfg: TrainConfig, d: Dist) -> Path:
    if not (cfg.amass_dir and cfg.babel_dir):
        raise MclipError("--data amass: also give --amass-dir (AMASS .npz takes) and "
                         "--babel-dir (BABEL train.json/val.json)")
    root = Path(cfg.out) / "data"
    if d.main and not (root / "manifest.jsonl").exists():
        from .data.babel import prepare_babel

        prepare_babel(cfg.amass_dir, cfg.babel_dir, root)
    barrier(d)
    return root


def _all_texts(ds) -> list[str]:
    """Every phrasing of every clip's label, each once, in first-seen order."""
    seen: dict[str, None] = {}
    for t in ds.texts:
        for s in ([t] if isinstance(t, str) else t):
            seen.setdefault(s, None)
    return list(seen)


class TextTable:
    """Backbone embeddings of a fixed set of texts: ``lookup(list of B texts) -> (B, D)``."""

    def __init__(self, texts: list[str], embeddings: torch.Tensor):
        self.row = {t: i for i, t in enumerate(texts)}
        self.embeddings = embeddings.float()

    def lookup(self, texts: list[str]) -> torch.Tensor:
        return self.embeddings[[self.row[t] for t in texts]]


def embed_texts(backbone, texts: list[str], cache_dir: Path) -> torch.Tensor:
    """(N, D) embeddings of ``texts`` from the backbone, through its on-disk cache."""
    from .backbones import TextEmbeddingCache

    return TextEmbeddingCache(cache_dir, backbone).get(texts).float()


def feature_sample(features: torch.Tensor, seed: int, most: int = 8192) -> torch.Tensor:
    """At most ``most`` training clips (N, T, 25, 6), drawn with ``seed``: enough for
    per-feature mean and std to a few parts in a thousand, in a fraction of a second."""
    if features.shape[0] <= most:
        return features
    g = torch.Generator().manual_seed(seed)
    return features[torch.randperm(features.shape[0], generator=g)[:most]]


def embed_images(backbone, features: torch.Tensor, seed: int, batch: int = 64) -> torch.Tensor:
    """Render one random frame of each clip (``render.pose_images``, a shaded figure) and
    embed it with the backbone's image tower.

    features: (N, T, 25, 6). Returns (N, D). The frame choice is seeded, so the cache is
    reproducible (paper 4.1: "a random frame to be rendered" per sequence).
    """
    from .render import pose_images
    from .representation import from_features
    from .skeleton import forward_kinematics

    g = torch.Generator().manual_seed(seed)
    frames = torch.randint(0, features.shape[1], (features.shape[0],), generator=g)
    out = []
    with torch.no_grad():
        for s in range(0, features.shape[0], batch):
            x = features[s:s + batch, :][torch.arange(min(batch, features.shape[0] - s)),
                                         frames[s:s + batch]]            # (b, 25, 6)
            rotmats, trans = from_features(x)
            joints = forward_kinematics(rotmats, trans).numpy()           # (b, 24, 3)
            images = pose_images(joints)                                   # (b, H, W, 3) uint8
            out.append(torch.as_tensor(backbone.encode_image(images)).float().cpu())
    return torch.cat(out)


def _cached(path: Path, make, d: Dist):
    """Compute on rank 0 and save atomically; every rank then loads it."""
    if d.main and not path.exists():
        from .checkpoint import atomic_torch_save

        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_torch_save(make(), path)
    barrier(d)
    return torch.load(path, weights_only=True)


# ------------------------------------------------------------------ schedule


def learning_rate(cfg: TrainConfig, step: int, total: int) -> float:
    """The lr for optimiser step ``step`` (0-based): a pure function, so resuming needs
    no scheduler state. Linear warm-up, then constant or cosine down to lr / 10."""
    lr = cfg.lr
    if cfg.warmup_steps > 0 and step < cfg.warmup_steps:
        return lr * (step + 1) / cfg.warmup_steps
    if cfg.lr_schedule == "cosine":
        span = max(1, total - cfg.warmup_steps)
        t = min(1.0, (step - cfg.warmup_steps) / span)
        return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))
    if cfg.lr_schedule != "constant":
        raise MclipError(f"lr_schedule: 'constant' or 'cosine', got '{cfg.lr_schedule}'")
    return lr


# ------------------------------------------------------------------ batches


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int, d: Dist) -> list[list[int]]:
    """This process's batches of epoch ``epoch``: a pure function of its arguments.

    A DistributedSampler (also with one process) shuffles with seed + epoch and gives
    each rank its share; incomplete batches are dropped.
    """
    from torch.utils.data import DistributedSampler

    sampler = DistributedSampler(range(n), num_replicas=d.world, rank=d.rank, shuffle=True,
                                 seed=seed, drop_last=True)
    sampler.set_epoch(epoch)
    idx = list(sampler)
    return [idx[i:i + batch_size] for i in range(0, len(idx) - batch_size + 1, batch_size)]


def batches_from(step: int, n: int, batch_size: int, seed: int, d: Dist):
    """Endless (epoch, batch indices) from global step ``step`` on."""
    per_epoch = len(epoch_batches(n, batch_size, seed, 0, d))
    if per_epoch == 0:
        raise MclipError(f"--batch-size: {batch_size} is more than the {n // d.world} training "
                         f"clips per process")
    epoch, offset = divmod(step, per_epoch)
    while True:
        for b in epoch_batches(n, batch_size, seed, epoch, d)[offset:]:
            yield epoch, b
        epoch, offset = epoch + 1, 0


# ------------------------------------------------------------------ RNG state


def rng_state() -> dict:
    """Every RNG the loop uses (dropout: torch; text phrasing: python), as tensors and
    plain tuples, so checkpoints load with ``torch.load(weights_only=True)``."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    s = {"torch": torch.get_rng_state(), "python": random.getstate(),
         "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss),
                   float(gauss))}
    if torch.cuda.is_available():
        s["cuda"] = torch.cuda.get_rng_state_all()
    return s


def set_rng_state(s: dict) -> None:
    torch.set_rng_state(s["torch"])
    kind, keys, pos, has_gauss, gauss = s["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    random.setstate(s["python"])
    if "cuda" in s and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])


# ------------------------------------------------------------------ the run


@dataclass
class TrainResult:
    step: int
    checkpoint: Path | None
    interrupted: bool = False
    last_losses: dict = field(default_factory=dict)
    val_loss: float | None = None
    clips_per_s: float = 0.0


def _validate(model: MotionCLIP, feats: torch.Tensor, texts: list[str] | None, table: TextTable | None,
              body, weights: LossWeights, batch: int, device) -> dict[str, float]:
    """Mean loss terms over the given val clips (eval mode, no dropout)."""
    was = model.training
    model.eval()
    sums: dict[str, float] = {}
    with torch.no_grad():
        for s in range(0, feats.shape[0], batch):
            x = feats[s:s + batch].to(device)
            temb = (model.text_latent(table.lookup(texts[s:s + batch]).to(device))
                    if table is not None else None)
            pred, z = model(x)
            terms = motionclip_loss(pred, x, z, temb, None, body, weights)
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + float(v) * x.shape[0]
    model.train(was)
    return {k: v / feats.shape[0] for k, v in sums.items()}


def _render_samples(model: MotionCLIP, backbone, texts: list[str], path: Path, device) -> float:
    """Decode ``texts`` through the backbone and render them side by side to ``path``.

    Returns the mean joint speed of the decoded motions (m/s): near 0 means the model
    has collapsed to static poses, a known failure of MotionCLIP retraining.
    """
    from .representation import from_features
    from .skeleton import forward_kinematics

    was = model.training
    model.eval()
    with torch.no_grad():
        z = model.text_latent(torch.as_tensor(backbone.encode_text(texts)).float().to(device))
        rotmats, trans = from_features(model.decode(z).cpu())
        joints = forward_kinematics(rotmats, trans)                      # (n, T, 24, 3)
    model.train(was)
    speed = float((joints[:, 1:] - joints[:, :-1]).norm(dim=-1).mean() * 30.0)
    try:
        from .render import render_grid
    except ImportError:
        return speed
    path.parent.mkdir(parents=True, exist_ok=True)
    render_grid([j.numpy() for j in joints], path, captions=texts)
    return speed


def _load_backbone(name: str, device):
    from .backbones import load_backbone

    return load_backbone(name, device=device)


STAGES = ("autoencoder", "prior")


def open_run(cfg: TrainConfig, resume: bool, changes: dict | None = None,
             refuse_existing: bool = True) -> tuple[TrainConfig, dict | None]:
    """The run in ``cfg.out``. With ``resume``: the config it goes on with
    (``resumed_config``; ``changes`` default: ``cfg``'s steps and threads, for Python
    callers) and its last.pt's state. Else ``(cfg, None)``, refusing a folder that already
    holds a run (when ``refuse_existing``: under DDP only rank 0 checks)."""
    from .checkpoint import read_checkpoint

    out = Path(cfg.out)
    last = out / "last.pt"
    if out.exists() and not out.is_dir():
        raise MclipError(f"{out}: exists and is not a folder (--out names the run's folder)")
    if not resume:
        if refuse_existing and last.exists():
            raise MclipError(f"{out}: already holds a run (last.pt); pass --resume to continue "
                             f"it or choose another --out")
        return cfg, None
    if not last.exists():
        raise MclipError(f"{last}: nothing to resume (no checkpoint in {out})")
    state = read_checkpoint(last)
    saved = TrainConfig.from_dict(state["train_config"], str(last))
    if changes is None:
        changes = {"steps": cfg.steps, "threads": cfg.threads or None}
    # the run goes on where it is now: a copied or moved run folder is not written back
    # into the folder it was trained in
    return replace(resumed_config(saved, changes, str(last)), out=str(out)), state


def train(cfg: TrainConfig, resume: bool = False, backbone=None,
          max_steps_this_call: int | None = None, changes: dict | None = None) -> TrainResult:
    """Run (or resume) training as configured; returns where it stopped.

    ``backbone``: an already-loaded backbone object (tests pass a small one); default
    loads ``cfg.backbone`` or the model config's. ``max_steps_this_call`` stops early
    (after saving) without changing the schedule, e.g. to test resuming. ``changes``: with
    ``resume``, the settings given again (see ``resumed_config``); default: ``cfg``'s
    steps and threads.
    """
    d = dist_from_env()
    cfg.check()
    cfg, state = open_run(cfg, resume, changes, refuse_existing=d.main)   # a resumed run keeps its stage
    cfg.check()                                                           # with what --resume changed
    if cfg.stage not in STAGES:
        raise MclipError(f"--stage {cfg.stage}: choose {' or '.join(STAGES)}")
    if cfg.stage == "prior":
        from .train_prior import train_prior

        return train_prior(cfg, state, backbone, max_steps_this_call)
    if d.enabled and not torch.distributed.is_initialized():
        gpu = cfg.device in ("auto", "cuda") and torch.cuda.is_available()
        if gpu:   # one GPU per process, chosen by torchrun's LOCAL_RANK
            torch.cuda.set_device(d.local_rank)
        torch.distributed.init_process_group("nccl" if gpu else "gloo")
    try:
        return _train(cfg, state, backbone, max_steps_this_call, d)
    finally:
        if d.enabled and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def _train(cfg: TrainConfig, state: dict | None, backbone, max_steps_this_call, d: Dist) -> TrainResult:
    """The auto-encoder stage; ``state``: the checkpoint being resumed (``open_run``) or None."""
    # rich's first import draws from Python's global random: it must come before the
    # seeding (and the RNG restore of --resume), or resumed runs would differ from straight ones
    from .progress import Bars

    from .checkpoint import checkpoint_config, checkpoint_weights, read_checkpoint, save_checkpoint
    from .upgrade import can_upgrade, upgrade

    out = Path(cfg.out)
    last = out / "last.pt"
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = pick_device(cfg.device, d)
    if device.type == "cuda":
        # TF32 matmuls: ~float32 accuracy for this model at tensor-core speed
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    mcfg = (checkpoint_config(state, last) if state is not None
            else load_model_config(cfg.model))
    # Data first: a wrong folder should fail before the backbone takes seconds to load.
    data_root, train_ds, val_ds = open_splits(cfg, d)
    if backbone is None:
        backbone = _load_backbone(cfg.backbone or mcfg.backbone, device)
    if state is None and cfg.backbone:
        mcfg.backbone = backbone.name
    if mcfg.latent_dim != backbone.dim:
        if state is not None:
            raise MclipError(f"{last}: trained with a {mcfg.latent_dim}-d latent, backbone "
                             f"'{backbone.name}' gives {backbone.dim}")
        mcfg.latent_dim = backbone.dim       # z_p lives in the backbone's space

    if train_ds.frames != mcfg.num_frames:
        raise MclipError(f"{data_root}: clips have {train_ds.frames} frames, the model "
                         f"{mcfg.num_frames}")
    train_feats = train_ds.features
    if device.type == "cuda":
        # the whole split on the GPU (~1.8 GB for 50k clips): a step's batch is then one
        # gather there instead of a host gather plus a copy
        train_feats = train_feats.to(device)

    cache = out / "cache"
    table = None
    if cfg.text_loss:
        texts = _all_texts(train_ds) + ([] if val_ds is None else _all_texts(val_ds))
        texts = list(dict.fromkeys(texts))
        if d.main:                      # rank 0 fills the on-disk cache, the others read it
            embed_texts(backbone, texts, cache / "text")
        barrier(d)
        table = TextTable(texts, embed_texts(backbone, texts, cache / "text"))
    image_emb = None
    if cfg.image_loss and getattr(backbone, "has_image", False):
        image_emb = _cached(cache / f"image_{backbone.name}_{len(train_ds)}_{cfg.seed}.pt",
                            lambda: embed_images(backbone, train_ds.features, cfg.seed), d)

    from .body import load_body

    body = load_body(cfg.smpl_dir, device=device)

    torch.manual_seed(cfg.seed + d.rank)
    np.random.seed(cfg.seed + d.rank)
    random.seed(cfg.seed + d.rank)
    model = MotionCLIP(mcfg).to(device)
    if cfg.init and state is None:
        # the init weights bring their own text_mean (and feature statistics)
        init = read_checkpoint(cfg.init, device)
        init_cfg = checkpoint_config(init, cfg.init)
        if replace(init_cfg, smooth_output=mcfg.smooth_output) == mcfg:
            # the same weights (the output low-pass has none; it may be switched on here)
            model.load_state_dict(checkpoint_weights(init, cfg.init))
        elif can_upgrade(init_cfg, mcfg):
            # the paper's form into the dynamics form, same function (mclip.upgrade)
            model.load_state_dict(upgrade(checkpoint_weights(init, cfg.init), init_cfg, mcfg,
                                          feature_sample(train_ds.features, cfg.seed)).state_dict())
        else:
            raise MclipError(f"--init {cfg.init}: its model config differs from this run's")
    if mcfg.center_text and state is None and table is not None and not model.text_mean.any():
        # the mean over training clips, for a fresh model and for init weights trained
        # without the text loss (a motion-only warm start); without the text loss in this
        # run it stays 0: nothing to centre
        model.set_text_mean(table.lookup([train_ds.text(i) for i in range(len(train_ds))]))
    if state is None and not model.has_feature_stats:
        # a fresh model (or --init weights without them): standardise with this run's
        # training clips (AMASS/BABEL get their own)
        model.set_feature_stats(feature_sample(train_ds.features, cfg.seed))
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay,
                                  betas=(0.9, cfg.adam_beta2))
    step = 0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        for group in optimizer.param_groups:      # the saved state brings its own betas
            group["betas"] = (0.9, cfg.adam_beta2)
        step = state["step"]
        rngs = state["extra"].get("rng", [])
        if d.rank < len(rngs):
            set_rng_state(rngs[d.rank])
    net = model
    if d.enabled:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    n = len(train_ds)
    per_epoch = max(1, (n // d.world) // cfg.batch_size)
    total = cfg.steps if cfg.steps is not None else math.ceil(cfg.epochs * per_epoch)
    stop_at = total if max_steps_this_call is None else min(total, step + max_steps_this_call)
    weights = cfg.loss_weights()
    learning_rate(cfg, 0, total)             # reject a bad schedule name before any work
    train_cfg_dict = asdict(cfg)

    if val_ds is not None:
        val_feats = val_ds.features[: cfg.val_max_clips]
        val_texts = [val_ds.texts[i] if isinstance(val_ds.texts[i], str) else val_ds.texts[i][0]
                     for i in range(val_feats.shape[0])]
        sample_texts = list(dict.fromkeys(val_texts))[: cfg.sample_texts]
    else:
        val_feats, val_texts, sample_texts = None, None, []

    def checkpoint(path: Path, metrics: dict | None = None) -> None:
        rngs = [rng_state()]
        if d.enabled:
            rngs = [None] * d.world
            torch.distributed.all_gather_object(rngs, rng_state())
        if d.main:
            save_checkpoint(path, model, mcfg, train_cfg_dict, optimizer, step,
                            {"rng": rngs, "metrics": metrics or {}, "data": str(data_root)})
        barrier(d)

    log_file = None
    if d.main:
        out.mkdir(parents=True, exist_ok=True)
        log_file = open(out / "log.jsonl", "a", encoding="utf-8")
        from .atomic import atomic_write_bytes

        atomic_write_bytes(out / "config.json", json.dumps(
            {"train": train_cfg_dict, "model": mcfg.to_dict()}, indent=2).encode())

    def log(record: dict) -> None:
        if log_file is not None:
            log_file.write(json.dumps(record) + "\n")
            log_file.flush()

    progress = Bars(enabled=cfg.progress and d.main, transient=False)
    result = TrainResult(step=step, checkpoint=None)
    model.train()
    batches = batches_from(step, n, cfg.batch_size, cfg.seed, d)
    t0, clips_done = time.perf_counter(), 0
    val_loss = None
    try:
        with StopFlag() as flag, progress:
            show = progress.task("train", total, completed=step)
            while step < stop_at and not stop_requested(flag, d, device):
                epoch, idx = next(batches)
                for group in optimizer.param_groups:
                    group["lr"] = learning_rate(cfg, step, total)
                x = train_feats[idx].to(device, non_blocking=True)
                temb = (model.text_latent(table.lookup([train_ds.text(i) for i in idx]).to(device))
                        if table else None)
                iemb = image_emb[idx].to(device) if image_emb is not None else None
                if temb is not None and cfg.lambda_text_recon > 0:
                    pred, z, text_pred = net(x, temb)
                else:
                    pred, z = net(x)
                    text_pred = None
                terms = motionclip_loss(pred, x, z, temb, iemb, body, weights, text_pred)
                optimizer.zero_grad(set_to_none=True)
                terms["total"].backward()
                if cfg.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                optimizer.step()
                step += 1
                clips_done += len(idx) * d.world
                result.last_losses = {k: float(v.detach()) for k, v in terms.items()}
                show(step, info=" ".join(f"{k} {v:.4g}" for k, v in result.last_losses.items()))
                if step % cfg.log_every == 0:
                    rate = clips_done / max(time.perf_counter() - t0, 1e-9)
                    log({"step": step, "epoch": epoch, "lr": optimizer.param_groups[0]["lr"],
                         "clips_per_s": rate, **result.last_losses})
                if val_feats is not None and (step % cfg.val_every == 0 or step == total) and d.main:
                    vt = val_texts if table is not None else None
                    val = _validate(model, val_feats, vt, table, body, weights, cfg.batch_size, device)
                    val_loss = val["total"]
                    log({"step": step, **{f"val_{k}": v for k, v in val.items()}})
                    progress.print(f"step {step}: val " + " ".join(
                        f"{k} {v:.4g}" for k, v in val.items()))
                if sample_texts and cfg.sample_every and step % cfg.sample_every == 0 and d.main:
                    speed = _render_samples(model, backbone, sample_texts,
                                            out / "samples" / f"step_{step}.gif", device)
                    log({"step": step, "sample_joint_speed_m_s": speed})
                if step % cfg.ckpt_every == 0 and step < stop_at:
                    checkpoint(last, {"val_loss": val_loss})
            interrupted = flag.stop and step < stop_at
    finally:
        if log_file is not None:
            log_file.close()
    checkpoint(last, {"val_loss": val_loss})
    result.step = step
    result.checkpoint = last if d.main else None
    result.interrupted = interrupted
    result.val_loss = val_loss
    result.clips_per_s = clips_done / max(time.perf_counter() - t0, 1e-9)
    return result
