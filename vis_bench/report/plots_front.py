"""AP against FPS, the front marked: one panel per method (small multiples), readable at 100 cells.

One panel per method and group (one machine, device and dtype: report/front.py): the method's
cells in colour, the group's other cells in grey behind them, the group's front as a dashed line
through its cells, each front cell ringed. A cell's colour is its resolution and its marker its
stride (one legend for the figure, a few entries), its clip length written beside it (cells on
one spot share a label: plot_labels.py); AP bars are the cell's bootstrap interval, FPS bars its
interval over the timed rounds; a cell whose FPS cannot be compared is drawn hollow and is on no
front. Panels of a group share their axes, so a method's place among the others reads across
them. The figure's layout holds its title and legend whole.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from vis_bench.records import CellRecord
from vis_bench.report.front import front_keys, group_of, method_names
from vis_bench.report.plot_labels import merged, place
from vis_bench.report.plot_styles import figure_legend, styles, wrapped
from vis_bench.report.plots import _save, plot_title, small_multiples
from vis_bench.report.record_set import RecordSet
from vis_bench.report.significance import interval_points
from vis_bench.report.speed_trust import not_comparable, speed_of

#: panels per row
COLUMNS = 4
#: an FPS axis is logarithmic when its fastest cell is this many times its slowest
LOG_RATIO = 4.0
ONE_CLIP = "one clip (T=all)"


def _points(record_set: RecordSet) -> list[CellRecord]:
    return [r for r in record_set.ok if r.metric("AP") is not None and r.speed.fps_end_to_end]


def _stride(record: CellRecord) -> str:
    return ONE_CLIP if record.stride is None else f"S={record.stride}"


def _resolution(record: CellRecord) -> str:
    return "resolution as configured" if record.resolution is None else f"{record.resolution}p"


def _sorted_values(values: set[str]) -> list[str]:
    """Strides and resolutions in their numeric order (`S=3` before `S=10`), text after."""
    return sorted(values, key=lambda v: (_number_in(v), v))


def _number_in(value: str) -> float:
    digits = "".join(c for c in value if c.isdigit())
    return float(digits) if digits else math.inf


def plot_front(record_set: RecordSet, path: str | Path) -> Path | None:
    """The figure (None when no finished cell has both an AP and an FPS)."""
    records = _points(record_set)
    if not records:
        return None
    names = method_names(records)
    groups: dict[Any, list[CellRecord]] = {}
    for record in records:
        groups.setdefault(group_of(record), []).append(record)
    panels = [
        (group, method)
        for group, members in groups.items()
        for method in dict.fromkeys(names[str(r.key)] for r in members)
    ]
    resolutions = _sorted_values({_resolution(r) for r in records})
    strides = _sorted_values({_stride(r) for r in records})
    colour = {
        res: style[0] for res, style in zip(resolutions, styles(len(resolutions)), strict=True)
    }
    marker = {s: style[1] for s, style in zip(strides, styles(len(strides)), strict=True)}
    columns = min(COLUMNS, len(panels))
    rows = math.ceil(len(panels) / columns)
    fig, axes = small_multiples(len(panels), rows, columns, (3.3, 2.7), 2.0)
    fronts = {group: _front(members) for group, members in groups.items()}
    limits = {group: _limits(members) for group, members in groups.items()}
    for ax, (group, method) in zip(axes.flat, panels, strict=False):
        members = groups[group]
        own = [r for r in members if names[str(r.key)] == method]
        _panel(ax, own, members, fronts[group], limits[group], colour, marker)
        title = method if len(groups) == 1 else f"{method}\n{group.label}"
        ax.set_title(title, fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("FPS end to end", fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel("AP", fontsize=8)
    figure_legend(
        fig, _handles(colour, marker, records), title="colour: resolution; marker: stride"
    )
    what = "AP vs FPS, the front per device and dtype (bars: 95% intervals; text: clip length T)"
    fig.suptitle(wrapped(plot_title(record_set, what), fig), fontsize=8)
    fig.canvas.draw()  # the layout, before labels are placed clear of each other
    for ax, (group, method) in zip(axes.flat, panels, strict=False):
        own = [r for r in groups[group] if names[str(r.key)] == method]
        _labels(ax, own, colour)
    return _save(fig, path)


def _front(members: list[CellRecord]) -> list[CellRecord]:
    """The group's front cells, fastest first."""
    timed = [r for r in members if not not_comparable(r)]
    keys = front_keys(
        (str(r.key), float(r.metric("AP") or 0.0), float(r.speed.fps_end_to_end or 0.0))
        for r in timed
    )
    return sorted((r for r in timed if r.key in keys), key=lambda r: -(r.speed.fps_end_to_end or 0))


