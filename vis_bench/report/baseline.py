"""AP baselines: a sweep's config plus the metrics each of its cells reached, for regression.

A baseline file holds everything needed to re-run its cells (the full run config: dataset,
methods with checkpoints and options, axes, thread count), the numbers they gave, the commit it
was made from and the sha256 of every checkpoint. `regress` re-runs the cells and compares; a
checkpoint whose bytes changed since makes the comparison meaningless, so it is refused unless
asked for; a gain beyond the tolerance means the baseline is stale. `regress --update` writes a
new file from a fresh run. Metrics are stored as the records store them (fractions); comparisons
are made in AP points (x100).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from vis_bench.atomic import write_atomic
from vis_bench.checkpoints import resolve_checkpoint
from vis_bench.config import BenchConfig, parse_config
from vis_bench.errors import InputError
from vis_bench.hashing import file_sha256
from vis_bench.jsonio import read_json
from vis_bench.report.tables import OCCLUSION_AP, PERCENT_METRICS

BASELINE_FORMAT = "vis-bench-baseline"
#: metrics whose drop fails a regression check (AR is reported but only AP gates)
GATED_METRICS = ("AP", "AP50", "AP75", "APs", "APm", "APl")
REPORTED_METRICS = (
    "AP",
    "AP50",
    "AP75",
    "APs",
    "APm",
    "APl",
    "AR1",
    "AR10",
    "AR100",
    *OCCLUSION_AP,
)
CELL_AXES = (
    "method",
    "checkpoint",
    "options",
    "clip_length",
    "stride",
    "resolution",
    "device",
    "dtype",
)


@dataclass
class Baseline:
    path: str
    config: BenchConfig
    cells: list[dict[str, Any]]
    meta: dict[str, Any]


def read_baseline(path: str | Path) -> Baseline:
    """Parse and check a baseline file; errors name the file and the field."""
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, dict) or data.get("format") != BASELINE_FORMAT:
        raise InputError(
            f'not a vis-bench baseline (expected "format": "{BASELINE_FORMAT}"); write one '
            "with `regress --config CONFIG --baseline FILE --update`",
            path=str(path),
            field="format",
        )
    config = parse_config(data.get("config"), str(path))
    cells = data.get("cells")
    if not isinstance(cells, list) or not cells:
        raise InputError(
            "a baseline needs a non-empty list of cells", path=str(path), field="cells"
        )
    for i, cell in enumerate(cells):
        missing = [k for k in (*CELL_AXES, "metrics") if k not in cell]
        if missing:
            raise InputError(f"missing {missing}", path=str(path), field=f"cells[{i}]")
    meta = {k: v for k, v in data.items() if k not in ("config", "cells")}
    return Baseline(str(path), config, cells, meta)


def checkpoint_hashes(config: BenchConfig) -> dict[str, str]:
    """sha256 of every checkpoint the config's methods name (by the name the config uses)."""
    hashes = {}
    for method in config.methods:
        if method.checkpoint:
            path = resolve_checkpoint(method.checkpoint)
            if path.is_file():
                hashes[method.checkpoint] = file_sha256(path)
    return hashes


def changed_checkpoints(baseline: Baseline) -> list[str]:
    """Checkpoints whose bytes differ from the ones the baseline was made with ("path: old -> new")."""
    recorded = baseline.meta.get("checkpoints") or {}
    now = checkpoint_hashes(baseline.config)
    return [
        f"{path}: {recorded[path][:12]} -> {now.get(path, 'missing')[:12]}"
        for path in sorted(recorded)
        if now.get(path) != recorded[path]
    ]


def cell_identity(record: dict[str, Any]) -> str:
    """What identifies a cell across runs: its axes (not the dataset hash or the run name)."""
    return json.dumps({k: record.get(k) for k in CELL_AXES}, sort_keys=True, default=str)


def write_baseline(
    path: str | Path, config: BenchConfig, records: list[dict[str, Any]], description: str = ""
) -> None:
    """A baseline file from a run's successful records (written atomically)."""
    ok = [r for r in records if r.get("status") == "ok"]
    if not ok:
        raise InputError("no successful cells to record", path=str(path))
    cells = [
        {
            **{k: r.get(k) for k in CELL_AXES},
            "metrics": {m: r.get(m) for m in REPORTED_METRICS if m in r},
            "num_predictions": r.get("num_predictions"),
        }
        for r in ok
    ]
    first = ok[0]
    environment = first.get("environment") or {}
    data = {
        "format": BASELINE_FORMAT,
        "version": 2,
        "description": description,
        "created": time.strftime("%Y-%m-%d"),
        "commit": environment.get("git_commit"),
        "dataset": first.get("dataset"),
        "dataset_label": first.get("dataset_label"),
        "environment": environment,
        "checkpoints": checkpoint_hashes(config),
        "config": config.to_dict(),
        "cells": cells,
    }
    write_atomic(path, json.dumps(data, indent=1, sort_keys=False, default=str) + "\n")


@dataclass
class Comparison:
    table: pd.DataFrame
    regressions: list[str]
    missing: list[str]
    #: gated metrics that rose by more than the tolerance: the baseline no longer describes now
    gains: list[str] = field(default_factory=list)


def compare(baseline: Baseline, records: list[dict[str, Any]], tolerance: float) -> Comparison:
    """Baseline vs now per cell and metric, in points; a gated metric that falls by more than
    `tolerance` points, or a cell that failed or did not run, is a regression."""
    now = {cell_identity(r): r for r in records}
    rows, regressions, missing, gains = [], [], [], []
    for cell in baseline.cells:
        label = f"{cell['method']} T={cell['clip_length']}" + (
            f" S={cell['stride']}" if cell.get("stride") is not None else ""
        )
        record = now.get(cell_identity(cell))
        if record is None or record.get("status") != "ok":
            reason = "did not run" if record is None else record.get("error", "failed")
            missing.append(f"{label}: {reason}")
            continue
        for metric in REPORTED_METRICS:
            before = cell["metrics"].get(metric)
            after = record.get(metric)
            if before is None and after is None:
                continue
            scale = 100 if metric in PERCENT_METRICS else 1
            b = None if before is None else before * scale
            a = None if after is None else after * scale
            delta = None if a is None or b is None else a - b
            failed = metric in GATED_METRICS and (
                (b is not None and a is None) or (delta is not None and delta < -tolerance)
            )
            gained = metric in GATED_METRICS and delta is not None and delta > tolerance
            rows.append(
                {
                    "cell": label,
                    "metric": metric,
                    "baseline": b,
                    "now": a,
                    "delta": delta,
                    "status": "REGRESSED" if failed else ("GAINED" if gained else "ok"),
                }
            )
            if failed:
                regressions.append(
                    f"{label} {metric}: {b:.2f} -> {a if a is None else round(a, 2)}"
                )
            if gained:
                gains.append(f"{label} {metric}: {b:.2f} -> {a:.2f}")
    return Comparison(pd.DataFrame(rows), regressions, missing, gains)
