"""tables.md: every table of a run in one markdown document (the HTML report shows it too)."""

from __future__ import annotations

from vis_bench.report.breakdowns import ERROR_NOTE, error_table, per_category_table
from vis_bench.report.memory_plot import memory_table
from vis_bench.report.record_set import RecordSet
from vis_bench.report.tables import (
    OCCLUSION_AP,
    OCCLUSION_AR,
    comparison_table,
    datasets_of,
    notes_lines,
    pivot_table,
)


def has_video_lengths(record_set: RecordSet) -> bool:
    """Whether the run has a video-length axis (`sweep.video_frames`)."""
    return any(r.get("video_frames") is not None for r in record_set)


def tables_markdown(record_set: RecordSet, title: str) -> str:
    """The document: all cells, AP and FPS by clip length, occlusion levels and memory against
    video length where the records have them, then the notes."""
    datasets = "; ".join(datasets_of(record_set)) or "-"
    parts = [f"# {title}", "", f"Dataset: {datasets}", "", "## All cells", ""]
    parts += [comparison_table(record_set), ""]
    parts += ["## AP by clip length", "", pivot_table(record_set, "AP", "method", "clip_length")]
    parts += [""]
    parts += [
        "## End-to-end FPS by clip length",
        "",
        pivot_table(record_set, "fps_end_to_end", "method", "clip_length"),
        "",
    ]
    if any(r.get("AP_occ_light") is not None for r in record_set):
        columns = ("AP", *OCCLUSION_AP, *OCCLUSION_AR)
        by = ("method", "clip_length", "stride", "resolution")
        parts += [
            "## AP and AR by occlusion level (OVIS)",
            "",
            comparison_table(record_set, columns, by),
        ]
        parts += [""]
    errors = error_table(record_set)
    if errors is not None:
        parts += ["## Where AP50 goes, by error type", "", errors, "", ERROR_NOTE, ""]
    categories = per_category_table(record_set)
    if categories is not None:
        parts += ["## AP per category (each method's ranked cell)", "", categories, ""]
    if has_video_lengths(record_set):
        parts += ["## Memory and time against video length", "", memory_table(record_set), ""]
    notes = notes_lines(record_set)
    if notes:
        parts += ["Notes:", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(parts)
