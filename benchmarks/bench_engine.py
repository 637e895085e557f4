"""Engine speed: cold start, warm text2motion latency, batch throughput, and the
other applications' latency, on whatever checkpoint exists.

Checkpoint: ``--weights PATH``; ``--config NAME`` for an untrained model of a shipped
architecture (speed only); else the shipped ``weights/mclip-default.pt`` (or
``$MCLIP_WEIGHTS``), else a tiny model (1+1 layers, d_model 32) trained on the spot
with tests/tiny_model.py -- the JSON says which (``checkpoint.kind``), because the
decoder's size changes every number but the cold start's backbone part.

- cold start: a fresh ``python -c`` process from start to its first motion in memory
  (imports, checkpoint, MiniLM/CLIP backbone, one text2motion), and the same through
  the CLI up to a written ``.npz`` (``mclip text2motion ... -o x.npz``); medians.
- warm latency: one prompt per call (a new prompt each time, so the text encoder runs).
- batch throughput: ``text2motion`` on N prompts at once, motions per second.
- classify / edit / encode latency on a 150-frame (5 s) motion.

    python benchmarks/bench_engine.py [--weights W] [--device cpu] [--runs 5]
                                      [--out benchmarks/results/engine.json]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # tiny_model, for the fallback checkpoint

from _common import print_rows_and_write  # noqa: E402


def pick_checkpoint(weights: str | None, workdir: Path, config: str | None = None
                    ) -> tuple[Path, str]:
    from mclip.engine import default_weights_path

    if weights:
        return Path(weights), "given"
    if config:
        # Speed does not depend on what the weights learned: an untrained model of the
        # shipped architecture times exactly like the trained one.
        import torch

        from mclip.checkpoint import save_checkpoint
        from mclip.model import create_model, load_model_config

        torch.manual_seed(0)
        cfg = load_model_config(config)
        return (save_checkpoint(workdir / "untrained.pt", create_model(cfg), cfg),
                f"untrained '{config}' architecture (speed only)")
    p = default_weights_path()
    if p.is_file():
        return p, "shipped"
    from tiny_model import train_tiny_checkpoint

    print("no shipped weights: training the tiny test model for the benchmark", file=sys.stderr)
    return train_tiny_checkpoint(workdir / "tiny.pt"), "tiny (1+1 layers, d_model 32; shipped weights absent)"


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def summary(times: list[float]) -> dict:
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "runs": len(times)}


def cold_start(ckpt: Path, device: str, runs: int, workdir: Path) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    py = (f"from mclip import Engine; e = Engine({str(ckpt)!r}, device={device!r}); "
          f"e.text2motion(['a person walks forward'])")
    api = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", py], check=True, env=env, capture_output=True)
        api.append(time.perf_counter() - t)
    cli = []
    for i in range(runs):
        out = workdir / f"cold{i}.npz"
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mclip", "text2motion", "a person walks forward",
                        "-o", str(out), "--weights", str(ckpt), "--device", device],
                       check=True, env=env, capture_output=True)
        cli.append(time.perf_counter() - t)
        assert out.is_file()
    return {"api_first_motion": summary(api), "cli_first_npz": summary(cli)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights")
    ap.add_argument("--config", help="time an untrained model of this config (e.g. default-cpu) "
                                     "instead of a checkpoint")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "engine.json"))
    args = ap.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from mclip import Engine
    from mclip.motion_io import Motion
    from tiny_model import make_clip

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        ckpt, kind = pick_checkpoint(args.weights, workdir, args.config)
        cold = cold_start(ckpt, args.device, max(1, args.runs // 2 + 1), workdir)

        t = time.perf_counter()
        eng = Engine(ckpt, device=args.device)
        load_s = time.perf_counter() - t                 # includes the backbone, unless
        t = time.perf_counter()                          # the tiny model was trained here
        eng = Engine(ckpt, device=args.device)
        reload_s = time.perf_counter() - t               # backbone shared in the process
        eng.text2motion(["warm-up"])                     # first-call allocations

        counter = iter(range(10 ** 9))
        warm = timed(lambda: eng.text2motion([f"a person walks forward {next(counter)}"]), args.runs * 4)
        prompts = [f"prompt number {i}: someone dances" for i in range(args.batch)]
        batch_times = []
        for r in range(args.runs):
            eng._text_cache.clear()                      # include the text encoder every run
            t = time.perf_counter()
            eng.text2motion([p + f" {r}" for p in prompts])
            batch_times.append(time.perf_counter() - t)
        long = make_clip("walk", 0, frames=150)
        long = Motion(long.poses, long.trans, 30.0)
        classify = timed(lambda: eng.classify(long, "babel60", top_k=5), args.runs)
        edit = timed(lambda: eng.edit(long, add=["proud"], scale=0.5), args.runs)
        encode = timed(lambda: eng.encode([long]), args.runs)

    med_batch = statistics.median(batch_times)
    results = {
        "benchmark": "engine",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "torch": torch.__version__, "threads": torch.get_num_threads(),
                    "device": args.device, "cpu_count": os.cpu_count()},
        "checkpoint": {"path": str(ckpt) if kind in ("given", "shipped") else "(temporary)", "kind": kind,
                       "backbone": eng.config.backbone, "d_model": eng.config.d_model,
                       "layers": [eng.config.enc_layers, eng.config.dec_layers]},
        "cold_start": cold,
        "engine_load_first_in_process_s": load_s,
        "engine_load_again_s": reload_s,
        "load_average_1m_before_after": [load_before, os.getloadavg()[0]],
        "warm_text2motion_latency": summary(warm),
        "batch": {"prompts": args.batch, **summary(batch_times),
                  "motions_per_s": args.batch / med_batch},
        "classify_150f_babel60": summary(classify),
        "edit_150f": summary(edit),
        "encode_150f": summary(encode),
    }
    rows = [
        ("cold start, API: process -> first motion", cold["api_first_motion"]["median_s"], "s"),
        ("cold start, CLI: process -> first .npz", cold["cli_first_npz"]["median_s"], "s"),
        ("engine load, first in process", load_s, "s"),
        ("engine load, again (backbone shared)", reload_s, "s"),
        ("warm text2motion, 1 prompt", results["warm_text2motion_latency"]["median_s"] * 1e3, "ms"),
        (f"batch text2motion, {args.batch} prompts", med_batch, "s"),
        ("batch throughput", results["batch"]["motions_per_s"], "motions/s"),
        ("classify 5 s motion vs babel60", results["classify_150f_babel60"]["median_s"] * 1e3, "ms"),
        ("edit 5 s motion (4 windows)", results["edit_150f"]["median_s"] * 1e3, "ms"),
        ("encode 5 s motion", results["encode_150f"]["median_s"] * 1e3, "ms"),
    ]
    print(f"checkpoint: {kind} ({eng.config.backbone}, d_model {eng.config.d_model}, "
          f"{eng.config.enc_layers}+{eng.config.dec_layers} layers), device {args.device}, "
          f"{torch.get_num_threads()} threads, load average {load_before:.1f} on "
          f"{os.cpu_count()} cores; medians")
    print_rows_and_write(rows, results, args.out, name_width=45, value_width=10)


if __name__ == "__main__":
    main()
