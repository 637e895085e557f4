"""Data-path speed: feature conversion, dataset opening, batching, text embeddings.

Rows (medians over --runs; random clips of 60 frames, so the numbers do not depend on
any corpus being present):

- features:     ``representation.motion_to_features`` (axis-angle -> canonical 25x6), clips/s
- write:        ``write_dataset`` of --clips clips, clips/s
- open:         ``ClipDataset(dir)`` (read shards + canonicalize + features), clips/s
- batches:      DataLoader(batch 64, collate) over the dataset, clips/s
- minilm load:  first ``load_backbone("minilm")`` in this process, s (measured once)
- minilm encode: 512 distinct short texts, texts/s; and one text, ms
- cache hit:    ``TextEmbeddingCache.get`` of 512 texts already cached, ms

    python benchmarks/bench_data.py [--clips 5000] [--runs 3] [--threads 1]
                                    [--out benchmarks/results/data.json]
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from _common import median_time
from mclip.atomic import atomic_write_json

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def random_clips(n: int, frames: int = 60, seed: int = 0):
    rng = np.random.default_rng(seed)
    poses = rng.normal(0, 0.3, size=(n, frames, 72)).astype(np.float32)
    trans = np.cumsum(rng.normal(0, 0.02, size=(n, frames, 3)), axis=1).astype(np.float32)
    records = [{"text": f"motion {i % 500}", "action": f"a{i % 20}",
                "split": "val" if i % 10 == 0 else "train"} for i in range(n)]
    return poses, trans, records


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "data.json")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from mclip.backbones import TextEmbeddingCache, load_backbone
    from mclip.data.dataset import ClipDataset, collate, write_dataset
    from mclip.representation import motion_to_features

    n = args.clips
    poses, trans, records = random_clips(n)
    rows = []

    def row(name, value, unit, note=""):
        rows.append({"name": name, "value": value, "unit": unit, "note": note})
        print(f"{name:<28} {value:>12.1f} {unit:<8} {note}", flush=True)

    print(f"{'row':<28} {'median':>12} {'unit':<8}")
    k = min(n, 2048)
    s = median_time(lambda: motion_to_features(poses[:k], trans[:k]), args.runs)
    row("features", k / s, "clips/s", f"{k} clips at once")

    with tempfile.TemporaryDirectory() as tmp:
        i = [0]

        def write():
            i[0] += 1
            write_dataset(Path(tmp) / f"d{i[0]}", poses, trans, records)

        s = median_time(write, args.runs)
        row("write", n / s, "clips/s", f"{n} clips")
        d = Path(tmp) / "d1"
        s = median_time(lambda: ClipDataset(d, split=None), args.runs)
        row("open", n / s, "clips/s", f"{n} clips, all splits")
        ds = ClipDataset(d, split=None)

        def batches():
            loader = torch.utils.data.DataLoader(ds, batch_size=64, shuffle=True, collate_fn=collate)
            for _ in loader:
                pass

        s = median_time(batches, args.runs)
        row("batches", n / s, "clips/s", "DataLoader batch 64, 0 workers")

    t0 = time.perf_counter()
    backbone = load_backbone("minilm")
    row("minilm load", time.perf_counter() - t0, "s", "cold, once per process")
    texts = [f"a person does action number {i} slowly" for i in range(512)]
    backbone.encode_text(texts[:8])  # warm-up
    s = median_time(lambda: backbone.encode_text(texts), args.runs)
    row("minilm encode", len(texts) / s, "texts/s", "512 texts")
    s = median_time(lambda: backbone.encode_text(["a person walks"]), max(args.runs, 5))
    row("minilm encode one", s * 1e3, "ms", "1 text")
    with tempfile.TemporaryDirectory() as tmp:
        cache = TextEmbeddingCache(tmp, backbone)
        cache.get(texts)
        s = median_time(lambda: cache.get(texts), max(args.runs, 5))
        row("cache hit", s * 1e3, "ms", "512 cached texts")

    atomic_write_json({
        "benchmark": "data",
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "threads": args.threads,
        "clips": n,
        "runs": args.runs,
        "statistic": "median over runs",
        "results": rows,
    }, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
