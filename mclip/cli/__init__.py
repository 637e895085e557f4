"""The `mclip` command line: thin wrappers that parse arguments and call the package.

Import nothing heavy at module level (torch, imageio, open_clip): `mclip --help`
and `mclip X --help` must answer fast. Each command imports what it needs inside.
Errors: raise `MclipError`; `main()` turns it into one line on stderr and exit code 2.
"""
from .app import app
from . import analyse, data, evaluation, files, generate, training  # noqa: F401, E402  (register commands)
from .main import main

__all__ = ["app", "main"]
