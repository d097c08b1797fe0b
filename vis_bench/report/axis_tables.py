"""A metric by one axis (clip length, stride, resolution), every other axis held fixed.

Each row is one method at one combination of the other axes the run varies (those are the row's
first columns; the ones with a single value are said once, above the table), each column one
value of the table's axis, each number one cell's: nothing is averaged, so a cell keeps its
interval, its FPS marks and its paired mark against the row's reference column (T = all; the
smallest stride; the largest resolution). T = all is one clip, so it has no stride: in a table by
clip length its cell stands in every stride's row, the reference each T of that stride is paired
with; a table by stride leaves it out. A table by stride or resolution exists only where some row
has two of its values: a run whose stride follows its clip length has no table by stride.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tabulate import tabulate

from vis_bench.records import CellRecord
from vis_bench.report.metric_columns import fraction_statistics
from vis_bench.report.record_set import RecordSet
from vis_bench.report.significance import NOT_SIGNIFICANT, PairedComparer, with_interval
from vis_bench.report.speed_trust import fps_marks, speed_of
from vis_bench.report.table_axes import (
    AXES,
    AXIS_HEADINGS,
    axis_value,
    fixed_text,
    value_order,
    values_of,
    varied_axes,
)

#: a by-axis table's axis -> its name in a section's title and its notes
AXIS_NAMES = {
    "clip_length": "clip length",
    "stride": "stride",
    "resolution": "resolution",
    "prompts": "number of prompts",
}
#: what the paired mark of each table compares a cell with
REFERENCE_WORDS = {
    "clip_length": "the same row's T=all",
    "stride": "the same row's smallest stride",
    "resolution": "the same row's largest resolution",
    "prompts": "the same row's fewest prompts",
}
#: a record's value on the prompts axis when its method takes no prompt count
NO_PROMPTS = "-"


@dataclass(frozen=True)
class Layout:
    """How a table by `axis` lays its records out: the row axes beside the method, the columns,
    and whether T = all's cell stands in every stride's row (by clip length, strides varied)."""

    axis: str
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    one_clip_everywhere: bool
    #: column value -> its heading (T with its stride, where the stride follows T)
    headings: dict[str, str]
    #: by prompts: a method without prompts ran once, its cell stands in every column
    flat: bool = False


def _strides_per_length(records: Sequence[CellRecord]) -> dict[str, set[str]]:
    strides: dict[str, set[str]] = {}
    for record in records:
        if record.stride is not None:
            strides.setdefault(axis_value(record, "clip_length"), set()).add(
                axis_value(record, "stride")
            )
    return strides


def _layout(records: Sequence[CellRecord], axis: str) -> Layout:
    varied = varied_axes(records)
    strides = _strides_per_length(records)
    free_stride = any(len(s) > 1 for s in strides.values())
    rows = [a for a in AXES if a in varied and a != axis]
    headings = {v: v for v in values_of(records, axis)}
    if axis == "clip_length" and not free_stride and "stride" in rows:
        rows.remove("stride")  # each T has one stride: its heading says which
        headings = {t: f"{t} (S={min(strides[t])})" if t in strides else t for t in headings}
    if axis == "stride":
        headings = {s: f"S={s}" for s in headings}
    columns = values_of(records, axis)
    flat = axis == "prompts" and NO_PROMPTS in columns
    if flat:
        columns.remove(NO_PROMPTS)
        headings = {k: f"P={k}" for k in columns}
    elif axis == "prompts":
        headings = {k: f"P={k}" for k in headings}
    return Layout(
        axis,
        tuple(rows),
        tuple(columns),
        axis == "clip_length" and "stride" in rows,
        headings,
        flat,
    )


def _reference(layout: Layout, present: Sequence[str]) -> str | None:
    """The column a row's cells are paired with (None: the row does not have it)."""
    if layout.axis == "clip_length":
        return "all" if "all" in present else None
    if not present:
        return None
    return present[0] if layout.axis in ("stride", "prompts") else present[-1]


def has_axis_table(record_set: RecordSet, value: str, axis: str) -> bool:
    """Whether a table of `value` by `axis` shows a comparison: some row holds two of the
    axis's values (a table by clip length is always shown, as it always was)."""
    if axis == "clip_length":
        return True
    records = _measured(record_set, value, axis)
    grid = _grid(records, _layout(records, axis))
    return any(len(columns) > 1 for columns in grid.values())


def _measured(record_set: RecordSet, value: str, axis: str) -> list[CellRecord]:
    records = [r for r in record_set.ok if _figure(r, value) is not None]
    return [r for r in records if r.stride is not None] if axis == "stride" else records


def _grid(
    records: Sequence[CellRecord], layout: Layout
) -> dict[tuple[str, ...], dict[str, CellRecord]]:
    """Row (method, row axes' values) -> column value -> the one cell there."""
    grid: dict[tuple[str, ...], dict[str, CellRecord]] = {}
    wildcards = []
    for record in records:
        if layout.one_clip_everywhere and record.stride is None:
            wildcards.append(record)
            continue
        row = (record.shown_method, *(axis_value(record, a) for a in layout.rows))
        value = axis_value(record, layout.axis)
        if layout.flat and value == NO_PROMPTS:  # no prompts: the same cell at every count
            grid.setdefault(row, {}).update(dict.fromkeys(layout.columns, record))
            continue
        grid.setdefault(row, {})[value] = record
    at = layout.rows.index("stride") + 1 if "stride" in layout.rows else None
    for record in wildcards:  # T = all: in every stride's row of its method and setting
        own = (record.shown_method, *(axis_value(record, a) for a in layout.rows))
        rows = [row for row in grid if row[:at] + row[at + 1 :] == own[:at] + own[at + 1 :]]
        for row in rows or [own]:
            grid.setdefault(row, {})["all"] = record
    return grid


