"""What a command's arguments name: the weights file (``--weights``, ``$MCLIP_WEIGHTS``,
the shipped default), the device, whether an argument is a motion file or a text, and
checked prompts and label sets."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterable

import torch

from .errors import MclipError
from .motion_io import MOTION_EXTENSIONS


WEIGHTS_ENV = "MCLIP_WEIGHTS"
DEFAULT_WEIGHTS_NAME = "mclip-default.pt"


def default_weights_path() -> Path:
    """Where the default checkpoint is looked for: ``$MCLIP_WEIGHTS``, else
    ``weights/mclip-default.pt`` in the repository (an editable install, beside the
    package), else ``<prefix>/share/mclip/weights/`` (where ``pip install .`` puts it)."""
    env = os.environ.get(WEIGHTS_ENV)
    if env:
        return Path(env).expanduser()
    repo = Path(__file__).resolve().parent.parent / "weights" / DEFAULT_WEIGHTS_NAME
    installed = Path(sys.prefix) / "share" / "mclip" / "weights" / DEFAULT_WEIGHTS_NAME
    return installed if installed.exists() and not repo.exists() else repo


def resolve_weights(weights: str | os.PathLike | None) -> Path:
    """The checkpoint to load; MclipError with what to do when there is none."""
    if weights is not None:
        p = Path(weights).expanduser()
        if not p.exists():
            raise MclipError(f"{p}: no such checkpoint file")
        return p
    p = default_weights_path()
    if not p.exists():
        raise MclipError(
            f"{p}: default model not found; pass --weights PATH (a checkpoint from "
            f"`mclip train`) or set {WEIGHTS_ENV}")
    return p


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` -> CUDA when present, else CPU. A device that is not there -> MclipError."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise MclipError(f"--device {device}: not a torch device (try cpu or cuda)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise MclipError(f"--device {device}: CUDA is not available on this machine")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise MclipError(f"--device {device}: unsupported device type '{dev.type}'")
    return dev


def is_motion_ref(arg: str | os.PathLike) -> bool:
    """The CLI's rule for "file or text": an existing path, or a name ending in a
    motion extension (so a typo gives "no such file", not a motion of the words)."""
    s = str(arg)
    return Path(s).suffix.lower() in MOTION_EXTENSIONS or (len(s) < 4096 and Path(s).is_file())


def check_prompts(prompts: Iterable[str], what: str = "prompt") -> list[str]:
    """Stripped prompts; an empty one is a user error naming its position."""
    out = []
    for i, p in enumerate(prompts, 1):
        if not isinstance(p, str) or not p.strip():
            raise MclipError(f"{what} {i}: empty text (give some words, e.g. \"walk forward\")")
        out.append(p.strip())
    if not out:
        raise MclipError(f"{what}: no text given")
    return out


def load_labels(spec: str) -> list[str]:
    """Class names from a label-set name ("babel60", "babel120"), a text file (one label
    per line) or a comma-separated list ("walk,run,jump"): ``label_sets.load_label_set``."""
    from .label_sets import load_label_set

    return check_prompts(load_label_set(spec), "label")
