"""The run's numbers in the formats other tools read: a flat per-cell CSV, and the leaderboard
as CSV, JSON or LaTeX (for a spreadsheet, a plotting script or a paper's table).

The markdown tables round and annotate for people; these keep every number as measured (metrics
in percent like every table, intervals as two columns) so nobody has to parse markdown.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from vis_bench.report.leaderboard import COLUMNS, leaderboard_frame
from vis_bench.report.record_set import RecordSet
from vis_bench.report.tables import AXES, PERCENT_METRICS, records_frame

#: leaderboard export formats (`leaderboard --format`); markdown is the leaderboard's own
FORMATS = ("md", "csv", "json", "latex")
#: the per-cell file a run writes beside tables.md
CELLS_FILE = "cells.csv"
#: per-cell columns after the axes and metrics, as the records name them
CELL_MEASUREMENTS = (
    "fps_end_to_end",
    "fps_model",
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
    for metric in PERCENT_METRICS:
        if metric in frame and frame[metric].notna().any():
            out[metric] = frame[metric]
            interval = frame.get(f"{metric}_ci")
            if interval is not None and interval.notna().any():
                out[f"{metric}_low"] = [_bound(v, 0) for v in interval]
                out[f"{metric}_high"] = [_bound(v, 1) for v in interval]
    for column in CELL_MEASUREMENTS:
        if column in frame:
            out[column] = frame[column]
    out["commit"] = [_commit(r) for r in frame.get("provenance", [None] * len(frame))]
    return out.reset_index(drop=True)


def _bound(interval: Any, side: int) -> float | None:
    if isinstance(interval, list | tuple) and len(interval) == 2 and interval[side] is not None:
        return 100 * float(interval[side])
    return None


def _commit(provenance: Any) -> str | None:
    return provenance.get("commit") if isinstance(provenance, dict) else None


def leaderboard_table(record_set: RecordSet) -> pd.DataFrame:
    """The leaderboard's rows with plain values: what `leaderboard --format csv|json|latex`
    writes (the AP interval as its two bounds, FPS as a number with the machine apart)."""
    frame = leaderboard_frame(record_set)
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    by_key = {r["key"]: r for r in record_set}
    rows = []
    for _, row in frame.iterrows():
        record = by_key.get(row.get("key"), {})
        interval = record.get("AP_ci")
        rows.append(
            {
                **{c: row.get(c) for c in COLUMNS if c not in ("FPS", "vs next", "params")},
                "AP_low": _bound(interval, 0),
                "AP_high": _bound(interval, 1),
                "FPS": record.get("fps_end_to_end"),
                "machine": _machine(record),
                "params": record.get("params"),
                "key": row.get("key"),
            }
        )
    table = pd.DataFrame(rows)
    empty = [c for c in table if table[c].map(lambda v: v is None or v == "" or v != v).all()]
    return table.drop(columns=empty)


def _machine(record: dict[str, Any]) -> str:
    env = record.get("environment") or {}
    return env.get("gpu_name") or env.get("cpu") or str(record.get("device", ""))


def export_leaderboard(record_set: RecordSet, fmt: str, title: str) -> str:
    """The leaderboard as `fmt` (csv, json or latex; md is leaderboard_markdown's)."""
    table = leaderboard_table(record_set)
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "json":
        rows = json.loads(table.to_json(orient="records"))
        return json.dumps({"title": title, "rows": rows}, indent=2) + "\n"
    if fmt == "latex":
        return _latex(table, title)
    raise ValueError(f"unknown leaderboard format {fmt!r}; one of {FORMATS}")


def _latex(table: pd.DataFrame, title: str) -> str:
    """A booktabs table of the columns a paper shows; numbers to two decimals."""
    shown = [c for c in ("rank", "method", "backbone", "AP", "AP50", "AP75", "AR1", "AR10",
                         "FPS", "GMACs") if c in table and table[c].notna().any()]  # fmt: skip
    styled = table[shown].style.hide(axis="index").format(precision=2, na_rep="-")
    return styled.to_latex(
        hrules=True, caption=title.replace("_", r"\_"), position_float="centering"
    )
