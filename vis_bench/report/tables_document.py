"""tables.md: every table of a run in one markdown document (the HTML report shows it too)."""

from __future__ import annotations

from vis_bench.eval.benchmarks import (
    AP,
    FIGURE_NAMES,
    MEAN_AP,
    OCCLUSION_AP,
    OCCLUSION_AR,
    YTVIS2022_NOTE,
)
from vis_bench.report.axis_tables import AXIS_NAMES, axis_table, has_axis_table
from vis_bench.report.breakdowns import (
    ERROR_NOTE,
    GROUPS_NOTE,
    category_group_table,
    error_table,
    per_category_table,
    video_set_table,
)
from vis_bench.report.memory_plot import memory_table
from vis_bench.report.metric_columns import headline_of
from vis_bench.report.record_set import ONCE_NOTE, RecordSet
from vis_bench.report.run_state import incomplete_line, unfinished_section
from vis_bench.report.speed import (
    LATENCY_NOTE,
    definition_lines,
    energy_lines,
    latency_table,
    protocol_table,
)
from vis_bench.report.speed_trust import (
    PAIRED_NOTE,
    ROUNDS_NOTE,
    paired_table,
    rounds_table,
    verdict_line,
)
from vis_bench.report.table_axes import clip_length_order
from vis_bench.report.tables import (
    CUDA_NOTE,
    comparison_table,
    datasets_of,
    headings_note,
    notes_lines,
    records_frame,
)
from vis_bench.report.twins import TWINS_NOTE, twins_table


def has_video_lengths(record_set: RecordSet) -> bool:
    """Whether the run has a video-length axis (`sweep.video_frames`)."""
    return any(r.video_frames is not None for r in record_set)


def same_ap_lines(record_set: RecordSet) -> list[str]:
    """Why a method's AP is the same at every clip length, for each method where it is and whose
    declaration links its query tracks frame to frame (the record set's `query_linking`)."""
    frame = records_frame(record_set)
    if frame.empty or "AP" not in frame:
        return []
    lines = []
    for method, linking in sorted(record_set.query_linking.items()):
        rows = frame[(frame["method"] == method) & frame["AP"].notna()]
        if rows["clip_length"].nunique() > 1 and rows["AP"].round(6).nunique() == 1:
            lengths = ", ".join(sorted(rows["clip_length"].unique(), key=clip_length_order))
            once = (
                " It is given consecutive windows of T new frames whatever the stride (an "
                "overlapped frame would keep its first prediction anyway), so the clip length is "
                "the window one call takes and the stride changes nothing."
                if linking.endswith(ONCE_NOTE)
                else ""
            )
            lines.append(
                f"{method}: the same AP at every clip length ({lengths}). Its declaration links "
                f"its tracks frame to frame ({linking}), so under any clip schedule its per-frame "
                "predictions become the same tracks: the clip length changes only its speed and "
                f"memory.{once}"
            )
    return lines


def axis_sections(record_set: RecordSet) -> list[str]:
    """AP and end-to-end FPS by stride, by resolution and by number of prompts, each where some
    method ran two of its values at one setting of the others (a run with one resolution has no
    table by it)."""
    parts: list[str] = []
    ranked = headline_of(r.metrics for r in record_set)
    for axis in ("stride", "resolution", "prompts"):
        for value, title in ((ranked, ranked), ("fps_end_to_end", "End-to-end FPS")):
            if has_axis_table(record_set, value, axis):
                table = axis_table(record_set, value, axis)
                parts += [f"## {title} by {AXIS_NAMES[axis]}", "", table, ""]
    return parts


