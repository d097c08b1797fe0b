"""Memory and time against video length: a plot of peak memory vs frames per method and clip
schedule, and the table beside it (configs/long_video_memory.yaml).

A cell's length is its `video_frames` (videos cut to N frames) or, for whole videos, its mean
frames per video. Failed cells (out of memory, say) are drawn as crosses on the top edge of the
plot and listed with their reason in the table, so a schedule that stops fitting is visible.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vis_bench.records import CellRecord
from vis_bench.records.parts import Harness
from vis_bench.report.plots import _pyplot, _save, plot_title
from vis_bench.report.record_set import RecordSet
from vis_bench.report.table_axes import (
    AXIS_HEADINGS,
    axis_value,
    cell_columns,
    fixed_text,
    value_order,
)

_MIB_COLUMNS = ("peak_rss_mb", "rss_after_build_mb", "activation_peak_mb")
#: the axes the table's own columns show: the schedule (T, S) and the video length
_SHOWN = ("clip_length", "stride", "video_frames")


def frames_per_video(record: CellRecord) -> float | None:
    """The video length a cell ran at (cut length, else mean frames per video)."""
    if record.video_frames is not None:
        return float(record.video_frames)
    if record.num_frames and record.num_videos:
        return record.num_frames / record.num_videos
    return None


def schedule_label(record: CellRecord) -> str:
    """e.g. "T=5 S=1" or "T=all"."""
    if record.stride is None:
        return "T=all"
    return f"T={record.clip_length} S={record.stride}"


def _series(record_set: RecordSet) -> dict[tuple[str, str], list[CellRecord]]:
    series: dict[tuple[str, str], list[CellRecord]] = {}
    for record in record_set:
        if frames_per_video(record) is None and record.ok:
            continue
        series.setdefault((str(record.method), schedule_label(record)), []).append(record)
    return series


def plot_memory_vs_frames(record_set: RecordSet, path: str | Path) -> Path | None:
    """One line per (method, schedule): peak RSS (MiB) against frames per video, log-2 x axis.

    Returns None when no cell measured its memory (nothing to draw).
    """
    series = _series(record_set)
    measured = [
        r.memory.peak_rss_mb
        for rs in series.values()
        for r in rs
        if r.memory.peak_rss_mb is not None
    ]
    if not measured:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    top = max(measured) * 1.08
    for (method, schedule), rows in sorted(series.items()):
        ok = sorted(
            (frames_per_video(r), r.memory.peak_rss_mb)
            for r in rows
            if r.ok and r.memory.peak_rss_mb is not None
        )
        line = ax.plot(
            [x for x, _ in ok], [y for _, y in ok], marker="o", label=f"{method} {schedule}"
        )
        failed = [frames_per_video(r) for r in rows if not r.ok]
        failed = [x for x in failed if x is not None]
        if failed:
            colour = line[0].get_color() if line else None
            ax.scatter(failed, [top] * len(failed), marker="x", color=colour, s=60)
    frames = sorted({frames_per_video(r) for rs in series.values() for r in rs} - {None})
    ax.set_xscale("log", base=2)
    ax.set_xticks(frames, [f"{x:g}" for x in frames])
    ax.set_xlabel("frames per video")
    ax.set_ylabel("peak memory (RSS, MiB)")
    ax.set_title(plot_title(record_set, "Peak memory vs video length (x: failed)"), fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return _save(fig, path)


def _number(value: Any, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def memory_table(record_set: RecordSet) -> str:
    """Markdown: per cell, memory, speed and the harness's own share of the time; beside the
    method and schedule, every other axis the cells vary (resolution, device, ...), the ones
    with a single value said above the table."""
    cells = [r for rows in _series(record_set).values() for r in rows]
    extra = [a for a in cell_columns(cells).axes if a not in _SHOWN]
    header = (
        "| method | schedule | "
        + "".join(f"{AXIS_HEADINGS[a]} | " for a in extra)
        + "frames | peak RSS MiB | after build MiB | inference rise MiB | "
        "model FPS | end-to-end FPS | harness s/frame | harness share | stitcher MiB |"
    )
    lines = [header, "|" + "---|" * (2 + len(extra)) + "---:|" * 9]

    def order(r: CellRecord) -> tuple:
        return (*(value_order(a)(axis_value(r, a)) for a in extra), frames_per_video(r) or 0.0)

    for (method, schedule), rows in sorted(_series(record_set).items()):
        for r in sorted(rows, key=order):
            cell = f"| {method} | {schedule} | " + "".join(f"{axis_value(r, a)} | " for a in extra)
            frames = _number(frames_per_video(r), 0)
            if not r.ok:
                reason = str(r.error or "failed").replace("|", "/")
                lines.append(f"{cell}{frames} | FAILED: {reason} |" + " |" * 7)
                continue
            harness = r.harness or Harness()
            share = harness.overhead_share
            lines.append(
                f"{cell}{frames} | "
                + " | ".join(_number(getattr(r.memory, c), 0) for c in _MIB_COLUMNS)
                + f" | {_number(r.speed.fps_model, 3)} | {_number(r.speed.fps_end_to_end, 3)}"
                + f" | {_number(harness.overhead_s_per_frame, 3)}"
                + f" | {'-' if share is None else f'{100 * share:.1f} %'}"
                + f" | {_number(harness.stitch_state_peak_mb, 1)} |"
            )
    fixed = fixed_text(cells, (*_SHOWN, *extra))
    return "\n".join(([fixed, ""] if fixed else []) + lines)
