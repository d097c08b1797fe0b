"""AP baselines: a sweep's config plus the metrics each of its cells reached, for regression.

A baseline file holds everything needed to re-run its cells (the full run config: dataset,
methods with checkpoints and options, axes, thread count), the numbers they gave, the commit it
was made from and the sha256 of every checkpoint. `regress` re-runs the cells and compares; a
checkpoint whose bytes changed since makes the comparison meaningless, so it is refused unless
asked for; a gain beyond the tolerance means the baseline is stale. `regress --update` writes a
new file from a fresh run. Metrics are stored as the records store them (fractions); comparisons
are made in AP points (x100).

Each cell also keeps its per-video matching (`video_matches`, `VideoMatches.to_dict()`), so the
tolerance can be `auto`, the rule the tables' `n.s.` marks use: a metric fails only when the
paired bootstrap interval of (now - baseline), both re-scored on the same resampled videos, lies
entirely below 0, i.e. the videos agree on the drop. The interval is read as it is, never as a
symmetric half-width (percentile intervals are often skewed). Only the metrics the matching can
re-score have such an interval (AP, AP50, AP75: area and occlusion "all"); under `auto` the
area-range and occlusion APs are reported but not gated, and the comparison says so
(`Comparison.coverage`). Cells of older baselines without the matching fall back to the fixed
tolerance, with a note.
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
from vis_bench.eval.benchmarks import OCCLUSION_AP
from vis_bench.eval.declared import each_statistic
from vis_bench.eval.stats.bootstrap import (
    DEFAULT_REPLICATES,
    no_interval_reason,
    paired_intervals,
)
from vis_bench.eval.stats.resample import RESAMPLED_STATS
from vis_bench.eval.stats.video_matches import VideoMatches
from vis_bench.formats.checkpoints import resolve_checkpoint
from vis_bench.hashing import file_sha256
from vis_bench.jsonio import read_format_json, read_json
from vis_bench.report.metric_columns import fraction_statistics, higher_is_better

BASELINE_FORMAT = "vis-bench-baseline"


def gated_metrics() -> tuple[str, ...]:
    """Statistics whose drop fails a regression check, as each metric declares them
    (YouTube-VIS: the APs; eval/benchmarks.py)."""
    return each_statistic(lambda metric: metric.gated)


def reported_metrics() -> tuple[str, ...]:
    """Statistics a baseline keeps and `regress` reports (YouTube-VIS: AP .. AR100)."""
    return each_statistic(lambda metric: metric.reported)


#: the fixed tolerance of `regress`, in AP points (also what `auto` falls back to)
DEFAULT_TOLERANCE = 0.3
AUTO = "auto"
#: why `--tolerance auto` leaves the other AP-type metrics ungated (said in its output)
NO_INTERVAL = "no paired interval: the per-video matching covers area and occlusion 'all' only"
#: why a reported metric is never gated
REPORTED_ONLY = "reported only"
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
    data = read_format_json(
        path,
        BASELINE_FORMAT,
        "a vis-bench baseline",
        "`regress --config CONFIG --baseline FILE --update`",
    )
    config = parse_config(data.get("config"), str(path), resolved=True)
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
    """Checkpoints the config names whose bytes differ from the ones the baseline was made with
    ("path: old -> new"; a file gone: "-> missing"). A recorded file no method of the config
    names (a baseline cut down to some of its methods) is no longer run: not compared."""
    recorded = baseline.meta.get("checkpoints") or {}
    named = {m.checkpoint for m in baseline.config.methods if m.checkpoint}
    now = checkpoint_hashes(baseline.config)
    return [
        f"{path}: {recorded[path][:12]} -> {now.get(path, 'missing')[:12]}"
        for path in sorted(recorded)
        if path in named and now.get(path) != recorded[path]
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
            "metrics": {m: r.get(m) for m in reported_metrics() if m in r},
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
        # the code state, machine and command of the run whose records the baseline holds
        "provenance": first.get("provenance"),
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
    #: gated metrics that rose beyond the tolerance: the baseline no longer describes now
    gains: list[str] = field(default_factory=list)
    #: e.g. cells of an old baseline that fell back from `auto` to the fixed tolerance
    notes: list[str] = field(default_factory=list)
    #: "gated (<rule>)" / "not gated (<reason>)" -> the metrics judged that way, so the output
    #: says which metrics were checked instead of letting an ungated one pass silently
    coverage: dict[str, list[str]] = field(default_factory=dict)

    def coverage_lines(self) -> list[str]:
        """`gated (...): AP, AP50` and `not gated (...): APs, ...`, gated rules first."""
        ordered = sorted(self.coverage.items(), key=lambda item: not item[0].startswith("gated"))
        return [f"{rule}: {', '.join(metrics)}" for rule, metrics in ordered]


@dataclass(frozen=True)
class Tolerance:
    """How a gated metric is judged: a fixed drop in points, or `auto` (the paired rule)."""

    fixed: float = DEFAULT_TOLERANCE
    auto: bool = False
    replicates: int = DEFAULT_REPLICATES
    seed: int = 0

    def describe(self) -> str:
        """The rule in words, for the command's last line."""
        if self.auto:
            return "auto: a drop fails when its paired interval of now - baseline lies below 0"
        return f"{self.fixed} points"


