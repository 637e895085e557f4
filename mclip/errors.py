"""The one exception type users see.

Anything raised as ``MclipError`` reaches the CLI's single handler, which prints
``error: <message>`` on one line and exits with code 2 (no traceback). Messages name
the file (or argument) and the problem, e.g. ``walk.npz: missing key 'trans'``.
"""
from __future__ import annotations


class MclipError(Exception):
    """A user-facing error: bad input, missing file, unusable checkpoint..."""

    exit_code = 2
