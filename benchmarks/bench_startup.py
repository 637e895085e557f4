"""CLI start-up time: `mclip --help` and `mclip <command> --help` against `import torch`.

Each row runs a fresh process N times (default 7, after one untimed warm-up so the file
cache is warm) and reports the median wall time. Commands are discovered from the Typer
app, so new commands are covered without editing this file.

    python benchmarks/bench_startup.py [--runs 7] [--out benchmarks/results/startup.json]
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from mclip.atomic import atomic_write_json

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # cli_commands, shared with tests/test_startup.py

from cli_commands import command_paths, console_script  # noqa: E402


def time_process(argv: list[str], runs: int) -> dict:
    """Median/min/max wall seconds of `argv` over `runs` runs (plus one warm-up)."""
    times = []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
        dt = time.perf_counter() - t0
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {r.returncode}: {r.stderr.decode()[-500:]}")
        if i > 0:
            times.append(dt)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "startup.json")
    args = ap.parse_args()

    mclip = console_script()
    if mclip is None:
        sys.exit("`mclip` is not installed: pip install -e .")
    py = sys.executable
    rows = [
        ("python -c pass", [py, "-c", "pass"]),
        ("python -c 'import torch'", [py, "-c", "import torch"]),
        ("mclip --help", [mclip, "--help"]),
    ]
    rows += [(f"mclip {' '.join(p)} --help", [mclip, *p, "--help"]) for p in command_paths()]
    shim = shutil.which("mclip")
    if shim and Path(shim).resolve() != Path(mclip).resolve():
        rows.append(("mclip --help (via PATH shim)", [shim, "--help"]))

    results = []
    print(f"{'command':<40} {'median ms':>10} {'min ms':>8} {'max ms':>8}")
    for name, argv in rows:
        r = {"name": name, **time_process(argv, args.runs)}
        results.append(r)
        print(f"{name:<40} {r['median_s'] * 1e3:>10.0f} {r['min_s'] * 1e3:>8.0f} "
              f"{r['max_s'] * 1e3:>8.0f}", flush=True)

    by_name = {r["name"]: r["median_s"] for r in results}
    help_rows = [r for r in results if r["name"].startswith("mclip ") and "shim" not in r["name"]]
    summary = {
        "torch_import_median_s": by_name["python -c 'import torch'"],
        "mclip_help_median_s": by_name["mclip --help"],
        "slowest_help": max(help_rows, key=lambda r: r["median_s"])["name"],
        "slowest_help_median_s": max(r["median_s"] for r in help_rows),
    }
    print(f"\nslowest: {summary['slowest_help']} {summary['slowest_help_median_s'] * 1e3:.0f} ms; "
          f"import torch alone {summary['torch_import_median_s'] * 1e3:.0f} ms")
    atomic_write_json({
        "benchmark": "startup",
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "runs": args.runs,
        "statistic": "median wall seconds of a fresh process, after 1 untimed warm-up",
        "summary": summary,
        "results": results,
    }, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