def speed_sections(record_set: RecordSet) -> list[str]:
    """The timed rounds with the machine's speed, paired FPS ratios, FPS by timing protocol with
    what each timed, the live stream's latency and the energy per frame, each where the records
    measured it (none for records made before them)."""
    parts: list[str] = []
    rounds = rounds_table(record_set.ok)
    if rounds is not None:
        parts += ["## Speed: timed rounds and the machine", "", rounds, "", ROUNDS_NOTE, ""]
        verdict = verdict_line(list(record_set.ok))
        parts += [f"**{verdict}**", ""] if verdict else []
    paired = paired_table(record_set.ok)
    if paired is not None:
        parts += ["## FPS ratios, paired over rounds", "", paired, "", PAIRED_NOTE, ""]
    twins = twins_table(record_set.ok)
    if twins is not None:
        parts += ["## Twins: each cell timed twice (A/A)", "", twins, "", TWINS_NOTE, ""]
    protocols = protocol_table(record_set)
    if protocols is not None:
        parts += ["## FPS by timing protocol", "", protocols, ""]
        parts += [f"- {line}" for line in definition_lines(record_set)] + [""]
    latency = latency_table(record_set)
    if latency is not None:
        parts += ["## Latency of a live stream", "", latency, "", LATENCY_NOTE, ""]
    energy = energy_lines(record_set)
    if energy:
        parts += ["## Energy", ""] + [f"- {line}" for line in energy] + [""]
    return parts


def dataset_sections(record_set: RecordSet) -> list[str]:
    """What the dataset config asked for: YouTube-VIS 2022's figures and each set's statistics,
    every line per group of categories; each where the records have it."""
    parts: list[str] = []
    if any(r.metric(MEAN_AP) is not None for r in record_set):
        by = ("method", "clip_length", "stride", "resolution")
        parts += ["## YouTube-VIS 2022: short and long videos", ""]
        parts += [comparison_table(record_set, FIGURE_NAMES, by), ""]
        sets = video_set_table(record_set)
        if sets is not None:
            parts += ["Each set's statistics (each method's ranked cell):", "", sets, ""]
    groups = category_group_table(record_set)
    if groups is not None:
        parts += ["## AP and AR by category group (each method's ranked cell)", "", groups, ""]
        parts += [GROUPS_NOTE, ""]
    return parts


def tables_markdown(record_set: RecordSet, title: str, speed: bool = True) -> str:
    """The document: all cells, AP and FPS by clip length, FPS by protocol, latency and energy
    (unless `speed` is False: the HTML page shows them in a section of its own), occlusion
    levels and memory against video length where the records have them, then the notes."""
    datasets = "; ".join(datasets_of(record_set)) or "-"
    parts = [f"# {title}", "", f"Dataset: {datasets}", ""]
    incomplete = incomplete_line(record_set.configured, record_set.unfinished)
    parts += [incomplete, ""] if incomplete else []
    note = headings_note(record_set)
    if any(r.memory.cuda_max_allocated_mb is not None for r in record_set.ok):
        note += " " + CUDA_NOTE
    parts += ["## All cells", "", comparison_table(record_set), "", note, ""]
    parts += unfinished_section(record_set.configured, record_set.unfinished)
    if any(r.metric(MEAN_AP) is not None for r in record_set):
        parts += [YTVIS2022_NOTE, ""]
    ranked = headline_of(r.metrics for r in record_set)  # AP, mAP on 2022, HOTA_all on BURST
    parts += [f"## {ranked} by clip length", "", axis_table(record_set, ranked, "clip_length"), ""]
    same = same_ap_lines(record_set)
    if same:
        parts += [*same, ""]
    fps = axis_table(record_set, "fps_end_to_end", "clip_length")
    parts += ["## End-to-end FPS by clip length", "", fps, ""]
    parts += axis_sections(record_set)
    parts += speed_sections(record_set) if speed else []
    if any(r.metric(OCCLUSION_AP[0]) is not None for r in record_set):
        columns = (AP, *OCCLUSION_AP, *OCCLUSION_AR)
        by = ("method", "clip_length", "stride", "resolution")
        parts += [
            "## AP and AR by occlusion level (OVIS)",
            "",
            comparison_table(record_set, columns, by),
        ]
        parts += [""]
    parts += dataset_sections(record_set)
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
