"""The configured cells of a run that have no result, and why: what every page of a run lists.

A sweep keeps its state in the run folder's run.json (`sweep`, written by sweep/run_dir.py): the
cells it was configured with, the one running, and how it ended (finished, interrupted with
Ctrl-C, stopped on an error; still `running` with a process that is gone when it was killed).
A page made from the records alone would look complete after a run stopped half-way, so each
configured cell without a successful record is listed with its status and reason: failed (the
record's error), interrupted (the sweep stopped while it ran), not run (the sweep stopped before
it), or not run yet (the sweep is still running). Folders without that state (runs made before
it was kept) list nothing.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vis_bench.records import CellRecord

#: the run folder's state file (sweep/run_dir.py writes it; that floor is above this one)
RUN_FILE = "run.json"
#: how a page tells the reader to finish the run
RESUME_HINT = "re-run the same command to run them (finished cells are kept, failed ones retried)"


@dataclass(frozen=True)
class UnfinishedCell:
    """A configured cell with no successful record."""

    key: str
    label: str
    #: failed, interrupted, not run, not run yet or running
    status: str
    reason: str


def sweep_state(folder: Path | None) -> dict[str, Any]:
    """run.json's `sweep` of a run folder ({} without one)."""
    path = folder / RUN_FILE if folder is not None else None
    if path is None or not path.is_file():
        return {}
    try:
        state = json.loads(path.read_text()).get("sweep")
    except (OSError, json.JSONDecodeError, AttributeError):
        return {}
    return state if isinstance(state, dict) else {}


def _alive(state: dict[str, Any]) -> bool | None:
    """Whether the sweep's process still runs (None: another host, so not known here)."""
    if state.get("host") not in (None, socket.gethostname()):
        return None
    try:
        os.kill(int(state.get("pid", -1)), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, OverflowError):
        return True
    return True


def _reason(key: str, state: dict[str, Any]) -> tuple[str, str]:
    """(status, reason) of a configured cell without a record, from how the sweep ended."""
    ended, current = state.get("state"), state.get("current") == key
    who = f"the sweep (process {state.get('pid')})"
    if ended == "running":
        alive = _alive(state)
        if alive is not False:
            if current:
                return "running", f"{who} is running it"
            return "not run yet", f"{who} has not reached it yet"
        if current:
            return "interrupted", f"{who} ended while running it (killed?)"
        return "not run", f"{who} ended before it (killed?)"
    if ended == "interrupted":
        how = "terminated (SIGTERM)" if state.get("signal") == "terminated (SIGTERM)" else None
        how = how or "interrupted (Ctrl-C)"
        if current:
            return "interrupted", f"the sweep was {how} while running it"
        return "not run", f"the sweep was {how} before it"
    if ended == "stopped":
        error = state.get("error") or "an error"
        if current:
            return "interrupted", f"the sweep stopped on an error while running it: {error}"
        return "not run", f"the sweep stopped on an error before it: {error}"
    return "not run", "the sweep finished without a record of it"


def unfinished_cells(
    folder: Path | None, records: Iterable[CellRecord]
) -> tuple[int, tuple[UnfinishedCell, ...]]:
    """(configured cells, those without a successful record) of the folder's last sweep;
    (0, ()) where the folder keeps no sweep state."""
    state = sweep_state(folder)
    cells = state.get("cells")
    if not isinstance(cells, list):
        return 0, ()
    status: dict[str | None, CellRecord | str] = {}
    for record in records:
        key = record.key
        if record.ok or status.get(key) == "ok":
            status[key] = "ok"
        else:
            status[key] = record
    unfinished = []
    for cell in cells:
        key, label = cell.get("key"), str(cell.get("label") or cell.get("key"))
        found = status.get(key)
        if found == "ok":
            continue
        if isinstance(found, CellRecord):
            reason = str(found.error or "failed").replace("\n", " ")
            unfinished.append(UnfinishedCell(key, label, "failed", reason))
        else:
            unfinished.append(UnfinishedCell(key, label, *_reason(key, state)))
    return len(cells), tuple(unfinished)


def incomplete_line(configured: int, unfinished: tuple[UnfinishedCell, ...]) -> str | None:
    """The warning a page of an incomplete run opens with (None: nothing is missing)."""
    if not unfinished:
        return None
    return (
        f"**Incomplete run**: {len(unfinished)} of {configured} configured cells have no "
        'result (listed under "Configured cells without a result"); the numbers here cover '
        "only the cells that finished."
    )


def unfinished_section(
    configured: int, unfinished: tuple[UnfinishedCell, ...], level: str = "##"
) -> list[str]:
    """Markdown: the configured cells without a result, each with its status and reason."""
    if not unfinished:
        return []
    from tabulate import tabulate

    rows = [[cell.label, cell.status, cell.reason.replace("|", "/")] for cell in unfinished]
    table = tabulate(rows, headers=["cell", "status", "reason"], tablefmt="github")
    return [
        f"{level} Configured cells without a result",
        "",
        f"{len(unfinished)} of the {configured} cells the last sweep was configured with have "
        f"no result; {RESUME_HINT}.",
        "",
        table,
        "",
    ]
