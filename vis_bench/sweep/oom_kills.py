"""Whether the kernel's out-of-memory killer ended a worker, read from its counters.

A worker killed by SIGKILL may have been ended by the OOM killer, by a user (`kill -9`) or by a
scheduler enforcing a limit; the exit status alone cannot tell them apart. The kernel counts its
OOM kills: per memory cgroup (v2: `memory.events`, v1: `memory.oom_control`, line `oom_kill`)
and for the whole machine (`/proc/vmstat`, line `oom_kill`). Reading a counter before the worker
starts and after it ends says whether an OOM kill happened meanwhile. Where none is readable the
cause stays unknown and the record says how to find out.
"""

from __future__ import annotations

from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_SELF_CGROUP = Path("/proc/self/cgroup")
PROC_VMSTAT = Path("/proc/vmstat")


def _counter(path: Path, key: str = "oom_kill") -> int | None:
    """The value of `key` in a "name value" per line file, or None when unreadable."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return None


def _cgroup_files() -> list[Path]:
    """This process's memory cgroup counter files (v2 first, then v1)."""
    try:
        entries = PROC_SELF_CGROUP.read_text().splitlines()
    except OSError:
        return []
    files = []
    for entry in entries:
        _, controllers, path = entry.split(":", 2)
        relative = path.lstrip("/")
        if controllers == "":
            files.append(CGROUP_ROOT / relative / "memory.events")
        elif "memory" in controllers.split(","):
            files.append(CGROUP_ROOT / "memory" / relative / "memory.oom_control")
    return files


def oom_kill_count() -> tuple[str, int] | None:
    """(where it was read, the OOM-kill count) from the first readable counter, or None."""
    for path in [*_cgroup_files(), PROC_VMSTAT]:
        value = _counter(path)
        if value is not None:
            return str(path), value
    return None


def sigkill_cause(before: tuple[str, int] | None, after: tuple[str, int] | None) -> str:
    """Why a worker got SIGKILL, from the counts read before it started and after it ended."""
    if before is None or after is None or before[0] != after[0]:
        return (
            "killed by signal 9 (SIGKILL; the kernel's OOM killer sends this, and so can a user "
            "or a scheduler: check dmesg)"
        )
    if after[1] > before[1]:
        return f"out of memory (killed by signal 9, SIGKILL: the OOM-kill count of {after[0]} rose)"
    return (
        f"killed by signal 9 (SIGKILL) from outside the worker, not by the OOM killer (the "
        f"OOM-kill count of {after[0]} did not change)"
    )
