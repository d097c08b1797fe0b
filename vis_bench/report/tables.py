"""Comparison tables: pure functions of records (pandas + tabulate), pivoted by any axis.

Rules every table follows: one row per cell (its latest record); failed cells stay in the table
with their reason instead of disappearing; clip lengths are ordered `all` first, then by
decreasing T; the stride shown is the one used; FPS measured while the machine was loaded is
marked; only the measurements the records hold become columns (any `measure` switch may be off).
A metric with a bootstrap interval is shown as `value [low, high]`, the interval's two ends as
the bootstrap gave them (a percentile interval is often skewed); the tables by one axis
(report/axis_tables.py) hold every other axis fixed and pair each cell with its row's reference.
Records whose setting matches a published entry
get the published AP and the difference beside the measured one (report/published_columns.py).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

# what YouTube-VIS's statistics mean, wherever a table prints them (declared with the metric)
from vis_bench.eval.benchmarks import YTVIS_NOTE as METRIC_NAMES_NOTE
from vis_bench.records import INTERVAL_SUFFIX, WARNING, CellRecord
from vis_bench.report.metric_columns import (
    fraction_statistics,
    headings,
    interval_statistics,
    metrics_of,
    statistic_columns,
)
from vis_bench.report.published_columns import (
    DELTA_COLUMN,
    PUBLISHED_COLUMN,
    published_cells,
    published_entries,
    source_lines,
)
from vis_bench.report.record_set import RecordSet
from vis_bench.report.significance import with_interval
from vis_bench.report.speed_trust import fps_marks, mark_notes
from vis_bench.report.table_axes import axis_value, clip_length_order, stride_text, varied_axes
from vis_bench.report.warnings import warning_lines

AXES = ("method", "clip_length", "stride", "resolution", "device", "dtype")
#: the measurements a table shows after the records' metrics' columns (eval/benchmarks.py)
MEASURE_COLUMNS = (
    "fps_end_to_end",
    "fps_model",
    "fps_authors",
    "gmacs_per_frame",
    "params",
    "peak_rss_mb",
    "cuda_max_allocated_mb",
)
#: a record field's name in a table's header: the leaderboard's words where it has them
HEADINGS = {
    "clip_length": "T",
    "stride": "S",
    "video_frames": "video frames",
    "prompts": "prompts",
    "objects_mean": "objects/frame",
    "objects_max": "max objects",
    "fps_end_to_end": "FPS",
    "fps_model": "model FPS",
    "fps_authors": "authors' FPS",
    "gmacs_per_frame": "GMACs",
    "params": "params",
    "peak_rss_mb": "memory MiB",
    "cuda_max_allocated_mb": "CUDA peak MiB",
}
#: what the headings mean, printed under the all-cells table
HEADINGS_NOTE = (
    "T: clip length (frames; all = the whole video in one clip), S: stride (one clip: T = all); "
    "resolution: the shorter side in pixels; "
    "{metric_names}; FPS: end "
    "to end (frames / the wall time of one pass from the frames to every video's RLE, the "
    "median of the cell's timed rounds, docs/fps.md), model FPS: the same pass's frames / the "
    "seconds inside the method's calls; authors' FPS: by the timing protocol the method's "
    "authors published (docs/timing_protocols.md); GMACs per frame; params: parameters; "
    "memory MiB: the worker's peak RSS (the memory plot's axis on a CPU)."
)


def metric_names_note(records: RecordSet | list[CellRecord]) -> str:
    """What the statistics' names mean, as the records' metrics declare it (YouTube-VIS's when
    they hold none)."""
    notes = [m.note for m in metrics_of(r.metrics for r in records) if m.note]
    return "; ".join(dict.fromkeys(notes)) or METRIC_NAMES_NOTE


def headings_note(record_set: RecordSet) -> str:
    """What the all-cells table's headings mean."""
    return HEADINGS_NOTE.format(metric_names=metric_names_note(record_set))


#: added to HEADINGS_NOTE where a cell ran on a GPU
CUDA_NOTE = "CUDA peak MiB: the most memory PyTorch allocated on the GPU (the memory plot's axis)."
#: appended to FPS and GMACs measured with a method's non-default execution (fast paths off)
NON_DEFAULT_MARK = "‡"
REASON_WIDTH = 70


def non_default(record: CellRecord) -> list[str]:
    """What of a cell's execution differed from its method's defaults (e.g. a fast path off),
    as the plugin reported it; such a cell's speed, GMACs and memory are not the default's."""
    return record.non_default


