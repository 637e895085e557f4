"""`mclip eval`: the harness."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import MclipError
from .app import app, MAX_SEED


# ---------------------------------------------------------------- evaluation


@app.command("eval")
def eval_cmd(
    weights: Optional[Path] = typer.Option(None, "--weights", "-w",
                                           help="Checkpoint (.pt) to evaluate (default: the shipped model)."),
    data: Path = typer.Option(..., "--data", "-d",
                              help="Dataset folder (manifest.jsonl + shards/): the synthetic corpus "
                                   "or prepared AMASS/BABEL data."),
    split: str = typer.Option("test", "--split", help="Which clips: train, val or test."),
    n: int = typer.Option(512, "--n", min=1, max=1_000_000, help="Evaluate at most this many clips (and prompts)."),
    seed: int = typer.Option(0, "--seed", min=0, max=MAX_SEED, help="Picks the clips, prompts and pairs; same seed, same numbers."),
    labels: str = typer.Option("auto", "--labels",
                               help="Classification labels: 'actions' (the split's actions), "
                                    "'babel60' (paper's BABEL-60), or 'auto' (babel60 for BABEL data)."),
    only: Optional[str] = typer.Option(None, "--only",
                                       help="Comma-separated sections to run: reconstruction, "
                                            "classification, text2motion, interpolation."),
    steps: int = typer.Option(7, "--steps", min=5, max=50, help="Interpolation points per pair, endpoints included (>= 5)."),
    guidance: Optional[float] = typer.Option(None, "--guidance", min=0.0, max=50.0, help="text2motion with a sampler: its "
                                             "guidance scale. [default: the sampler's]"),
    sample_steps: Optional[int] = typer.Option(None, "--sample-steps", min=1, max=1000, help="text2motion with a sampler: "
                                               "its Euler steps. [default: the sampler's]"),
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
    from ..eval.report import results_table, write_json
    from ..eval import SECTIONS, EvalConfig, evaluate

    sections = SECTIONS if only is None else tuple(s.strip() for s in only.split(",") if s.strip())
    if json_out is not None and json_out.is_dir():
        raise MclipError(f"{json_out}: is a directory, expected a .json file name")
    cfg = EvalConfig(labels=labels, interp_steps=steps, sections=sections, device=device,
                     guidance=guidance, sample_steps=sample_steps)
    save = (lambda res: write_json(res, json_out)) if json_out is not None else None
    results = evaluate(weights, data, split=split, n=n, seed=seed, config=cfg,
                       progress=True, on_section=save)
    if save is not None:
        save(results)
    from rich.console import Console

    Console().print(results_table(results))
    if json_out is not None:
        typer.echo(f"wrote {json_out}")
