"""One sweep at a time in a run folder: the folder is locked while a sweep writes it.

Two sweeps started into one folder would run the same unfinished cells, each timed while the
other competed for the cores, and append two records with one key. The lock is an exclusive
`flock` on `<run dir>/sweep.lock`, which also holds the holder's process id, host and start time:
a second sweep is refused with the holder named. The kernel releases a `flock` when its process
ends, however it ends, so a sweep killed with SIGKILL leaves no lock that blocks: the next sweep
takes the folder and says whose lock it took over (the file still names the killed process).
The file is left in place, emptied, when a sweep ends by itself (finished, failed or
interrupted with Ctrl-C). Worker processes never hold it
(the descriptor is not inherited across the fork server's exec).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vis_bench.atomic import naming
from vis_bench.errors import InputError

LOCK_FILE = "sweep.lock"


def holder_text(holder: dict[str, Any]) -> str:
    """e.g. "process 1234 on host-a, started 2024-05-01T10:00:00"."""
    text = f"process {holder.get('pid')}"
    if holder.get("host") and holder.get("host") != socket.gethostname():
        text += f" on {holder['host']}"
    return text + (f", started {holder['started']}" if holder.get("started") else "")


def _read_holder(fd: int) -> dict[str, Any]:
    os.lseek(fd, 0, os.SEEK_SET)
    data = os.read(fd, 4096)
    try:
        holder = json.loads(data) if data.strip() else {}
    except json.JSONDecodeError:
        return {}
    return holder if isinstance(holder, dict) else {}


@contextmanager
def locked_run_dir(
    run_dir: Path, log: Callable[[str], None] = lambda message: None
) -> Iterator[dict[str, Any]]:
    """Hold `run_dir` for one sweep (yields this holder's entry); an InputError naming the
    holder when another live sweep holds it, a note when a dead sweep's lock is taken over."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_holder(fd)
        os.close(fd)
        raise InputError(
            f"another sweep ({holder_text(holder)}) is writing this run folder; wait for it to "
            "end (re-running then resumes after its cells), or give this run its own folder "
            "with --run-dir",
            path=str(run_dir),
        ) from None
    try:
        stale = _read_holder(fd)
        if stale:
            log(
                f"note: {run_dir} was locked by {holder_text(stale)}, which is no longer "
                "running (killed?); its finished cells are kept and this run takes over"
            )
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        with naming(path):
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, json.dumps(holder).encode())
            os.fsync(fd)
        yield holder
    finally:
        os.ftruncate(fd, 0)  # this process ends the sweep itself: nothing to take over
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
