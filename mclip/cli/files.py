"""`mclip info`, `convert`, `render` and `view`: motion files in, motion files and drawings out."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..errors import MclipError
from .app import app, echo_json, progress, MAX_FPS


# ---------------------------------------------------------------- motion files


@app.command("info")
def info_cmd(
    motion: Path = typer.Argument(..., metavar="MOTION", help="Motion file: .npz (SMPL/AMASS), .npy (joints) or .bvh."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON instead of a table."),
) -> None:
    """Summarise a motion file: frames, frame rate, duration, joint ranges, root travel.

    Positions are metres in the z-up world; statistics use the motion resampled to 30 fps.
    """
    from ..motion_io import motion_info

    info = motion_info(motion)
    if as_json:
        echo_json(info)
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
    cm from m by the bone lengths. .npy joints become .npz or .bvh through inverse
    kinematics (the rotations fitted; --json gives the fit's mean joint error).
    """
    from ..motion_io import convert

    from ..bvh import BVH_UNITS

    if bvh_units not in BVH_UNITS:
        raise MclipError(f"--bvh-units {bvh_units}: {' or '.join(BVH_UNITS)}")
    summary = convert(src, out, bvh_units)
    if as_json:
        echo_json(summary)
    else:
        fitted = (f", rotations fitted to the joints within {summary['fit_error_m'] * 1000:.1f} mm"
                  if "fit_error_m" in summary else "")
        typer.echo(f"wrote {summary['output']} ({summary['frames']} frames, 30 fps{fitted})")


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
    from ..motion_io import load_joints
    from ..render import RenderConfig, output_kind, render

    output_kind(out)  # fail on a bad extension before reading the input
    joints = load_joints(motion)
    with progress(None, f"rendering {out.name}", enabled=joints.shape[0] >= 60) as update:
        render(joints, out, caption=caption, fps=fps, config=RenderConfig(size=size),
               frames=frames, progress=update)
    typer.echo(f"wrote {out} ({joints.shape[0]} frames)")


@app.command("view")
def view_cmd(
    motions: List[Path] = typer.Argument(..., metavar="MOTION", help="Motion files: .npz (SMPL/AMASS), .bvh or .npy (joints); several play side by side."),
    out: Path = typer.Option(..., "-o", "--out", help="Output page: .html (one self-contained file; opens offline in any browser)."),
    caption: List[str] = typer.Option([], "--caption", help="Caption of a motion, one per MOTION in order (repeat the option). Default: the file names."),
    title: Optional[str] = typer.Option(None, "--title", help="Page title. Default: the captions."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Write an interactive 3D viewer page: the motions side by side in the browser.

    One .html file with three.js inside, no network needed: orbit camera,
    play/pause (space), frame slider, arrow keys, speed 0.25x..2x, ground grid,
    pelvis paths. Each motion plays at its file's own frame rate; the motions
    are moved along the floor to stand in a row (never turned). .npy joints
    are read as 30 fps.

    Examples:

      mclip view walk.npz -o walk.html

      mclip view walk.npz kick.bvh -o both.html --caption walk --caption kick
    """
    from ..formats import VIEWER_EXTS

    if out.suffix.lower() not in VIEWER_EXTS or out.is_dir():
        raise MclipError(f"{out}: the viewer writes one page; give a file name ending in .html")
    if caption and len(caption) != len(motions):
        raise MclipError(f"--caption: {len(caption)} given for {len(motions)} "
                         f"motion{'s' if len(motions) > 1 else ''} (give one per motion, or none)")
    for path in motions:
        if not path.is_file():
            raise MclipError(f"{path}: no such file" if not path.exists() else f"{path}: is not a file")
    from ..motion_io import load_joints, load_motion
    from ..viewer import write_viewer

    items = []
    for i, path in enumerate(motions):
        name = caption[i] if caption else path.name
        if path.suffix.lower() == ".npy":
            items.append((name, load_joints(path), 30.0))
        else:
            motion = load_motion(path, fps=None)      # the file's own frame rate
            items.append((name, motion.joints(), motion.fps))
    write_viewer(items, out, title=title)
    if as_json:
        echo_json({"output": str(out), "motions": [
            {"file": str(p), "caption": n, "frames": int(j.shape[0]), "fps": f}
            for p, (n, j, f) in zip(motions, items)]})
    else:
        frames = max(j.shape[0] for _, j, _ in items)
        typer.echo(f"wrote {out} ({len(items)} motion{'s' if len(items) > 1 else ''}, up to {frames} frames)")
