"""Two runs side by side: the cells they share, the differences with paired intervals, and what
changed in their configs and environments (`compare-runs RUN_A RUN_B`).

The question after changing a model, a setting or a machine is "what moved, and is it real?".
Cells are matched by what they measure (dataset, method, checkpoint name, clip schedule,
resolution, device, dtype, video cut), not by key; a device or dtype that is one per run and
differs between the runs (a CPU run against a GPU run) is what changed, and cells are matched
without it. A cell key also hashes the checkpoint file's
size and time, so a copied checkout would match nothing by key. AP differences are paired over
the same resampled videos (report/significance.py) when both runs kept their bootstrap files.
FPS is compared only as far as the two machines were equally fast: the ratio B / A is divided by
the ratio of the two cells' reference speeds (report/speed_trust.py), and refused as "not
comparable" with both reference figures when those differ by more than the tolerance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from vis_bench.eval.benchmarks import YTVIS
from vis_bench.records import CellRecord
from vis_bench.report.front_tables import front_lines, front_title, ranked_statistic
from vis_bench.report.metric_columns import fraction_statistics, interval_statistics, metrics_of
from vis_bench.report.record_set import CellFiles, RecordSet
from vis_bench.report.significance import PairedComparer
from vis_bench.report.speed_trust import (
    REFERENCE_TOLERANCE,
    cross_run_ratio,
    fps_text,
    mark_notes,
)

#: what a cell measures: matched between the two runs
IDENTITY = ("dataset", "method", "checkpoint", "clip_length", "stride", "resolution", "device",
            "dtype", "video_frames")  # fmt: skip
#: where and how a cell ran: an axis each run holds at one value, another in each (every cell
#: of A on the CPU, every cell of B on a GPU), is what changed between the runs, and the cells
#: are matched without it (the same cells on two devices: did the predictions move?)
RUN_WIDE = ("device", "dtype")
#: the FPS column: B / A at equal machine speed
FPS_RATIO = "FPS B/A (same machine speed)"
#: environment fields that change a measurement when they differ
ENVIRONMENT = ("git_commit", "torch", "python", "threads", "cpu", "gpu_name", "driver")


@dataclass
class _BothRuns:
    """The files of either run's cells, for the paired comparer."""

    a: RecordSet
    b: RecordSet

    def files(self, record: CellRecord) -> CellFiles:
        in_a = any(r is record for r in self.a.records)
        return self.a.files(record) if in_a else self.b.files(record)


def identity(record: CellRecord, axes: tuple[str, ...] = IDENTITY) -> tuple:
    return tuple(str(getattr(record, k)) for k in axes)


def matched_axes(a: RecordSet, b: RecordSet) -> tuple[str, ...]:
    """The axes cells are matched on: IDENTITY less each RUN_WIDE axis that each run holds at
    one value and the two runs at different values."""

    def values(run: RecordSet, axis: str) -> set[str]:
        return {str(getattr(r, axis)) for r in run.ok}

    def run_wide(axis: str) -> bool:
        in_a, in_b = values(a, axis), values(b, axis)
        return len(in_a) == len(in_b) == 1 and in_a != in_b

    return tuple(k for k in IDENTITY if not (k in RUN_WIDE and run_wide(k)))


def shared_cells(
    a: RecordSet, b: RecordSet
) -> tuple[list[tuple[CellRecord, CellRecord]], list[CellRecord], list[CellRecord]]:
    """(pairs of finished cells both runs measured, cells only in A, cells only in B)."""
    axes = matched_axes(a, b)
    in_b = {identity(r, axes): r for r in b.ok}
    in_a = {identity(r, axes): r for r in a.ok}
    pairs = [(r, in_b[k]) for k, r in in_a.items() if k in in_b]
    return (
        pairs,
        [r for k, r in in_a.items() if k not in in_b],
        [r for k, r in in_b.items() if k not in in_a],
    )


def _cell_name(record: CellRecord) -> str:
    stride = record.stride
    schedule = f"T={record.clip_length}" + ("" if stride is None else f" S={stride}")
    return f"{record.method} {schedule} {record.resolution}px {record.dtype}"


def compared_statistics(records: list[CellRecord]) -> tuple[str, ...]:
    """The statistics the records' metrics declare for a comparison of runs (paired where the
    metric has intervals: fractions in records, points in the table); YouTube-VIS's when the
    records hold no statistic."""
    metrics = metrics_of(r.metrics for r in records) or [YTVIS]
    return tuple(dict.fromkeys(s for metric in metrics for s in metric.compared_statistics))


