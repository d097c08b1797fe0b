"""Running one cell in a fresh worker process, so its measurements and its failures are its own.

In one long-lived process, a cheap cell run after an expensive one would report the expensive
one's peak memory, and a cell that segfaults, is killed by the out-of-memory killer or hangs would
take the whole sweep with it. Each cell's prediction therefore runs in a new worker process forked
from a clean server (multiprocessing's "forkserver", which has imported torch and the harness once
and never ran a model, so a worker starts in a fraction of a second; a cell on an accelerator gets
a spawned worker instead, `_context`); the parent only schedules,
receives a small summary over a pipe, scores and writes records.

A worker that raises, exits, is killed by a signal or runs past `measure.cell_timeout_s` ends its
cell as failed with the reason; the sweep goes on with the next cell. A full disk is no failure
of the cell (`stops_sweep`): the worker's OSError is raised again in the parent, the sweep
stops with one line naming the file, and re-running it once there is room resumes. A worker interrupted with
the sweep (Ctrl-C or SIGTERM reach the whole process group; SIGTERM is handled as Ctrl-C,
vis_bench/signals.py) exits quietly with 130 or 143: the parent, interrupted too, stops the sweep,
and nothing is sent down a pipe whose reader may be gone (no BrokenPipeError tracebacks).
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import signal
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from vis_bench.errors import VisBenchError
from vis_bench.exit_codes import INTERRUPTED, TERMINATED
from vis_bench.signals import interrupt_status, sigterm_as_interrupt
from vis_bench.sweep.oom_kills import oom_kill_count, sigkill_cause
from vis_bench.sweep.worker import predict_cell

#: modules the fork server imports once, so every worker starts with them loaded;
#: torch._dynamo: the first call of a custom op (the deformable-attention kernel) imports it,
#: 2-3 s that every worker of a method using it paid again
#: torch.utils.cpp_extension: loading the built deformable-attention kernel imports it (with
#: setuptools), and the measure modules and PIL's decoders are what every round imports on its
#: first frame or reading: 0.6-0.8 CPU s a worker otherwise paid again for every (cell, round)
PRELOAD = [
    "vis_bench.sweep.worker",
    "vis_bench.sweep.timed_round",
    "torch",
    "torch._dynamo",
    "torch.utils.cpp_extension",
    "vis_bench.inference.runner",
    "vis_bench.measure.compile",
    "vis_bench.measure.environment",
    "vis_bench.measure.gpu_state",
    "vis_bench.measure.load",
    "vis_bench.measure.reference",
    "PIL.JpegImagePlugin",
    "PIL.PngImagePlugin",
]
#: seconds between checks of a silent worker (progress messages wake the parent earlier)
POLL_S = 0.5
#: errors of the machine, not of a cell: every later cell would fail the same way
MACHINE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def stops_sweep(err: BaseException) -> bool:
    """Whether `err` stops the sweep instead of failing its cell (a full disk)."""
    return isinstance(err, OSError) and err.errno in MACHINE_ERRNOS


class CellFailed(VisBenchError):
    """A cell's worker ended without a result; the message is the record's reason."""

    def __init__(self, reason: str, details: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.details = details


def preload(modules: list[str]) -> None:
    """Have the fork server import `modules` too (a sweep's method plugins, named by the
    registry), if it has not started yet: each worker then starts with them imported."""
    for module in modules:
        if module not in PRELOAD:
            PRELOAD.append(module)


def set_wait_policy(policy: str | None) -> str | None:
    """Have the workers' OpenMP threads wait `policy` (passive or active; None: as the
    environment says), unless the environment sets OMP_WAIT_POLICY itself; the policy the
    workers will get.

    The OpenMP runtime reads OMP_WAIT_POLICY once, when torch loads it: in the fork server,
    which imports torch when it starts and passes its runtime on to every worker. So this must
    run before the first worker of the process starts; a fork server already running keeps the
    policy it started with (each worker records what it got: `environment.omp_wait_policy`)."""
    if policy is not None and "OMP_WAIT_POLICY" not in os.environ:
        os.environ["OMP_WAIT_POLICY"] = policy.upper()
    return os.environ.get("OMP_WAIT_POLICY")


def _context(device: str = "cpu") -> multiprocessing.context.BaseContext:
    """The fork server for CPU cells; a spawned interpreter for accelerator cells.

    On the H200 every CUDA cell's worker, a fork of the server after its preloads, failed with
    "Cannot re-initialize CUDA in forked subprocess" (which preload leaves the server so was not
    found; torch.cuda.is_initialized() stayed False). A spawned worker shares no state with the
    server: it imports torch and the harness itself, seconds per worker, outside every timed
    region."""
    if not device.startswith("cpu"):
        return multiprocessing.get_context("spawn")
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def _worker_main(target: Callable[..., Any], job: Any, conn: Connection) -> None:
    """Entry point of a worker process: run `target(job)` (a cell's accuracy pass or one of its
    timed rounds), report progress, the outcome or the error; interrupted, exit quietly."""
    try:
        with sigterm_as_interrupt():
            try:
                outcome = target(job, progress=lambda n: conn.send(("progress", n)))
                message: tuple = ("done", outcome)
            except KeyboardInterrupt:
                raise
            except BaseException as err:  # everything else goes back to the parent as text
                message = ("error", one_line(err), traceback.format_exc(limit=12))
                if stops_sweep(err):
                    message = ("stop", err.errno, err.strerror, err.filename)
            conn.send(message)
    except KeyboardInterrupt as err:
        raise SystemExit(interrupt_status(err)) from None  # multiprocessing prints no traceback
    except (BrokenPipeError, ConnectionResetError):
        raise SystemExit(1) from None  # the parent is gone: nobody to report to
    finally:
        conn.close()


def describe_exit(
    exitcode: int | None,
    oom_before: tuple[str, int] | None = None,
    oom_after: tuple[str, int] | None = None,
) -> str:
    """Why a worker ended without reporting, in the words a record uses; a SIGKILL is called out
    of memory only when the kernel's OOM-kill count rose while the worker ran."""
    if exitcode is None:
        return "the worker did not exit"
    if exitcode < 0:
        number = -exitcode
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        if number == signal.SIGKILL:
            return sigkill_cause(oom_before, oom_after)
        return f"crashed (killed by signal {number}, {name})"
    if exitcode in (INTERRUPTED, TERMINATED):
        how = "SIGTERM" if exitcode == TERMINATED else "SIGINT"
        return f"interrupted ({how}, exit code {exitcode}) before reporting a result"
    return f"the worker exited with code {exitcode} before reporting a result"


