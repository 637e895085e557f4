"""What every benchmark script shares: timing a call (results are written with
``mclip.atomic.atomic_write_json``).

The scripts run as ``python benchmarks/bench_X.py``, so this folder is on sys.path.
"""
from __future__ import annotations

import statistics
import time


def median_time(fn, runs: int) -> float:
    """Median wall seconds of ``fn()`` over ``runs`` calls."""
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)