def differences_frame(
    a: RecordSet, b: RecordSet, tolerance: float = REFERENCE_TOLERANCE
) -> pd.DataFrame:
    """One row per shared cell: each paired metric in A, B and B - A with its interval, and the
    end-to-end FPS ratio B / A normalised by the two machines' reference speeds."""
    comparer = PairedComparer(_BothRuns(a, b))  # type: ignore[arg-type]
    compared = compared_statistics([*a, *b])
    fractions, intervals = fraction_statistics(), interval_statistics()
    rows = []
    for cell_a, cell_b in shared_cells(a, b)[0]:
        row: dict[str, Any] = {"cell": _cell_name(cell_a)}
        for metric in compared:
            value_a, value_b = cell_a.metric(metric), cell_b.metric(metric)
            if value_a is None or value_b is None:
                continue
            scale = 100 if metric in fractions else 1
            row[f"{metric} A"] = f"{scale * value_a:.2f}"
            row[f"{metric} B"] = f"{scale * value_b:.2f}"
            row[f"{metric} B-A"] = (
                comparer.compare(cell_b, cell_a, metric).text(2)
                if metric in intervals
                else f"{scale * (value_b - value_a):+.2f}"
            )
        row["FPS A"] = fps_text(cell_a)
        row["FPS B"] = fps_text(cell_b)
        row[FPS_RATIO] = cross_run_ratio(cell_a, cell_b, tolerance).text()
        rows.append(row)
    return pd.DataFrame(rows)


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, Mapping):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): data}


def setting_changes(a: RecordSet, b: RecordSet) -> list[str]:
    """`key: A -> B` for each config key or environment field that differs between the runs
    (the first record of each run stands for its run)."""
    if not len(a) or not len(b):
        return []
    first_a, first_b = a.records[0], b.records[0]
    config_a = _flat(first_a.config or {})
    config_b = _flat(first_b.config or {})
    env_a, env_b = _environment(first_a), _environment(first_b)
    changes = [
        f"config {key}: {config_a.get(key)!r} -> {config_b.get(key)!r}"
        for key in sorted(set(config_a) | set(config_b))
        if config_a.get(key) != config_b.get(key) and key not in ("output", "name")
    ]
    changes += [
        f"environment {key}: {env_a.get(key)!r} -> {env_b.get(key)!r}"
        for key in ENVIRONMENT
        if env_a.get(key) != env_b.get(key)
    ]
    return changes


def _environment(record: CellRecord) -> dict[str, Any]:
    """The environment's fields a measurement depends on, as the record holds them (those it
    lacks left out)."""
    env = record.environment
    if env is None:
        return {}
    return {k: getattr(env, k) for k in ENVIRONMENT if k not in env.absent}


def compare_runs_markdown(
    a: RecordSet,
    b: RecordSet,
    name_a: str,
    name_b: str,
    tolerance: float = REFERENCE_TOLERANCE,
) -> str:
    """The comparison as markdown: shared cells, cells of one run only, each run's
    speed-accuracy front (report/front_tables.py), what changed."""
    pairs, only_a, only_b = shared_cells(a, b)
    lines = [f"# {name_b} vs {name_a}", "", f"A = {name_a}", f"B = {name_b}", ""]
    lines += [f"## Shared cells ({len(pairs)})", ""]
    across = [axis for axis in RUN_WIDE if axis not in matched_axes(a, b)]
    for axis in across:
        run_a, run_b = (getattr(run.ok[0], axis) for run in (a, b))
        lines += [f"Matched across {axis}: every cell of A on {run_a}, of B on {run_b}.", ""]
    frame = differences_frame(a, b, tolerance)
    lines += [frame.to_markdown(index=False, disable_numparse=True) if len(frame) else "(none)"]
    lines += ["", "B - A in points, with its paired 95% interval over the same resampled "
              "videos; n.s.: the interval contains 0.", ""]  # fmt: skip
    lines += [
        f"{FPS_RATIO}: FPS of B / FPS of A, divided by the ratio of the machine's reference "
        "speed in B to that in A (both read around every timed round, docs/fps.md), so that a "
        "machine that was busier or slower in one run does not pass for a faster method; "
        f"`not comparable` when the two reference speeds differ by more than "
        f"{100 * tolerance:.0f}%, with both figures (the raw ratio would be a property of the "
        "machines, not of the code).",
        "",
    ]
    notes = mark_notes([r for pair in pairs for r in pair])
    lines += [*notes, ""] if notes else []
    for title, only in (
        (f"Only in A ({len(only_a)})", only_a),
        (f"Only in B ({len(only_b)})", only_b),
    ):
        if only:
            lines += [f"## {title}", ""] + [f"- {_cell_name(r)}" for r in only] + [""]
    for run, records in (("A", a), ("B", b)):  # each run's own front: did the trade-off move?
        title = front_title(ranked_statistic(records))
        lines += front_lines(records, title=f"{title} in {run}")
    changes = setting_changes(a, b)
    lines += ["## What changed", ""]
    lines += [f"- {c}" for c in changes] if changes else ["- nothing in config or environment"]
    return "\n".join(lines) + "\n"
