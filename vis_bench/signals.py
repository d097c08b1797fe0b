"""SIGTERM handled as Ctrl-C: a scheduler's or `kill`'s stop leaves what Ctrl-C leaves.

Without a handler SIGTERM ends the process where it stands: no `finally` runs, so a sweep's
run.json stays `running` and its workers' pipes break mid-message. With `sigterm_as_interrupt`
the signal raises `Terminated`, a KeyboardInterrupt, and every handler written for Ctrl-C (the
sweep's state, the worker's quiet exit, the CLI's one line) handles it too.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from vis_bench import exit_codes


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the main thread was (see the module docstring)."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated(f"terminated by signal {signum} (SIGTERM)")


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises `Terminated` in the main thread (elsewhere: no change,
    signals are the main thread's); the previous handler is restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def interrupt_status(err: KeyboardInterrupt) -> int:
    """The exit status of an interrupt: 143 for SIGTERM, 130 for Ctrl-C."""
    return exit_codes.TERMINATED if isinstance(err, Terminated) else exit_codes.INTERRUPTED


def interrupt_name(err: KeyboardInterrupt) -> str:
    """How the process was interrupted, in the words its message uses."""
    return "terminated (SIGTERM)" if isinstance(err, Terminated) else "interrupted"
