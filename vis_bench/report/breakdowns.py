"""Where each method's AP comes from: per category, and per error type (TIDE for video).

Both tables read each leaderboard row's cell (a method's best-AP cell), so a method is shown
once, at the setting it is ranked by, and that setting is named beside it: every axis on which
the ranked cells differ (T, S, resolution, ...), so no row reads as the method at large. The
numbers were computed when the cell was scored
(sweep/scoring.py): nothing here re-reads predictions.
"""

from __future__ import annotations

import pandas as pd

from vis_bench.eval.benchmarks import AP50, STAT_NAMES
from vis_bench.records import CellRecord
from vis_bench.report.leaderboard import leaderboard_frame
from vis_bench.report.record_set import RecordSet
from vis_bench.report.table_axes import CellColumns, cell_columns

#: error type -> column title (eval/analysis/errors.py defines them)
ERROR_COLUMNS = {
    "cls": "cls",
    "loc": "loc",
    "loc_spatial": "loc: masks",
    "loc_temporal": "loc: time",
    "both": "both",
    "dupe": "dupe",
    "bkg": "bkg",
    "miss": "missed",
}
ERROR_NOTE = (
    "AP50 points each error type costs (fixing it alone: TIDE's definitions at video IoU 0.5 "
    "and 0.1, `run_bench.py errors` for one results file): cls = right place, wrong category; "
    "loc = right category, video IoU 0.1-0.5, split into masks (frames both present) and time "
    "(frames present or absent), each fixed alone; both = wrong category and place; dupe = a "
    "track found twice; bkg = nothing there; missed = tracks no prediction came near. (n) after "
    "a gain: how many predictions have that error (tracks, for missed). The gains overlap, so "
    "they do not add up to 100 - AP50."
)


def _ranked_cells(record_set: RecordSet) -> list[tuple[str, CellRecord]]:
    """(row label, record) for each leaderboard row, in rank order."""
    frame = leaderboard_frame(record_set)
    if frame.empty:
        return []
    by_key = {r.key: r for r in record_set}
    rows = [(str(row["method"]), by_key[row["key"]]) for _, row in frame.iterrows()]
    labels = [label for label, _ in rows]
    return [
        (label if labels.count(label) == 1 else f"{label} ({record.checkpoint})", record)
        for label, record in rows
    ]


def _setting_columns(ranked: list[tuple[str, CellRecord]]) -> CellColumns:
    """The axes on which the ranked cells differ, named in each breakdown row."""
    return cell_columns([record for _, record in ranked])


def _setting_cells(columns: CellColumns, record: CellRecord) -> dict[str, str]:
    """A ranked cell's values on the axes the cells differ on, by column heading."""
    return dict(zip(columns.headers[1:], columns.values(record)[1:], strict=True))


def _with_setting(label: str, columns: CellColumns, record: CellRecord) -> str:
    """`NAME (T=5 S=3)`: a method's column title with its ranked cell's setting."""
    setting = columns.setting(record)
    return f"{label} ({setting})" if setting else label


def per_category_table(record_set: RecordSet, fmt: str = "github") -> str | None:
    """AP per category (rows) for each method's ranked cell (columns, each with its setting
    where the ranked cells differ); None without data."""
    ranked = [(label, r) for label, r in _ranked_cells(record_set) if r.per_category_ap is not None]
    setting = _setting_columns(ranked)
    columns = {
        _with_setting(label, setting, record): record.per_category_ap for label, record in ranked
    }
    if not columns:
        return None
    table = pd.DataFrame(
        {
            label: {c: (None if v is None else 100 * v) for c, v in aps.items()}
            for label, aps in columns.items()
        }
    ).dropna(how="all")  # categories without ground truth in this dataset
    if table.empty:
        return None
    table = table.map(lambda v: "-" if pd.isna(v) else f"{v:.2f}")
    table.index.name = "category"
    return table.to_markdown(tablefmt=fmt, disable_numparse=True)


def error_table(record_set: RecordSet, fmt: str = "github") -> str | None:
    """AP50 and the AP50 each error type costs, one row per method's ranked cell."""
    rows = []
    ranked = [(label, r) for label, r in _ranked_cells(record_set) if r.error_breakdown is not None]
    setting = _setting_columns(ranked)
    for label, record in ranked:
        breakdown = record.error_breakdown
        gains = breakdown.gains or {}
        counts = breakdown.counts or {}
        row = {"method": label, **_setting_cells(setting, record)}
        row[AP50] = f"{100 * float(breakdown.ap50 or 0.0):.2f}"
        for kind, title in ERROR_COLUMNS.items():
            gain = gains.get(kind)
            row[title] = "-" if gain is None else f"{100 * gain:.2f} ({counts.get(kind, 0)})"
        rows.append(row)
    if not rows:
        return None
    return pd.DataFrame(rows).to_markdown(index=False, tablefmt=fmt, disable_numparse=True)


#: the statistics a breakdown table shows, in the metric's order
STATISTICS = STAT_NAMES
GROUPS_NOTE = (
    "Each group's line is the mean, over the group's categories, of that line computed for the "
    "category alone, leaving out categories where it is undefined (no ground truth); `all` is "
    "the cell's own line over every category."
)
SET_NAMES = {"S": "short", "L": "long"}


def _statistics_rows(rows: list[dict], fmt: str) -> str | None:
    if not rows:
        return None
    for row in rows:
        for name in STATISTICS:
            value = row.get(name)
            row[name] = "-" if value is None else f"{100 * value:.2f}"
    return pd.DataFrame(rows).to_markdown(index=False, tablefmt=fmt, disable_numparse=True)


def category_group_table(record_set: RecordSet, fmt: str = "github") -> str | None:
    """Every line per group of categories beside the overall one, for each method's ranked
    cell; None when no record has groups (`dataset.category_groups`)."""
    rows = []
    ranked = [(label, r) for label, r in _ranked_cells(record_set) if r.category_groups is not None]
    setting = _setting_columns(ranked)
    for label, record in ranked:
        cell = {"method": label, **_setting_cells(setting, record)}
        rows.append({**cell, "group": "all", **{k: record.metric(k) for k in STATISTICS}})
        rows += [{**cell, "group": name, **stats} for name, stats in record.category_groups.items()]
    return _statistics_rows(rows, fmt)


def video_set_table(record_set: RecordSet, fmt: str = "github") -> str | None:
    """YouTube-VIS 2022: each set's statistics for each method's ranked cell; None when no
    record has them."""
    rows = []
    ranked = [(label, r) for label, r in _ranked_cells(record_set) if r.video_sets is not None]
    setting = _setting_columns(ranked)
    for label, record in ranked:
        cell = {"method": label, **_setting_cells(setting, record)}
        for suffix, stats in record.video_sets.items():
            name = f"{SET_NAMES.get(suffix, suffix)} ({stats.get('videos')} videos)"
            rows.append({**cell, "set": name, **{k: stats.get(k) for k in STATISTICS}})
    return _statistics_rows(rows, fmt)
