"""The training loop both stages run (``mclip.train``: the auto-encoder, ``mclip.train_prior``:
the latent sampler), and what it needs: the lr schedule, the batch order, the RNG state
a checkpoint keeps, the optimizer and its resumed state.

A stage sets itself up, then hands ``Loop.run`` its own step and hooks:

    one_step(idx) -> {name: float}    clip indices -> batch -> loss -> optimizer step
    save(step, extra)                 write OUT/last.pt (rank 0; ``extra``: RNGs, metrics)
    validate() -> {name: float}       val loss terms (rank 0), or None: no val split
    sample(step) -> {name: float}     a sample GIF and its numbers (rank 0), or None

and the loop is, step after step, until ``total`` steps or Ctrl-C / SIGTERM:

    lr for this step -> one_step -> progress bar, every log_every a log line ->
    every val_every validate -> every sample_every sample -> every ckpt_every save

then a last save. Resuming gives the same weights as a straight run: the lr is a pure
function of the step, the batch order of (seed, epoch, step), and every RNG is saved.
"""
from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .distributed import Dist, StopFlag, barrier, stop_requested
from .errors import MclipError
# At module level on purpose: rich's first import draws from Python's global random, so
# it must happen before a stage seeds (or restores the RNGs of --resume).
from .progress import Bars


# ------------------------------------------------------------------ schedule


def learning_rate(cfg, step: int, total: int) -> float:
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


