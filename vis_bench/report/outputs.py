"""Writing every report of a run (tables, leaderboard, plots and, for `run`, the HTML report)
from its records."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from vis_bench.atomic import write_atomic
from vis_bench.report.leaderboard import REPORT_FILE, leaderboard_markdown
from vis_bench.report.memory_plot import memory_table, plot_memory_vs_frames
from vis_bench.report.plots import plot_ap_vs_clip_length, plot_ap_vs_fps
from vis_bench.report.tables import (
    OCCLUSION_AP,
    OCCLUSION_AR,
    comparison_table,
    datasets_of,
    notes_lines,
    pivot_table,
)


def tables_markdown(records: list[dict[str, Any]], title: str) -> str:
    datasets = "; ".join(datasets_of(records)) or "-"
    parts = [f"# {title}", "", f"Dataset: {datasets}", "", "## All cells", ""]
    parts += [comparison_table(records), ""]
    parts += ["## AP by clip length", "", pivot_table(records, "AP", "method", "clip_length"), ""]
    parts += [
        "## End-to-end FPS by clip length",
        "",
        pivot_table(records, "fps_end_to_end", "method", "clip_length"),
        "",
    ]
    if any(r.get("AP_occ_light") is not None for r in records):
        columns = ("AP", *OCCLUSION_AP, *OCCLUSION_AR)
        by = ("method", "clip_length", "stride", "resolution")
        parts += [
            "## AP and AR by occlusion level (OVIS)",
            "",
            comparison_table(records, columns, by),
        ]
        parts += [""]
    if _cut_videos(records):
        parts += ["## Memory and time against video length", "", memory_table(records), ""]
    notes = notes_lines(records)
    if notes:
        parts += ["Notes:", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(parts)


def _cut_videos(records: list[dict[str, Any]]) -> bool:
    """Whether the run has a video-length axis (`sweep.video_frames`)."""
    return any(r.get("video_frames") is not None for r in records)


def write_reports(
    records: list[dict[str, Any]],
    out_dir: str | Path,
    title: str,
    html: bool = False,
    log: Callable[[str], None] = lambda message: None,
) -> list[Path]:
    """tables.md, the PNG plots, with `html` the HTML report (report.html: needs the run
    folder's predictions and dataset) and leaderboard.md, whose method rows link to the report
    when there is one; returns what was written."""
    out_dir = Path(out_dir)
    written = []
    tables = out_dir / "tables.md"
    write_atomic(tables, tables_markdown(records, title))
    written.append(tables)
    for plot, name in (
        (plot_ap_vs_clip_length, "ap_vs_clip_length.png"),
        (plot_ap_vs_fps, "ap_vs_fps.png"),
    ):
        path = plot(records, out_dir / "plots" / name)
        if path is not None:
            written.append(path)
    if _cut_videos(records):
        path = plot_memory_vs_frames(records, out_dir / "plots" / "memory_vs_frames.png")
        if path is not None:
            written.append(path)
    if html:
        written += _html_report(records, out_dir, title, log)
    board = out_dir / "leaderboard.md"
    report = REPORT_FILE if (out_dir / REPORT_FILE).is_file() else None
    write_atomic(board, leaderboard_markdown(records, title, group_datasets=True, report=report))
    written.append(board)
    return written


def _html_report(
    records: list[dict[str, Any]], out_dir: Path, title: str, log: Callable[[str], None]
) -> list[Path]:
    """The HTML report, or a note of why there is none (the run's numbers are written anyway)."""
    from vis_bench.errors import InputError
    from vis_bench.report.html_report import write_html_report

    try:
        path = write_html_report(
            out_dir, records=records, title=title, plots_dir=out_dir / "plots", log=log
        )
    except InputError as err:
        log(f"note: no HTML report: {err}")
        return []
    return [path]
