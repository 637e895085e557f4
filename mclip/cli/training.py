"""`mclip train` and `mclip export`."""
from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Optional

import typer

from ..errors import MclipError
from .app import app, echo_json


# ---------------------------------------------------------------- training


def train_cmd(out: Path, config: Optional[Path], recipe: Optional[str], resume: bool,
              as_json: bool, **settings) -> None:
    """Train a MotionCLIP model (paper sec. 3): reconstruction + text (+ image) alignment.

    Same command on a CPU, a GPU, or many GPUs: `torchrun --nproc_per_node N -m mclip train
    --data DIR --out runs/x`. Checkpoints are atomic; Ctrl-C saves one and stops; --resume
    continues exactly where it stopped.

    Examples:

      mclip train --recipe small-1-motion --data runs/corpus60k --out runs/sc2

      mclip train --out runs/sc2 --resume --steps 8000 --lr-schedule cosine
    """
    from ..train import train
    from ..train_config import TrainConfig, load_train_config, read_settings_file, recipe_path

    if recipe is not None:
        if config is not None:
            raise MclipError("--recipe and --config: give one settings file, not both")
        config = recipe_path(recipe)
    flags = {**settings, "out": str(out)}
    if config is not None:
        cfg = load_train_config(config, **flags)
    else:
        cfg = TrainConfig(**{k: v for k, v in flags.items() if v is not None})
    changes = None
    if resume:   # what was given again is checked against (or changes) the saved run
        given = {k: v for k, v in flags.items() if v is not None}
        changes = {**(read_settings_file(config) if config is not None else {}), **given}
    result = train(cfg, resume=resume, changes=changes)
    if result.checkpoint is None:      # not rank 0 under torchrun
        return
    summary = {"step": result.step, "checkpoint": str(result.checkpoint),
               "interrupted": result.interrupted, "val_loss": result.val_loss,
               "clips_per_s": round(result.clips_per_s, 2), "losses": result.last_losses}
    if as_json:
        echo_json(summary)
    elif result.interrupted:
        typer.echo(f"interrupted at step {result.step}; saved {result.checkpoint} "
                   f"(continue with --resume)", err=True)
    else:
        typer.echo(f"trained to step {result.step} ({result.clips_per_s:.1f} clips/s); "
                   f"saved {result.checkpoint}")
    if result.interrupted:
        sys.exit(130)


def _train_signature() -> inspect.Signature:
    """``mclip train``'s options: the few of the command itself, then one per
    ``TrainConfig`` field, from its declaration (help, default, range, --x/--no-x for a
    flag), so a setting is declared once. Every setting's CLI default is None (not
    given): a recipe or a resumed run then keeps its own value."""
    from dataclasses import fields

    from ..train_config import RESUME_MAY_CHANGE, TrainConfig

    kw = inspect.Parameter.KEYWORD_ONLY
    may_change = ", ".join("--" + k.replace("_", "-") for k in RESUME_MAY_CHANGE)
    params = [
        inspect.Parameter("out", kw, annotation=Path, default=typer.Option(
            ..., "--out", "-o", help="Run folder: last.pt, log.jsonl, samples/, cache/.")),
        inspect.Parameter("config", kw, annotation=Optional[Path], default=typer.Option(
            None, "--config", help="Training settings file (.json or .toml, the settings below "
                                   "by name); flags given here win.")),
        inspect.Parameter("recipe", kw, annotation=Optional[str], default=typer.Option(
            None, "--recipe", help="A shipped training recipe by name (mclip/configs/train/NAME.toml: "
                                   "the stages of the shipped model); flags given here win.")),
        inspect.Parameter("resume", kw, annotation=bool, default=typer.Option(
            False, "--resume", help=f"Continue the run in OUT from its last.pt. {may_change} may "
                                    f"change; the new schedule applies from the current step.")),
        inspect.Parameter("as_json", kw, annotation=bool, default=typer.Option(
            False, "--json", help="Print a JSON summary at the end.")),
    ]
    for f in fields(TrainConfig):
        if f.name == "out":
            continue
        meta, flag = f.metadata, "--" + f.name.replace("_", "-")
        kind = type(f.default) if f.default is not None else int if meta.get("range") else str
        shown = meta.get("shown") or f.default
        extra = {}
        if meta.get("range"):
            extra = dict(min=meta["range"][0], max=meta["range"][1])
        decl = f"{flag}/--no-{flag[2:]}" if kind is bool else flag
        params.append(inspect.Parameter(f.name, kw, annotation=Optional[kind], default=typer.Option(
            None, decl, help=f"{meta['help']} [default: {shown}]", **extra)))
    return inspect.Signature(params)


def _train_entry(**kwargs) -> None:
    train_cmd(**kwargs)


_train_entry.__signature__ = _train_signature()
_train_entry.__doc__ = train_cmd.__doc__
app.command("train")(_train_entry)


@app.command("export")
def export_cmd(
    checkpoint: Path = typer.Argument(..., help="Training checkpoint (runs/x/last.pt)."),
    out: Path = typer.Option(..., "-o", "--out", help="Release file to write (.pt); "
                                                      "OUT.sha256 is written beside it."),
    card: Optional[Path] = typer.Option(None, "--card", help="JSON file stored inside the "
                                        "checkpoint as its card (data, scores...)."),
    classify_temperature: Optional[str] = typer.Option(
        None, "--classify-temperature",
        help="Softmax temperatures of classify's probabilities, fitted on held-out clips "
             "(`mclip eval --split val` reports them): 'babel60=13.7,other=30' (other: any "
             "other label list) or one number for all. [default: the checkpoint's, else 100]"),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Ship a checkpoint: weights only, float16, config inside, plus a sha256 file that
    every load verifies (a corrupt download is a clear error).

    Example:

      mclip export runs/x/last.pt -o weights/mclip-default.pt --card card.json
    """
    import json as _json

    from ..checkpoint import checksum_path, export_for_release

    if out.suffix != ".pt":
        raise MclipError(f"{out}: the release file must end in .pt")
    info = None
    if card is not None:
        try:
            info = _json.loads(card.read_text())
        except (OSError, ValueError) as e:
            raise MclipError(f"{card}: not a readable JSON file ({type(e).__name__})") from None
        if not isinstance(info, dict):
            raise MclipError(f"{card}: the card must be a JSON object (fields such as \"data\", "
                             f"\"scores\"), got a {type(info).__name__}")
    temps = _parse_temperatures(classify_temperature) if classify_temperature is not None else None
    path = export_for_release(checkpoint, out, card=info, classify_temperature=temps)
    digest = checksum_path(path).read_text().split()[0]
    summary = {"path": str(path), "bytes": path.stat().st_size, "sha256": digest}
    if as_json:
        echo_json(summary)
    else:
        typer.echo(f"wrote {path} ({summary['bytes'] / 1e6:.1f} MB, sha256 {digest[:12]}...)")



def _parse_temperatures(spec: str) -> dict:
    """'babel60=13.7,other=30' or '30' -> {"babel60": 13.7, "other": 30.0}, each in
    ``results.TEMPERATURE_RANGE``."""
    import math

    from ..label_sets import BUILTIN_SETS
    from ..results import TEMPERATURE_RANGE

    low, high = TEMPERATURE_RANGE
    out = {}
    for part in spec.split(","):
        name, _, value = part.strip().rpartition("=")
        name = name.strip().lower() or "other"
        try:
            t = float(value)
        except ValueError:
            t = float("nan")
        if name not in (*BUILTIN_SETS, "other") or not (math.isfinite(t) and low <= t <= high):
            raise MclipError(f"--classify-temperature {spec}: give NAME=T pairs, NAME one of "
                             f"{', '.join((*BUILTIN_SETS, 'other'))}, T in {low:g}..{high:g}")
        out[name] = t
    return out