def run_isolated(
    job: Any,
    timeout_s: float | None,
    on_progress: Callable[[int], None] | None = None,
    target: Callable[..., Any] = predict_cell,
) -> Any:
    """Run `target(job)` (default: a cell's `predict_cell`) in a fresh worker; CellFailed says
    why it produced nothing."""
    context = _context(str(getattr(job, "device", "cpu")))
    receiver, sender = context.Pipe(duplex=False)
    job.environ = dict(os.environ)
    oom_before = oom_kill_count()
    process = context.Process(target=_worker_main, args=(target, job, sender), daemon=True)
    process.start()
    sender.close()
    deadline = None if not timeout_s else time.monotonic() + timeout_s
    try:
        return _wait(process, receiver, deadline, timeout_s, on_progress, oom_before)
    finally:
        if process.is_alive():
            process.kill()
        process.join(timeout=30)
        receiver.close()


def _wait(
    process: Any,
    receiver: Connection,
    deadline: float | None,
    timeout_s: float | None,
    on_progress: Callable[[int], None] | None,
    oom_before: tuple[str, int] | None = None,
) -> Any:
    def failed() -> CellFailed:
        process.join(timeout=5)
        return CellFailed(describe_exit(process.exitcode, oom_before, oom_kill_count()))

    while True:
        wait = POLL_S if deadline is None else max(0.0, min(POLL_S, deadline - time.monotonic()))
        try:
            ready = receiver.poll(wait)
            message = receiver.recv() if ready else None
        except (EOFError, OSError):
            raise failed() from None
        if message is not None:
            kind = message[0]
            if kind == "progress":
                if on_progress is not None:
                    on_progress(message[1])
                continue
            if kind == "done":
                return message[1]
            if kind == "stop":
                raise OSError(*message[1:])
            raise CellFailed(message[1], message[2])
        if deadline is not None and time.monotonic() >= deadline:
            process.kill()
            raise CellFailed(f"timed out after {timeout_s:g} s")
        if not process.is_alive() and not receiver.poll(0):
            raise failed()


def run_in_process(
    job: Any,
    on_progress: Callable[[int], None] | None = None,
    target: Callable[..., Any] = predict_cell,
) -> Any:
    """The same work in this process (`--in-process`: for a debugger; no isolation, no timeout)."""
    try:
        return target(job, progress=on_progress)
    except KeyboardInterrupt:
        raise
    except Exception as err:
        if stops_sweep(err):
            raise
        raise CellFailed(one_line(err), traceback.format_exc(limit=12)) from err


def one_line(err: BaseException) -> str:
    """An exception as one line: its type and its whole message (multi-line messages joined)."""
    text = " ".join(line.strip() for line in str(err).strip().splitlines() if line.strip())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