def failure_text(record: CellRecord) -> str:
    reason = str(record.error or "failed")
    return "FAILED: " + (
        reason if len(reason) <= REASON_WIDTH else reason[: REASON_WIDTH - 3] + "..."
    )


def record_row(record: CellRecord) -> dict[str, Any]:
    """A record as one row of a table's frame: its identity and axes, every metric (fraction)
    and interval (`<metric>_ci`), the figures the tables and exports show, named as the JSON
    names them, and the commit that made it. A field the record's line did not hold (an older
    record) is left out, so a column appears only where some record has it, as it always has."""
    speed, flops, memory = record.speed, record.flops, record.memory
    fields = {
        "key": record.key,
        "dataset": record.dataset,
        "dataset_label": record.dataset_label,
        "method": record.shown_method,
        "checkpoint": record.checkpoint,
        "backbone": record.backbone,
        "status": record.status,
        "error": record.error,
        "notes": record.notes,
        "clip_length": record.clip_length,
        "stride": record.stride,
        "resolution": record.resolution,
        "device": record.device,
        "dtype": record.dtype,
        "video_frames": record.video_frames,
        "prompts": record.prompts,
        "fps_end_to_end": speed.fps_end_to_end,
        "fps_model": speed.fps_model,
        "fps_authors": speed.fps_authors,
        "fps_single_clip": speed.fps_single_clip,
        "seconds_end_to_end": record.seconds_end_to_end,
        "gmacs_per_frame": flops.gmacs_per_frame,
        "params": flops.params,
        "peak_rss_mb": memory.peak_rss_mb,
        "rss_after_build_mb": memory.rss_after_build_mb,
        "activation_peak_mb": memory.activation_peak_mb,
        "cuda_max_allocated_mb": memory.cuda_max_allocated_mb,
        "num_videos": record.num_videos,
        "num_frames": record.num_frames,
        "num_predictions": record.num_predictions,
    }
    row = {name: value for name, value in fields.items() if record.has(name)}
    if record.has("objects_tracked"):
        tracked = record.objects_tracked or {}
        row.update(objects_mean=tracked.get("mean"), objects_max=tracked.get("max"))
    row.update(record.metrics)
    row.update({f"{name}{INTERVAL_SUFFIX}": ci for name, ci in record.intervals.items()})
    row["commit"] = record.provenance.commit if record.provenance is not None else None
    return row


def records_frame(record_set: RecordSet, only_ok: bool = True) -> pd.DataFrame:
    """Records -> one row per cell (`record_row`); percent metrics scaled to 0-100; axes as
    strings."""
    rows = record_set.ok if only_ok else list(record_set)
    frame = pd.DataFrame([record_row(r) for r in rows])
    if frame.empty:
        return frame
    for metric in fraction_statistics():
        if metric in frame:
            frame[metric] = frame[metric].astype(float) * 100
    frame["stride"] = [stride_text(r) for r in rows]
    for axis in AXES:
        if axis in frame:
            frame[axis] = frame[axis].map(lambda v: "-" if v is None else str(v))
    return frame


