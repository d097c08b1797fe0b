"""AP baselines: a sweep's config plus the metrics each of its cells reached, for regression.

A baseline file holds everything needed to re-run its cells (the full run config: dataset,
methods with checkpoints and options, axes, thread count), the numbers they gave, the commit it
was made from and the sha256 of every checkpoint. `regress` re-runs the cells and compares; a
checkpoint whose bytes changed since makes the comparison meaningless, so it is refused unless
asked for; a gain beyond the tolerance means the baseline is stale. `regress --update` writes a
new file from a fresh run. Metrics are stored as the records store them (fractions); comparisons
are made in AP points (x100).

Each cell also keeps its per-video matching (`video_matches`, `VideoMatches.to_dict()`), so the
tolerance can be `auto`: a cell fails only when its drop is larger than the half-width of the
paired bootstrap interval of (now - baseline) on the same resampled videos, i.e. larger than what
the choice of videos alone moves. Only AP, AP50 and AP75 have such an interval; under `auto` the
area-range APs are reported but not gated. Cells of older baselines without the matching fall
back to the fixed tolerance, with a note.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from vis_bench.atomic import write_atomic
from vis_bench.config import BenchConfig, parse_config
from vis_bench.errors import InputError
from vis_bench.eval.metric.params import STAT_NAMES
from vis_bench.eval.stats.bootstrap import DEFAULT_REPLICATES, auto_tolerance
from vis_bench.eval.stats.video_matches import VideoMatches
from vis_bench.hashing import file_sha256
from vis_bench.jsonio import read_json
from vis_bench.report.tables import OCCLUSION_AP, PERCENT_METRICS
from vis_bench.toolkit.checkpoint_files import resolve_checkpoint

BASELINE_FORMAT = "vis-bench-baseline"
#: metrics whose drop fails a regression check (AR is reported but only AP gates)
GATED_METRICS = ("AP", "AP50", "AP75", "APs", "APm", "APl")
REPORTED_METRICS = (*STAT_NAMES[:9], *OCCLUSION_AP)  # AP .. AR100
#: the fixed tolerance of `regress`, in AP points (also what `auto` falls back to)
DEFAULT_TOLERANCE = 0.3
AUTO = "auto"
#: gated metrics with a paired bootstrap interval: what `--tolerance auto` gates
AUTO_GATED = ("AP", "AP50", "AP75")
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
    cells = []
    for r in ok:
        cell = {
            **{k: r.get(k) for k in CELL_AXES},
            "metrics": {m: r.get(m) for m in REPORTED_METRICS if m in r},
            "num_predictions": r.get("num_predictions"),
        }
        if r.get("video_matches") is not None:  # loaded by `regress` while the run exists
            cell["video_matches"] = r["video_matches"]
        cells.append(cell)
    first = ok[0]
    environment = first.get("environment") or {}
    data = {
        "format": BASELINE_FORMAT,
        "version": 3,
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
    write_atomic(path, _baseline_text(data))


def _baseline_text(data: dict[str, Any]) -> str:
    """Indented JSON, with each cell's per-video matching on one line (thousands of numbers)."""
    compact = {}
    cells = []
    for i, cell in enumerate(data["cells"]):
        if "video_matches" in cell:
            token = f"@video_matches_{i}@"
            compact[json.dumps(token)] = json.dumps(cell["video_matches"], separators=(",", ":"))
            cell = {**cell, "video_matches": token}
        cells.append(cell)
    text = json.dumps({**data, "cells": cells}, indent=1, sort_keys=False, default=str)
    for token, blob in compact.items():
        text = text.replace(token, blob, 1)
    return text + "\n"


