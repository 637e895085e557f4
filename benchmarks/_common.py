"""What the benchmark scripts share: timing a call, printing a table of (name, value,
unit) rows and writing the results file (``mclip.atomic.atomic_write_json``).

The scripts run as ``python benchmarks/bench_X.py``, so this folder is on sys.path.
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path

from mclip.atomic import atomic_write_json


def median_time(fn, runs: int) -> float:
    """Median wall seconds of ``fn()`` over ``runs`` calls."""
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def print_rows_and_write(rows: list[tuple[str, float, str]], results: dict, out,
                         name_width: int = 42, value_width: int = 9) -> None:
    """Print ``rows`` as an indented table (values to two decimals), then write
    ``results`` atomically to ``out`` as JSON and say so."""
    for name, value, unit in rows:
        print(f"  {name:<{name_width}} {value:{value_width}.2f} {unit}")
    atomic_write_json(results, Path(out))
    print(f"wrote {out}")
