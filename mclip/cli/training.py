"""`mclip train` and `mclip export`."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from ..errors import MclipError
from .app import app, echo_json


# ---------------------------------------------------------------- training


@app.command("train")
def train_cmd(
    data: Optional[str] = typer.Option(None, "--data", help="Dataset folder (manifest.jsonl + shards/); 'synth': "
                                       "generate the procedural corpus into OUT/data first; 'amass': prepare "
                                       "--amass-dir + --babel-dir into OUT/data first. [default: synth]"),
    amass_dir: Optional[str] = typer.Option(None, "--amass-dir", help="With --data amass: AMASS .npz folder."),
    babel_dir: Optional[str] = typer.Option(None, "--babel-dir", help="With --data amass: BABEL json folder."),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder: last.pt, log.jsonl, samples/, cache/."),
    config: Optional[Path] = typer.Option(None, "--config", help="Training settings file (.json or .toml, "
                                          "TrainConfig keys); flags given here win."),
    recipe: Optional[str] = typer.Option(None, "--recipe", help="A shipped training recipe by name "
                                         "(mclip/configs/train/NAME.toml: the stages of the shipped model); "
                                         "flags given here win."),
    model: Optional[str] = typer.Option(None, "--model", help="Model config: default-cpu, paper, "
                                        "paper-minilm or a JSON file. [default: default-cpu]"),
    stage: Optional[str] = typer.Option(None, "--stage", help="autoencoder (the paper's training) or prior: "
                                        "the latent sampler text2motion draws from, for the trained "
                                        "auto-encoder given by --init (kept frozen). [default: autoencoder]"),
    prior: Optional[str] = typer.Option(None, "--prior", help="With --stage prior: the sampler's config "
                                        "(mclip/configs/prior) or a JSON file. [default: default]"),
    backbone: Optional[str] = typer.Option(None, "--backbone", help="Text backbone the latent is aligned "
                                           "to: minilm or clip. [default: the model config's]"),
    steps: Optional[int] = typer.Option(None, "--steps", help="Optimiser steps in all (default: --epochs)."),
    epochs: Optional[float] = typer.Option(None, "--epochs", help="Epochs when --steps is not given. [default: 100]"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Clips per step (per process). [default: 32]"),
    lr: Optional[float] = typer.Option(None, "--lr", help="AdamW learning rate. [default: 1e-4]"),
    lr_schedule: Optional[str] = typer.Option(None, "--lr-schedule", help="constant (the paper) or cosine "
                                              "(to lr/10 at the end). [default: constant]"),
    warmup_steps: Optional[int] = typer.Option(None, "--warmup-steps", help="Linear lr warm-up steps. [default: 0]"),
    adam_beta2: Optional[float] = typer.Option(None, "--adam-beta2", help="AdamW's second-moment decay. [default: 0.999]"),
    text_loss: Optional[bool] = typer.Option(None, "--text-loss/--no-text-loss", help="Align z to label texts."),
    lambda_text: Optional[float] = typer.Option(None, "--lambda-text", help="Text-loss weight against 100 per "
                                                "reconstruction term (eq. 4). [default: 1]"),
    lambda_image: Optional[float] = typer.Option(None, "--lambda-image", help="Image-loss weight. [default: 1]"),
    lambda_text_recon: Optional[float] = typer.Option(
        None, "--lambda-text-recon",
        help="Beyond the paper: weight of reconstructing each clip from its text's latent "
             "(trains the decoder on the path text2motion uses). [default: 0, off]"),
    init: Optional[str] = typer.Option(None, "--init", help="Start from this checkpoint's weights "
                                                            "(same model config, or its paper form: carried "
                                                            "over, same function) instead of random."),
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
    resume: bool = typer.Option(False, "--resume", help="Continue the run in OUT from its last.pt. "
                                "--steps, --epochs, --lr, --lr-schedule, --warmup-steps, --adam-beta2, --threads, "
                                "--device and the --*-every flags may change; the new schedule applies "
                                "from the current step."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary at the end."),
) -> None:
    """Train a MotionCLIP model (paper sec. 3): reconstruction + text (+ image) alignment.

    Same command on a CPU, a GPU, or many GPUs: `torchrun --nproc_per_node N -m mclip train
    --data DIR --out runs/x`. Checkpoints are atomic; Ctrl-C saves one and stops; --resume
    continues exactly where it stopped.
    """
    from ..train import TrainConfig, load_train_config, read_settings_file, recipe_path, train

    if recipe is not None:
        if config is not None:
            raise MclipError("--recipe and --config: give one settings file, not both")
        config = recipe_path(recipe)

    flags = dict(data=data, out=str(out), model=model, stage=stage, prior=prior, backbone=backbone, steps=steps, epochs=epochs,
                 batch_size=batch_size, lr=lr, lr_schedule=lr_schedule, warmup_steps=warmup_steps, adam_beta2=adam_beta2, text_loss=text_loss, image_loss=image_loss,
                 lambda_text=lambda_text, lambda_image=lambda_image,
                 lambda_text_recon=lambda_text_recon, init=init,
                 device=device, seed=seed, ckpt_every=ckpt_every, val_every=val_every,
                 sample_every=sample_every, smpl_dir=smpl_dir, synth_clips=synth_clips, threads=threads,
                 amass_dir=amass_dir, babel_dir=babel_dir)
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
    """'babel60=13.7,other=30' or '30' -> {"babel60": 13.7, "other": 30.0}, each in 1..1000."""
    import math

    from ..label_sets import BUILTIN_SETS

    out = {}
    for part in spec.split(","):
        name, _, value = part.strip().rpartition("=")
        name = name.strip().lower() or "other"
        try:
            t = float(value)
        except ValueError:
            t = float("nan")
        if name not in (*BUILTIN_SETS, "other") or not (math.isfinite(t) and 1.0 <= t <= 1000.0):
            raise MclipError(f"--classify-temperature {spec}: give NAME=T pairs, NAME one of "
                             f"{', '.join((*BUILTIN_SETS, 'other'))}, T in 1..1000")
        out[name] = t
    return out