def _limits(members: list[CellRecord]) -> tuple[tuple[float, float], tuple[float, float], bool]:
    """x and y limits shared by a group's panels, room for bars and labels, and a log x."""
    fps = [float(r.speed.fps_end_to_end or 0.0) for r in members]
    ap = [100 * float(r.metric("AP") or 0.0) for r in members]
    for r in members:
        low_high = interval_points(r, "AP")
        if low_high is not None:
            ap += list(low_high)
        ci = speed_of(r).fps_ci
        if ci:
            fps += [float(v) for v in ci if v]
    low, high = min(fps), max(fps)
    log = low > 0 and high / low >= LOG_RATIO
    x = (
        (low / 1.25, high * 1.6)
        if log
        else (low - 0.1 * (high - low + 1), high + 0.3 * (high - low + 1))
    )
    span = max(ap) - min(ap) + 1.0
    return x, (min(ap) - 0.08 * span, max(ap) + 0.15 * span), log


def _panel(ax, own, members, front, limits, colour, marker) -> None:
    keys = {r.key for r in own}
    others = [r for r in members if r.key not in keys]
    ax.scatter(
        [r.speed.fps_end_to_end for r in others],
        [100 * float(r.metric("AP") or 0.0) for r in others],
        s=10,
        color="0.8",
        zorder=1,
    )
    if front:
        ax.plot(
            [r.speed.fps_end_to_end for r in front],
            [100 * float(r.metric("AP") or 0.0) for r in front],
            ls="--",
            lw=0.9,
            color="black",
            zorder=2,
        )
    on_front = {r.key for r in front}
    for r in own:
        x, y = float(r.speed.fps_end_to_end or 0.0), 100 * float(r.metric("AP") or 0.0)
        shade = colour[_resolution(r)]
        _bars(ax, r, x, y, shade)
        hollow = bool(not_comparable(r))
        ax.scatter(
            [x],
            [y],
            s=30,
            marker=marker[_stride(r)],
            zorder=4,
            facecolors="none" if hollow else [shade],
            edgecolors=[shade],
            linewidths=1.2,
        )
        if r.key in on_front:
            ax.scatter([x], [y], s=110, facecolors="none", edgecolors="black", lw=1.0, zorder=3)
    (x0, x1), (y0, y1), log = limits
    if log:
        from matplotlib.ticker import LogLocator, NullFormatter, StrMethodFormatter

        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)


def _bars(ax, record: CellRecord, x: float, y: float, shade) -> None:
    """The AP interval (vertical) and the FPS interval (horizontal), where recorded."""
    ap = interval_points(record, "AP")
    fps = speed_of(record).fps_ci
    yerr = None if ap is None else [[max(0.0, y - ap[0])], [max(0.0, ap[1] - y)]]
    xerr = None if not fps else [[max(0.0, x - float(fps[0]))], [max(0.0, float(fps[1]) - x)]]
    if yerr is not None or xerr is not None:
        ax.errorbar([x], [y], yerr=yerr, xerr=xerr, fmt="none", ecolor=shade, lw=0.8, alpha=0.7)


def _labels(ax, own: list[CellRecord], colour) -> None:
    """`T=...` beside each of the method's cells, per resolution and stride (one spot, one label)."""
    labels = []
    series: dict[tuple[str, str], list[CellRecord]] = {}
    for r in own:
        series.setdefault((_resolution(r), _stride(r)), []).append(r)
    for (resolution, _), cells in series.items():
        points = [
            (
                float(r.speed.fps_end_to_end or 0.0),
                100 * float(r.metric("AP") or 0.0),
                str(r.clip_length),
            )
            for r in cells
        ]
        labels += merged(points, ax, colour[resolution])
    place(
        ax,
        labels,
        [(float(r.speed.fps_end_to_end or 0.0), 100 * float(r.metric("AP") or 0.0)) for r in own],
    )


def _handles(colour, marker, records: list[CellRecord]) -> list[Any]:
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], ls="", marker="o", color=shade, label=res) for res, shade in colour.items()
    ]
    handles += [Line2D([], [], ls="", marker=m, color="0.3", label=s) for s, m in marker.items()]
    handles += [
        Line2D([], [], ls="--", color="black", marker="o", mfc="none", ms=9, label="the front"),
        Line2D([], [], ls="", marker="o", color="0.8", ms=4, label="other methods' cells"),
    ]
    if any(not_comparable(r) for r in records):
        handles.append(
            Line2D(
                [],
                [],
                ls="",
                marker="o",
                mfc="none",
                color="0.3",
                label="FPS not comparable (loaded)",
            )
        )
    return handles