def _figure(record: CellRecord, value: str) -> float | None:
    """The record's `value` as tables print it (percent metrics x100)."""
    if value.startswith("fps"):
        figure = record.speed.fps(value.removeprefix("fps_"))
        return None if figure is None else float(figure)
    metric = record.metric(value)
    if metric is None:
        return None
    return 100 * float(metric) if value in fraction_statistics() else float(metric)


def _fps_text(record: CellRecord, value: str) -> str:
    """An FPS with its marks and, for the end-to-end figure, its interval over the rounds."""
    text = f"{_figure(record, value):.2f}{fps_marks(record)}"
    interval = speed_of(record).fps_ci
    if value == "fps_end_to_end" and interval:
        text += f" [{interval[0]:.2f}, {interval[1]:.2f}]"
    return text


def _objects_text(record: CellRecord, layout: Layout) -> str:
    """By prompts: the objects the cell's method tracked per frame, mean / max."""
    tracked = record.objects_tracked if layout.axis == "prompts" else None
    if not tracked:
        return ""
    return f" ({tracked.get('mean')} / {tracked.get('max')} obj.)"


def axis_table(
    record_set: RecordSet, value: str = "AP", axis: str = "clip_length", fmt: str = "github"
) -> str:
    """`value` by `axis`: rows of a method at one setting of the other varied axes, one cell
    per number, with its interval and, for a metric with intervals, `n.s.` where the paired
    bootstrap does not tell it from the row's reference column; the notes say what is fixed,
    what the marks mean and which cells could not be paired."""
    records = _measured(record_set, value, axis)
    if not records:
        return f"(no finished cells with {value})"
    layout = _layout(records, axis)
    grid = _grid(records, layout)
    comparer, unpaired, marked = PairedComparer(record_set), [], False
    paired = not value.startswith("fps") and any(r.interval(value) for r in records)
    rows = []
    order = [value_order(a) for a in layout.rows]

    def row_order(row: tuple[str, ...]) -> tuple:
        return (row[0], *(rank(v) for rank, v in zip(order, row[1:], strict=True)))

    for row in sorted(grid, key=row_order):
        cells = grid[row]
        present = [c for c in layout.columns if c in cells]
        reference = _reference(layout, present) if paired else None
        line = list(row)
        for column in layout.columns:
            record = cells.get(column)
            if record is None:
                line.append("")
                continue
            if value.startswith("fps"):
                line.append(_fps_text(record, value) + _objects_text(record, layout))
                continue
            text = with_interval(_figure(record, value) or 0.0, record, value, 2)
            if reference is not None and column != reference:
                pairing = comparer.compare(record, cells[reference], value)
                if pairing.reason is not None:
                    unpaired.append(
                        f"{' '.join(row)} {AXIS_HEADINGS[axis]}={column}: {pairing.reason}"
                    )
                elif not pairing.significant:
                    text += f" {NOT_SIGNIFICANT}"
                    marked = True
            line.append(text)
        rows.append(line)
    headers = ["method", *(AXIS_HEADINGS[a] for a in layout.rows)]
    headers += [layout.headings[c] for c in layout.columns]
    table = tabulate(rows, headers=headers, tablefmt=fmt, disable_numparse=True)
    return "\n".join([table, "", *_notes(records, layout, value, paired, marked, unpaired)])


def _notes(
    records: Sequence[CellRecord],
    layout: Layout,
    value: str,
    paired: bool,
    marked: bool,
    unpaired: list[str],
) -> list[str]:
    name = AXIS_NAMES.get(layout.axis, layout.axis)
    shown = {layout.axis, *layout.rows}
    if any(heading != value for value, heading in layout.headings.items()):
        shown.add("stride")  # said in the columns' headings
    in_row = ", ".join(AXIS_HEADINGS[a] for a in layout.rows)
    fixed = fixed_text(records, shown)
    lines = [
        "Each row: one method with every other axis held fixed"
        + (f" (its {in_row} in the row)" if in_row else "")
        + "; each number is one cell's, none is a mean over cells."
        + (f" {fixed}" if fixed else "")
    ]
    if layout.one_clip_everywhere:
        lines.append(
            "T = all is one clip per video, without a stride: its cell stands in each stride's row."
        )
    if layout.axis == "stride":
        lines.append("T = all (one clip, no stride) is not in a table by stride.")
    if layout.axis == "prompts":
        lines.append(
            "P=k: the prompted methods given the first k categories of their label space; a "
            "method without prompts ran once, its cell stands in every column (a flat line)."
            " (m / n obj.): objects tracked per frame, mean / max."
        )
    if value.startswith("fps"):
        lines.append(
            "[low, high] after an FPS: the interval of the median over the cell's timed rounds "
            "(its confidence and rounds are in the timed rounds' table: 95 % from 6 rounds, "
            "less below); FPS ratios paired over rounds say whether two cells' speeds differ."
        )
        return lines
    if any(r.interval(value) for r in records):
        lines.append(
            f"[low, high]: the cell's {value} bootstrap interval (videos resampled), both ends as "
            "computed; it need not be centred on the value."
        )
    if paired:
        lines.append(
            f"{NOT_SIGNIFICANT}: the paired bootstrap interval of (this cell - "
            f"{REFERENCE_WORDS[layout.axis]}) on the same videos contains 0: the {name}'s "
            "effect is not told apart from the choice of videos."
            + ("" if marked else " (no such cell here)")
        )
    lines += [f"not paired: {line}" for line in unpaired]
    return lines
