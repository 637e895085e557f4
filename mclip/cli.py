"""The `mclip` command line: thin wrappers that parse arguments and call the package.

Import nothing heavy at module level (torch, imageio, open_clip): `mclip --help`
and `mclip X --help` must answer fast. Each command imports what it needs inside.
Errors: raise `MclipError`; `main()` turns it into one line on stderr and exit code 2.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from .errors import MclipError

app = typer.Typer(
    name="mclip",
    help="Generate, edit and classify 3D human motion from language (after MotionCLIP).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Build and inspect training data.", no_args_is_help=True)
app.add_typer(data_app, name="data")


def _echo_json(obj) -> None:
    import json

    typer.echo(json.dumps(obj, indent=2))


# ---------------------------------------------------------------- motion files


@app.command("info")
def info_cmd(
    motion: Path = typer.Argument(..., metavar="MOTION", help="Motion file: .npz (SMPL/AMASS), .npy (joints) or .bvh."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON instead of a table."),
) -> None:
    """Summarise a motion file: frames, frame rate, duration, joint ranges, root travel.

    Positions are metres in the z-up world; statistics use the motion resampled to 30 fps.
    """
    from .motion_io import motion_info

    info = motion_info(motion)
    if as_json:
        _echo_json(info)
        return
    from rich.console import Console
    from rich.table import Table

    def span(pair) -> str:
        return f"{pair[0]:+.3f} .. {pair[1]:+.3f}"

    table = Table(title=str(motion), show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("format", info["format"] + ("" if info["has_rotations"] else " (joint positions only)"))
    table.add_row("in file", f"{info['file_frames']} frames at {info['file_fps']:g} fps")
    table.add_row("at 30 fps", f"{info['frames']} frames, {info['duration_s']:.2f} s")
    for ax, pair in info["joint_range_m"].items():
        table.add_row(f"joints {ax} (m)", span(pair))
    travel = info["root_travel_m"]
    table.add_row("root travel (m)", f"path {travel['path']:.3f}, net {travel['net']:.3f}")
    table.add_row("pelvis height (m)", span(info["pelvis_height_m"]))
    table.add_row("body extent z (m)", span(info["body_extent_z_m"]))
    table.add_row("lowest joint z (m)", f"{info['lowest_joint_z_m']:+.3f}")
    Console().print(table)


@app.command("convert")
def convert_cmd(
    src: Path = typer.Argument(..., metavar="IN", help="Input motion: .npz, .npy (joints) or .bvh."),
    out: Path = typer.Option(..., "-o", "--out", help="Output file: .npz, .npy (joints) or .bvh."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Convert a motion between .npz (SMPL, AMASS keys), .npy joints and .bvh (Blender).

    Output is 30 fps. BVH is y-up in centimetres (Blender imports it standing up).
    .npy joints cannot become .npz or .bvh: positions carry no joint rotations.
    """
    from .motion_io import convert

    summary = convert(src, out)
    if as_json:
        _echo_json(summary)
    else:
        typer.echo(f"wrote {summary['output']} ({summary['frames']} frames, 30 fps)")



# ---------------------------------------------------------------- data


# ---------------------------------------------------------------- training


