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


def _print_version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"mclip {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                       help="Print mclip's version and exit.")) -> None:
    """Generate, edit and classify 3D human motion from language (after MotionCLIP)."""


_LOADED: dict = {}   # the engine this command loaded (one command per process)

# Bounds of numeric options (checked by the parser, shown in --help), chosen so that a
# request's memory stays bounded: a video of MAX_FRAMES at MAX_FPS is a few GB at most.
MAX_SEED = 2 ** 63 - 1
MAX_FPS = 240.0
MAX_FRAMES = 6000       # 200 s at 30 fps; the engine narrows it to what the model allows


def _echo_json(obj) -> None:
    """Print ``obj`` as JSON; a dict also gets mclip's version and, when a model was
    loaded, the checkpoint's path and sha256, so a script's output says what made it."""
    import json

    from . import __version__

    if isinstance(obj, dict):
        obj = {**obj, "mclip_version": __version__}
        engine = _LOADED.get("engine")
        if engine is not None:
            obj["checkpoint"] = {"path": str(engine.weights_path), "sha256": engine.checkpoint_id}
    try:
        text = json.dumps(obj, indent=2, allow_nan=False)
    except ValueError:    # NaN is not JSON: a result that holds one is not printed half-valid
        raise MclipError("the result holds NaN or infinite values; nothing was printed") from None
    typer.echo(text)


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
    bvh_units: str = typer.Option("cm", "--bvh-units", help="Units of a .bvh output: cm (the "
                                  "format's custom: import into Blender with Scale 0.01) or m."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Convert a motion between .npz (SMPL, AMASS keys), .npy joints and .bvh (Blender).

    Output is 30 fps. BVH is y-up, in centimetres unless --bvh-units m (Blender imports it
    standing up; give its importer Scale 0.01 for a cm file). Reading a .bvh, mclip tells
    cm from m by the bone lengths. .npy joints cannot become .npz or .bvh: positions carry
    no joint rotations.
    """
    from .motion_io import convert

    if bvh_units not in ("cm", "m"):
        raise MclipError(f"--bvh-units {bvh_units}: cm or m")
    summary = convert(src, out, bvh_units)
    if as_json:
        _echo_json(summary)
    else:
        typer.echo(f"wrote {summary['output']} ({summary['frames']} frames, 30 fps)")


@app.command("render")
def render_cmd(
    motion: Path = typer.Argument(..., help="Motion file: .npz (SMPL/AMASS), .npy (joints) or .bvh."),
    out: Path = typer.Option(..., "-o", "--out", help="Output: .mp4 video, .gif (loops) or .png contact sheet."),
    caption: Optional[str] = typer.Option(None, "--caption", help="Text drawn above the figure."),
    size: int = typer.Option(480, "--size", min=64, max=4096, help="Frame width = height in pixels."),
    frames: int = typer.Option(8, "--frames", min=1, max=64, help="Frames on a .png contact sheet (evenly spaced)."),
    fps: float = typer.Option(30.0, "--fps", min=1.0, max=MAX_FPS, help="Playback frame rate (the motion is read at 30 fps)."),
) -> None:
    """Draw a motion as a stick figure: left limbs blue, right orange, fixed camera, ground grid.

    The camera is placed once to frame the whole motion, in front of the person's
    starting heading. GIFs keep real-time speed; .png shows N frames with their indices.
    """
    from .motion_io import load_joints
    from .render import RenderConfig, output_kind, render

    output_kind(out)  # fail on a bad extension before reading the input
    joints = load_joints(motion)
    with _progress(None, f"rendering {out.name}", enabled=joints.shape[0] >= 60) as update:
        render(joints, out, caption=caption, fps=fps, config=RenderConfig(size=size),
               frames=frames, progress=update)
    typer.echo(f"wrote {out} ({joints.shape[0]} frames)")



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
        from .data.synth import ACTIONS, STYLES

        by_cat: dict = {}
        for name, act in ACTIONS.items():
            by_cat.setdefault(act.category, []).append(name)
        if as_json:
            _echo_json({"actions": by_cat, "styles": list(STYLES)})
        else:
            for cat, names in by_cat.items():
                typer.echo(f"{cat}: {', '.join(names)}")
            typer.echo(f"styles: {', '.join(STYLES)}")
        return
    if n is None or out is None:
        raise MclipError("--n and -o/--out: both are required (or use --list)")
    from .data.synth import write_corpus

    names = [a.strip() for a in actions.split(",") if a.strip()] if actions else None
    with _progress(n, "synth clips", enabled=sys.stderr.isatty()) as update:
        info = write_corpus(out, n, seed=seed, frames=frames, shard_size=shard_size, actions=names,
                            workers=workers, overwrite=overwrite, resume=resume, progress=update)
    summary = {"out": str(out), "clips": info["counts"]["clips"], "splits": info["counts"]["splits"],
               "actions": len(info["actions"]), "seconds": info["seconds"]}
    if as_json:
        _echo_json(summary)
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
    from .data.babel import PrepareConfig, prepare_babel

    cfg = PrepareConfig(babel60=babel60, stride=stride, overwrite=overwrite)
    # no bar in logs (a non-terminal stderr): no stray blank line
    with _progress(None, "preparing takes", enabled=sys.stderr.isatty()) as update:
        summary = prepare_babel(amass_dir, babel_dir, out, cfg, progress=update)
    if as_json:
        _echo_json(summary)
        return
    clips = summary["clips"]
    typer.echo(f"wrote {out}: {clips['train']} train + {clips['val']} val clips from "
               f"{summary['used']}/{summary['sequences']} BABEL sequences "
               f"({summary['missing']} AMASS files not found, {summary['unreadable_count']} unreadable)")


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
    from .train import TrainConfig, load_train_config, read_settings_file, recipe_path, train

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
        _echo_json(summary)
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

    from .checkpoint import checksum_path, export_for_release

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
        _echo_json(summary)
    else:
        typer.echo(f"wrote {path} ({summary['bytes'] / 1e6:.1f} MB, sha256 {digest[:12]}...)")



def _parse_temperatures(spec: str) -> dict:
    """'babel60=13.7,other=30' or '30' -> {"babel60": 13.7, "other": 30.0}, each in 1..1000."""
    import math

    from .label_sets import BUILTIN_SETS

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


# ---------------------------------------------------------------- applications

_WEIGHTS_HELP = ("Model checkpoint (.pt). Default: $MCLIP_WEIGHTS, else the shipped "
                 "weights/mclip-default.pt.")
_DEVICE_HELP = "cpu or cuda (default: cuda when present)."
_OUT_HELP = ("Output: .mp4/.gif/.png (render, plus .npz SMPL motion and .npy joints beside "
             "it), .npz/.npy/.bvh (just that file), or a folder/ (one file set per result "
             "and index.json).")


def _load_engine(weights: Optional[Path], device: Optional[str]):
    """Load the model + text backbone once, with a spinner on stderr."""
    from rich.console import Console

    from .engine import Engine

    with Console(stderr=True).status("loading model..."):
        _LOADED["engine"] = Engine(weights=weights, device=device)
    return _LOADED["engine"]


def _progress(total: Optional[int], description: str, enabled: bool = True):
    """``progress.progress_bar`` whose every update is also a SIGTERM safe point. Yields
    ``update(done, total=None)``."""
    from contextlib import contextmanager

    from .progress import progress_bar

    @contextmanager
    def bar():
        with progress_bar(description, total, enabled=enabled) as shown:
            def update(done, tot=None):
                _stop_if_terminated()
                shown(done, tot)

            yield update

    return bar()


def _check_motion_args(*items) -> None:
    """Fail fast (before the model loads) on motion files that are not there."""
    from .engine import is_motion_ref

    for item in items:
        if item is not None and is_motion_ref(item) and not Path(str(item)).is_file():
            raise MclipError(f"{item}: no such file")


def _check_extend(extend: str) -> None:
    if extend not in ("loop", "extrapolate"):
        raise MclipError(f"--extend {extend}: choose loop or extrapolate")


def _report(paths, as_json: bool, extra: Optional[dict] = None) -> None:
    files = [str(p) for p in paths]
    if as_json:
        _echo_json({**(extra or {}), "files": files})
    else:
        typer.echo("wrote " + ", ".join(files))


@app.command("text2motion")
def text2motion_cmd(
    prompts: Optional[List[str]] = typer.Argument(None, help="Prompt(s), each in quotes."),
    prompts_file: Optional[Path] = typer.Option(
        None, "--prompts", help="Text file, one prompt per line (blank lines and #comments skipped)."),
    out: Path = typer.Option(..., "-o", "--out", help=_OUT_HELP),
    frames: Optional[int] = typer.Option(None, "--frames", min=1, max=MAX_FRAMES, help="Frames per motion at 30 fps (default: the model's clip length, 60 = 2 s)."),
    seed: Optional[int] = typer.Option(None, "--seed", min=0, max=MAX_SEED, help="Seed of the takes: the same seed gives the same "
                                       "motion; without one each run is a fresh take (its seed is printed)."),
    num_samples: int = typer.Option(1, "--num-samples", "-n", min=1, max=100, help="Takes per prompt (-o file.mp4: a grid of "
                                    "them side by side, plus file-NN.npz each)."),
    sampler: str = typer.Option("auto", "--sampler", help="prior: draw the latent from the model's sampler "
                                "(varied, sharp takes); direct: decode the prompt's own latent (paper 4.2, "
                                "one answer per prompt); auto: prior when the weights have one."),
    guidance: Optional[float] = typer.Option(None, "--guidance", min=0.0, max=50.0, help="With the sampler: classifier-free "
                                             "guidance scale (higher: closer to the prompt, less varied). "
                                             "[default: the sampler's]"),
    temperature: Optional[float] = typer.Option(None, "--temperature", min=0.0, max=10.0, help="With the sampler: scale of its "
                                                "starting noise (below 1: takes nearer the typical one). "
                                                "[default: the sampler's, 1.25 in the shipped weights]"),
    sample_steps: Optional[int] = typer.Option(None, "--sample-steps", min=1, max=1000, help="With the sampler: its Euler "
                                               "steps (fewer: faster, coarser). [default: the sampler's]"),
    variation: float = typer.Option(
        0.0, "--variation", min=0.0, max=1.0, help="With --sampler direct: turn each prompt's latent this far (0..1) towards a "
                                 "random direction for a different take."),
    extend: str = typer.Option("loop", "--extend", help="Beyond the model's clip length: 'loop' chains "
                                                        "copies of the clip with cross-fades (keeps walking, "
                                                        "turning); 'extrapolate' asks the decoder for all frames."),
    fps: float = typer.Option(30.0, "--fps", min=1.0, max=MAX_FPS, help="Frame rate of the rendered video (motion files stay 30 fps)."),
    fmt: str = typer.Option("mp4", "--format", help="File type per prompt when -o is a folder: "
                                                   "mp4, gif, png, npz, npy or bvh."),
    overwrite: bool = typer.Option(False, "--overwrite", help="-o folder holding an earlier run's "
                                   "results: remove them and start again."),
    resume: bool = typer.Option(False, "--resume", help="-o folder holding an interrupted run of the "
                                "same prompts and settings: keep its finished prompts, do the rest "
                                "(its seed is reused when --seed is not given)."),
    weights: Optional[Path] = typer.Option(None, "--weights", "-w", help=_WEIGHTS_HELP),
    device: Optional[str] = typer.Option(None, "--device", help=_DEVICE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the written files as JSON."),
) -> None:
    """Generate motion from text: a latent for the prompt goes through the motion decoder.

    The latent is drawn from the model's sampler (a different take per seed), or with
    --sampler direct it is the prompt's own embedding (paper 4.2).

    Examples:

      mclip text2motion "a person jumps over a puddle" -o jump.mp4   (+ jump.npz, jump.npy)

      mclip text2motion "Spiderman" -o spider.bvh

      mclip text2motion "a person dances" -n 3 --seed 7 -o takes.mp4   (three takes side by side)

      mclip text2motion --prompts prompts.txt -o outdir/   (model loaded once, prompts batched;
      outdir/001-<slug>.mp4 ... and outdir/index.json, updated after every finished prompt)
    """
    from .engine import check_prompts
    from .outputs import BatchFolder, file_set, is_dir_target, slugify

    texts = list(prompts or [])
    if prompts_file is not None:
        try:
            lines = prompts_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise MclipError(f"{prompts_file}: cannot read prompts ({e})") from None
        texts += [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]
        if not texts:
            raise MclipError(f"{prompts_file}: no prompts in it")
    texts = check_prompts(texts)
    _check_extend(extend)
    folder = is_dir_target(out)
    if not folder:
        file_set(out)  # a bad extension fails before the model loads
        if len(texts) > 1:
            raise MclipError(f"{out}: {len(texts)} prompts need a folder (-o {out.stem}/)")
    mode = _batch_mode(overwrite, resume, out)
    if mode == "resume" and seed is None:    # the interrupted run's takes, not fresh ones
        from .outputs import read_index

        seed = (read_index(out) or {}).get("seed")
    engine = _load_engine(weights, device)
    used = engine.resolve_sampler(sampler)
    if seed is None:      # a fresh take, but one the user can reproduce: the seed is reported
        import secrets

        seed = secrets.randbelow(2 ** 31)
    opts = dict(frames=frames, seed=seed, variation=variation, extend=extend, sampler=used,
                takes=num_samples, guidance=guidance, temperature=temperature, steps=sample_steps)
    info = {"sampler": used, "seed": seed, "num_samples": num_samples}
    if not folder:
        from .outputs import write_grid, write_set

        motions = engine.text2motion(texts, **opts)
        if num_samples == 1:
            with _progress(motions[0].num_frames, "rendering", enabled=not as_json) as update:
                paths = write_set(motions[0], out, caption=texts[0], render_fps=fps, progress=update)
        else:
            captions = [f"{texts[0]} (take {k + 1})" for k in range(num_samples)]
            with _progress(motions[0].num_frames, "rendering", enabled=not as_json) as update:
                paths = write_grid(motions, out, captions, render_fps=fps, progress=update)
        _report(paths, as_json, {"prompt": texts[0], **info})
        if not as_json:
            again = "this take" if num_samples == 1 else "these takes"
            typer.echo(f"sampler {used}, seed {seed} (--seed {seed} gives {again} again)")
        return
    meta = {"command": "text2motion", "weights": str(engine.weights_path),
            "frames": frames or engine.frames, "variation": variation, "guidance": guidance,
            "temperature": temperature, "extend": extend, "sample_steps": sample_steps,
            "format": fmt, **info}
    written = []
    chunk = 32  # decode this many at once; files are written as each chunk finishes
    with BatchFolder(out, fmt, meta=meta, mode=mode) as batch, \
            _progress(len(texts) * num_samples, "text2motion", enabled=not as_json) as update:
        done = batch.check_resumed([t for t in texts for _ in range(num_samples)])
        update(done)
        for i in range(done // num_samples, len(texts), chunk):
            part = texts[i:i + chunk]
            motions = engine.text2motion(part, **opts)
            for j, motion in enumerate(motions):
                if i * num_samples + j < done:     # finished by the interrupted run
                    continue
                text, take = part[j // num_samples], j % num_samples
                name = None
                if num_samples > 1:
                    name = f"{i + j // num_samples + 1:03d}-{slugify(text)}-take{take + 1}"
                written += batch.add(motion, text, extra={"take": take + 1} if num_samples > 1 else None,
                                     render_fps=fps, name=name)
                update(len(batch.items))
    _report(written + [out / "index.json"], as_json, {"count": len(batch.items), **info})


def _batch_mode(overwrite: bool, resume: bool, out: Path) -> str:
    """BatchFolder's mode from --overwrite / --resume (which only mean something for -o
    folder/), checked against the folder before the model loads."""
    from .outputs import check_batch_target, is_dir_target

    if overwrite and resume:
        raise MclipError("--overwrite and --resume: give one (start again, or finish the earlier run)")
    if not is_dir_target(out):
        if overwrite or resume:
            raise MclipError(f"--{'overwrite' if overwrite else 'resume'}: only for -o folder/ "
                             f"(a single file is always replaced)")
        return "new"
    mode = "overwrite" if overwrite else "resume" if resume else "new"
    check_batch_target(out, mode)
    return mode


def _write_many(motions, out: Path, captions: List[str], names: List[str], fmt: str,
                fps: float, as_json: bool, meta: dict, mode: str = "new") -> list:
    """Several motions to -o: a grid render (+ per-motion .npz) or a folder."""
    from .outputs import BatchFolder, is_dir_target, write_grid

    if is_dir_target(out):
        paths = []
        with BatchFolder(out, fmt, meta=meta, mode=mode) as batch, \
                _progress(len(motions), "writing", enabled=not as_json) as update:
            for m, cap, name in zip(motions, captions, names):
                paths += batch.add(m, cap, render_fps=fps, name=name)
                update(len(batch.items))
        return paths + [out / "index.json"]
    with _progress(motions[0].num_frames, "rendering", enabled=not as_json) as update:
        return write_grid(motions, out, captions, render_fps=fps, progress=update)


@app.command("interpolate")
def interpolate_cmd(
    a: str = typer.Argument(..., help="Start: a motion file (.npz/.npy/.bvh) or a quoted text."),
    b: str = typer.Argument(..., help="End: a motion file or a quoted text."),
    steps: int = typer.Option(5, "--steps", "-n", min=2, max=100, help="Motions in the sequence, both ends included (>= 2)."),
    slerp: bool = typer.Option(False, "--slerp", help="Spherical interpolation of the latent direction "
                                                      "(constant angular speed) instead of linear."),
    out: Path = typer.Option(..., "-o", "--out",
                             help="grid.mp4/.gif/.png (all steps side by side, plus grid-NN.npz), "
                                  "x.npz/.npy/.bvh (x-NN.<ext> per step) or a folder/."),
    frames: Optional[int] = typer.Option(None, "--frames", min=1, max=MAX_FRAMES, help="Frames per motion at 30 fps (default: the model's clip length, 60)."),
    extend: str = typer.Option("loop", "--extend", help="Beyond the clip length: loop or extrapolate "
                                                        "(see text2motion --help)."),
    fps: float = typer.Option(30.0, "--fps", min=1.0, max=MAX_FPS, help="Frame rate of the rendered video."),
    fmt: str = typer.Option("mp4", "--format", help="File type per step when -o is a folder."),
    overwrite: bool = typer.Option(False, "--overwrite", help="-o folder holding an earlier run's "
                                   "results: remove them first."),
    weights: Optional[Path] = typer.Option(None, "--weights", "-w", help=_WEIGHTS_HELP),
    device: Optional[str] = typer.Option(None, "--device", help=_DEVICE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the written files as JSON."),
) -> None:
    """Walk the latent space from A to B: evenly spaced latents, each decoded (paper 4.3).

    An argument that is an existing file or ends in .npz/.npy/.bvh is a motion (longer
    ones are encoded window by window and averaged), anything else is text.

    Examples:

      mclip interpolate walk.npz jump.npz --steps 5 -o interp.mp4

      mclip interpolate "walk" "run" --steps 7 --slerp -o interp/
    """
    from .engine import check_prompts, is_motion_ref
    from .outputs import file_set, is_dir_target

    _check_extend(extend)
    for x in (a, b):
        if not is_motion_ref(x):
            check_prompts([x], "text")
    _check_motion_args(a, b)
    if not is_dir_target(out):
        file_set(out)
    mode = _batch_mode(overwrite, False, out)
    engine = _load_engine(weights, device)
    motions = engine.interpolate(a, b, steps=steps, slerp=slerp, frames=frames, extend=extend)
    ts = [i / (steps - 1) for i in range(steps)]
    captions = [f"t={t:.2f}" + (f"  {Path(a).name if is_motion_ref(a) else a}" if i == 0 else "")
                + (f"  {Path(b).name if is_motion_ref(b) else b}" if i == steps - 1 else "")
                for i, t in enumerate(ts)]
    names = [f"step-{i:02d}" for i in range(steps)]
    paths = _write_many(motions, out, captions, names, fmt, fps, as_json,
                        meta={"command": "interpolate", "a": a, "b": b, "steps": steps, "slerp": slerp},
                        mode=mode)
    _report(paths, as_json, {"steps": steps, "slerp": slerp})


@app.command("edit")
def edit_cmd(
    motion: Optional[str] = typer.Argument(None, help="Motion to edit (.npz/.bvh, or .npy joints: fitted by IK)."),
    add: List[str] = typer.Option([], "--add", help="Text whose direction is added (repeatable)."),
    sub: List[str] = typer.Option([], "--sub", help="Text whose direction is subtracted (repeatable)."),
    scale: float = typer.Option(1.0, "--scale", min=-10.0, max=10.0, help="Strength of the edit: z + scale*(add - sub); "
                                                     "1 is strong, 0.3-0.5 subtle."),
    add_motion: List[Path] = typer.Option([], "--add-motion", help="Motion file whose latent is added."),
    sub_motion: List[Path] = typer.Option([], "--sub-motion", help="Motion file whose latent is subtracted."),
    upper: Optional[str] = typer.Option(None, "--upper", help="Composition: upper body from this motion file or text."),
    lower: Optional[str] = typer.Option(None, "--lower", help="Composition: lower body and path from this motion file or text."),
    out: Path = typer.Option(..., "-o", "--out", help=_OUT_HELP.replace(", or a folder/ (one file set per result and index.json)", "")),
    fps: float = typer.Option(30.0, "--fps", min=1.0, max=MAX_FPS, help="Frame rate of the rendered video."),
    weights: Optional[Path] = typer.Option(None, "--weights", "-w", help=_WEIGHTS_HELP),
    device: Optional[str] = typer.Option(None, "--device", help=_DEVICE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the written files as JSON."),
) -> None:
    """Edit a motion in latent space, or compose the upper body of one with the lower of another.

    Latent arithmetic (paper 4.4): every 2 s window of MOTION is encoded, the unit
    directions of --add texts/--add-motion files are added and --sub ones subtracted
    (times --scale), each window is decoded and the windows are cross-faded back into
    one motion of the input's length.

    --upper/--lower composition works in joint space: the arm, neck and head rotations
    (spine3 and above) come from --upper, the pelvis, path, legs and lower spine from
    --lower; it keeps both parts exactly, which latent arithmetic on a small model does
    not. A text instead of a file is generated first. The output has --lower's length.

    Examples:

      mclip edit walk.npz --add "proud" -o proud_walk.mp4

      mclip edit run.npz --sub "run" --add "walk" --scale 0.5 -o walked.npz

      mclip edit --upper wave.npz --lower walk.npz -o wave_while_walking.mp4
    """
    from .outputs import file_set

    if out.suffix == "" or out.is_dir():
        raise MclipError(f"{out}: edit writes one motion; give a file name (.mp4, .npz, .bvh...)")
    file_set(out)
    composing = upper is not None or lower is not None
    if composing:
        if upper is None or lower is None:
            raise MclipError("--upper/--lower: give both (the upper body's and the lower body's motion)")
        if motion is not None or add or sub or add_motion or sub_motion:
            raise MclipError("--upper/--lower: composition takes no MOTION argument or --add/--sub")
        _check_motion_args(upper, lower)
    else:
        if motion is None:
            raise MclipError("edit: give a MOTION file to edit (or --upper A --lower B)")
        from .engine import is_motion_ref

        if not is_motion_ref(motion):
            raise MclipError(f"{motion}: not a motion file (.npz, .npy or .bvh)")
        if not (add or sub or add_motion or sub_motion):
            raise MclipError("edit: nothing to do; give --add, --sub, --add-motion or --sub-motion")
        _check_motion_args(motion, *add_motion, *sub_motion)
    engine = _load_engine(weights, device)
    if composing:
        result = engine.compose(upper, lower)
        caption = f"upper: {upper} | lower: {lower}"
    else:
        result = engine.edit(motion, add=add, sub=sub, scale=scale,
                             add_motion=add_motion, sub_motion=sub_motion)
        caption = " ".join([Path(motion).name] + [f"+{t}" for t in add] + [f"-{t}" for t in sub]
                           + [f"+{Path(m).name}" for m in add_motion]
                           + [f"-{Path(m).name}" for m in sub_motion])
    from .outputs import write_set

    with _progress(result.num_frames, "rendering", enabled=not as_json) as update:
        paths = write_set(result, out, caption=caption, render_fps=fps, progress=update)
    _report(paths, as_json, {"frames": result.num_frames})


@app.command("classify")
def classify_cmd(
    motions: List[str] = typer.Argument(..., help="Motion file(s) (.npz/.bvh, or .npy joints: "
                                                  "fitted by IK); the model loads once for all."),
    labels: str = typer.Option("babel60", "--labels", "-l",
                               help="babel60, babel120, a text file (one label per line), "
                                    "or a comma-separated list \"walk,run,jump\"."),
    top_k: int = typer.Option(5, "--top-k", "-k", min=1, max=1000, help="How many labels to show."),
    per_window: bool = typer.Option(False, "--per-window", help="Also classify each 2 s window "
                                                                "(60 frames, 30 apart)."),
    weights: Optional[Path] = typer.Option(None, "--weights", "-w", help=_WEIGHTS_HELP),
    device: Optional[str] = typer.Option(None, "--device", help=_DEVICE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table (an object "
                                                       "for one motion, a list for several)."),
) -> None:
    """Zero-shot action recognition: which label text is the motion's latent closest to?

    Probabilities are softmax(T * cosine) over the labels, for the motion's latent (the
    mean direction of its 2 s windows), so they rank the labels as the cosine does. T is
    calibrated on held-out clips and stored in the weights (CLIP's 100 if it has none).

    Examples:

      mclip classify clip.npz --labels babel60

      mclip classify clip.npz --labels "walk,run,jump,sit down" --top-k 3 --json

      mclip classify out/*.npz --labels babel60 --top-k 1 --json > report.json
    """
    from .engine import load_labels

    names = load_labels(labels)
    _check_motion_args(*motions)
    engine = _load_engine(weights, device)
    results = [engine.classify(m, names, top_k=top_k, per_window=per_window) for m in motions]
    if as_json:
        docs = [{"motion": m, "labels": labels, **r.to_dict()} for m, r in zip(motions, results)]
        _echo_json(docs[0] if len(docs) == 1 else docs)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for motion, result in zip(motions, results):
        table = Table(title=f"{motion}  ({len(names)} labels)")
        table.add_column("#", justify="right")
        table.add_column("label")
        table.add_column("probability", justify="right")
        table.add_column("cosine", justify="right")
        for i, s in enumerate(result.top, 1):
            table.add_row(str(i), s.label, f"{s.probability:.3f}", f"{s.cosine:+.3f}")
        console.print(table)
        if per_window:
            wt = Table(title="per window")
            wt.add_column("time (s)")
            wt.add_column("top labels")
            for w in result.windows:
                wt.add_row(f"{w.start_s:5.1f}-{w.end_s:5.1f}",
                           ", ".join(f"{s.label} {s.probability:.2f}" for s in w.top))
            console.print(wt)


@app.command("encode")
def encode_cmd(
    motions: Optional[List[str]] = typer.Argument(None, help="Motion files (.npz/.npy/.bvh)."),
    text: List[str] = typer.Option([], "--text", "-t", help="Text to embed (repeatable)."),
    out: Path = typer.Option(..., "-o", "--out", help="Output .npy: (N, D) float32 unit latents, "
                                                      "motions first, then texts, in order."),
    weights: Optional[Path] = typer.Option(None, "--weights", "-w", help=_WEIGHTS_HELP),
    device: Optional[str] = typer.Option(None, "--device", help=_DEVICE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Latent vectors of motions and/or texts, in the backbone's space (cosine = dot product).

    A motion longer than 2 s is the mean direction of its windows' latents.

    Examples:

      mclip encode walk.npz jump.npz -o latents.npy

      mclip encode --text "walk" --text "run" -o texts.npy
    """
    from .engine import check_prompts
    from .atomic import atomic_path

    import numpy as np

    items = list(motions or [])
    if not items and not text:
        raise MclipError("encode: give motion files and/or --text")
    if out.suffix.lower() != ".npy":
        raise MclipError(f"{out}: latents are written as .npy")
    for m in items:
        if not Path(m).is_file():
            raise MclipError(f"{m}: no such file")
    texts = check_prompts(text, "--text") if text else []
    engine = _load_engine(weights, device)
    parts = []
    if items:
        parts.append(engine.encode(items))
    if texts:
        parts.append(engine.embed_texts(texts).cpu().numpy())
    Z = np.concatenate(parts).astype(np.float32)
    with atomic_path(out) as tmp:
        np.save(tmp, Z)
    if as_json:
        _echo_json({"output": str(out), "shape": list(Z.shape), "items": items + texts})
    else:
        typer.echo(f"wrote {out} ({Z.shape[0]} x {Z.shape[1]})")


@app.command("search")
def search_cmd(
    query: str = typer.Argument(..., help="What to look for, in words."),
    library: Path = typer.Option(..., "--library", "-L", help="Folder of motion files (searched recursively)."),
    top_k: int = typer.Option(10, "--top-k", "-k", min=1, max=1000, help="How many results."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir",
                                             help="Where latents are cached (default $MCLIP_CACHE or ~/.cache/mclip)."),
    weights: Optional[Path] = typer.Option(None, "--weights", "-w", help=_WEIGHTS_HELP),
    device: Optional[str] = typer.Option(None, "--device", help=_DEVICE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Rank a folder of motions by how well they match a text (cosine of latents).

    Each file's latent is cached (keyed by path, modification time, size and the
    checkpoint's hash), so searching the same library again only encodes new files.

    Example:

      mclip search "someone waving" --library mocap/ --top-k 5
    """
    from .engine import check_prompts

    check_prompts([query], "query")
    if not library.is_dir():
        raise MclipError(f"{library}: not a folder (--library takes a folder of motion files)")
    engine = _load_engine(weights, device)
    with _progress(0, "encoding library", enabled=not as_json) as update:
        result = engine.search(query, library, top_k=top_k, cache_dir=cache_dir,
                               on_progress=lambda n, tot: update(n, tot))
    if as_json:
        _echo_json({"query": query, "library": str(library), **result.to_dict()})
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"\"{query}\" in {library}")
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("file")
    for i, (p, s) in enumerate(result.hits, 1):
        table.add_row(str(i), f"{s:+.3f}", p)
    console = Console()
    console.print(table)
    for p, e in result.skipped:
        console.print(f"[yellow]skipped[/] {e}")



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
    from .eval.report import results_table, write_json
    from .evaluate import SECTIONS, EvalConfig, evaluate

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


class Terminated(BaseException):
    """SIGTERM (``timeout``, ``kill``, a CI runner stopping a job), raised in the main
    thread like Ctrl-C's KeyboardInterrupt so the same clean-up runs: temp files go,
    batches keep what finished, an ffmpeg child is closed."""


_SIGTERM_SEEN: list = []   # set by the handler, for the rare raise Python swallows


def _on_sigterm(signum, frame) -> None:
    _SIGTERM_SEEN.append(signum)
    raise Terminated()


def _stop_if_terminated() -> None:
    """A safe point (every progress update): a SIGTERM whose exception was swallowed
    (it landed in a fork handler or a finaliser, where Python ignores exceptions)
    still stops the command here."""
    if _SIGTERM_SEEN:
        raise Terminated()


def _usage_line(e) -> str:
    """A click/typer usage error as one line, e.g. ``error: Invalid value for '--fps': ...``."""
    msg = " ".join(e.format_message().split())
    ctx = getattr(e, "ctx", None)
    where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    return f"error: {msg}{where}"


def main(argv: Optional[List[str]] = None) -> None:
    """Console entry point: run the app, turning user errors into one line + exit 2,
    Ctrl-C into exit 130 and SIGTERM into exit 143, each with one line on stderr."""
    import signal

    _LOADED.clear()          # a caller running several commands in one process
    _SIGTERM_SEEN.clear()
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        rc = app(args=argv, standalone_mode=False)
        _stop_if_terminated()
        # In non-standalone mode typer turns Ctrl-C into Exit(130) and *returns* the
        # code instead of raising, so a returned non-zero code must become the exit status.
        if isinstance(rc, int) and rc != 0:
            if rc == 130:
                typer.echo("interrupted", err=True)
            sys.exit(rc)
    except MclipError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Terminated:
        typer.echo("terminated", err=True)
        sys.exit(143)
    except SystemExit:
        raise
    except OSError as e:     # a write or read the file system refused, outside mclip's checks
        where = f"{e.filename}: " if e.filename else ""
        typer.echo(f"error: {where}{e.strerror or e}", err=True)
        sys.exit(2)
    except Exception as e:  # click usage errors and the like
        import click

        # typer >= 0.2x ships its own copy of click: its usage errors (unknown option,
        # no arguments -> help) derive from typer.TyperException, not click's classes.
        usage = tuple(c for c in (getattr(typer, "TyperException", None),
                                  click.exceptions.ClickException) if c is not None)
        if isinstance(e, usage) and hasattr(e, "show"):
            if type(e).__name__ == "NoArgsIsHelpError":
                e.show()        # `mclip` or `mclip data` alone: the help text
            else:
                typer.echo(_usage_line(e), err=True)
            sys.exit(getattr(e, "exit_code", 2))
        if isinstance(e, (typer.Abort, click.exceptions.Abort)):
            typer.echo("aborted", err=True)
            sys.exit(130)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    main()