def default_columns(record_set: RecordSet) -> tuple[str, ...]:
    """The columns the records' metrics declare (merged in one order), then the measurements."""
    metrics = metrics_of(record.metrics for record in record_set)
    return (*statistic_columns(metrics), *MEASURE_COLUMNS)


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
    record_set: RecordSet,
    columns: tuple[str, ...] | None = None,
    by: tuple[str, ...] = ("method", "clip_length", "stride", "resolution"),
    fmt: str = "github",
) -> str:
    """One row per cell (failed ones with their reason), chosen metric columns, sorted; the
    cell named by `by` and every other axis its records vary (device, dtype, video length, the
    config where two configs' cells are otherwise alike). `columns`: by default the columns
    the records' metrics declare, then the measurements (`MEASURE_COLUMNS`)."""
    if columns is None:
        columns = default_columns(record_set)
    frame = records_frame(record_set, only_ok=False)
    if frame.empty:
        return "(no finished cells)"
    if "dataset" in frame and frame["dataset"].nunique() > 1:
        by = ("dataset", *by)
    records = {r.key: r for r in record_set}
    for axis in varied_axes(list(record_set)):  # every axis the cells differ on, in the row
        if axis not in by and axis != "dataset":
            frame[axis] = [axis_value(records[key], axis) for key in frame["key"]]
            by = (*by, axis)
    present = [c for c in columns if c in frame and frame[c].notna().any()]
    table = _sorted(frame, by).reset_index(drop=True)
    out = table[[c for c in by if c in table]].copy()
    for column in present:
        out[column] = [_cell_value(row, column, records[row["key"]]) for _, row in table.iterrows()]
    matched = published_entries(record_set, record_set.published)
    if matched and "AP" in out:
        cells = [
            published_cells(matched.get(row.get("key")), lambda m, r=row: _measured(r, m))
            for _, row in table.iterrows()
        ]
        at = list(out.columns).index("AP") + 1
        out.insert(at, PUBLISHED_COLUMN, [c[0] for c in cells])
        out.insert(at + 1, DELTA_COLUMN, [c[1] for c in cells])
    out["status"] = [
        "ok" if row.get("status") == "ok" else failure_text(records[row["key"]])
        for _, row in table.iterrows()
    ]
    if (out["status"] == "ok").all():
        out = out.drop(columns="status")
    out = out.rename(columns={**headings(), **HEADINGS})
    return out.to_markdown(index=False, tablefmt=fmt, disable_numparse=True)


def _measured(row: pd.Series, column: str) -> float | None:
    value = row.get(column)
    if row.get("status") != "ok" or value is None or pd.isna(value):
        return None
    return float(value)


def _cell_value(row: pd.Series, column: str, record: CellRecord) -> str:
    value = _measured(row, column)
    if value is None:
        return ""
    if column in interval_statistics():
        return with_interval(value, record, column, 2)
    if column == "params":
        return f"{value / 1e6:.1f}M"
    text = f"{value:.0f}" if column.endswith("_mb") else f"{value:.2f}"
    if column.startswith("fps"):
        text += fps_marks(record)
    if column.startswith(("fps", "gmacs", "peak", "cuda")) and record.non_default:
        text += NON_DEFAULT_MARK
    return text


def interval_note(record_set: RecordSet) -> str | None:
    """What `[low, high]` means, with the replicates and seed the records used (None: none)."""
    boots = [r.bootstrap for r in record_set.ok if r.bootstrap is not None]
    if not boots:
        return None
    replicates = sorted({b.replicates for b in boots})
    seeds = sorted({b.seed for b in boots})
    confidence = boots[0].confidence
    level = f"{100 * (0.95 if confidence is None else confidence):g}%"
    return (
        f"[low, high] = the cell's {level} bootstrap interval over videos (percentile; "
        f"{'/'.join(map(str, replicates))} replicates, seed {'/'.join(map(str, seeds))}): the "
        "spread the choice of videos alone gives the score, both ends as computed (it is often "
        "skewed, so it need not be centred on the value)"
    )


def notes_lines(record_set: RecordSet) -> list[str]:
    """Distinct notes of the methods in the records ("method: note"), then the FPS marks'."""
    seen: dict[str, str] = {}
    latest = record_set.records
    for record in latest:  # the warnings come first, once each, and not again per method
        note = "; ".join(n for n in (record.notes or "").split("; ") if not n.startswith(WARNING))
        if note:
            seen.setdefault(str(record.method), note)
    lines = warning_lines(latest)
    lines += [f"{method}: {note}" for method, note in sorted(seen.items())]
    lines += mark_notes([r for r in latest if r.ok])
    changed = sorted({item for r in latest for item in non_default(r)})
    if changed:
        lines.append(
            f"`{NON_DEFAULT_MARK}` after a number: measured with a non-default execution "
            f"({', '.join(changed)}): "
            "speed, GMACs and memory differ from the method's default"
        )
    interval = interval_note(record_set)
    if interval is not None:
        lines.append(interval)
    matched = published_entries(latest, record_set.published)
    if matched:
        lines.append(
            f"{PUBLISHED_COLUMN}: the authors' AP for the cell's setting (`methods --pretrained`); "
            f"{DELTA_COLUMN} = measured - published, in AP points"
        )
        lines += [f"published {line}" for line in source_lines(matched)]
    return lines


def datasets_of(record_set: RecordSet) -> list[str]:
    """The dataset labels the records cover, in first-seen order."""
    labels: list[str] = []
    for record in record_set:
        label = record.dataset_label or record.dataset
        if label and label not in labels:
            labels.append(label)
    return labels