@app.command("train")
def train_cmd(
    data: str = typer.Option("synth", "--data", help="Dataset folder (manifest.jsonl + shards/), or 'synth': "
                             "generate the procedural corpus into OUT/data first."),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder: last.pt, log.jsonl, samples/, cache/."),
    config: Optional[Path] = typer.Option(None, "--config", help="Training settings file (.json or .toml, "
                                          "TrainConfig keys); flags given here win."),
    model: Optional[str] = typer.Option(None, "--model", help="Model config: default-cpu, paper, "
                                        "paper-minilm or a JSON file. [default: default-cpu]"),
    backbone: Optional[str] = typer.Option(None, "--backbone", help="Text backbone the latent is aligned "
                                           "to: minilm or clip. [default: the model config's]"),
    steps: Optional[int] = typer.Option(None, "--steps", help="Optimiser steps in all (default: --epochs)."),
    epochs: Optional[float] = typer.Option(None, "--epochs", help="Epochs when --steps is not given. [default: 100]"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Clips per step (per process). [default: 32]"),
    lr: Optional[float] = typer.Option(None, "--lr", help="AdamW learning rate. [default: 1e-4]"),
    text_loss: Optional[bool] = typer.Option(None, "--text-loss/--no-text-loss", help="Align z to label texts."),
    image_loss: Optional[bool] = typer.Option(None, "--image-loss/--no-image-loss",
                                              help="Align z to rendered frames (backbones with an image tower)."),
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu or cuda. [default: auto]"),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seeds init, batch order and the synth corpus."),
    ckpt_every: Optional[int] = typer.Option(None, "--ckpt-every", help="Steps between checkpoints."),
    val_every: Optional[int] = typer.Option(None, "--val-every", help="Steps between validation losses."),
    sample_every: Optional[int] = typer.Option(None, "--sample-every", help="Steps between sample GIFs (0: none)."),
    smpl_dir: Optional[str] = typer.Option(None, "--smpl-dir", help="SMPL model folder: vertex loss instead of joints."),
    synth_clips: Optional[int] = typer.Option(None, "--synth-clips", help="Corpus size for --data synth."),
    threads: Optional[int] = typer.Option(None, "--threads", help="torch CPU threads (0: torch's choice)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in OUT from its last.pt."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary at the end."),
) -> None:
    """Train a MotionCLIP model (paper sec. 3): reconstruction + text (+ image) alignment.

    Same command on a CPU, a GPU, or many GPUs: `torchrun --nproc_per_node N -m mclip.train
    --data DIR --out runs/x`. Checkpoints are atomic; Ctrl-C saves one and stops; --resume
    continues exactly where it stopped.
    """
    from .train import TrainConfig, load_train_config, train

    flags = dict(data=data, out=str(out), model=model, backbone=backbone, steps=steps, epochs=epochs,
                 batch_size=batch_size, lr=lr, text_loss=text_loss, image_loss=image_loss,
                 device=device, seed=seed, ckpt_every=ckpt_every, val_every=val_every,
                 sample_every=sample_every, smpl_dir=smpl_dir, synth_clips=synth_clips, threads=threads)
    if config is not None:
        cfg = load_train_config(config, **flags)
    else:
        cfg = TrainConfig(**{k: v for k, v in flags.items() if v is not None})
    result = train(cfg, resume=resume)
    if result.checkpoint is None:      # not rank 0 under torchrun
        return
    summary = {"step": result.step, "checkpoint": str(result.checkpoint),
               "interrupted": result.interrupted, "val_loss": result.val_loss,
               "clips_per_s": round(result.clips_per_s, 2), "losses": result.last_losses}
    if as_json:
        _echo_json(summary)
    elif result.interrupted:
        typer.echo(f"interrupted at step {result.step}; saved {result.checkpoint} "
                   f"(continue with --resume)", err=True)
    else:
        typer.echo(f"trained to step {result.step} ({result.clips_per_s:.1f} clips/s); "
                   f"saved {result.checkpoint}")
    if result.interrupted:
        sys.exit(130)



# ---------------------------------------------------------------- applications


# ---------------------------------------------------------------- evaluation


@app.command("eval")
def eval_cmd(
    weights: Path = typer.Option(..., "--weights", "-w", help="Checkpoint (.pt) to evaluate."),
    data: Path = typer.Option(..., "--data", "-d",
                              help="Dataset folder (manifest.jsonl + shards/): the synthetic corpus "
                                   "or prepared AMASS/BABEL data."),
    split: str = typer.Option("test", "--split", help="Which clips: train, val or test."),
    n: int = typer.Option(512, "--n", help="Evaluate at most this many clips (and prompts)."),
    seed: int = typer.Option(0, "--seed", help="Picks the clips, prompts and pairs; same seed, same numbers."),
    labels: str = typer.Option("auto", "--labels",
                               help="Classification labels: 'actions' (the split's actions), "
                                    "'babel60' (paper's BABEL-60), or 'auto' (babel60 for BABEL data)."),
    only: Optional[str] = typer.Option(None, "--only",
                                       help="Comma-separated sections to run: reconstruction, "
                                            "classification, text2motion, interpolation."),
    steps: int = typer.Option(7, "--steps", help="Interpolation points per pair, endpoints included (>= 5)."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu or cuda (default: cuda when present)."),
    json_out: Optional[Path] = typer.Option(None, "--json",
                                            help="Also write the results to this JSON file (atomic; "
                                                 "rewritten after every finished section)."),
) -> None:
    """Score a checkpoint on held-out clips (a table, and JSON with --json).

    Reconstruction: MPJPE (mm) and rotation error (degrees) of encode -> decode.
    Classification: zero-shot top-1/top-5, seen vs held-out phrasings.
    Text-to-motion: R-precision among 32, cosine, foot skate / penetration / jerk.
    Interpolation: plausibility along latent paths and how evenly they move.
    """
    from .eval.report import results_table, write_json
    from .evaluate import SECTIONS, EvalConfig, evaluate

    sections = SECTIONS
    if only:
        sections = tuple(s.strip() for s in only.split(",") if s.strip())
        bad = [s for s in sections if s not in SECTIONS]
        if bad or not sections:
            raise MclipError(f"--only: unknown section(s) {bad} (choose from {', '.join(SECTIONS)})")
    if json_out is not None and json_out.is_dir():
        raise MclipError(f"{json_out}: is a directory, expected a .json file name")
    cfg = EvalConfig(labels=labels, interp_steps=steps, sections=sections, device=device)
    save = (lambda res: write_json(res, json_out)) if json_out is not None else None
    results = evaluate(weights, data, split=split, n=n, seed=seed, config=cfg,
                       progress=True, on_section=save)
    if save is not None:
        save(results)
    from rich.console import Console

    Console().print(results_table(results))
    if json_out is not None:
        typer.echo(f"wrote {json_out}")


def main(argv: Optional[List[str]] = None) -> None:
    """Console entry point: run the app, turning user errors into one line + exit 2."""
    try:
        app(args=argv, standalone_mode=False)
    except MclipError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as e:  # click usage errors and the like
        import click

        # typer >= 0.2x ships its own copy of click: its usage errors (unknown option,
        # no arguments -> help) derive from typer.TyperException, not click's classes.
        usage = tuple(c for c in (getattr(typer, "TyperException", None),
                                  click.exceptions.ClickException) if c is not None)
        if isinstance(e, usage) and hasattr(e, "show"):
            e.show()
            sys.exit(getattr(e, "exit_code", 2))
        if isinstance(e, (typer.Abort, click.exceptions.Abort)):
            typer.echo("aborted", err=True)
            sys.exit(130)
        raise


if __name__ == "__main__":
    main()
