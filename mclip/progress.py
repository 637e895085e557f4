"""Progress bars: the one way mclip shows one.

Rich bars on stderr, so stdout stays clean for ``--json`` and pipes. One ``Bars`` holds
one or more tasks (an evaluation shows a bar per section); ``progress_bar`` is the usual
single bar. Disabled bars cost nothing and print nothing.

    with progress_bar("rendering", total=frames) as update:
        for t in range(frames):
            ...
            update(t + 1)
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

# At module level on purpose: rich's first import draws from Python's global random, and
# training imports this module before it seeds (resumed runs must match straight ones).
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)

Update = Callable[..., None]   # update(done, total=None, info=None)


class Bars:
    """A Rich progress display on stderr. ``elapsed``: show elapsed time instead of the
    time remaining; ``transient``: the bars vanish when done (else the last state stays)."""

    def __init__(self, enabled: bool = True, transient: bool = True, elapsed: bool = False):
        self.enabled, self.transient, self.elapsed = enabled, transient, elapsed
        self._rich = None

    def __enter__(self) -> "Bars":
        if self.enabled:
            clock = TimeElapsedColumn() if self.elapsed else TimeRemainingColumn()
            self._rich = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  clock, TextColumn("{task.fields[info]}"),
                                  console=Console(stderr=True), transient=self.transient)
            self._rich.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._rich is not None:
            self._rich.__exit__(*exc)
            self._rich = None

    def task(self, label: str, total: int | None = None, completed: int = 0) -> Update:
        """A new bar; returns ``update(done, total=None, info=None)``: ``done`` units of
        ``total`` finished, ``info`` a short text shown after the bar (losses...)."""
        if self._rich is None:
            return lambda done, total=None, info=None: None
        rich, task = self._rich, self._rich.add_task(label, total=total, completed=completed, info="")

        def update(done: int, total: int | None = None, info: str | None = None) -> None:
            fields = {"info": info} if info is not None else {}
            rich.update(task, completed=done, **({"total": total} if total else {}), **fields)

        return update

    def print(self, text: str) -> None:
        """A line above the bars (e.g. a validation loss), only when they are shown."""
        if self._rich is not None:
            self._rich.console.print(text)


@contextmanager
def progress_bar(label: str, total: int | None = None, enabled: bool = True,
                 transient: bool = True, completed: int = 0) -> Iterator[Update]:
    """One bar on stderr for the block; yields its ``update(done, total=None, info=None)``."""
    with Bars(enabled, transient) as bars:
        yield bars.task(label, total, completed)
