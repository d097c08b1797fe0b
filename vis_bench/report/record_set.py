"""The one input of every report: the latest record of each cell, with what its cell kept beside it.

Tables, plots, the leaderboard and the HTML page are pure functions of a `RecordSet`, built once
per report from records (a run folder's records.jsonl, several folders', or records in memory),
each held as the typed record (vis_bench/records/cell.py `CellRecord`) whose attributes they read.
Building it is the only place the report reads files: the cell selection (`latest_records`), the
configs of older records (`settings.with_configs`), each cell's per-video matching and bootstrap
replicate values (for paired comparisons), the project's published numbers, and how each
method's declaration links its tracks across clips (the registry), and the configured cells of
the folder's last sweep that have no result (report/run_state.py). A file that is not there is
kept as `Missing` with the reason, which the report then shows instead of a mark.

A record names its side files by the path the run had (relative to the checkout it ran in); a set
read from a folder looks for them in that folder first (its cells/<cell folder>/, as
cells/index.json or the recorded path names it), so a copied records.jsonl with its cells/ gives
the same report as the original.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vis_bench.errors import InputError
from vis_bench.eval.stats.video_matches import VideoMatches
from vis_bench.published import Published
from vis_bench.records import CellRecord
from vis_bench.records.store import latest_records, read_cell_records
from vis_bench.report.published_columns import load_default_published
from vis_bench.report.run_state import UnfinishedCell, unfinished_cells
from vis_bench.report.settings import with_configs

# a run folder's layout, as sweep/run_dir.py writes it (the sweep floor is above this one)
CELLS_DIR = "cells"
INDEX_FILE = "index.json"

#: what a report reads: the typed record of a cell (vis_bench/records/cell.py)
Record = CellRecord


@dataclass(frozen=True)
class Missing:
    """A side file a record names (or should name) that could not be read, and why."""

    reason: str


@dataclass(frozen=True)
class CellFiles:
    """What one cell kept beside its record, read once: its folder and label in the run folder
    (cells/index.json), its per-video matching and its bootstrap replicate values per statistic."""

    folder: Path | None = None
    label: str | None = None
    matches: VideoMatches | Missing = Missing("no per-video matching recorded")
    replicates: Mapping[str, np.ndarray] | Missing = Missing("no bootstrap values recorded")


@dataclass(frozen=True)
class RecordSet:
    """The latest record per cell key in first-seen order, and each cell's files.

    `folder` is the run folder the records came from (None for records of several folders or
    from memory); `published` the project's published numbers (None where not installed).
    """

    records: tuple[Record, ...]
    cells: Mapping[str, CellFiles] = field(default_factory=dict)
    published: Published | None = None
    folder: Path | None = None
    #: method -> how its spec links tracks across clips, for the methods that link query tracks
    #: frame to frame (a per-frame model then gives the same tracks under every clip schedule);
    #: read from the registry when the set is built, empty where a method is not installed
    query_linking: Mapping[str, str] = field(default_factory=dict)
    #: how many cells the folder's last sweep was configured with (0: not known), and those
    #: without a successful record, with why (report/run_state.py)
    configured: int = 0
    unfinished: tuple[UnfinishedCell, ...] = ()

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def ok(self) -> list[Record]:
        """The records of cells that finished."""
        return [r for r in self.records if r.ok]

    def record(self, key: str | None) -> Record | None:
        """The record of a cell key (None: no such cell)."""
        return next((r for r in self.records if r.key == key), None)

    def where(self, keep: Callable[[Record], bool]) -> RecordSet:
        """The records `keep` accepts, with their files (nothing read again)."""
        kept = tuple(r for r in self.records if keep(r))
        cells = {r.key: self.cells[r.key] for r in kept if r.key in self.cells}
        return dataclasses.replace(self, records=kept, cells=cells)

    def files(self, record: Record) -> CellFiles:
        """The files of a record's cell (all `Missing` for a record not in the set)."""
        return self.cells.get(record.key or "", CellFiles())

    @classmethod
    def from_records(
        cls, records: Iterable[Record | Mapping[str, Any]], folder: str | Path | None = None
    ) -> RecordSet:
        """The set of records in memory (typed, or JSON lines as records.jsonl holds them); side
        files looked for in `folder` (a run folder) first."""
        typed = [r if isinstance(r, CellRecord) else CellRecord.from_json(r) for r in records]
        return _build([(typed, Path(folder) if folder is not None else None)])

    @classmethod
    def read(cls, paths: Sequence[str | Path]) -> RecordSet:
        """The set of one or more run folders or records.jsonl files."""
        sources = []
        for path in map(Path, paths):
            found = read_cell_records(path)
            if not found:
                raise InputError(
                    "no records found: pass a run folder (one with records.jsonl), e.g. "
                    "results/runs/default",
                    path=str(path),
                )
            sources.append((found, path if path.is_dir() else path.parent))
        return _build(sources)


