"""The record store: one JSON line per sweep cell, appended atomically, read back for resume.

Every cell ends as exactly one line in `<run dir>/records.jsonl`, successful or failed. A line is
written with a single `write` on a file opened in append mode and then fsync'ed, so a process
killed mid-sweep leaves only whole lines behind. A line can still be damaged (power lost during
the write, a disk that filled up, a hand edit): every reader skips it and says so on stderr, with
the file, the line's number and how many whole records are kept (`damaged_lines`); a resumed
sweep first repairs the file (`repair_records`: the whole lines written back atomically, the
damaged ones moved to records.damaged.jsonl), and an append after a line cut short starts a new
line, so no record is ever lost inside another's broken line.
A rerun skips cells whose key already has a successful record and retries failed ones.
Lines are read as JSON (`read_records`, what the sweep resumes from) or as typed records
(`read_cell_records`, records/cell.py: what every report reads).
"""

from __future__ import annotations

import errno
import json
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vis_bench.atomic import naming, write_atomic
from vis_bench.records.cell import CellRecord

RECORDS_FILE = "records.jsonl"
#: where a run folder keeps each resolved config (sweep/run_dir.py writes them,
#: report/settings.py reads them for records that do not carry theirs)
CONFIGS_DIR = "configs"
#: where a repair moves the damaged lines (beside records.jsonl), so nothing is deleted
DAMAGED_FILE = "records.damaged.jsonl"
#: (path, size, mtime) of the files whose damage this process has reported already
_reported: set[tuple[str, int, int]] = set()


@dataclass(frozen=True)
class DamagedLine:
    """A line of a records file that is no whole record (cut short, garbled, not an object)."""

    path: Path
    #: 1-based, as an editor numbers it
    number: int
    text: bytes

    def describe(self) -> str:
        ending = "" if self.text.endswith(b"\n") else ", no line end: a write cut short"
        return f"line {self.number} is no whole record ({len(self.text)} bytes{ending})"


def _records_path(path: str | Path) -> Path:
    path = Path(path)
    return path / RECORDS_FILE if path.is_dir() else path


def _parse(path: Path) -> tuple[list[dict[str, Any]], list[DamagedLine]]:
    """The whole records of a records file and its damaged lines."""
    if not path.is_file():
        return [], []
    records, damaged = [], []
    for number, raw in enumerate(path.read_bytes().splitlines(keepends=True), 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            record = None
        if isinstance(record, dict):
            records.append(record)
        else:
            damaged.append(DamagedLine(path, number, raw))
    return records, damaged


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def damage_message(path: Path, damaged: list[DamagedLine], kept: int) -> str:
    """One line: the file, its damaged lines, what is kept and how it is repaired."""
    lines = "; ".join(d.describe() for d in damaged[:3])
    more = f" (and {len(damaged) - 3} more)" if len(damaged) > 3 else ""
    return (
        f"{path}: {lines}{more}: skipped, the {kept} whole record(s) are kept (a crash or a full "
        "disk while a record was written?); re-running the sweep into this folder repairs the "
        f"file (the damaged lines move to {DAMAGED_FILE})"
    )


def read_records(
    path: str | Path, warn: Callable[[str], None] | None = None
) -> list[dict[str, Any]]:
    """All whole records of a run directory or a records.jsonl file; a damaged line is skipped
    and reported (once per process and state of the file) through `warn` (default: stderr)."""
    path = _records_path(path)
    records, damaged = _parse(path)
    if damaged:
        stat = path.stat()
        seen = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if warn is not None or seen not in _reported:
            _reported.add(seen)
            (warn or _warn)(damage_message(path, damaged, len(records)))
    return records


def repair_records(run_dir: str | Path, log: Callable[[str], None] = _warn) -> int:
    """Before a sweep appends: write records.jsonl back with its whole lines only (atomically),
    the damaged lines appended to records.damaged.jsonl beside it; the number of lines moved."""
    path = _records_path(run_dir)
    records, damaged = _parse(path)
    if not damaged:
        return 0
    aside = path.with_name(DAMAGED_FILE)
    with open(aside, "ab") as handle:
        handle.write(
            b"".join(d.text if d.text.endswith(b"\n") else d.text + b"\n" for d in damaged)
        )
        handle.flush()
        os.fsync(handle.fileno())
    bad = {d.number for d in damaged}
    kept = [
        raw if raw.endswith(b"\n") else raw + b"\n"
        for number, raw in enumerate(path.read_bytes().splitlines(keepends=True), 1)
        if number not in bad and raw.strip()
    ]
    write_atomic(path, b"".join(kept))
    log(
        f"repaired {path}: {'; '.join(d.describe() for d in damaged)}: moved to {aside}; "
        f"the {len(records)} whole record(s) are kept"
    )
    return len(damaged)


def append_record(run_dir: str | Path, record: dict[str, Any]) -> None:
    """Append one record as a single line, durably; after a line cut short (no line end), on
    a line of its own."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, sort_keys=True, default=str) + "\n"
    path = run_dir / RECORDS_FILE
    with naming(path):
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = "\n" + line
            data = line.encode()
            if os.write(fd, data) != len(data):  # a short write: the disk filled up
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
            os.fsync(fd)
        finally:
            os.close(fd)


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