@dataclass(frozen=True)
class Gate:
    """How one metric of one cell is judged: a fixed largest drop, a paired interval, or not
    at all (`reason`), so every row of the table says which rule applied."""

    limit: float | None = None  # fixed: the largest allowed drop, in points
    interval: tuple[float, float] | None = None  # paired: now - baseline, in points
    reason: str | None = None  # not gated: why

    @property
    def rule(self) -> str:
        """The coverage key: `gated (<rule>)` or `not gated (<reason>)`."""
        if self.interval is not None:
            return "gated (paired interval of now - baseline lies below 0)"
        if self.limit is not None:
            return f"gated (drop > {self.limit:g} points)"
        return f"not gated ({self.reason})"

    def status(self, before: float | None, after: float | None, delta: float | None) -> str:
        """`REGRESSED`, `GAINED`, `ok` or `not gated` for one metric."""
        if self.limit is None and self.interval is None:
            return "not gated"
        if before is not None and after is None:
            return "REGRESSED"
        if self.interval is not None:  # the interval decides, whatever the point delta
            low, high = self.interval
            return "REGRESSED" if high < 0 else ("GAINED" if low > 0 else "ok")
        if delta is None:
            return "ok"
        return "REGRESSED" if delta < -self.limit else ("GAINED" if delta > self.limit else "ok")

    def text(self) -> str:
        """The table's `gate` cell: the paired interval, the fixed limit, or `-` (not gated)."""
        if self.interval is not None:
            return f"[{self.interval[0]:+.2f}, {self.interval[1]:+.2f}]"
        return "-" if self.limit is None else f"drop > {self.limit:.2f}"

    def why(self) -> str:
        """The reason a regression or gain message gives."""
        if self.interval is not None:
            low, high = self.interval
            side = "lies below" if high < 0 else ("lies above" if low > 0 else "contains")
            return f"paired interval of now - baseline [{low:+.2f}, {high:+.2f}] {side} 0"
        return f"tolerance {self.limit:.2f} points"


def _cell_gates(
    cell: dict[str, Any], record: dict[str, Any], tolerance: Tolerance, label: str
) -> tuple[dict[str, Gate], str | None]:
    """Per AP-type metric how it is judged, and a note when `auto` fell back to fixed."""
    gated = gated_metrics()
    fixed = {m: Gate(limit=tolerance.fixed) for m in gated}
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
    too_few = no_interval_reason(after.n_videos)
    if too_few is not None:
        return fixed, f"{label}: {too_few}, so the fixed tolerance {tolerance.fixed} points is used"
    intervals = paired_intervals(
        after,
        before,
        # the gated statistics with a paired bootstrap interval: what `--tolerance auto` gates
        tuple(m for m in gated if m in RESAMPLED_STATS),
        replicates=tolerance.replicates,
        seed=tolerance.seed,
    )
    gates = dict.fromkeys((*gated, *OCCLUSION_AP), Gate(reason=NO_INTERVAL))
    undefined = []
    for metric, interval in intervals.items():
        if interval is None:  # no replicate defined the metric: judged by the fixed limit
            gates[metric] = Gate(limit=tolerance.fixed)
            undefined.append(metric)
        else:
            gates[metric] = Gate(interval=(100 * interval[0], 100 * interval[1]))
    note = None
    if undefined:
        note = (
            f"{label}: no paired interval of {', '.join(undefined)} (undefined in every "
            f"replicate); fixed tolerance {tolerance.fixed} points used"
        )
    return gates, note


def _label(cell: dict[str, Any]) -> str:
    return f"{cell['method']} T={cell['clip_length']}" + (
        f" S={cell['stride']}" if cell.get("stride") is not None else ""
    )


def compare(
    baseline: Baseline, records: list[dict[str, Any]], tolerance: float | Tolerance
) -> Comparison:
    """Baseline vs now per cell and metric, in points; a gated metric that its rule calls a
    drop (fixed: beyond the tolerance; auto: paired interval below 0), or a cell that failed
    or did not run, is a regression. `coverage` says which metrics each rule judged."""
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
        gates, note = _cell_gates(cell, record, tolerance, label)
        if note is not None:
            result.notes.append(note)
        for metric in reported_metrics():
            gate = gates.get(metric, Gate(reason=REPORTED_ONLY))
            row = _compare_metric(cell, record, metric, gate, label, result)
            if row is not None:
                rows.append(row)
                listed = result.coverage.setdefault(gate.rule, [])
                if metric not in listed:
                    listed.append(metric)
    result.table = pd.DataFrame(rows)
    return result


def _compare_metric(
    cell: dict[str, Any],
    record: dict[str, Any],
    metric: str,
    gate: Gate,
    label: str,
    result: Comparison,
) -> dict[str, Any] | None:
    """One table row; a regression or gain is added to `result` as the metric's gate rules."""
    before = cell["metrics"].get(metric)
    after = record.get(metric)
    if before is None and after is None:
        return None
    scale = 100 if metric in fraction_statistics() else 1
    b = None if before is None else before * scale
    a = None if after is None else after * scale
    delta = None if a is None or b is None else a - b
    # a gate judges a gain as positive: a statistic where lower is better is judged negated
    sign = 1 if higher_is_better(metric) else -1
    status = gate.status(b, a, None if delta is None else sign * delta)
    if status == "REGRESSED":
        result.regressions.append(
            f"{label} {metric}: {b:.2f} -> {'missing' if a is None else f'{a:.2f}'} ({gate.why()})"
        )
    if status == "GAINED":
        result.gains.append(f"{label} {metric}: {b:.2f} -> {a:.2f} ({gate.why()})")
    return {
        "cell": label,
        "metric": metric,
        "baseline": b,
        "now": a,
        "delta": delta,
        "gate": gate.text(),
        "status": status,
    }
