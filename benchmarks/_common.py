"""What every benchmark script shares: writing its results file.

The scripts run as ``python benchmarks/bench_X.py``, so this folder is on sys.path.
"""
from __future__ import annotations

import json
from pathlib import Path

from mclip.motion_io import atomic_write


def atomic_write_json(obj, path: Path) -> None:
    """Write ``obj`` as indented JSON to ``path``; the file appears only when complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=2)
        fh.write("\n")
