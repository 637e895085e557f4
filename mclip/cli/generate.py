"""`mclip text2motion`, `interpolate` and `edit`: motion out of the model."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..errors import MclipError
from .app import app, load_engine, progress, check_motion_args, check_extend, report, WEIGHTS_HELP, DEVICE_HELP, OUT_HELP, MAX_SEED, MAX_FPS, MAX_FRAMES


@app.command("text2motion")
def text2motion_cmd(
    prompts: Optional[List[str]] = typer.Argument(None, help="Prompt(s), each in quotes."),
    prompts_file: Optional[Path] = typer.Option(
        None, "--prompts", help="Text file, one prompt per line (blank lines and #comments skipped)."),
    out: Path = typer.Option(..., "-o", "--out", help=OUT_HELP),
    frames: Optional[int] = typer.Option(None, "--frames", min=1, max=MAX_FRAMES, help="Frames per motion at 30 fps (default: the model's clip length, 60 = 2 s)."),
    seed: Optional[int] = typer.Option(None, "--seed", min=0, max=MAX_SEED, help="Seed of the takes: the same seed gives the same "
                                       "motion; without one each run is a fresh take (its seed is printed)."),
    num_samples: int = typer.Option(1, "--num-samples", "-n", min=1, max=100, help="Takes per prompt (-o file.mp4 or .html: "
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
                                                   "mp4, gif, png, html, npz, npy or bvh."),
    overwrite: bool = typer.Option(False, "--overwrite", help="-o folder holding an earlier run's "
                                   "results: remove them and start again."),
    resume: bool = typer.Option(False, "--resume", help="-o folder holding an interrupted run of the "
                                "same prompts and settings: keep its finished prompts, do the rest "
                                "(its seed is reused when --seed is not given)."),
    weights: Optional[Path] = typer.Option(None, "--weights", "-w", help=WEIGHTS_HELP),
    device: Optional[str] = typer.Option(None, "--device", help=DEVICE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the written files as JSON."),
) -> None:
    """Generate motion from text: a latent for the prompt goes through the motion decoder.

    The latent is drawn from the model's sampler (a different take per seed), or with
    --sampler direct it is the prompt's own embedding (paper 4.2).

    Examples:

      mclip text2motion "a person jumps over a puddle" -o jump.mp4   (+ jump.npz, jump.npy)

      mclip text2motion "Spiderman" -o spider.bvh

      mclip text2motion "a person walks in a circle" -o circle.html   (3D viewer page)

      mclip text2motion "a person dances" -n 3 --seed 7 -o takes.mp4   (three takes side by side)

      mclip text2motion --prompts prompts.txt -o outdir/   (model loaded once, prompts batched;
      outdir/001-<slug>.mp4 ... and outdir/index.json, updated after every finished prompt)
    """
    from ..engine import check_prompts
    from ..outputs import BatchFolder, file_set, is_dir_target, slugify

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
    check_extend(extend)
    folder = is_dir_target(out)
    if not folder:
        file_set(out)  # a bad extension fails before the model loads
        if len(texts) > 1:
            raise MclipError(f"{out}: {len(texts)} prompts need a folder (-o {out.stem}/)")
    mode = _batch_mode(overwrite, resume, out)
    if mode == "resume" and seed is None:    # the interrupted run's takes, not fresh ones
        from ..outputs import read_index

        seed = (read_index(out) or {}).get("seed")
    engine = load_engine(weights, device)
    used = engine.resolve_sampler(sampler)
    if seed is None:      # a fresh take, but one the user can reproduce: the seed is reported
        import secrets

        seed = secrets.randbelow(2 ** 31)
    opts = dict(frames=frames, seed=seed, variation=variation, extend=extend, sampler=used,
                takes=num_samples, guidance=guidance, temperature=temperature, steps=sample_steps)
    info = {"sampler": used, "seed": seed, "num_samples": num_samples}
    if not folder:
        from ..outputs import write_grid, write_set

        motions = engine.text2motion(texts, **opts)
        if num_samples == 1:
            with progress(motions[0].num_frames, "rendering", enabled=not as_json) as update:
                paths = write_set(motions[0], out, caption=texts[0], render_fps=fps, progress=update)
        else:
            captions = [f"{texts[0]} (take {k + 1})" for k in range(num_samples)]
            with progress(motions[0].num_frames, "rendering", enabled=not as_json) as update:
                paths = write_grid(motions, out, captions, render_fps=fps, progress=update)
        report(paths, as_json, {"prompt": texts[0], **info})
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
            progress(len(texts) * num_samples, "text2motion", enabled=not as_json) as update:
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
    report(written + [out / "index.json"], as_json, {"count": len(batch.items), **info})


def _batch_mode(overwrite: bool, resume: bool, out: Path) -> str:
    """BatchFolder's mode from --overwrite / --resume (which only mean something for -o
    folder/), checked against the folder before the model loads."""
    from ..outputs import check_batch_target, is_dir_target

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
    from ..outputs import BatchFolder, is_dir_target, write_grid

    if is_dir_target(out):
        paths = []
        with BatchFolder(out, fmt, meta=meta, mode=mode) as batch, \
                progress(len(motions), "writing", enabled=not as_json) as update:
            for m, cap, name in zip(motions, captions, names):
                paths += batch.add(m, cap, render_fps=fps, name=name)
                update(len(batch.items))
        return paths + [out / "index.json"]
    with progress(motions[0].num_frames, "rendering", enabled=not as_json) as update:
        return write_grid(motions, out, captions, render_fps=fps, progress=update)


@app.command("interpolate")
def interpolate_cmd(
    a: str = typer.Argument(..., help="Start: a motion file (.npz/.npy/.bvh) or a quoted text."),
    b: str = typer.Argument(..., help="End: a motion file or a quoted text."),
    steps: int = typer.Option(5, "--steps", "-n", min=2, max=100, help="Motions in the sequence, both ends included (>= 2)."),
    slerp: bool = typer.Option(False, "--slerp", help="Spherical interpolation of the latent direction "
                                                      "(constant angular speed) instead of linear."),
    out: Path = typer.Option(..., "-o", "--out",
                             help="grid.mp4/.gif/.png/.html (all steps side by side, plus grid-NN.npz), "
                                  "x.npz/.npy/.bvh (x-NN.<ext> per step) or a folder/."),
    frames: Optional[int] = typer.Option(None, "--frames", min=1, max=MAX_FRAMES, help="Frames per motion at 30 fps (default: the model's clip length, 60)."),
    extend: str = typer.Option("loop", "--extend", help="Beyond the clip length: loop or extrapolate "
                                                        "(see text2motion --help)."),
    fps: float = typer.Option(30.0, "--fps", min=1.0, max=MAX_FPS, help="Frame rate of the rendered video."),
    fmt: str = typer.Option("mp4", "--format", help="File type per step when -o is a folder."),
    overwrite: bool = typer.Option(False, "--overwrite", help="-o folder holding an earlier run's "
                                   "results: remove them first."),
    weights: Optional[Path] = typer.Option(None, "--weights", "-w", help=WEIGHTS_HELP),
    device: Optional[str] = typer.Option(None, "--device", help=DEVICE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the written files as JSON."),
) -> None:
    """Walk the latent space from A to B: evenly spaced latents, each decoded (paper 4.3).

    An argument that is an existing file or ends in .npz/.npy/.bvh is a motion (longer
    ones are encoded window by window and averaged), anything else is text.

    Examples:

      mclip interpolate walk.npz jump.npz --steps 5 -o interp.mp4

      mclip interpolate "walk" "run" --steps 7 --slerp -o interp/
    """
    from ..engine import check_prompts, is_motion_ref
    from ..outputs import file_set, is_dir_target

    check_extend(extend)
    for x in (a, b):
        if not is_motion_ref(x):
            check_prompts([x], "text")
    check_motion_args(a, b)
    if not is_dir_target(out):
        file_set(out)
    mode = _batch_mode(overwrite, False, out)
    engine = load_engine(weights, device)
    motions = engine.interpolate(a, b, steps=steps, slerp=slerp, frames=frames, extend=extend)
    ts = [i / (steps - 1) for i in range(steps)]
    captions = [f"t={t:.2f}" + (f"  {Path(a).name if is_motion_ref(a) else a}" if i == 0 else "")
                + (f"  {Path(b).name if is_motion_ref(b) else b}" if i == steps - 1 else "")
                for i, t in enumerate(ts)]
    names = [f"step-{i:02d}" for i in range(steps)]
    paths = _write_many(motions, out, captions, names, fmt, fps, as_json,
                        meta={"command": "interpolate", "a": a, "b": b, "steps": steps, "slerp": slerp},
                        mode=mode)
    report(paths, as_json, {"steps": steps, "slerp": slerp})


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
    out: Path = typer.Option(..., "-o", "--out", help=OUT_HELP.replace(", or a folder/ (one file set per result and index.json)", "")),
    fps: float = typer.Option(30.0, "--fps", min=1.0, max=MAX_FPS, help="Frame rate of the rendered video."),
    weights: Optional[Path] = typer.Option(None, "--weights", "-w", help=WEIGHTS_HELP),
    device: Optional[str] = typer.Option(None, "--device", help=DEVICE_HELP),
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
    from ..outputs import file_set

    if out.suffix == "" or out.is_dir():
        raise MclipError(f"{out}: edit writes one motion; give a file name (.mp4, .npz, .bvh...)")
    file_set(out)
    composing = upper is not None or lower is not None
    if composing:
        if upper is None or lower is None:
            raise MclipError("--upper/--lower: give both (the upper body's and the lower body's motion)")
        if motion is not None or add or sub or add_motion or sub_motion:
            raise MclipError("--upper/--lower: composition takes no MOTION argument or --add/--sub")
        check_motion_args(upper, lower)
    else:
        if motion is None:
            raise MclipError("edit: give a MOTION file to edit (or --upper A --lower B)")
        from ..engine import is_motion_ref

        if not is_motion_ref(motion):
            raise MclipError(f"{motion}: not a motion file (.npz, .npy or .bvh)")
        if not (add or sub or add_motion or sub_motion):
            raise MclipError("edit: nothing to do; give --add, --sub, --add-motion or --sub-motion")
        check_motion_args(motion, *add_motion, *sub_motion)
    engine = load_engine(weights, device)
    if composing:
        result = engine.compose(upper, lower)
        caption = f"upper: {upper} | lower: {lower}"
    else:
        result = engine.edit(motion, add=add, sub=sub, scale=scale,
                             add_motion=add_motion, sub_motion=sub_motion)
        caption = " ".join([Path(motion).name] + [f"+{t}" for t in add] + [f"-{t}" for t in sub]
                           + [f"+{Path(m).name}" for m in add_motion]
                           + [f"-{Path(m).name}" for m in sub_motion])
    from ..outputs import write_set

    with progress(result.num_frames, "rendering", enabled=not as_json) as update:
        paths = write_set(result, out, caption=caption, render_fps=fps, progress=update)
    report(paths, as_json, {"frames": result.num_frames})
