"""The installed ``mclip`` script and every command of the CLI: what the start-up test
(tests/test_startup.py) and benchmark (benchmarks/bench_startup.py) both need."""
from __future__ import annotations

import shutil
import sysconfig
from pathlib import Path


def console_script() -> str | None:
    """The ``mclip`` script pip installed next to this python (no pyenv shim in between),
    else the one on PATH; None when there is neither."""
    here = Path(sysconfig.get_path("scripts")) / "mclip"
    if here.is_file():
        return str(here)
    return shutil.which("mclip")


def command_paths() -> list[tuple[str, ...]]:
    """Every command and group of the CLI, e.g. [("info",), ("data",), ("data", "synth")]."""
    import typer.main

    from mclip.cli import app

    out: list[tuple[str, ...]] = []

    def walk(cmd, path):
        if path:
            out.append(path)
        for name, sub in (getattr(cmd, "commands", None) or {}).items():
            walk(sub, path + (name,))

    walk(typer.main.get_command(app), ())
    return out
