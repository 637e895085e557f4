"""What the latent sampler adds to text2motion, warm, per prompt (issue #13: <= 10 ms on
one CPU core at the default number of steps, batched over prompts).

For a batch of prompts whose text embeddings are already cached, the time of
``Engine.text_latents`` with the sampler at several step counts, against the direct
path (paper 4.2: the prompt's own direction) measured in the same run, and the whole
``text2motion`` (latents + decoder) both ways. Medians over ``--runs``.

Checkpoint: ``--weights PATH`` (it must hold a sampler) or the shipped weights; when
that has no sampler, an untrained one of the shipped config (``mclip/configs/prior/default.json``)
is put beside its auto-encoder: speed does not depend on what the weights learned.

    python benchmarks/bench_sampler.py [--weights W] [--threads 1] [--batch 64] [--runs 7]
                                       [--out benchmarks/results/sampler.json]
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from _common import median_time, print_rows_and_write

ROOT = Path(__file__).resolve().parents[1]


def with_sampler(weights: str | None, workdir: Path) -> tuple[Path, str]:
    """A checkpoint that has a sampler: the given/shipped one, or it plus an untrained one."""
    import torch

    from mclip.checkpoint import load_checkpoint, save_checkpoint
    from mclip.engine import resolve_weights
    from mclip.prior import LatentPrior, load_prior_config

    path = resolve_weights(weights)
    model, cfg, meta = load_checkpoint(path)
    if "prior" in meta:
        return path, "given" if weights else "shipped"
    torch.manual_seed(0)
    pcfg = load_prior_config("default")
    pcfg.latent_dim = cfg.latent_dim
    out = save_checkpoint(workdir / "with-prior.pt", model, cfg, prior=LatentPrior(pcfg), prior_cfg=pcfg)
    return out, f"{path.name} + untrained sampler of the shipped config (speed only)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "sampler.json"))
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from mclip import Engine

    with tempfile.TemporaryDirectory() as tmp:
        ckpt, kind = with_sampler(args.weights, Path(tmp))
        eng = Engine(ckpt, device="cpu")
    prompts = [f"prompt number {i}: someone dances" for i in range(args.batch)]
    eng.embed_texts(prompts)                                   # the text encoder, once
    n, runs = args.batch, args.runs
    direct = median_time(lambda: eng.text_latents(prompts, sampler="direct", seed=0), runs)
    default_steps = eng.prior.cfg.sample_steps
    rows, per_steps = [], {}
    for steps in sorted({4, 8, default_steps, 32}):
        t = median_time(lambda: eng.text_latents(prompts, sampler="prior", seed=0, steps=steps), runs)
        per_steps[steps] = {"median_s": t, "added_ms_per_prompt": (t - direct) / n * 1e3}
        rows.append((f"sampler latents, {steps} steps{' (default)' if steps == default_steps else ''}",
                     (t - direct) / n * 1e3, "ms/prompt added"))
    t2m_direct = median_time(lambda: eng.text2motion(prompts, sampler="direct"), runs)
    t2m_prior = median_time(lambda: eng.text2motion(prompts, sampler="prior", seed=0), runs)
    rows += [("text2motion, direct path", t2m_direct / n * 1e3, "ms/prompt"),
             ("text2motion, sampler (default steps)", t2m_prior / n * 1e3, "ms/prompt"),
             ("  sampled / direct", t2m_prior / t2m_direct, "x")]
    results = {
        "benchmark": "sampler",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "torch": torch.__version__, "threads": torch.get_num_threads(),
                    "cpu_count": os.cpu_count(), "load_average_1m": os.getloadavg()[0]},
        "checkpoint": {"kind": kind, "d_model": eng.config.d_model,
                       "prior": eng.prior.cfg.to_dict()},
        "prompts": n, "runs": runs,
        "direct_latents_s": direct,
        "sampler_latents": {str(k): v for k, v in per_steps.items()},
        "text2motion_s": {"direct": t2m_direct, "sampler": t2m_prior, "ratio": t2m_prior / t2m_direct},
    }
    print(f"checkpoint: {kind}; {n} prompts a batch, {torch.get_num_threads()} thread(s), "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; medians of {runs}")
    print_rows_and_write(rows, results, args.out)


if __name__ == "__main__":
    sys.exit(main())
