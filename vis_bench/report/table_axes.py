"""The axes a run's cells vary over, so that no table averages over one it does not show.

A sweep varies methods x clip lengths (T) x strides (S) x resolutions (x devices, dtypes, video
lengths, prompts), and a folder may hold the records of several configs (other data, other settings).
Every table names a cell by the axes that vary among its records, as columns, and says in one
line the value of each axis that does not vary ("Every cell here: resolution 144, cpu, fp32"),
so two cells never share a row and no number is a mean of cells the reader cannot see. Where the
axes alone do not tell two cells apart (two configs in one folder differing elsewhere, e.g. in
a method option), the config's hash becomes a column, and failing that the cell's key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from vis_bench.records import CellRecord

#: what T = all's stride is called: one clip per video, no stride
ONE_CLIP = "one clip"
#: the axes that tell cells apart beside the method, in the order tables show them; `config`
#: and `cell` only where the others leave two cells alike (`cell_axes`)
#: the sweep's own axes, in that order
SWEEP_AXES = ("clip_length", "stride", "resolution", "device", "dtype", "video_frames", "prompts")
AXES = ("dataset", *SWEEP_AXES, "config", "cell")
#: the axes that may only tell cells apart as a last resort
TIE_BREAKERS = ("config", "cell")
#: an axis's column heading
AXIS_HEADINGS = {
    "dataset": "dataset",
    "clip_length": "T",
    "stride": "S",
    "resolution": "resolution",
    "device": "device",
    "dtype": "dtype",
    "video_frames": "video frames",
    "prompts": "prompts",
    "config": "config",
    "cell": "cell",
}


def clip_length_order(value: Any) -> float:
    """The one ordering of clip lengths: `all` first, then decreasing T."""
    if value in ("all", None, "-"):
        return float("-inf")
    return -float(value)


def stride_text(record: CellRecord) -> str:
    """The stride a cell used; T = all is one clip per video."""
    return ONE_CLIP if record.stride is None else str(record.stride)


def axis_value(record: CellRecord, axis: str) -> str:
    """The record's value on `axis` as a table prints it ("-" where it has none)."""
    if axis == "stride":
        return stride_text(record)
    if axis == "dataset":
        value: Any = record.dataset_label or record.dataset
    elif axis == "config":
        value = record.config_hash[:8] if record.config_hash else None
    elif axis == "cell":
        value = record.key[:8] if record.key else None
    else:
        value = getattr(record, axis)
    return "-" if value is None else str(value)


def _number_or_text(value: str) -> tuple[int, float, str]:
    """Numbers in increasing order, then text ("-", "one clip") in its own order."""
    try:
        return 0, float(value), ""
    except ValueError:
        return 1, 0.0, value


def value_order(axis: str) -> Callable[[str], Any]:
    """The order of an axis's printed values: T as every table orders it, `one clip` before
    the strides, numbers by size, text as text."""
    if axis == "clip_length":
        return clip_length_order
    if axis == "stride":
        return lambda v: (v != ONE_CLIP, _number_or_text(v))
    return _number_or_text


def values_of(records: Iterable[CellRecord], axis: str) -> list[str]:
    """The distinct values of `axis` among the records, in the axis's order."""
    return sorted({axis_value(r, axis) for r in records}, key=value_order(axis))


def identity(record: CellRecord, axes: Sequence[str]) -> tuple[str, ...]:
    """What a table tells a cell by: its method and its values on `axes`."""
    return (record.shown_method, *(axis_value(record, a) for a in axes))


def varied_axes(records: Sequence[CellRecord]) -> list[str]:
    """The axes with more than one value among the records, plus a tie breaker where those and
    the method leave two cells alike (a folder holding two configs that differ elsewhere). The
    prompts vary only between two counts: a prompted method beside methods without prompts
    (its count beside their "-") is told apart by its name."""
    varied = [a for a in AXES if a not in TIE_BREAKERS and _varies(records, a)]
    for breaker in TIE_BREAKERS:
        if len({identity(r, varied) for r in records}) == len(records):
            break
        if len(values_of(records, breaker)) > 1:  # a breaker all alike (older records) tells
            varied.append(breaker)  # nothing apart
    return varied


def _varies(records: Sequence[CellRecord], axis: str) -> bool:
    values = values_of(records, axis)
    if axis == "prompts":
        values = [v for v in values if v != "-"]
    return len(values) > 1


def fixed_text(records: Sequence[CellRecord], shown: Iterable[str]) -> str:
    """ "Every cell here: S 3, resolution 144, cpu, fp32." for the sweep axes that have one value
    among the records and are not among the `shown` columns ("" when none)."""
    shown = set(shown)
    parts = []
    for axis in SWEEP_AXES:
        values = values_of(records, axis)
        if axis in shown or len(values) != 1 or values[0] == "-":
            continue
        parts.append(_fixed_part(axis, values[0]))
    return f"Every cell here: {', '.join(parts)}." if parts else ""


def _fixed_part(axis: str, value: str) -> str:
    if axis in ("device", "dtype"):
        return value
    if axis == "video_frames":
        return f"videos cut to {value} frames"
    if axis == "stride" and value == ONE_CLIP:
        return ONE_CLIP
    return f"{AXIS_HEADINGS[axis]} {value}"


@dataclass(frozen=True)
class CellColumns:
    """The columns that name a cell in a table of these records: the method, then every axis
    that varies among them; `fixed` says the value of those that do not."""

    axes: tuple[str, ...]
    fixed: str

    @property
    def headers(self) -> list[str]:
        return ["method", *(AXIS_HEADINGS[a] for a in self.axes)]

    def values(self, record: CellRecord) -> list[str]:
        return list(identity(record, self.axes))

    def setting(self, record: CellRecord) -> str:
        """The cell's shown axes in words, e.g. `T=5 S=3 resolution=360` (T=all: no stride)."""
        parts = [f"{AXIS_HEADINGS[a]}={axis_value(record, a)}" for a in self.axes]
        return " ".join(part for part in parts if part != f"S={ONE_CLIP}")

    def label(self, record: CellRecord) -> str:
        """The cell in words, e.g. `NAME T=5 S=3 resolution=360`."""
        return f"{record.shown_method} {self.setting(record)}".strip()

    def order(self, record: CellRecord) -> tuple:
        """Rows by method, then by each shown axis in its own order."""
        return (
            record.shown_method,
            *(value_order(a)(axis_value(record, a)) for a in self.axes),
        )

    def with_caption(self, table: str) -> str:
        """The table with the fixed axes' line above it (the table alone when none)."""
        return f"{self.fixed}\n\n{table}" if self.fixed else table

    def table(self, rows: list[list[Any]], headers: list[str], fmt: str) -> str:
        """`rows` as a `fmt` table under `headers` (these columns' first), their text as
        written (no number parsing), with the fixed axes' line above."""
        from tabulate import tabulate

        return self.with_caption(
            tabulate(rows, headers=headers, tablefmt=fmt, disable_numparse=True)
        )


def cell_columns(records: Sequence[CellRecord]) -> CellColumns:
    """The method and every axis the records vary (T and S always together: a stride means
    something only beside its clip length)."""
    axes = varied_axes(records)
    if ("clip_length" in axes) != ("stride" in axes):
        axes = [*axes, "clip_length", "stride"]
    shown = tuple(a for a in AXES if a in axes)
    return CellColumns(shown, fixed_text(records, shown))
