"""Start-up hygiene: `mclip --help` and `mclip X --help` never import torch, and the
installed console script works. Timings live in benchmarks/bench_startup.py, not here.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cli_commands
import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)


def console_script() -> str:
    found = cli_commands.console_script()
    if found is None:
        pytest.fail("the `mclip` console script is not installed (pip install -e .)")
    return found


def test_cli_import_does_not_import_torch():
    r = run_python("import mclip.cli; import sys; assert 'torch' not in sys.modules")
    assert r.returncode == 0, r.stderr


def test_package_import_is_light_and_engine_is_lazy():
    r = run_python(
        "import sys, mclip\n"
        "assert 'torch' not in sys.modules and 'mclip.engine' not in sys.modules\n"
        "try:\n"
        "    mclip.NoSuchThing\n"
        "except AttributeError:\n"
        "    pass\n"
        "else:\n"
        "    raise SystemExit('expected AttributeError')\n"
        "assert 'mclip.engine' not in sys.modules\n"
        "print(mclip.__version__)\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip()


@pytest.mark.skipif(not (ROOT / "mclip" / "engine.py").exists(), reason="engine not written yet")
def test_engine_attribute_imports_the_engine():
    r = run_python("import sys, mclip\nE = mclip.Engine\n"
                   "assert E.__module__ == 'mclip.engine', E.__module__\n"
                   "from mclip import Engine\nassert Engine is E\n")
    assert r.returncode == 0, r.stderr


def test_console_script_help():
    r = subprocess.run([console_script(), "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "Usage" in r.stdout and "mclip" in r.stdout
    assert "Traceback" not in r.stderr


def test_every_command_help_without_torch():
    """Walk the Typer app and run `<command> --help` for each, in one fresh process."""
    code = r'''
import contextlib, io, json, sys
sys.path.insert(0, "tests")
from cli_commands import command_paths   # every command and group (a group has its own --help)
from mclip.cli import main

report = []
for path in command_paths():
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        try:
            main(list(path) + ["--help"])
            code = 0
        except SystemExit as e:
            code = e.code or 0
    report.append({"cmd": " ".join(path), "code": code, "usage": "Usage" in out.getvalue(),
                   "torch": "torch" in sys.modules})
print(json.dumps(report))
'''
    r = run_python(code)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert len(report) >= 1
    bad = [x for x in report if x["code"] != 0 or not x["usage"]]
    assert not bad, bad
    heavy = [x["cmd"] for x in report if x["torch"]]
    assert not heavy, f"`mclip {heavy[0]} --help` imported torch (import it inside the command)"


@pytest.mark.parametrize("args", [["--no-such-option"], ["no-such-command"]])
def test_usage_errors_are_one_message_not_a_traceback(args):
    r = subprocess.run([console_script(), *args], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "Error" in r.stderr or "error" in r.stderr


def test_version_flag_prints_the_package_version_without_torch():
    import mclip

    r = run_python("import sys\nfrom mclip.cli import main\n"
                   "try:\n    main(['--version'])\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n"
                   "assert 'torch' not in sys.modules\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"mclip {mclip.__version__}"


def test_python_dash_m_mclip_is_the_command_line():
    """``python -m mclip`` (and so ``torchrun -m mclip train``) is the same CLI; the
    training module does not import the CLI (no cycle)."""
    from mclip import __version__

    out = subprocess.run([sys.executable, "-m", "mclip", "--version"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"mclip {__version__}"
    code = "import sys, mclip.train; print('mclip.cli' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr
