"""The `mclip` command line: thin wrappers that parse arguments and call the package.

Import nothing heavy at module level (torch, imageio, open_clip): `mclip --help`
and `mclip X --help` must answer fast. Each command imports what it needs inside.
Errors: raise `MclipError`; `main()` turns it into one line on stderr and exit code 2.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from .errors import MclipError

app = typer.Typer(
    name="mclip",
    help="Generate, edit and classify 3D human motion from language (after MotionCLIP).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Build and inspect training data.", no_args_is_help=True)
app.add_typer(data_app, name="data")


def _echo_json(obj) -> None:
    import json

    typer.echo(json.dumps(obj, indent=2))


# ---------------------------------------------------------------- motion files


# ---------------------------------------------------------------- data


# ---------------------------------------------------------------- training


# ---------------------------------------------------------------- applications


# ---------------------------------------------------------------- evaluation


def main(argv: Optional[List[str]] = None) -> None:
    """Console entry point: run the app, turning user errors into one line + exit 2."""
    try:
        app(args=argv, standalone_mode=False)
    except MclipError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as e:  # click usage errors and the like
        import click

        if isinstance(e, click.exceptions.ClickException):
            e.show()
            sys.exit(e.exit_code)
        if isinstance(e, click.exceptions.Abort):
            typer.echo("aborted", err=True)
            sys.exit(130)
        raise


if __name__ == "__main__":
    main()
