"""`mclip data synth` and `mclip data prepare`: training data."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from ..errors import MclipError
from .app import data_app, echo_json, progress, MAX_SEED


# ---------------------------------------------------------------- data


@data_app.command("synth")
def data_synth_cmd(
    n: Optional[int] = typer.Option(None, "--n", min=1, max=10_000_000, help="Number of clips (required unless --list)."),
    seed: int = typer.Option(0, "--seed", min=0, max=MAX_SEED, help="Corpus seed: clip i of a seed is always the same clip (for one version of the generator)."),
    out: Optional[Path] = typer.Option(None, "-o", "--out", help="Dataset folder to write (manifest.jsonl, shards/, info.json)."),
    frames: int = typer.Option(60, "--frames", min=1, max=6000, help="Frames per clip (30 fps)."),
    shard_size: int = typer.Option(4096, "--shard-size", min=1, max=1_000_000, help="Clips per shard file."),
    actions: Optional[str] = typer.Option(None, "--actions", help="Comma-separated subset of actions (default: all; see --list)."),
    workers: int = typer.Option(1, "--workers", min=1, max=256, help="Processes generating shards in parallel."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing corpus in OUT."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run (same --n/--seed/--frames/--shard-size)."),
    as_json: bool = typer.Option(False, "--json", help="Print info.json's summary as JSON."),
    list_actions: bool = typer.Option(False, "--list", help="List the actions and styles, then exit."),
) -> None:
    """Generate the procedural, labelled motion corpus (SMPL poses + text).

    66 parametric actions (locomotion, jumps, whole-body, arm gestures, sport, dance), 10
    styles, speed and size modifiers, arm actions layered over body actions, random
    tempo/phase/heading/mirroring. Shards are written atomically; Ctrl-C keeps every
    finished shard (continue with --resume).
    """
    if list_actions:
        from ..data.synth import ACTIONS, STYLES

        by_cat: dict = {}
        for name, act in ACTIONS.items():
            by_cat.setdefault(act.category, []).append(name)
        if as_json:
            echo_json({"actions": by_cat, "styles": list(STYLES)})
        else:
            for cat, names in by_cat.items():
                typer.echo(f"{cat}: {', '.join(names)}")
            typer.echo(f"styles: {', '.join(STYLES)}")
        return
    if n is None or out is None:
        raise MclipError("--n and -o/--out: both are required (or use --list)")
    from ..data.synth import write_corpus

    names = [a.strip() for a in actions.split(",") if a.strip()] if actions else None
    with progress(n, "synth clips", enabled=sys.stderr.isatty()) as update:
        info = write_corpus(out, n, seed=seed, frames=frames, shard_size=shard_size, actions=names,
                            workers=workers, overwrite=overwrite, resume=resume, progress=update)
    summary = {"out": str(out), "clips": info["counts"]["clips"], "splits": info["counts"]["splits"],
               "actions": len(info["actions"]), "seconds": info["seconds"]}
    if as_json:
        echo_json(summary)
        return
    sp = summary["splits"]
    typer.echo(f"wrote {out}: {summary['clips']} clips ({sp.get('train', 0)} train, {sp.get('val', 0)} val, "
               f"{sp.get('test', 0)} test), {summary['actions']} actions, {summary['seconds']} s")


@data_app.command("prepare")
def data_prepare_cmd(
    amass_dir: Path = typer.Option(..., "--amass-dir", help="AMASS folder of .npz takes (e.g. holding CMU/, ACCAD/ ...)."),
    babel_dir: Path = typer.Option(..., "--babel-dir", help="BABEL folder with train.json and val.json."),
    out: Path = typer.Option(..., "-o", "--out", help="Dataset folder to create (manifest.jsonl + shards/)."),
    babel60: bool = typer.Option(False, "--babel60", help="Text = the clip's BABEL-60 class names; "
                                 "clips with none are dropped (the paper's action-recognition model)."),
    stride: Optional[int] = typer.Option(None, "--stride", min=1, max=100_000, help="Frames between clip starts (default 60: back to back)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUT if it exists."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Turn AMASS motions + BABEL labels into training clips (same format as the synthetic corpus).

    Each take is resampled to 30 fps and cut into 60-frame clips; a clip's text is the
    BABEL labels overlapping it, in time order, joined ("walk, turn around"). BABEL's
    train.json / val.json give the train / val splits. Takes whose AMASS file is not
    under --amass-dir are skipped and counted.
    """
    from ..data.babel import PrepareConfig, prepare_babel

    cfg = PrepareConfig(babel60=babel60, stride=stride, overwrite=overwrite)
    # no bar in logs (a non-terminal stderr): no stray blank line
    with progress(None, "preparing takes", enabled=sys.stderr.isatty()) as update:
        summary = prepare_babel(amass_dir, babel_dir, out, cfg, progress=update)
    if as_json:
        echo_json(summary)
        return
    clips = summary["clips"]
    typer.echo(f"wrote {out}: {clips['train']} train + {clips['val']} val clips from "
               f"{summary['used']}/{summary['sequences']} BABEL sequences "
               f"({summary['missing']} AMASS files not found, {summary['unreadable_count']} unreadable)")
