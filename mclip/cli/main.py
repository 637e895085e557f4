"""The console entry point: one error handler for every command."""
from __future__ import annotations

import sys
from typing import List, Optional

import typer

from ..errors import MclipError
from .app import app, LOADED, Terminated, stop_if_terminated, on_sigterm, SIGTERM_SEEN


def usage_line(e) -> str:
    """A click/typer usage error as one line, e.g. ``error: Invalid value for '--fps': ...``."""
    msg = " ".join(e.format_message().split())
    ctx = getattr(e, "ctx", None)
    where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    return f"error: {msg}{where}"


def main(argv: Optional[List[str]] = None) -> None:
    """Console entry point: run the app, turning user errors into one line + exit 2,
    Ctrl-C into exit 130 and SIGTERM into exit 143, each with one line on stderr."""
    import signal

    LOADED.clear()          # a caller running several commands in one process
    SIGTERM_SEEN.clear()
    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        rc = app(args=argv, standalone_mode=False)
        stop_if_terminated()
        # In non-standalone mode typer turns Ctrl-C into Exit(130) and *returns* the
        # code instead of raising, so a returned non-zero code must become the exit status.
        if isinstance(rc, int) and rc != 0:
            if rc == 130:
                typer.echo("interrupted", err=True)
            sys.exit(rc)
    except MclipError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Terminated:
        typer.echo("terminated", err=True)
        sys.exit(143)
    except SystemExit:
        raise
    except OSError as e:     # a write or read the file system refused, outside mclip's checks
        where = f"{e.filename}: " if e.filename else ""
        typer.echo(f"error: {where}{e.strerror or e}", err=True)
        sys.exit(2)
    except Exception as e:  # click usage errors and the like
        import click

        # typer >= 0.2x ships its own copy of click: its usage errors (unknown option,
        # no arguments -> help) derive from typer.TyperException, not click's classes.
        usage = tuple(c for c in (getattr(typer, "TyperException", None),
                                  click.exceptions.ClickException) if c is not None)
        if isinstance(e, usage) and hasattr(e, "show"):
            if type(e).__name__ == "NoArgsIsHelpError":
                e.show()        # `mclip` or `mclip data` alone: the help text
            else:
                typer.echo(usage_line(e), err=True)
            sys.exit(getattr(e, "exit_code", 2))
        if isinstance(e, (typer.Abort, click.exceptions.Abort)):
            typer.echo("aborted", err=True)
            sys.exit(130)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    main()
