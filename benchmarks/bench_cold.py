"""Cold start of the commands users run from scripts (issue #15): one fresh process per
call, as a batch job or CI runs mclip, against `python -c "import torch"` measured in the
same run, alternating, so the ratios hold on a loaded machine.

Rows: text2motion to a .npz, classify --labels babel60, encode a motion, and search over
a 20-file library whose latents are already cached (their texts were embedded once, by
an untimed warm-up, so they come from the text-embedding cache), and text2motion of a
prompt never embedded (the text encoder loads); each with its median wall time, the
ratio to `import torch` and the peak resident memory of the process (MiB).

    python benchmarks/bench_cold.py [--runs 3] [--out benchmarks/results/cold.json]
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from mclip.atomic import atomic_write_json

ROOT = Path(__file__).resolve().parents[1]


def run(cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one fresh process; it must succeed."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}): {err.strip()[-300:]}")
    return wall, usage.ru_maxrss / 1024.0          # Linux: ru_maxrss in KiB


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "cold.json"))
    args = ap.parse_args()

    mclip = shutil.which("mclip") or sys.exit("mclip is not installed (pip install -e .)")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env["MCLIP_CACHE"] = str(tmp / "mclip-cache")   # text embeddings: this run's own
        lib = tmp / "library"
        lib.mkdir()
        for i in range(20):
            src = ROOT / "examples" / ("wave.npz" if i % 2 else "tpose.npz")
            shutil.copy(src, lib / f"clip{i:02d}.npz")
        cache = tmp / "cache"
        search = [mclip, "search", "someone waving", "--library", str(lib), "--cache-dir", str(cache)]
        run(search, env)                                # fills the latent cache once
        commands = {
            "import torch": [sys.executable, "-c", "import torch"],
            "text2motion -o x.npz": [mclip, "text2motion", "a person walks", "-o", str(tmp / "w.npz"), "--seed", "0"],
            "classify --labels babel60": [mclip, "classify", str(ROOT / "examples" / "wave.npz"), "--labels", "babel60"],
            "encode a motion": [mclip, "encode", str(ROOT / "examples" / "wave.npz"), "-o", str(tmp / "z.npy")],
            "search, cached 20-file library": search,
        }
        for cmd in commands.values():                   # warm the file cache, untimed
            run(cmd, env)
        # a prompt no run has embedded yet: the text encoder must load (the others read
        # their prompt or labels from the text-embedding cache the warm-up filled)
        fresh = "text2motion, a new prompt"
        commands[fresh] = None
        walls = {k: [] for k in commands}
        rss = {k: [] for k in commands}
        for i in range(args.runs):                      # alternate, so load hits all alike
            for name, cmd in commands.items():
                if cmd is None:
                    cmd = [mclip, "text2motion", f"a person walks, take {i}", "-o",
                           str(tmp / "w2.npz"), "--seed", "0"]
                w, m = run(cmd, env)
                walls[name].append(w)
                rss[name].append(m)
    torch_s = statistics.median(walls["import torch"])
    rows = {name: {"median_s": statistics.median(walls[name]),
                   "ratio_to_import_torch": statistics.median(walls[name]) / torch_s,
                   "peak_rss_mib": max(rss[name]), "runs": walls[name]} for name in commands}
    print(f"{platform.node()}: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
          f"medians of {args.runs}, fresh process each")
    print(f"  {'command':<34} {'wall':>8} {'x torch':>8} {'peak RSS':>10}")
    for name, r in rows.items():
        print(f"  {name:<34} {r['median_s']:7.2f}s {r['ratio_to_import_torch']:7.2f}x "
              f"{r['peak_rss_mib']:7.0f} MiB")
    out = Path(args.out)
    atomic_write_json({
        "benchmark": "cold", "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpu_count": os.cpu_count(), "load_average_1m": os.getloadavg()[0]},
        "runs": args.runs, "commands": rows}, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
