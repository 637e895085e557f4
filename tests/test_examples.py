"""examples/batch.sh runs as a CI job would: a folder of results, an index, one report."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _prompts() -> list[str]:
    lines = (EXAMPLES / "prompts.txt").read_text().splitlines()
    return [l.strip() for l in lines if l.strip() and not l.strip().startswith("#")]


@pytest.mark.slow
def test_batch_script_end_to_end(tmp_path, tiny_checkpoint):
    # `mclip` as the user's shell finds it, bound to this interpreter
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "mclip"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m mclip "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "MCLIP_WEIGHTS": str(tiny_checkpoint), "OMP_NUM_THREADS": "1"}
    out = tmp_path / "motions"
    proc = subprocess.run(["bash", str(EXAMPLES / "batch.sh"), str(out)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    prompts = _prompts()
    index = json.loads((out / "index.json").read_text())
    assert [item["text"] for item in index["items"]] == prompts
    report = json.loads((out / "classify.json").read_text())
    assert len(report) == len(prompts)
    for item, rep in zip(index["items"], report):
        mp4 = next(f for f in item["files"] if f.endswith(".mp4"))
        assert len(iio.imread(out / mp4)) == 60                  # 2 s at 30 fps
        assert rep["motion"].endswith(".npz") and len(rep["top"]) == 1
    assert f"done: {len(prompts)} motions" in proc.stdout
