"""The run's numbers in the formats other tools read: a flat per-cell CSV, and the leaderboard
as CSV, JSON or LaTeX (for a spreadsheet, a plotting script or a paper's table).

The markdown tables round and annotate for people; these keep every number as measured (metrics
in percent like every table, intervals as two columns) so nobody has to parse markdown.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pandas as pd

from vis_bench.records import CellRecord
from vis_bench.report.front_tables import front_json
from vis_bench.report.latex_leaderboard import column_notes
from vis_bench.report.latex_leaderboard import latex_leaderboard as _latex
from vis_bench.report.leaderboard import (
    SPEED_COLUMNS,
    device_name,
    leaderboard_columns,
    leaderboard_datasets,
    leaderboard_frame,
    of_dataset,
    ranked_by,
)
from vis_bench.report.metric_columns import fraction_statistics, in_points
from vis_bench.report.record_set import RecordSet
from vis_bench.report.speed import authors_entry, authors_text, latency_ms, ratio
from vis_bench.report.speed_trust import (
    mark_explanations,
    mark_notes,
    paired_ratio,
    speed_of,
    was_loaded,
    was_noisy,
)
from vis_bench.report.tables import AXES, datasets_of, records_frame

#: leaderboard export formats (`leaderboard --format`); markdown is the leaderboard's own
FORMATS = ("md", "csv", "json", "latex")
#: the per-cell file a run writes beside tables.md
CELLS_FILE = "cells.csv"
#: per-cell columns after the axes and metrics, as the records name them
CELL_MEASUREMENTS = (
    "fps_end_to_end",
    "fps_model",
    "fps_authors",
    "fps_single_clip",
    "seconds_end_to_end",
    "gmacs_per_frame",
    "params",
    "peak_rss_mb",
    "activation_peak_mb",
    "cuda_max_allocated_mb",
    "num_videos",
    "num_frames",
    "num_predictions",
)
CELL_IDENTITY = ("key", "dataset", "backbone", "checkpoint", "status", "error")


def cells_frame(record_set: RecordSet) -> pd.DataFrame:
    """One row per cell (failed ones too), flat: identity, axes, metrics in percent with their
    interval bounds, measurements, the commit that made it."""
    frame = records_frame(record_set, only_ok=False)
    if frame.empty:
        return pd.DataFrame(columns=[*CELL_IDENTITY[:1], *AXES])
    out = pd.DataFrame(index=frame.index)
    for column in (*CELL_IDENTITY[:2], *AXES, *CELL_IDENTITY[2:]):
        out[column] = frame.get(column)
    for metric in fraction_statistics():
        if metric in frame and frame[metric].notna().any():
            out[metric] = frame[metric]
            interval = frame.get(f"{metric}_ci")
            if interval is not None and interval.notna().any():
                out[f"{metric}_low"] = [_bound(v, 0) for v in interval]
                out[f"{metric}_high"] = [_bound(v, 1) for v in interval]
    for column in CELL_MEASUREMENTS:
        if column in frame:
            out[column] = frame[column]
    rows = list(record_set)
    if any(r.speed.rounds is not None for r in rows):
        for name, values in speed_columns(rows).items():
            out[name] = values
    if any(authors_entry(r) is not None for r in rows):
        out["authors_over_end_to_end"] = [ratio(r) for r in rows]
        out["authors_protocol"] = [authors_text(r) for r in rows]
    if any(r.stream is not None for r in rows):
        for key in ("p50", "p90", "p99"):
            out[f"latency_{key}_ms"] = [latency_ms(r, key) for r in rows]
    out["commit"] = frame["commit"]
    unfinished = _unfinished_rows(record_set, out.columns, failed=False)
    return pd.concat([out, unfinished], ignore_index=True) if len(unfinished) else out


def _unfinished_rows(record_set: RecordSet, columns: Any, failed: bool = True) -> pd.DataFrame:
    """A row per configured cell without a result (not run, interrupted and, with `failed`,
    failed), with its status and why in `error`."""
    rows = [
        {"key": cell.key, "cell": cell.label, "status": cell.status, "error": cell.reason}
        for cell in record_set.unfinished
        if failed or cell.status != "failed"
    ]
    if not rows:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(rows)
    return frame.reindex(columns=[*columns, *(c for c in frame if c not in columns)])


def speed_columns(rows: list[CellRecord]) -> dict[str, list[Any]]:
    """How far each row's FPS can be trusted, as plain columns: the range over its timed
    rounds, the rounds, CPU seconds per wall second, the machine's reference speed and how far
    it moved, and the loaded and noisy flags (the marks of the markdown tables)."""
    speeds = [speed_of(r) for r in rows]
    ranges = [s.fps_range or [None, None] for s in speeds]
    intervals = [s.fps_ci or [None, None] for s in speeds]
    return {
        "fps_low": [r[0] for r in ranges],
        "fps_high": [r[1] for r in ranges],
        "fps_ci_low": [r[0] for r in intervals],
        "fps_ci_high": [r[1] for r in intervals],
        "fps_ci_confidence": [s.fps_ci_confidence for s in speeds],
        "fps_precision": [s.fps_precision for s in speeds],
        "fps_wider_than_target": [s.wider_than_target for s in speeds],
        "fps_comparable": [s.comparable for s in speeds],
        "fps_not_comparable": [s.not_comparable for s in speeds],
        "timed_rounds": [s.rounds_timed for s in speeds],
        "rounds_counted": [s.rounds_counted for s in speeds],
        "cpu_per_wall": [s.cpu_per_wall for s in speeds],
        "reference_gflops": [s.reference_gflops for s in speeds],
        "reference_spread": [s.reference_spread for s in speeds],
        "fps_loaded": [was_loaded(r) for r in rows],
        "fps_noisy": [was_noisy(r) for r in rows],
    }


def _speed_numbers(record: CellRecord) -> dict[str, Any]:
    """The leaderboard's speed as plain numbers (empty columns are dropped)."""
    entry = authors_entry(record)
    return {
        "FPS_model": record.speed.fps_model if "model" in (record.protocols or {}) else None,
        "FPS_authors": record.speed.fps_authors,
        "authors_over_end_to_end": ratio(record),
        "authors_protocol": authors_text(record) if entry is not None else None,
        **{f"latency_{k}_ms": latency_ms(record, k) for k in ("p50", "p99")},
        "first_result_ms": record.stream.first_result_ms if record.stream is not None else None,
    }


