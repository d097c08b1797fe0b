"""What every page of a run says first: the settings under which its numbers are not what they
would seem (part of the split scored; a model whose classes were never checked against the
dataset's). The console's summary, tables.md, leaderboard.md and report.html all start their
notes with these lines, so no page shows such a number without its warning."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from vis_bench.records import WARNING


def warning_lines(records: Iterable[Any]) -> list[str]:
    """The distinct warnings of `records` (CellRecords), each one line."""
    lines: list[str] = []
    for record in records:
        identity = record.dataset_identity or {}
        if identity.get("max_videos") is not None:
            line = (
                f"{WARNING} part of the split: {record.dataset_label} are predicted and scored "
                "(against their own ground truth only); every number here is of those videos, "
                "not of the whole split"
            )
            if line not in lines:
                lines.append(line)
        for note in (record.notes or "").split("; "):
            if note.startswith(WARNING) and note not in lines:
                lines.append(note)
    return lines
