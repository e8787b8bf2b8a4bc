"""Ctrl-C during a run: what the CLI is told, and how the run tells it from pytest's own stops.

pytest reports a Ctrl-C, the breaker's stop and a collection error with one exit status, and catches the
KeyboardInterrupt itself; the run watches SIGINT while pytest runs so that only a real Ctrl-C ends as an
interrupted run (`RunInterrupted`, after the evidence of what ran is written).
"""

from __future__ import annotations

import contextlib
import signal
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

__all__ = ["RunInterrupted"]


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C while the scenarios ran (pytest caught it): the evidence of what ran is written, marked
    interrupted, before this is raised; the CLI names the folder and exits 130."""

    def __init__(self, run_dir: Path, ran: int, total: int) -> None:
        super().__init__(f"interrupted after {ran} of {total} scenarios")
        self.run_dir, self.ran, self.total = run_dir, ran, total


class _CtrlC:
    """Whether SIGINT arrived during the run (`watched`: whether that can be known at all here)."""

    def __init__(self, watched: bool) -> None:
        self.watched, self.noted = watched, False

    def __bool__(self) -> bool:  # unwatched: assume so, and let pytest's status decide alone
        return self.noted or not self.watched


@contextlib.contextmanager
def _noting_ctrl_c() -> Iterator[_CtrlC]:
    """Notes a SIGINT arriving in the block (pytest reports Ctrl-C and its own stops with one status); where it
    cannot be watched (a thread, SIGINT ignored) the answer is "maybe", and the status decides alone."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield _CtrlC(watched=False)
        return
    ctrl_c = _CtrlC(watched=True)

    def note(signum: int, frame: object) -> None:
        ctrl_c.noted = True
        # pluggy warns (with a path) when the interrupt lands in a plugin's teardown: the CLI says it once, plainly
        warnings.filterwarnings("ignore", message="A plugin raised an exception during an old-style hookwrapper")
        previous(signum, frame)  # Python's own: raises KeyboardInterrupt, which pytest catches

    signal.signal(signal.SIGINT, note)
    try:
        with warnings.catch_warnings():  # the filter above lasts as long as the run
            yield ctrl_c
    finally:
        signal.signal(signal.SIGINT, previous)
