"""What every benchmark script shares: writing its results file.

The scripts run as ``python benchmarks/bench_X.py``, so this folder is on sys.path.
"""
from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from mclip.motion_io import atomic_write


def atomic_write_json(obj, path: Path) -> None:
    """Write ``obj`` as indented JSON to ``path``; the file appears only when complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=2)
        fh.write("\n")


def median_time(fn, runs: int) -> float:
    """Median wall seconds of ``fn()`` over ``runs`` calls."""
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)
