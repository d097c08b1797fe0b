"""A run directory: one dataset's records, the configs that wrote them, and a readable index.

    <run dir>/records.jsonl          one line per finished or failed cell (report/records.py)
    <run dir>/run.json               the dataset identity every record of the folder shares,
                                     the last run's time by phase (`last_run_timings`) and the
                                     last sweep's state (`sweep`: its cells, the one running,
                                     how it ended; the reports name the cells left without a
                                     record from it)
    <run dir>/sweep.lock             held by the sweep writing the folder (run_lock.py)
    <run dir>/configs/<hash>.yaml    each resolved config a record names by `config_hash` (records
                                     also embed it as `config`; older ones only name it)
    <run dir>/cells/<label>-<key>/   a cell's predictions (results.json)
    <run dir>/cells/index.json       key -> cell label, folder and identity

Records of different datasets never share a folder: tables and the leaderboard would rank a
3-video cell beside 24-video cells. A run whose dataset differs from the folder's is refused with
the difference and the way out (another --run-dir).
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
from vis_bench.errors import InputError
from vis_bench.inference.sources import dataset_label, identity_difference
from vis_bench.report.records import read_records
from vis_bench.report.settings import CONFIGS_DIR
from vis_bench.sweep.cells import Cell

RUN_FILE = "run.json"
CELLS_DIR = "cells"
INDEX_FILE = "index.json"


def claim_run_dir(run_dir: Path, identity: dict[str, Any], dataset_id: str) -> None:
    """Make `run_dir` this dataset's folder, or refuse when it holds another dataset's records."""
    run_file = run_dir / RUN_FILE
    stored = _read_object(run_file)
    if stored:
        if stored.get("dataset_id") != dataset_id:
            _refuse(run_dir, stored.get("dataset", {}), identity)
        return
    others = {r.get("dataset") for r in read_records(run_dir)} - {None, dataset_id}
    if others:
        raise InputError(
            f"this folder holds records of dataset {sorted(others)[0]}, not {dataset_id}; give "
            "this run its own folder with --run-dir",
            path=str(run_dir),
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    payload = {"dataset_id": dataset_id, "dataset": identity}
    write_atomic(run_file, json.dumps(payload, indent=1, sort_keys=True) + "\n")


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
    """The last run's time by phase (sweep/timings.py), kept in run.json beside the dataset."""
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
