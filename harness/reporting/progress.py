"""The progress of a run on the console: a count and an estimate instead of one dot per scenario.

A runner listener (`ProgressDisplay(...)` is called with every RunEvent). On a terminal it draws one
live line with rich (the only module that imports it): a bar, done/total, failed and error counts, the
time elapsed and an estimate of the time left. Elsewhere (a CI log, a pipe) it writes a plain line at
every tenth of the run, so the log shows progress without a redraw in every line.

Messages that must show at once (the circuit breaker, an unknown outcome) go through `write`, which
prints above the live line instead of through it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from harness.model import Outcome, RunEvent

__all__ = ["ProgressDisplay", "estimate_left"]

_STEPS = 10  # plain lines per run (one per tenth)


def estimate_left(done: int, total: int, elapsed_s: float) -> float | None:
    """Seconds left at the pace so far (None before the first scenario finished)."""
    if done <= 0 or total <= done:
        return None if done <= 0 else 0.0
    return elapsed_s / done * (total - done)


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


class ProgressDisplay:
    """Listens to runner events; draws a live progress line on a terminal, plain lines elsewhere."""

    def __init__(self, write: Callable[[str], None], *, stream: TextIO | None = None,
                 terminal: bool | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._write = write
        self._clock = clock
        self._console = Console(file=stream or sys.stdout, highlight=False)
        self.terminal = self._console.is_terminal if terminal is None else terminal
        self.total = 0
        self.done = 0
        self.failed = 0
        self.errors = 0
        self._started = 0.0
        self._next_step = 1
        self._progress: Progress | None = None
        self._task: Any = None

    # --- the listener ----------------------------------------------------------------------------

    def __call__(self, event: RunEvent) -> None:
        if event.kind == "run-started":
            self.start(int(event.payload.get("total") or 0))
        elif event.kind == "scenario-finished":
            result = event.payload.get("result")
            self.advance(getattr(result, "outcome", None))
        elif event.kind == "run-finished":
            self.stop()

    def write(self, text: str) -> None:
        """A message that must show now: above the live line on a terminal, as a plain line elsewhere."""
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False)
        else:
            self._write(text)

    # --- the display -----------------------------------------------------------------------------

    def start(self, total: int) -> None:
        self.total, self.done, self.failed, self.errors = total, 0, 0, 0
        self._started = self._clock()
        self._next_step = 1
        if self.terminal and total:
            self._progress = Progress(
                TextColumn("scenarios"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[counts]}"),
                TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(), console=self._console,
                transient=True,
            )  # fmt: skip
            self._task = self._progress.add_task("run", total=total, counts="")
            self._progress.start()

    def advance(self, outcome: Outcome | None) -> None:
        self.done += 1
        self.failed += outcome is Outcome.FAILED
        self.errors += outcome is Outcome.ERROR
        if self._progress is not None:
            self._progress.update(self._task, advance=1, counts=self._counts())
            return
        if self.total and self.done * _STEPS >= self._next_step * self.total:
            while self.done * _STEPS >= self._next_step * self.total:
                self._next_step += 1
            self._write(self.line())

    def line(self) -> str:
        """The plain progress line: count, share, failures and the estimate."""
        elapsed = self._clock() - self._started
        left = estimate_left(self.done, self.total, elapsed)
        share = self.done / self.total if self.total else 1.0
        counts = self._counts()
        tail = f"; about {_duration(left)} left" if left else f" in {_duration(elapsed)}"
        return f"hsa-cert: {self.done}/{self.total} scenarios ({share:.0%}){', ' + counts if counts else ''}{tail}"

    def _counts(self) -> str:
        parts = [f"{n} {what}" for n, what in ((self.failed, "failed"), (self.errors, "error")) if n]
        return ", ".join(parts)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
