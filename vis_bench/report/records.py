"""The record store: one JSON line per sweep cell, appended atomically, read back for resume.

Every cell ends as exactly one line in `<run dir>/records.jsonl`, successful or failed. A line is
written with a single `write` on a file opened in append mode and then fsync'ed, so a process
killed mid-sweep leaves only whole lines behind; a torn last line (power loss) is skipped on read.
A rerun skips cells whose key already has a successful record and retries failed ones.
Lines are read as JSON (`read_records`, what the sweep resumes from) or as typed records
(`read_cell_records`, vis_bench/records.py: what every report reads).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vis_bench.records import CellRecord

RECORDS_FILE = "records.jsonl"


def append_record(run_dir: str | Path, record: dict[str, Any]) -> None:
    """Append one record as a single line, durably."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, sort_keys=True, default=str) + "\n"
    fd = os.open(run_dir / RECORDS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """All whole records of a run directory or a records.jsonl file (torn lines skipped)."""
    path = Path(path)
    if path.is_dir():
        path = path / RECORDS_FILE
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def read_cell_records(path: str | Path) -> list[CellRecord]:
    """The whole records of a run directory or a records.jsonl file, typed."""
    return [CellRecord.from_json(line) for line in read_records(path) if isinstance(line, dict)]


def finished_keys(run_dir: str | Path) -> set[str]:
    """Keys of cells that already have a successful record."""
    return {r["key"] for r in read_records(run_dir) if r.get("status") == "ok" and "key" in r}


def latest_records(records: Iterable[CellRecord]) -> list[CellRecord]:
    """One record per cell key: a successful one if any, else the most recent failure."""
    best: dict[str, CellRecord] = {}
    for record in records:
        key = record.key
        if key is None:
            continue
        if key not in best or record.ok or not best[key].ok:
            best[key] = record
    return list(best.values())
