"""Where a training process sits in a run and how the processes agree: one process, or
many under ``torchrun`` (PyTorch DDP). Ctrl-C and SIGTERM set a flag the loop checks, and
every rank stops at the same step."""
from __future__ import annotations

import os
import signal
from dataclasses import dataclass

import torch

from .errors import MclipError


@dataclass
class Dist:
    """Where this process sits in a (possibly single-process) run."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def dist_from_env() -> Dist:
    """torchrun sets RANK / WORLD_SIZE / LOCAL_RANK; without them this is one process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    return Dist(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))


def pick_device(name: str, d: Dist) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise MclipError("--device: cuda requested but no CUDA device is available")
        return torch.device("cuda", d.local_rank)
    return torch.device(name)


def barrier(d: Dist) -> None:
    if d.enabled:
        torch.distributed.barrier()


class StopFlag:
    """Ctrl-C (SIGINT) or SIGTERM (a job scheduler) sets a flag; the loop finishes its
    step, saves and stops, so no half-updated state is ever written."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.stop = False
        self._old: dict = {}

    def __enter__(self):
        if threading_main():
            self._old = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def _handle(self, signum, frame):
        if self.stop:  # a second Ctrl-C: stop now (the last checkpoint stays)
            raise KeyboardInterrupt
        self.stop = True

    def __exit__(self, *exc):
        for s, old in self._old.items():
            signal.signal(s, old)


def stop_requested(flag: StopFlag, d: Dist, device) -> bool:
    """Whether any process got Ctrl-C: all ranks must stop at the same step, or the
    next collective (gradient all-reduce, checkpoint gather) would hang."""
    if not d.enabled:
        return flag.stop
    t = torch.tensor([1.0 if flag.stop else 0.0], device=device)
    torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
    flag.stop = bool(t.item())
    return flag.stop


def threading_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
