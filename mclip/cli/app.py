"""The Typer app every command registers on, and what the commands share: JSON
output, loading the engine, progress bars, the checks made before a model loads, and
SIGTERM handling. Nothing heavy is imported here (``mclip --help`` stays fast)."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer

from ..errors import MclipError

app = typer.Typer(
    name="mclip",
    help="Generate, edit and classify 3D human motion from language (after MotionCLIP).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Build and inspect training data.", no_args_is_help=True)
app.add_typer(data_app, name="data")


def print_version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"mclip {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=print_version, is_eager=True,
                                       help="Print mclip's version and exit.")) -> None:
    """Generate, edit and classify 3D human motion from language (after MotionCLIP)."""


LOADED: dict = {}   # the engine this command loaded (one command per process)

# Bounds of numeric options (checked by the parser, shown in --help), chosen so that a
# request's memory stays bounded: a video of MAX_FRAMES at MAX_FPS is a few GB at most.
MAX_SEED = 2 ** 63 - 1
MAX_FPS = 240.0
MAX_FRAMES = 6000       # 200 s at 30 fps; the engine narrows it to what the model allows


def echo_json(obj) -> None:
    """Print ``obj`` as JSON; a dict also gets mclip's version and, when a model was
    loaded, the checkpoint's path and sha256, so a script's output says what made it."""
    import json

    from .. import __version__

    if isinstance(obj, dict):
        obj = {**obj, "mclip_version": __version__}
        engine = LOADED.get("engine")
        if engine is not None:
            obj["checkpoint"] = {"path": str(engine.weights_path), "sha256": engine.checkpoint_id}
    try:
        text = json.dumps(obj, indent=2, allow_nan=False)
    except ValueError:    # NaN is not JSON: a result that holds one is not printed half-valid
        raise MclipError("the result holds NaN or infinite values; nothing was printed") from None
    typer.echo(text)


WEIGHTS_HELP = ("Model checkpoint (.pt). Default: $MCLIP_WEIGHTS, else the shipped "
                "weights/mclip-default.pt.")
DEVICE_HELP = "cpu or cuda (default: cuda when present)."
OUT_HELP = ("Output: .mp4/.gif/.png (render) or .html (3D viewer page), plus .npz SMPL "
            "motion and .npy joints beside it; .npz/.npy/.bvh (just that file); or a folder/ "
            "(one file set per result and index.json).")


def load_engine(weights: Optional[Path], device: Optional[str]):
    """Load the model + text backbone once, with a spinner on stderr."""
    from rich.console import Console

    from ..engine import Engine

    with Console(stderr=True).status("loading model..."):
        LOADED["engine"] = Engine(weights=weights, device=device)
    return LOADED["engine"]


@contextmanager
def progress(total: Optional[int], description: str, enabled: bool = True):
    """``progress.progress_bar`` whose every update is also a SIGTERM safe point. Yields
    ``update(done, total=None)``."""
    from ..progress import progress_bar

    with progress_bar(description, total, enabled=enabled) as shown:
        def update(done, tot=None):
            stop_if_terminated()
            shown(done, tot)

        yield update


def check_motion_args(*items) -> None:
    """Fail fast (before the model loads) on motion files that are not there."""
    from ..engine import is_motion_ref

    for item in items:
        if item is not None and is_motion_ref(item) and not Path(str(item)).is_file():
            raise MclipError(f"{item}: no such file")


def check_extend(extend: str) -> None:
    if extend not in ("loop", "extrapolate"):
        raise MclipError(f"--extend {extend}: choose loop or extrapolate")


def report(paths, as_json: bool, extra: Optional[dict] = None) -> None:
    files = [str(p) for p in paths]
    if as_json:
        echo_json({**(extra or {}), "files": files})
    else:
        typer.echo("wrote " + ", ".join(files))


class Terminated(BaseException):
    """SIGTERM (``timeout``, ``kill``, a CI runner stopping a job), raised in the main
    thread like Ctrl-C's KeyboardInterrupt so the same clean-up runs: temp files go,
    batches keep what finished, an ffmpeg child is closed."""


SIGTERM_SEEN: list = []   # set by the handler, for the rare raise Python swallows


def on_sigterm(signum, frame) -> None:
    SIGTERM_SEEN.append(signum)
    raise Terminated()


def stop_if_terminated() -> None:
    """A safe point (every progress update): a SIGTERM whose exception was swallowed
    (it landed in a fork handler or a finaliser, where Python ignores exceptions)
    still stops the command here."""
    if SIGTERM_SEEN:
        raise Terminated()
