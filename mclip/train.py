"""Training MotionCLIP (paper section 3 and 4.1): ``mclip train`` and ``torchrun -m mclip train``.

One loop (``mclip.loop.Loop``, shared with the sampler stage of ``mclip.train_prior``)
serves one CPU, one GPU and many GPUs (PyTorch DDP under ``torchrun``). This module is
the auto-encoder stage, in three parts:

1. Set-up (``_set_up``): the dataset folder's train and val splits as feature tensors
   ``(N, 60, 25, 6)`` (``mclip.data.dataset.ClipDataset``, in RAM); every label text
   (all phrasings) embedded once by the frozen backbone (``backbones.TextEmbeddingCache``,
   cached on disk), so a step only looks rows up; when the backbone has an image tower
   and the image loss is on, one random frame of each training clip rendered
   (``render.pose_image``) and embedded once, cached too; the model, the optimizer and,
   with ``--resume``, their saved state.
2. One step (``_step``): a batch of clips -> model -> eq. (4) loss (``mclip.losses``) -> AdamW.
3. The hooks the loop calls: every ``val_every`` steps the val loss (``_validate``),
   every ``sample_every`` a GIF of decoded val texts in ``OUT/samples/`` (``_sample``),
   every ``ckpt_every`` an atomic checkpoint ``OUT/last.pt`` (``_save``).

Resuming (``--resume``) restores weights, optimizer, step and every RNG, and the batch
order is a pure function of (seed, epoch, step), so N steps + resume N steps gives the
same weights as 2N steps straight. Ctrl-C finishes the current step, saves, and exits.

Under DDP each process sees ``batch_size`` clips per step (the global batch is
``batch_size * world_size``), a ``DistributedSampler`` splits each epoch, and only rank 0
writes checkpoints, logs and samples.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path

import torch

from .errors import MclipError
from .loop import Loop, TrainResult, make_optimizer, optimise, resume_optimizer, seed_everything
from .losses import LossWeights, motionclip_loss
from .model import ModelConfig, MotionCLIP, load_model_config


from .distributed import Dist, barrier, dist_from_env, pick_device
from .train_config import TrainConfig, resumed_config


# ------------------------------------------------------------------ data (both stages)


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


def text_table(backbone, train_ds, val_ds, cache_dir: Path, d: Dist) -> TextTable:
    """Every phrasing of the train and val texts, embedded once through the on-disk
    cache (under DDP rank 0 fills it, then the others read it)."""
    texts = list(dict.fromkeys(_all_texts(train_ds) + ([] if val_ds is None else _all_texts(val_ds))))
    if d.enabled:
        if d.main:
            embed_texts(backbone, texts, cache_dir)
        barrier(d)
    return TextTable(texts, embed_texts(backbone, texts, cache_dir))


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


def cached(path: Path, make, d: Dist):
    """Compute on rank 0 and save atomically; every rank then loads it."""
    if d.main and not path.exists():
        from .checkpoint import atomic_torch_save

        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_torch_save(make(), path)
    barrier(d)
    return torch.load(path, weights_only=True)


def _load_backbone(name: str, device):
    from .backbones import load_backbone

    return load_backbone(name, device=device)


# ------------------------------------------------------------------ the run


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


# ------------------------------------------------------------------ the auto-encoder stage


@dataclass
class _Run:
    """What the set-up builds; the step and the hooks read it."""

    cfg: TrainConfig
    d: Dist
    device: torch.device
    mcfg: ModelConfig
    data_root: Path
    train_ds: object                      # ClipDataset
    train_feats: torch.Tensor             # (N, T, 25, 6), on the GPU when training there
    table: TextTable | None               # None without the text loss
    image_emb: torch.Tensor | None        # (N, D), with the image loss and an image tower
    backbone: object
    body: object
    weights: LossWeights
    model: MotionCLIP
    net: torch.nn.Module                  # the model, or its DDP wrapper
    optimizer: torch.optim.Optimizer
    step: int                             # 0, or the resumed step
    val_feats: torch.Tensor | None        # (V, T, 25, 6): at most val_max_clips val clips
    val_texts: list[str] | None           # their first phrasings
    sample_texts: list[str]               # the texts of the sample GIFs


def _train(cfg: TrainConfig, state: dict | None, backbone, max_steps_this_call, d: Dist) -> TrainResult:
    """The auto-encoder stage; ``state``: the checkpoint being resumed (``open_run``) or None."""
    run = _set_up(cfg, state, backbone, d)
    loop = Loop(cfg, d, run.device, run.optimizer, len(run.train_ds), run.step,
                max_steps_this_call, label="train")
    run.model.train()
    return loop.run(partial(_step, run), partial(_save, run),
                    config={"train": asdict(cfg), "model": run.mcfg.to_dict()},
                    validate=partial(_validate, run) if run.val_feats is not None else None,
                    sample=partial(_sample, run) if run.sample_texts else None)


# ------------------------------------------------------------------ set-up


def _set_up(cfg: TrainConfig, state: dict | None, backbone, d: Dist) -> _Run:
    """Data, texts, model, optimizer and, with ``state``, the resumed step and RNGs."""
    from .body import load_body
    from .checkpoint import checkpoint_config

    last = Path(cfg.out) / "last.pt"
    device = _device(cfg, d)
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

    cache = Path(cfg.out) / "cache"
    table = text_table(backbone, train_ds, val_ds, cache / "text", d) if cfg.text_loss else None
    image_emb = None
    if cfg.image_loss and getattr(backbone, "has_image", False):
        image_emb = cached(cache / f"image_{backbone.name}_{len(train_ds)}_{cfg.seed}.pt",
                            lambda: embed_images(backbone, train_ds.features, cfg.seed), d)
    body = load_body(cfg.smpl_dir, device=device)

    seed_everything(cfg.seed + d.rank)
    model = _model(cfg, mcfg, state, table, train_ds, device)
    optimizer = make_optimizer(model.parameters(), cfg)
    step = resume_optimizer(optimizer, state, cfg, d)
    net = model
    if d.enabled:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    val_feats, val_texts, sample_texts = None, None, []
    if val_ds is not None:
        val_feats = val_ds.features[: cfg.val_max_clips]
        val_texts = [val_ds.texts[i] if isinstance(val_ds.texts[i], str) else val_ds.texts[i][0]
                     for i in range(val_feats.shape[0])]
        sample_texts = list(dict.fromkeys(val_texts))[: cfg.sample_texts]
    return _Run(cfg, d, device, mcfg, data_root, train_ds, train_feats, table, image_emb, backbone,
                body, cfg.loss_weights(), model, net, optimizer, step, val_feats, val_texts,
                sample_texts)


def _device(cfg: TrainConfig, d: Dist) -> torch.device:
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = pick_device(cfg.device, d)
    if device.type == "cuda":
        # TF32 matmuls: ~float32 accuracy for this model at tensor-core speed
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return device


def _model(cfg: TrainConfig, mcfg: ModelConfig, state: dict | None, table: TextTable | None,
           train_ds, device) -> MotionCLIP:
    """A fresh model (after the seeding: its initial weights are drawn), ``--init``'s
    weights, or the resumed run's; text mean and feature statistics for a fresh run."""
    from .checkpoint import checkpoint_config, checkpoint_weights, read_checkpoint
    from .upgrade import can_upgrade, upgrade

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
    if state is not None:
        model.load_state_dict(state["model"])
    return model


# ------------------------------------------------------------------ one step


def _step(run: _Run, idx: list[int]) -> dict[str, float]:
    """One optimiser step on the training clips ``idx``; returns the loss terms."""
    model, device = run.model, run.device
    x = run.train_feats[idx].to(device, non_blocking=True)
    temb = (model.text_latent(run.table.lookup([run.train_ds.text(i) for i in idx]).to(device))
            if run.table is not None else None)
    iemb = run.image_emb[idx].to(device) if run.image_emb is not None else None
    if temb is not None and run.cfg.lambda_text_recon > 0:
        pred, z, text_pred = run.net(x, temb)
    else:
        pred, z = run.net(x)
        text_pred = None
    terms = motionclip_loss(pred, x, z, temb, iemb, run.body, run.weights, text_pred)
    optimise(run.optimizer, terms["total"], model.parameters(), run.cfg.grad_clip)
    return {k: float(v.detach()) for k, v in terms.items()}


# ------------------------------------------------------------------ hooks


def _validate(run: _Run) -> dict[str, float]:
    """Mean loss terms over the val clips (eval mode, no dropout)."""
    model, feats, device, batch = run.model, run.val_feats, run.device, run.cfg.batch_size
    was = model.training
    model.eval()
    sums: dict[str, float] = {}
    with torch.no_grad():
        for s in range(0, feats.shape[0], batch):
            x = feats[s:s + batch].to(device)
            temb = (model.text_latent(run.table.lookup(run.val_texts[s:s + batch]).to(device))
                    if run.table is not None else None)
            pred, z = model(x)
            terms = motionclip_loss(pred, x, z, temb, None, run.body, run.weights)
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + float(v) * x.shape[0]
    model.train(was)
    return {k: v / feats.shape[0] for k, v in sums.items()}


def _sample(run: _Run, step: int) -> dict[str, float]:
    """The sample GIF of this step and how much its motions move."""
    speed = _render_samples(run.model, run.backbone, run.sample_texts,
                            Path(run.cfg.out) / "samples" / f"step_{step}.gif", run.device)
    return {"sample_joint_speed_m_s": speed}


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


def _save(run: _Run, step: int, extra: dict) -> None:
    """OUT/last.pt: the whole run (weights, optimizer, step, ``extra``: RNGs, metrics)."""
    from .checkpoint import save_checkpoint

    save_checkpoint(Path(run.cfg.out) / "last.pt", run.model, run.mcfg, asdict(run.cfg), run.optimizer,
                    step, {**extra, "data": str(run.data_root)})
