"""Comparison tables: pure functions of records (pandas + tabulate), pivoted by any axis.

Rules every table follows: one row per cell (its latest record); failed cells stay in the table
with their reason instead of disappearing; clip lengths are ordered `all` first, then by
decreasing T; the stride shown is the one used; FPS measured while the machine was loaded is
marked; only the measurements the records hold become columns (any `measure` switch may be off).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from vis_bench.report.records import latest_records

#: metrics stored as fractions in records, shown x100 in tables (the papers' convention)
OCCLUSION_AP = ("AP_occ_light", "AP_occ_medium", "AP_occ_heavy")
OCCLUSION_AR = ("AR_occ_light", "AR_occ_medium", "AR_occ_heavy")
PERCENT_METRICS = (
    "AP",
    "AP50",
    "AP75",
    "APs",
    "APm",
    "APl",
    "AR1",
    "AR10",
    "AR100",
    "ARs",
    "ARm",
    "ARl",
    *OCCLUSION_AP,
    *OCCLUSION_AR,
)
AXES = ("method", "clip_length", "stride", "resolution", "device", "dtype")
#: the occlusion APs (OVIS data) appear after AP75 when the records have them
DEFAULT_COLUMNS = (
    "AP",
    "AP50",
    "AP75",
    *OCCLUSION_AP,
    "AR1",
    "AR10",
    "fps_end_to_end",
    "fps_model",
)
#: appended to an FPS value measured on a loaded machine
LOADED_MARK = "*"
LOADED_NOTE = (
    f"{LOADED_MARK} FPS measured while the machine was loaded (1-minute load average above the "
    "threads the cell used): other work competed for the cores"
)
REASON_WIDTH = 70


def clip_length_order(value: Any) -> float:
    """The one ordering of clip lengths: `all` first, then decreasing T."""
    if value in ("all", None, "-"):
        return float("-inf")
    return -float(value)


def stride_text(record: dict[str, Any]) -> str:
    """The stride a cell used; T = all is one clip per video."""
    return "one clip" if record.get("stride") is None else str(record["stride"])


def was_loaded(record: dict[str, Any]) -> bool:
    load = record.get("load")
    return bool(isinstance(load, dict) and load.get("loaded"))


def failure_text(record: dict[str, Any]) -> str:
    reason = str(record.get("error") or "failed")
    return "FAILED: " + (
        reason if len(reason) <= REASON_WIDTH else reason[: REASON_WIDTH - 3] + "..."
    )


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
    frame["stride"] = [stride_text(r) for r in rows]
    for axis in AXES:
        if axis in frame:
            frame[axis] = frame[axis].map(lambda v: "-" if v is None else str(v))
    return frame


def _sorted(frame: pd.DataFrame, by: tuple[str, ...]) -> pd.DataFrame:
    keys = [axis for axis in by if axis in frame]

    def order(column: pd.Series) -> pd.Series:
        if column.name == "clip_length":
            return column.map(clip_length_order)
        if column.name == "resolution":
            return column.map(lambda v: float("inf") if v == "-" else float(v))
        return column

    return frame.sort_values(keys, key=order, kind="stable") if keys else frame


def comparison_table(
    records: list[dict[str, Any]],
    columns: tuple[str, ...] = DEFAULT_COLUMNS,
    by: tuple[str, ...] = ("method", "clip_length", "stride", "resolution"),
    fmt: str = "github",
) -> str:
    """One row per cell (failed ones with their reason), chosen metric columns, sorted."""
    frame = records_frame(records, only_ok=False)
    if frame.empty:
        return "(no finished cells)"
    if "dataset" in frame and frame["dataset"].nunique() > 1:
        by = ("dataset", *by)
    present = [c for c in columns if c in frame and frame[c].notna().any()]
    table = _sorted(frame, by).reset_index(drop=True)
    out = table[[c for c in by if c in table]].copy()
    for column in present:
        out[column] = [_cell_value(row, column) for _, row in table.iterrows()]
    out["status"] = [
        "ok" if row.get("status") == "ok" else failure_text(row) for _, row in table.iterrows()
    ]
    if (out["status"] == "ok").all():
        out = out.drop(columns="status")
    return out.to_markdown(index=False, tablefmt=fmt, disable_numparse=True)


def _cell_value(row: pd.Series, column: str) -> str:
    value = row.get(column)
    if row.get("status") != "ok" or value is None or pd.isna(value):
        return ""
    text = f"{float(value):.2f}"
    if column.startswith("fps") and was_loaded(row.to_dict()):
        text += LOADED_MARK
    return text


def pivot_table(
    records: list[dict[str, Any]],
    value: str = "AP",
    index: str = "method",
    columns: str = "clip_length",
    fmt: str = "github",
) -> str:
    """A metric pivoted by two axes, e.g. AP by method x clip length (`all` first, then by
    decreasing T)."""
    frame = records_frame(records)
    if frame.empty or value not in frame or frame[value].isna().all():
        return f"(no finished cells with {value})"
    table = frame.pivot_table(index=index, columns=columns, values=value, aggfunc="mean")
    if columns == "clip_length":
        table = table[sorted(table.columns, key=clip_length_order)]
    return table.to_markdown(tablefmt=fmt, floatfmt=".2f")


def notes_lines(records: list[dict[str, Any]]) -> list[str]:
    """Distinct notes of the methods in the records ("method: note"), then the load mark's."""
    seen: dict[str, str] = {}
    latest = latest_records(records)
    for record in latest:
        note = record.get("notes")
        if note:
            seen.setdefault(record["method"], note)
    lines = [f"{method}: {note}" for method, note in sorted(seen.items())]
    if any(was_loaded(r) for r in latest if r.get("status") == "ok"):
        lines.append(LOADED_NOTE)
    return lines


def datasets_of(records: list[dict[str, Any]]) -> list[str]:
    """The dataset labels the records cover, in first-seen order."""
    labels: list[str] = []
    for record in latest_records(records):
        label = record.get("dataset_label") or record.get("dataset")
        if label and label not in labels:
            labels.append(label)
    return labels