def _side(interval: Any, side: int) -> float | None:
    """One end of a recorded interval as recorded (None: no such end)."""
    if isinstance(interval, list | tuple) and len(interval) == 2 and interval[side] is not None:
        return float(interval[side])
    return None


def _bound(interval: Any, side: int) -> float | None:
    """One end of a fraction's interval in points."""
    value = _side(interval, side)
    return None if value is None else 100 * value


def leaderboard_table(record_set: RecordSet) -> pd.DataFrame:
    """The leaderboard's rows with plain values: what `leaderboard --format csv|json|latex`
    writes (the AP interval as its two bounds, FPS as a number with the machine apart), each
    dataset ranked on its own (column `dataset`)."""
    datasets = datasets_of(record_set)
    tables = [_ranked(of_dataset(record_set, d), d) for d in datasets] or [_ranked(record_set, "-")]
    table = pd.concat(tables, ignore_index=True)
    empty = [c for c in table if table[c].map(lambda v: v is None or v == "" or v != v).all()]
    return table.drop(columns=empty)


def _ranked(record_set: RecordSet, dataset: str) -> pd.DataFrame:
    frame = leaderboard_frame(record_set)
    if frame.empty:
        return pd.DataFrame(columns=["dataset", *leaderboard_columns()])
    by_key = {r.key: r for r in record_set}
    ranked = [by_key[key] for key in frame["key"]]
    rows = []
    for i, (_, row) in enumerate(frame.iterrows()):
        record = ranked[i]
        rows.append(
            {
                "dataset": dataset,
                **{
                    c: row.get(c)
                    for c in leaderboard_columns()
                    if c not in ("FPS", "vs next", "params", *SPEED_COLUMNS)
                },
                **_interval_bounds(record, record_set),
                "FPS": record.speed.fps_end_to_end,
                **{k: v[0] for k, v in speed_columns([record]).items()},
                **_vs_next(ranked, i),
                **_speed_numbers(record),
                "machine": device_name(record),
                "params": record.flops.params,
                "key": row.get("key"),
            }
        )
    return pd.DataFrame(rows)


def _interval_bounds(record: CellRecord, record_set: RecordSet) -> dict[str, float | None]:
    """The bounds of the ranked figure's interval (`HOTA_all_low` ...) and of AP's, each pair
    dropped with the other empty columns where no row has it."""
    bounds: dict[str, float | None] = {}
    for statistic in dict.fromkeys((ranked_by(record_set)[0], "AP")):
        interval = record.interval(statistic)
        bounds[f"{statistic}_low"] = in_points(statistic, _side(interval, 0))
        bounds[f"{statistic}_high"] = in_points(statistic, _side(interval, 1))
    return bounds


def _vs_next(ranked: list[CellRecord], i: int) -> dict[str, Any]:
    """The paired FPS ratio to the next rank as numbers (empty for the last rank)."""
    if i + 1 >= len(ranked):
        return {}
    pair = paired_ratio(ranked[i], ranked[i + 1])
    return {"FPS_vs_next": pair.value, "FPS_vs_next_low": pair.low, "FPS_vs_next_high": pair.high}


def export_leaderboard(
    record_set: RecordSet, fmt: str, title: str, group_datasets: bool = False
) -> str:
    """The leaderboard as `fmt` (csv, json or latex; md is leaderboard_markdown's). Records of
    several datasets are refused unless `group_datasets` (each is then ranked on its own)."""
    leaderboard_datasets(record_set, group_datasets, "on its own")
    table = leaderboard_table(record_set)
    notes = mark_notes(list(record_set.ok))
    if fmt == "csv":
        unfinished = _unfinished_rows(record_set, table.columns)
        rows = pd.concat([table, unfinished]) if len(unfinished) else table
        return rows.to_csv(index=False)
    if fmt == "json":
        rows = json.loads(table.to_json(orient="records"))
        payload = {
            "title": title,
            "columns": {
                k: v
                for k, v in column_notes(ranked_by(record_set)[0]).items()
                if k.split(",")[0] in table
            },
            "rows": rows,
            "notes": notes,
            "speed_accuracy": front_json(record_set),
            "configured_cells": record_set.configured or None,
            "cells_without_result": [dataclasses.asdict(c) for c in record_set.unfinished],
        }
        return json.dumps(payload, indent=2) + "\n"
    if fmt == "latex":
        return _latex(table, title, record_set, mark_explanations(list(record_set.ok)))
    raise ValueError(f"unknown leaderboard format {fmt!r}; one of {FORMATS}")
