"""Rendering speed: stick-figure frames, .mp4, .gif, .png contact sheet, pose images.

Rows (medians over --runs; a 300-frame procedural walk-and-wave at --size pixels,
one process, whatever threads numpy/ffmpeg use by default):

- layout:        camera fit + background + projection of all frames, ms (once per render)
- raw frames:    ``iter_frames`` -> (H, W, 3) uint8 RGB arrays, frames/s
- mp4:           ``render(.mp4)`` end to end (H.264 via imageio-ffmpeg, file on disk), frames/s
- gif:           ``render(.gif)`` end to end (15 fps GIF keeps real time), input frames/s
- png sheet:     ``render(.png)`` 8-frame contact sheet, ms
- pose images:   ``pose_images`` batch of --poses poses at 224 px, images/s

    python benchmarks/bench_render.py [--size 480] [--frames 300] [--runs 5]
                                      [--out benchmarks/results/render.json]
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from _common import median_time
from mclip.atomic import atomic_write_json

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def walk_and_wave(frames: int) -> np.ndarray:
    """(T, 24, 3) joints: a person walking a curve at 1.1 m/s while waving, 30 fps."""
    import torch

    from mclip.rotations import matrix_to_axis_angle, rotation_about
    from mclip.skeleton import JOINT_INDEX as J
    from mclip.skeleton import STAND, joints_from_axis_angle

    t = np.arange(frames) / 30.0
    yaw = 0.25 * t                                           # turning slowly
    poses = np.zeros((frames, 24, 3), np.float32)
    root = rotation_about("z", torch.as_tensor(yaw, dtype=torch.float32)) @ torch.as_tensor(STAND)
    poses[:, 0] = matrix_to_axis_angle(root).numpy()
    phase = 2 * math.pi * 0.9 * t
    poses[:, J["left_hip"], 0] = 0.45 * np.sin(phase)
    poses[:, J["right_hip"], 0] = -0.45 * np.sin(phase)
    poses[:, J["left_knee"], 0] = 0.6 * np.clip(np.sin(phase + 1.2), 0, None)
    poses[:, J["right_knee"], 0] = 0.6 * np.clip(-np.sin(phase + 1.2), 0, None)
    poses[:, J["left_shoulder"], 2] = -1.2 + 0.2 * np.sin(phase)
    poses[:, J["right_shoulder"], 2] = -1.0 - 0.6 * (1 + np.sin(2 * math.pi * t)) / 2  # wave
    step = 1.1 / 30.0
    heading = yaw - math.pi / 2
    trans = np.zeros((frames, 3), np.float32)
    trans[:, 0] = np.cumsum(step * np.cos(heading))
    trans[:, 1] = np.cumsum(step * np.sin(heading))
    trans[:, 2] = 0.99
    return joints_from_axis_angle(poses, trans)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=480)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--poses", type=int, default=64)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/render.json")
    args = ap.parse_args()

    from mclip import render as R

    joints = walk_and_wave(args.frames)
    cfg = R.RenderConfig(size=args.size)
    caption = "a person walks in a curve and waves with the right hand"
    T = args.frames
    rows = {}

    rows["layout_ms"] = 1e3 * median_time(lambda: R._Layout([joints], [caption], cfg, 1), args.runs)

    def raw():
        for _ in R.iter_frames(joints, caption, cfg):
            pass

    rows["raw_frames_per_s"] = T / median_time(raw, args.runs)
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        rows["mp4_frames_per_s"] = T / median_time(
            lambda: R.render(joints, d / "a.mp4", caption, config=cfg), args.runs)
        rows["mp4_bytes"] = (d / "a.mp4").stat().st_size
        rows["gif_input_frames_per_s"] = T / median_time(
            lambda: R.render(joints, d / "a.gif", caption, config=cfg), args.runs)
        rows["gif_bytes"] = (d / "a.gif").stat().st_size
        rows["png_sheet_ms"] = 1e3 * median_time(
            lambda: R.render(joints, d / "a.png", caption, config=cfg), args.runs)
    poses = joints[np.linspace(0, T - 1, args.poses).astype(int)]
    R.pose_images(poses[:1])  # build the cached floor background outside the timing
    rows["pose_images_per_s"] = args.poses / median_time(lambda: R.pose_images(poses, 224), args.runs)

    result = {
        "benchmark": "render",
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                    "processor": platform.processor() or platform.machine(),
                    # shared machine: other jobs slow every row; load shows how busy it was
                    "load_avg_1min_at_end": round(os.getloadavg()[0], 2)},
        "settings": {"size": args.size, "frames": T, "runs": args.runs, "poses": args.poses,
                     "statistic": "median"},
        "results": {k: round(v, 2) if isinstance(v, float) else v for k, v in rows.items()},
    }
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"render, {T} frames at {args.size}x{args.size} (median of {args.runs})")
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("layout (camera, background, projection)", f"{rows['layout_ms']:.1f} ms")
    table.add_row("raw RGB frames", f"{rows['raw_frames_per_s']:.0f} frames/s")
    table.add_row(".mp4 end to end", f"{rows['mp4_frames_per_s']:.0f} frames/s "
                  f"({rows['mp4_bytes'] / 1e3:.0f} kB)")
    table.add_row(".gif end to end", f"{rows['gif_input_frames_per_s']:.0f} frames/s "
                  f"({rows['gif_bytes'] / 1e3:.0f} kB)")
    table.add_row(".png 8-frame sheet", f"{rows['png_sheet_ms']:.0f} ms")
    table.add_row("pose_images 224 px", f"{rows['pose_images_per_s']:.0f} images/s")
    Console().print(table)
    atomic_write_json(result, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
