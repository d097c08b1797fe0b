"""A run directory: one dataset's records, the configs that wrote them, and a readable index.

    <run dir>/records.jsonl          one line per finished or failed cell (records/store.py)
    <run dir>/run.json               the dataset identity every record of the folder shares
                                     (with its frames' digest: `dataset.frames`),
                                     the last run's time by phase (`last_run_timings`) and the
                                     last sweep's state (`sweep`: its cells, the one running,
                                     how it ended; the reports name the cells left without a
                                     record from it)
    <run dir>/sweep.lock             held by the sweep writing the folder (run_lock.py)
    <run dir>/configs/<hash>.yaml    each resolved config a record names by `config_hash` (records
                                     also embed it as `config`; older ones only name it)
    <run dir>/cells/<label>-<key>/   a cell's predictions (results.json)
    <run dir>/cells/index.json       key -> cell label, folder and identity
    <run dir>/frames_manifest.json.gz  every frame file's path and content digest (a refusal
                                     names the files that changed since)

Records of different datasets never share a folder: tables and the leaderboard would rank a
3-video cell beside 24-video cells. A run whose dataset differs from the folder's is refused with
the difference and the way out (another --run-dir); so is a run on other frames under the same
annotations, naming the files that differ. A folder written before frames were pinned (its
run.json without `dataset.frames`) takes this run's frames as its own, and says so.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from vis_bench.atomic import write_atomic
from vis_bench.config import BenchConfig
from vis_bench.data.frames_digest import FramesManifest, frames_change
from vis_bench.errors import InputError
from vis_bench.inference.sources import dataset_label, identity_difference
from vis_bench.records.store import CONFIGS_DIR, read_records
from vis_bench.sweep.cells import Cell

RUN_FILE = "run.json"
CELLS_DIR = "cells"
INDEX_FILE = "index.json"
FRAMES_FILE = "frames_manifest.json.gz"


def claim_run_dir(
    run_dir: Path,
    identity: dict[str, Any],
    dataset_id: str,
    frames: FramesManifest | None = None,
) -> None:
    """Make `run_dir` this dataset's folder, or refuse when it holds another dataset's records
    or records of other frames (`frames`: this run's, from `DatasetSource.pin_frames`)."""
    run_file = run_dir / RUN_FILE
    stored = _read_object(run_file)
    if stored:
        if stored.get("dataset_id") != dataset_id:
            _refuse(run_dir, stored.get("dataset", {}), identity)
        if frames is not None:
            _claim_frames(run_dir, stored, frames)
        return
    records = read_records(run_dir)
    others = {r.get("dataset") for r in records} - {None, dataset_id}
    if others:
        raise InputError(
            f"this folder holds records of dataset {sorted(others)[0]}, not {dataset_id}; give "
            "this run its own folder with --run-dir",
            path=str(run_dir),
        )
    for record in records if frames is not None else ():  # run.json lost: the records say
        then = _frames_of(record.get("dataset_identity"))
        if record.get("dataset") == dataset_id and then and then != frames.summary():
            _refuse_frames(run_dir, then, frames)
    run_dir.mkdir(parents=True, exist_ok=True)
    payload = {"dataset_id": dataset_id, "dataset": identity}
    write_atomic(run_file, json.dumps(payload, indent=1, sort_keys=True) + "\n")
    if frames is not None:
        write_atomic(run_dir / FRAMES_FILE, frames.to_bytes())


def _frames_of(identity: Any) -> dict[str, Any] | None:
    """The frames' summary a dataset identity names (None: written before frames were pinned)."""
    frames = identity.get("frames") if isinstance(identity, dict) else None
    return frames if isinstance(frames, dict) and frames.get("digest") else None


def _claim_frames(run_dir: Path, stored: dict[str, Any], frames: FramesManifest) -> None:
    """The folder's frames are this run's, or the run is refused naming what changed; a
    folder from before frames were pinned takes this run's (said on stderr)."""
    now = frames.summary()
    then = _frames_of(stored.get("dataset"))
    if then is None:
        print(
            f"note: {run_dir / RUN_FILE} names no frames (written before frames were pinned): "
            f"its records are taken to be of these frames ({now['files']} files, digest "
            f"{now['digest']}), and a later run on other frames is refused; remove the folder "
            "to run its cells again if the frames changed since",
            file=sys.stderr,
        )
        _update_run_file(
            run_dir, lambda payload: payload.setdefault("dataset", {}).update(frames=now)
        )
    elif then["digest"] != now["digest"]:
        _refuse_frames(run_dir, then, frames)
    if then is None or not (run_dir / FRAMES_FILE).is_file():
        write_atomic(run_dir / FRAMES_FILE, frames.to_bytes())


def _refuse_frames(run_dir: Path, then: dict[str, Any], frames: FramesManifest) -> None:
    """Refuse a run on other frames than the folder's records, naming the files that differ
    (from the folder's manifest; by the digests alone where it is gone)."""
    now = frames.summary()
    old = _read_manifest(run_dir / FRAMES_FILE)
    if old is not None and old.digest[:16] == then.get("digest"):
        change = frames_change(old, frames)
    else:
        change = (
            f"digest {then.get('digest')} ({then.get('files', '?')} files) -> "
            f"{now['digest']} ({now['files']} files)"
        )
    raise InputError(
        f"this folder's records were made on other frames than this run's: {change}. Records of "
        f"other frames must not be mixed, nor finished cells reused: give this run its own "
        f"folder, e.g. --run-dir {run_dir}-frames-{now['digest'][:8]}, or remove {run_dir} to "
        "run its cells again on these frames",
        path=str(run_dir),
    )


def _read_manifest(path: Path) -> FramesManifest | None:
    try:
        return FramesManifest.from_bytes(path.read_bytes())
    except OSError:
        return None


def _read_object(path: Path) -> dict[str, Any]:
    """A JSON object file of the run folder; {} where there is none, and where it is damaged
    (not a JSON object: a hand edit, a disk error), with a warning: the sweep writes it anew,
    and the records alone still keep another dataset's run out (`claim_run_dir`)."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        print(
            f"warning: {path} is damaged (no JSON object); this sweep writes it anew",
            file=sys.stderr,
        )
        return {}
    return data


def _update_run_file(run_dir: Path, update: Callable[[dict[str, Any]], None]) -> None:
    run_file = run_dir / RUN_FILE
    payload = _read_object(run_file)
    update(payload)
    write_atomic(run_file, json.dumps(payload, indent=1, sort_keys=True) + "\n")


def save_run_timings(run_dir: Path, breakdown: dict[str, Any]) -> None:
    """The last run's time by phase (sweep/phase_clock.py), kept in run.json beside the dataset."""
    _update_run_file(run_dir, lambda payload: payload.update(last_run_timings=breakdown))


def start_sweep_state(
    run_dir: Path, cells: list[Cell], dataset_id: str, holder: dict[str, Any]
) -> None:
    """run.json's `sweep`: the cells this sweep is configured with and who runs them (the
    sweep's process), so a report can tell a cell never run from one still to come."""
    state = {
        "state": "running",
        **holder,
        "current": None,
        "cells": [
            {
                "key": c.key(dataset_id),
                "label": c.label(),
                "method": c.method.variant or c.method.name,
            }
            for c in cells
        ],
    }
    _update_run_file(run_dir, lambda payload: payload.update(sweep=state))


def update_sweep_state(run_dir: Path, **changes: Any) -> None:
    """Change run.json's `sweep`: the cell running (`current`), or how the sweep ended
    (`state`: finished, interrupted, stopped with its `error`)."""
    _update_run_file(run_dir, lambda payload: payload.setdefault("sweep", {}).update(changes))


def _refuse(run_dir: Path, stored: dict[str, Any], identity: dict[str, Any]) -> None:
    raise InputError(
        f"this folder holds records of {dataset_label(stored)}, but this run's dataset is "
        f"{dataset_label(identity)} (differs in: {identity_difference(stored, identity)}); "
        f"records of different datasets must not be mixed: give this run its own folder, e.g. "
        f"--run-dir {run_dir}-{identity.get('videos')}videos",
        path=str(run_dir),
    )


def save_config(run_dir: Path, config: BenchConfig) -> Path:
    """The resolved config (overrides applied) under its hash, readable back from a record."""
    path = run_dir / CONFIGS_DIR / f"{config.config_hash()}.yaml"
    if not path.is_file():
        write_atomic(path, yaml.safe_dump(config.to_dict(), sort_keys=False))
    return path


def cell_dir(run_dir: Path, cell: Cell, dataset_id: str) -> Path:
    return run_dir / CELLS_DIR / cell.folder_name(dataset_id)


def update_index(run_dir: Path, cells: list[Cell], dataset_id: str) -> None:
    """cells/index.json: every cell's key, label, folder and identity (a folder's name is short)."""
    path = run_dir / CELLS_DIR / INDEX_FILE
    index = _read_object(path)
    for cell in cells:
        index[cell.key(dataset_id)] = {
            "label": cell.label(),
            "folder": cell.folder_name(dataset_id),
            "identity": cell.identity(dataset_id),
        }
    write_atomic(path, json.dumps(index, indent=1, sort_keys=True, default=str) + "\n")
