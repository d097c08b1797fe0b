"""Plots of what a sweep varies besides the clip length's AP: AP and FPS against resolution (when
a method ran at several), and memory against clip length (when one ran several).

A line is one method at one setting of the other axes (its clip schedule, or its resolution), so
a reader sees how each method's cost and accuracy move with the one axis the plot names.
"""

from __future__ import annotations

import math
from pathlib import Path

from vis_bench.report.plot_styles import figure_legend, styles, wrapped
from vis_bench.report.plots import (
    _measured,
    _pyplot,
    _save,
    ap_error,
    ap_label,
    clip_positions,
    outside_legend,
    plot_title,
    small_multiples,
)
from vis_bench.report.record_set import RecordSet
from vis_bench.report.tables import records_frame

#: memory columns of a record, best first, each named as the tables' column of it: on a GPU
#: what PyTorch allocated there, else the worker's peak RSS
MEMORY_COLUMNS = (
    ("cuda_max_allocated_mb", "CUDA peak MiB (as in the tables)"),
    ("peak_rss_mb", "memory MiB (peak RSS, as in the tables)"),
)


def varies_resolution(record_set: RecordSet) -> bool:
    """Some method ran at two resolutions or more."""
    frame = records_frame(record_set)
    if frame.empty or "resolution" not in frame:
        return False
    numeric = frame[frame["resolution"] != "-"]
    return bool((numeric.groupby("method")["resolution"].nunique() > 1).any())


def varies_clip_length(record_set: RecordSet) -> bool:
    """Some method ran two clip lengths or more (on whole videos)."""
    frame = records_frame(record_set)
    if frame.empty or "clip_length" not in frame:
        return False
    return bool((frame.groupby("method")["clip_length"].nunique() > 1).any())


def plot_vs_resolution(record_set: RecordSet, path: str | Path) -> Path | None:
    """AP (with intervals) and end-to-end FPS against the test resolution: a pair of panels per
    method (small multiples, two methods a row), one line per clip schedule, each schedule in the
    same colour and marker in every panel and named once in the figure's legend; None unless a
    method ran at several resolutions."""
    frame = _measured(records_frame(record_set), ("AP", "fps_end_to_end"))
    if frame.empty or not varies_resolution(record_set):
        return None
    frame = frame[frame["resolution"] != "-"].assign(px=lambda f: f["resolution"].astype(int))
    frame = frame.assign(
        schedule=[
            _schedule(c, s) for c, s in zip(frame["clip_length"], frame["stride"], strict=True)
        ]
    )
    methods = [m for m, group in frame.groupby("method") if group["px"].nunique() > 1]
    schedules = sorted(set(frame["schedule"]), key=_schedule_order)
    style = dict(zip(schedules, styles(len(schedules)), strict=True))
    rows = math.ceil(len(methods) / METHODS_PER_ROW)
    columns = 2 * min(METHODS_PER_ROW, len(methods))
    fig, axes = small_multiples(2 * len(methods), rows, columns, (3.0, 2.5), 1.8)
    flat = list(axes.flat)
    for i, method in enumerate(methods):
        left, right = flat[2 * i], flat[2 * i + 1]
        for schedule, group in frame[frame["method"] == method].groupby("schedule"):
            if group["px"].nunique() < 2:
                continue
            group = group.sort_values("px")
            colour, marker = style[schedule]
            left.errorbar(
                group["px"],
                group["AP"],
                yerr=ap_error(group),
                marker=marker,
                color=colour,
                capsize=2,
                ms=4,
                lw=1,
            )
            right.plot(
                group["px"], group["fps_end_to_end"], marker=marker, color=colour, ms=4, lw=1
            )
        for ax, what in ((left, "AP"), (right, "FPS end to end")):
            ax.set_title(f"{method}: {what}", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("resolution (shorter side, px)", fontsize=8)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=style[s][0], marker=style[s][1], label=s) for s in schedules]
    figure_legend(fig, handles, title="clip schedule")
    title = plot_title(record_set, f"AP and FPS vs resolution ({ap_label(frame)})")
    fig.suptitle(wrapped(title, fig), fontsize=8)
    return _save(fig, path)


#: methods side by side in a row of the resolution plot (each an AP and an FPS panel)
METHODS_PER_ROW = 2


def _schedule(clip, stride) -> str:
    return f"T={clip}" + (f" S={stride}" if stride not in ("-", "one clip", None) else "")


def _schedule_order(schedule: str) -> tuple[float, str]:
    clip = schedule.split()[0][2:]
    return (float(clip) if clip.isdigit() else float("inf")), schedule


def memory_column(frame) -> tuple[str, str] | None:
    """The memory measurement every row of `frame` has (the most telling first)."""
    for column, label in MEMORY_COLUMNS:
        if column in frame and frame[column].notna().all():
            return column, label
    return None


def plot_memory_vs_clip_length(record_set: RecordSet, path: str | Path) -> Path | None:
    """Memory against clip length, one line per method and resolution; None unless a method
    ran several clip lengths with memory measured."""
    frame = records_frame(record_set)
    if frame.empty or not varies_clip_length(record_set):
        return None
    if "video_frames" in frame:
        frame = frame[frame["video_frames"].isna()]  # whole videos only
    found = memory_column(frame)
    if (
        found is None
        or frame.empty
        or not frame.groupby("method")["clip_length"].nunique().max() > 1
    ):
        return None
    column, label = found
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    position, ticks, tick_labels = clip_positions(frame["clip_length"])
    for (method, resolution), group in frame.groupby(["method", "resolution"]):
        group = group.assign(x=[position[v] for v in group["clip_length"]]).sort_values("x")
        name = method if frame["resolution"].nunique() == 1 else f"{method} {resolution} px"
        ax.plot(group["x"], group[column], marker="o", label=name)
    ax.set_xscale("log", base=2)
    ax.set_xticks(ticks, tick_labels)
    ax.minorticks_off()
    ax.set_xlabel("clip length T (frames; all = the whole video)")
    ax.set_ylabel(label)
    ax.set_title(plot_title(record_set, "Memory vs clip length"), fontsize=8)
    ax.grid(alpha=0.3)
    outside_legend(ax)
    return _save(fig, path)
