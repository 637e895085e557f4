"""Training throughput: clips per second of a full MotionCLIP training step.

A step is what ``mclip.train`` does per batch: forward (encode + decode), the eq. (4)
loss (6D MSE, velocity MSE, skeleton forward kinematics for the position MSE, text
cosine), backward and an AdamW update. The clips are random 60-frame features and the
text embeddings random unit vectors, so the numbers do not depend on any corpus or
backbone being present. Medians over --steps timed steps after --warmup.

    python benchmarks/bench_train.py [--configs default-cpu,paper] [--batch 32]
                                     [--threads 1,2] [--steps 10] [--device auto]

The machine's 2 cores are shared: the JSON records the load average, and numbers
taken under load are lower bounds.
                                     [--out benchmarks/results/train.json]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from mclip.atomic import atomic_write_json

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from mclip.losses import motionclip_loss  # noqa: E402
from mclip.model import MotionCLIP, load_model_config  # noqa: E402
from mclip.representation import to_features  # noqa: E402
from mclip.rotations import axis_angle_to_matrix  # noqa: E402


def random_batch(batch: int, frames: int, latent: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Plausible features (small random joint angles, upright root) and text embeddings."""
    g = torch.Generator().manual_seed(0)
    aa = 0.3 * torch.randn(batch, frames, 24, 3, generator=g)
    aa[..., 0, :] = torch.tensor([1.5708, 0.0, 0.0])
    trans = torch.cumsum(0.02 * torch.randn(batch, frames, 3, generator=g), dim=1)
    x = to_features(axis_angle_to_matrix(aa), trans)
    text = torch.nn.functional.normalize(torch.randn(batch, latent, generator=g), dim=-1)
    return x.to(device), text.to(device)


def bench_config(name: str, batch: int, steps: int, warmup: int, device) -> dict:
    cfg = load_model_config(name)
    model = MotionCLIP(cfg).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    x, text = random_batch(batch, cfg.num_frames, cfg.latent_dim, device)
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        pred, z = model(x)
        loss = motionclip_loss(pred, x, z, text)["total"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    step = statistics.median(times)
    return {"config": name, "params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
            "batch": batch, "step_s": round(step, 4), "clips_per_s": round(batch / step, 1),
            "steps_timed": steps}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default="default-cpu,paper")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", default="1,2", help="comma list of torch thread counts to try")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "train.json"))
    args = ap.parse_args()
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                          else ("cpu" if args.device == "auto" else args.device))

    rows = []
    for threads in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(threads)
        for c in args.configs.split(","):
            rows.append({**bench_config(c, args.batch, args.steps, args.warmup, device),
                         "threads": threads})
    print(f"training throughput on {device}, median of {args.steps} steps, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'config':<14}{'threads':>8}{'params (M)':>11}{'batch':>7}{'step (s)':>10}{'clips/s':>9}")
    for r in rows:
        print(f"{r['config']:<14}{r['threads']:>8}{r['params_m']:>11}{r['batch']:>7}"
              f"{r['step_s']:>10}{r['clips_per_s']:>9}")
    atomic_write_json({
        "benchmark": "train",
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": str(device),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),  # the 2 cores are shared
        "torch": torch.__version__,
        "results": rows,
    }, Path(args.out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