def total_steps(cfg, n: int, d: Dist) -> int:
    """``cfg.steps``, else ``cfg.epochs`` epochs of ``n`` clips split between the ranks."""
    if cfg.steps is not None:
        return cfg.steps
    return math.ceil(cfg.epochs * max(1, (n // d.world) // cfg.batch_size))


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


def seed_everything(seed: int) -> None:
    """torch (dropout, initial weights), numpy and Python (text phrasings)."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


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


def all_rng_states(d: Dist) -> list[dict]:
    """Every rank's ``rng_state()``, in rank order (a collective under DDP)."""
    if not d.enabled:
        return [rng_state()]
    rngs = [None] * d.world
    torch.distributed.all_gather_object(rngs, rng_state())
    return rngs


# ------------------------------------------------------------------ optimizer


def make_optimizer(params, cfg) -> torch.optim.Optimizer:
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay,
                             betas=(0.9, cfg.adam_beta2))


def resume_optimizer(optimizer: torch.optim.Optimizer, state: dict | None, cfg, d: Dist) -> int:
    """The step to start at: 0, or with ``state`` (the run's last.pt) its step, after
    restoring the optimizer and this rank's RNGs. The stage loads its weights itself."""
    if state is None:
        return 0
    optimizer.load_state_dict(state["optimizer"])
    for group in optimizer.param_groups:      # the saved state brings its own betas
        group["betas"] = (0.9, cfg.adam_beta2)
    rngs = state["extra"].get("rng", [])
    if d.rank < len(rngs):
        set_rng_state(rngs[d.rank])
    return state["step"]


def optimise(optimizer: torch.optim.Optimizer, loss: torch.Tensor, params, grad_clip: float) -> None:
    """Backward, clip the gradient norm of ``params`` (when ``grad_clip`` > 0), step."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(params, grad_clip)
    optimizer.step()


# ------------------------------------------------------------------ the loop


@dataclass
class TrainResult:
    step: int
    checkpoint: Path | None
    interrupted: bool = False
    last_losses: dict = field(default_factory=dict)
    val_loss: float | None = None
    clips_per_s: float = 0.0


class RunLog:
    """``OUT/config.json`` (written at the start) and ``OUT/log.jsonl`` (one JSON object
    a line, appended); rank 0 only, a no-op elsewhere. A context manager."""

    def __init__(self, out: Path, config: dict, main: bool):
        self.file = None
        if main:
            from .atomic import atomic_write_bytes

            out.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(out / "config.json", json.dumps(config, indent=2).encode())
            self.file = open(out / "log.jsonl", "a", encoding="utf-8")

    def __call__(self, record: dict) -> None:
        if self.file is not None:
            self.file.write(json.dumps(record) + "\n")
            self.file.flush()

    def __enter__(self) -> "RunLog":
        return self

    def __exit__(self, *exc) -> None:
        if self.file is not None:
            self.file.close()


def _numbers(values: dict[str, float]) -> str:
    return " ".join(f"{k} {v:.4g}" for k, v in values.items())


class Loop:
    """One stage's loop over ``n`` training clips from ``step`` (0, or the resumed step)
    to ``total_steps``, or ``stop_after`` steps this call (tests of resuming; the
    schedule is unchanged). ``label`` names the progress bar; ``val_key`` is the val
    term checkpoints and the result record as ``val_loss``."""

    def __init__(self, cfg, d: Dist, device, optimizer: torch.optim.Optimizer, n: int, step: int,
                 stop_after: int | None = None, label: str = "train", val_key: str = "total"):
        self.cfg, self.d, self.device, self.optimizer = cfg, d, device, optimizer
        self.n, self.step, self.label, self.val_key = n, step, label, val_key
        self.total = total_steps(cfg, n, d)
        self.stop_at = self.total if stop_after is None else min(self.total, step + stop_after)
        learning_rate(cfg, 0, self.total)             # reject a bad schedule name before any work
        self.val_loss: float | None = None
        self.losses: dict[str, float] = {}

    def run(self, one_step: Callable[[list[int]], dict], save: Callable[[int, dict], None],
            config: dict, validate: Callable[[], dict] | None = None,
            sample: Callable[[int], dict] | None = None) -> TrainResult:
        """Train until the last step or a stop request, save, and say where it stopped.
        ``config`` goes to OUT/config.json."""
        cfg, d = self.cfg, self.d
        progress = Bars(enabled=cfg.progress and d.main, transient=False)
        batches = batches_from(self.step, self.n, cfg.batch_size, cfg.seed, d)
        t0, clips = time.perf_counter(), 0
        with RunLog(Path(cfg.out), config, d.main) as log, StopFlag() as flag, progress:
            bar = progress.task(self.label, self.total, completed=self.step)
            while self.step < self.stop_at and not stop_requested(flag, d, self.device):
                epoch, idx = next(batches)
                for group in self.optimizer.param_groups:
                    group["lr"] = learning_rate(cfg, self.step, self.total)
                self.losses = one_step(idx)
                self.step += 1
                clips += len(idx) * d.world
                bar(self.step, info=_numbers(self.losses))
                if self.step % cfg.log_every == 0:
                    log({"step": self.step, "epoch": epoch, "lr": self.optimizer.param_groups[0]["lr"],
                         "clips_per_s": clips / max(time.perf_counter() - t0, 1e-9), **self.losses})
                self._periodic(log, progress, save, validate, sample)
            interrupted = flag.stop and self.step < self.stop_at
        self._checkpoint(save)
        return TrainResult(step=self.step, checkpoint=Path(cfg.out) / "last.pt" if d.main else None,
                           interrupted=interrupted, last_losses=self.losses, val_loss=self.val_loss,
                           clips_per_s=clips / max(time.perf_counter() - t0, 1e-9))

    def _periodic(self, log: RunLog, progress: Bars, save, validate, sample) -> None:
        """The hooks due after this step: validation (also after the last step), a
        sample GIF, a checkpoint (the last step's comes after the loop)."""
        cfg, step, main = self.cfg, self.step, self.d.main
        if validate is not None and main and (step % cfg.val_every == 0 or step == self.total):
            val = validate()
            self.val_loss = val[self.val_key]
            log({"step": step, **{f"val_{k}": v for k, v in val.items()}})
            progress.print(f"step {step}: val {_numbers(val)}")
        if sample is not None and main and cfg.sample_every and step % cfg.sample_every == 0:
            log({"step": step, **sample(step)})
        if step % cfg.ckpt_every == 0 and step < self.stop_at:
            self._checkpoint(save)

    def _checkpoint(self, save) -> None:
        """Every rank's RNGs to rank 0, which saves; the others wait for it."""
        rngs = all_rng_states(self.d)
        if self.d.main:
            save(self.step, {"rng": rngs, "metrics": {"val_loss": self.val_loss}})
        barrier(self.d)
