"""Comparison tables: pure functions of records (pandas + tabulate), pivoted by any axis."""

from __future__ import annotations

from typing import Any

import pandas as pd

from vis_bench.report.records import latest_records

#: metrics stored as fractions in records, shown x100 in tables (the papers' convention)
PERCENT_METRICS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100")
AXES = ("method", "clip_length", "stride", "resolution", "device", "dtype")


def records_frame(records: list[dict[str, Any]], only_ok: bool = True) -> pd.DataFrame:
    """Records -> one row per cell; percent metrics scaled to 0-100; axes as strings."""
    rows = latest_records(records)
    if only_ok:
        rows = [r for r in rows if r.get("status") == "ok"]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    for metric in PERCENT_METRICS:
        if metric in frame:
            frame[metric] = frame[metric].astype(float) * 100
    for axis in AXES:
        if axis in frame:
            frame[axis] = frame[axis].map(lambda v: "-" if v is None else str(v))
    return frame


def comparison_table(
    records: list[dict[str, Any]],
    columns: tuple[str, ...] = ("AP", "AP50", "AP75", "AR1", "AR10", "fps_end_to_end", "fps_model"),
    by: tuple[str, ...] = ("method", "clip_length", "stride", "resolution"),
    fmt: str = "github",
) -> str:
    """One row per cell, chosen metric columns, sorted by the `by` axes."""
    frame = records_frame(records)
    if frame.empty:
        return "(no finished cells)"
    keep = [c for c in (*by, *columns) if c in frame]
    frame = frame[keep].sort_values(list(by), key=_axis_order).reset_index(drop=True)
    return frame.to_markdown(index=False, tablefmt=fmt, floatfmt=".2f")


def _axis_order(column: pd.Series) -> pd.Series:
    """Sort axes naturally: numbers numerically (descending clip length after "all")."""
    if column.name in ("clip_length", "stride", "resolution"):
        return column.map(lambda v: -1e9 if v == "all" else (-float(v) if v != "-" else 1e9))
    return column


def pivot_table(
    records: list[dict[str, Any]],
    value: str = "AP",
    index: str = "method",
    columns: str = "clip_length",
    fmt: str = "github",
) -> str:
    """A metric pivoted by two axes, e.g. AP by method x clip length."""
    frame = records_frame(records)
    if frame.empty or value not in frame:
        return f"(no finished cells with {value})"
    table = frame.pivot_table(index=index, columns=columns, values=value, aggfunc="mean")
    return table.to_markdown(tablefmt=fmt, floatfmt=".2f")


def notes_lines(records: list[dict[str, Any]]) -> list[str]:
    """Distinct notes of the methods in the records ("method: note"), to print under tables."""
    seen: dict[str, str] = {}
    for record in latest_records(records):
        note = record.get("notes")
        if note:
            seen.setdefault(record["method"], note)
    return [f"{method}: {note}" for method, note in sorted(seen.items())]