def _build(sources: list[tuple[list[Record], Path | None]]) -> RecordSet:
    """Records of each (records, folder) source: latest per key, configs attached, files read."""
    origin: dict[int, Path | None] = {}
    every: list[Record] = []
    for records, folder in sources:
        filled = with_configs(records, folder) if folder is not None else list(records)
        origin.update((id(r), folder) for r in filled)
        every += filled
    latest = tuple(latest_records(every))
    indexes = {folder: _index(folder) for folder in {origin[id(r)] for r in latest}}
    cells = {r.key: _cell_files(r, origin[id(r)], indexes[origin[id(r)]]) for r in latest}
    folders = {folder for _, folder in sources}
    folder = folders.pop() if len(folders) == 1 else None
    methods = {str(r.method) for r in latest}
    configured, unfinished = unfinished_cells(folder, latest)
    return RecordSet(
        latest,
        cells,
        load_default_published(),
        folder,
        query_linking(methods),
        configured,
        unfinished,
    )


def query_linking(methods: Iterable[str]) -> dict[str, str]:
    """How each of `methods` links its tracks frame to frame across clips, as its spec declares
    (only those whose linking is the query-track kind or carries a state; a method not
    registered here is left out), with ONCE_NOTE where the runner gives it each frame once."""
    from vis_bench.api.linking import gives_each_frame_once, links_query_tracks
    from vis_bench.api.registration import get_method
    from vis_bench.api.tables import UnknownMethodError

    found = {}
    for name in sorted(methods):
        try:
            linking = get_method(name).spec.linking
        except (UnknownMethodError, ImportError, AttributeError):
            continue
        if links_query_tracks(linking) or gives_each_frame_once(linking):
            found[name] = linking.name + (ONCE_NOTE if gives_each_frame_once(linking) else "")
    return found


#: appended to a linking's name where the runner never gives the method a frame twice
ONCE_NOTE = "; no frame given twice"


def _index(folder: Path | None) -> dict[str, Any]:
    """A run folder's cells/index.json (cell key -> its folder and label); {} without one."""
    path = folder / CELLS_DIR / INDEX_FILE if folder is not None else None
    if path is None or not path.is_file():
        return {}
    try:
        index = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return index if isinstance(index, dict) else {}


def _cell_files(record: Record, folder: Path | None, index: dict[str, Any]) -> CellFiles:
    cell_folder = _cell_folder(record, folder, index)
    entry = index.get(record.key)
    label = entry.get("label") if isinstance(entry, dict) else None
    return CellFiles(
        cell_folder, label, _matches(record, cell_folder), _replicates(record, cell_folder)
    )


def _cell_folder(record: Record, folder: Path | None, index: dict[str, Any]) -> Path | None:
    """The cell's folder in the run folder: as the index names it, else as its recorded side
    files' folder is named (None: not inside this folder)."""
    if folder is None:
        return None
    entry = index.get(record.key)
    if isinstance(entry, dict) and entry.get("folder"):
        return folder / CELLS_DIR / entry["folder"]
    for recorded in (record.video_matches_path, record.results_path):
        if recorded and (folder / CELLS_DIR / Path(recorded).parent.name).is_dir():
            return folder / CELLS_DIR / Path(recorded).parent.name
    return None


def _side_file(recorded: str, cell_folder: Path | None) -> Path:
    """Where a side file is: in the cell's folder of the run folder read, else where recorded."""
    if cell_folder is not None and (cell_folder / Path(recorded).name).is_file():
        return cell_folder / Path(recorded).name
    return Path(recorded)


def _matches(record: Record, cell_folder: Path | None) -> VideoMatches | Missing:
    """The record's per-video matching, or why there is none."""
    recorded = record.video_matches_path
    if not recorded:
        return Missing("no per-video matching recorded (a record written before it was kept)")
    path = _side_file(recorded, cell_folder)
    if not path.is_file():
        return Missing(f"per-video matching not found at {recorded}")
    import orjson

    try:
        return VideoMatches.from_dict(orjson.loads(path.read_bytes()), path=str(recorded))
    except orjson.JSONDecodeError as err:
        return Missing(str(InputError(f"malformed JSON ({err})", path=str(recorded))))
    except InputError as err:
        return Missing(str(err))


def _replicates(record: Record, cell_folder: Path | None) -> Mapping[str, np.ndarray] | Missing:
    """The record's stored bootstrap replicate values per statistic, or why there are none."""
    recorded = record.bootstrap.values_path if record.bootstrap is not None else None
    if not recorded:
        return Missing("no bootstrap replicate values recorded")
    path = _side_file(recorded, cell_folder)
    try:
        with np.load(path) as data:
            return {name: data[name] for name in data.files}
    except (OSError, ValueError) as err:
        return Missing(f"bootstrap replicate values unreadable at {recorded} ({err})")