def attach_video_matches(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of the records with their per-video matching read in (`video_matches`), for a
    run folder that is about to be removed; records without one are returned as they are."""
    out = []
    for record in records:
        path = record.get("video_matches_path")
        if path and Path(path).is_file():
            record = {**record, "video_matches": read_json(Path(path))}
        out.append(record)
    return out


@dataclass
class Comparison:
    table: pd.DataFrame
    regressions: list[str]
    missing: list[str]
    #: gated metrics that rose by more than the tolerance: the baseline no longer describes now
    gains: list[str] = field(default_factory=list)
    #: e.g. cells of an old baseline that fell back from `auto` to the fixed tolerance
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Tolerance:
    """How far a gated metric may fall: fixed points, or `auto` (paired bootstrap half-width)."""

    fixed: float = DEFAULT_TOLERANCE
    auto: bool = False
    replicates: int = DEFAULT_REPLICATES
    seed: int = 0

    def describe(self) -> str:
        if self.auto:
            return "auto (paired bootstrap half-width)"
        return f"{self.fixed} points"


def _cell_tolerances(
    cell: dict[str, Any], record: dict[str, Any], tolerance: Tolerance, label: str
) -> tuple[dict[str, float | None], str | None]:
    """Per gated metric its tolerance in points (None: not gated), and a note on fallback."""
    fixed = dict.fromkeys(GATED_METRICS, tolerance.fixed)
    if not tolerance.auto:
        return fixed, None
    missing = [
        what
        for what, data in (("the baseline", cell), ("this run", record))
        if data.get("video_matches") is None
    ]
    if missing:
        return fixed, (
            f"{label}: no per-video matching in {' or '.join(missing)}, so --tolerance auto "
            f"falls back to the fixed {tolerance.fixed} points (rewrite the baseline with "
            "--update to keep it)"
        )
    before = VideoMatches.from_dict(cell["video_matches"], path=f"baseline cell {label}")
    after = VideoMatches.from_dict(record["video_matches"], path=f"this run's {label}")
    if not before.same_ground_truth(after):
        return fixed, (
            f"{label}: scored on other videos or GT tracks than the baseline, so it cannot be "
            f"paired; fixed tolerance {tolerance.fixed} points used"
        )
    out: dict[str, float | None] = dict.fromkeys(GATED_METRICS)
    for metric in AUTO_GATED:
        out[metric] = auto_tolerance(
            before, after, metric, replicates=tolerance.replicates, seed=tolerance.seed
        )
    return out, None


def _label(cell: dict[str, Any]) -> str:
    return f"{cell['method']} T={cell['clip_length']}" + (
        f" S={cell['stride']}" if cell.get("stride") is not None else ""
    )


def compare(
    baseline: Baseline, records: list[dict[str, Any]], tolerance: float | Tolerance
) -> Comparison:
    """Baseline vs now per cell and metric, in points; a gated metric that falls by more than
    its tolerance, or a cell that failed or did not run, is a regression."""
    if not isinstance(tolerance, Tolerance):
        tolerance = Tolerance(fixed=float(tolerance))
    now = {cell_identity(r): r for r in records}
    result = Comparison(pd.DataFrame(), [], [], [])
    rows = []
    for cell in baseline.cells:
        label = _label(cell)
        record = now.get(cell_identity(cell))
        if record is None or record.get("status") != "ok":
            reason = "did not run" if record is None else record.get("error", "failed")
            result.missing.append(f"{label}: {reason}")
            continue
        limits, note = _cell_tolerances(cell, record, tolerance, label)
        if note is not None:
            result.notes.append(note)
        for metric in REPORTED_METRICS:
            row = _compare_metric(cell, record, metric, limits.get(metric), label, result)
            if row is not None:
                rows.append(row)
    result.table = pd.DataFrame(rows)
    return result


def _compare_metric(
    cell: dict[str, Any],
    record: dict[str, Any],
    metric: str,
    limit: float | None,
    label: str,
    result: Comparison,
) -> dict[str, Any] | None:
    """One table row; a regression or gain is added to `result` (ungated when `limit` is None)."""
    before = cell["metrics"].get(metric)
    after = record.get(metric)
    if before is None and after is None:
        return None
    scale = 100 if metric in PERCENT_METRICS else 1
    b = None if before is None else before * scale
    a = None if after is None else after * scale
    delta = None if a is None or b is None else a - b
    gated = limit is not None
    failed = gated and ((b is not None and a is None) or (delta is not None and delta < -limit))
    gained = gated and delta is not None and delta > limit
    if failed:
        result.regressions.append(
            f"{label} {metric}: {b:.2f} -> {a if a is None else round(a, 2)} "
            f"(tolerance {limit:.2f} points)"
        )
    if gained:
        result.gains.append(f"{label} {metric}: {b:.2f} -> {a:.2f} (tolerance {limit:.2f} points)")
    return {
        "cell": label,
        "metric": metric,
        "baseline": b,
        "now": a,
        "delta": delta,
        "tolerance": limit,
        "status": "REGRESSED" if failed else ("GAINED" if gained else "ok"),
    }
