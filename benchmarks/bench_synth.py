"""Procedural corpus speed: clips per second in memory and written to disk.

Rows (CPU only):

- block (1 process):   ``compose.generate_block`` of 1024 mixed clips, median of --runs, clips/s
- corpus (--workers):  ``write_corpus`` of --n clips (default 100k) into a temp folder,
                       one run (it is long), clips/s and MB written; the folder is deleted

    python benchmarks/bench_synth.py [--n 100000] [--workers 2] [--runs 3]
                                     [--out benchmarks/results/synth.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/synth.json"))
    a = ap.parse_args()

    from mclip.data.synth import compose, write_corpus

    compose.generate_block(0, 0)                       # warm-up (imports, caches)
    times = []
    for r in range(a.runs):
        t = time.perf_counter()
        compose.generate_block(1, r + 1)
        times.append(time.perf_counter() - t)
    block_s = statistics.median(times)

    tmp = Path(tempfile.mkdtemp(prefix="bench_synth_"))
    try:
        t = time.perf_counter()
        write_corpus(tmp / "c", a.n, seed=0, workers=a.workers)
        corpus_s = time.perf_counter() - t
        mb = sum(f.stat().st_size for f in (tmp / "c").rglob("*") if f.is_file()) / 1e6
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    rows = [
        ("block 1024 clips, 1 process", f"{block_s:.2f} s", f"{compose.BLOCK / block_s:.0f} clips/s"),
        (f"corpus {a.n} clips, {a.workers} workers", f"{corpus_s:.1f} s", f"{a.n / corpus_s:.0f} clips/s"),
        ("corpus size on disk", f"{mb:.0f} MB", ""),
    ]
    for r in rows:
        print(f"{r[0]:<36} {r[1]:>10} {r[2]:>14}")
    result = {
        "benchmark": "synth", "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                    "load_avg_at_end": os.getloadavg()},
        "block_clips_per_s_1proc": compose.BLOCK / block_s, "block_runs_s": times,
        "corpus_n": a.n, "corpus_workers": a.workers, "corpus_seconds": corpus_s,
        "corpus_clips_per_s": a.n / corpus_s, "corpus_mb": mb,
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
