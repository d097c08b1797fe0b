"""Leaderboard markdown: one row per (method, checkpoint), ranked by AP, on one dataset.

The selection rule is stated in the header: each (method, checkpoint) is represented by its
best-AP cell among the cells it ran (the count is shown), not by a schedule chosen in advance.
AP is shown with that cell's bootstrap interval `[low, high]` as computed (often skewed, so never
as a symmetric spread), and each rank is compared with the next on the same videos (paired
bootstrap, `vs next`): a difference whose interval contains 0 is marked `n.s.`, so a ranking the
data cannot support is visible. Where a cell's setting
matches a published entry, the published AP and the difference stand beside the measured one.
Records of different datasets are never ranked together: `leaderboard` refuses them unless asked
to group them, and then ranks each dataset in its own section. Asked for, a last section names the
dataset and measure settings of each config the records were made with, read from the records
themselves (report/settings.py), so a leaderboard of copied records still says how they were made.
Where the run folder holds its HTML report (report.html), each method row links to the method's
section there; without one there is no link, so the markdown never points at a missing page.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from vis_bench.errors import InputError
from vis_bench.eval.benchmarks import AP, MEAN_AP, YTVIS
from vis_bench.eval.declared import METRICS
from vis_bench.records import CellRecord
from vis_bench.report.front_tables import front_lines, named, ranked_statistic
from vis_bench.report.metric_columns import headings, metrics_of, statistic_columns
from vis_bench.report.published_columns import (
    DELTA_COLUMN,
    PUBLISHED_COLUMN,
    published_cells,
    published_entries,
    source_lines,
)
from vis_bench.report.record_set import RecordSet
from vis_bench.report.run_state import incomplete_line, unfinished_section
from vis_bench.report.settings import settings_lines
from vis_bench.report.significance import NOT_SIGNIFICANT, PairedComparer, with_interval
from vis_bench.report.speed import (
    RATIO,
    definition_lines,
    has_protocols,
    has_stream,
    latency_ms,
    latency_table,
    ratio,
)
from vis_bench.report.speed_trust import (
    fps_marks,
    mark_notes,
    not_comparable,
    paired_ratio,
    precision_text,
    verdict_line,
)
from vis_bench.report.tables import (
    datasets_of,
    interval_note,
    metric_names_note,
    records_frame,
)
from vis_bench.report.warnings import warning_lines

#: the HTML report's file name in a run folder (report/html_report.py writes it)
REPORT_FILE = "report.html"
#: columns shown only where some ranked cell measured them (older records have none)
SPEED_COLUMNS = ("FPS vs next", "FPS model", "FPS authors", RATIO, "p50 latency ms")
#: the leaderboard's columns after its statistics' (the ranked AP's interval, the paired
#: comparison and the published AP follow the AP)
AFTER_AP = ("vs next", PUBLISHED_COLUMN, DELTA_COLUMN)
MEASURE_COLUMNS = (
    "FPS",
    "FPS vs next",
    "FPS model",
    "FPS authors",
    RATIO,
    "p50 latency ms",
    "GMACs",
    "params",
    "cell",
    "cells",
)


def statistic_headings() -> dict[str, str]:
    """Every registered metric's columns (merged in one order), each with its heading."""
    shown = headings()
    return {c: shown.get(c, c) for c in statistic_columns(METRICS)}


def leaderboard_columns() -> list[str]:
    """The columns a leaderboard may show: rank and method, every declared statistic column
    (those of the ranked records' metrics shown always, the others where a row has a value:
    `shown_columns`), then the measurements."""
    stats = list(statistic_headings().values())
    at = stats.index(AP) + 1
    return ["rank", "method", "backbone", *stats[:at], *AFTER_AP, *stats[at:], *MEASURE_COLUMNS]


def optional_columns(record_set: RecordSet) -> tuple[str, ...]:
    """Columns shown only where some ranked cell has a value: the speed columns older records
    lack, and the statistics of metrics other than the records' (YouTube-VIS's when the
    records hold no statistic)."""
    claimed = metrics_of(r.metrics for r in record_set) or [YTVIS]
    own = {column for metric in claimed for column in metric.columns}
    others = tuple(h for c, h in statistic_headings().items() if c not in own)
    return (*others, *SPEED_COLUMNS)


def device_name(record: CellRecord) -> str:
    """The machine a record ran on: the GPU's name, else the CPU's, else its device."""
    machine = record.environment.machine if record.environment is not None else None
    return machine or ("" if record.device is None else str(record.device))


def _fps(record: CellRecord) -> str | None:
    fps = record.speed.fps_end_to_end
    if fps is None:
        return None
    precision = precision_text(record)
    return f"{fps:.2f}{fps_marks(record)} {precision} ({device_name(record)})".replace("  ", " ")


def ranked_by(record_set: RecordSet) -> tuple[str, ...]:
    """What ranks cells, the first the records have: their metrics' headlines (YouTube-VIS
    2022's mAP before AP), then AP, then end-to-end FPS."""
    claimed = metrics_of(r.metrics for r in record_set)
    return tuple(dict.fromkeys((*(m.headline for m in claimed), AP, "fps_end_to_end")))


def leaderboard_frame(record_set: RecordSet) -> pd.DataFrame:
    """One row per (method, checkpoint): its best-AP cell (best mAP on YouTube-VIS 2022,
    fastest when AP is absent, the first recorded when neither was measured)."""
    frame = records_frame(record_set)
    if frame.empty:
        return pd.DataFrame(columns=[*leaderboard_columns(), "notes"])
    if "checkpoint" not in frame:
        frame["checkpoint"] = None
    # None becomes NaN in a column that also holds paths; groupby would drop those rows
    frame["checkpoint"] = frame["checkpoint"].map(lambda v: v if isinstance(v, str) and v else "-")
    keys = [k for k in ranked_by(record_set) if k in frame and frame[k].notna().any()]
    if keys[:1] == ["fps_end_to_end"] and any(not_comparable(r) for r in record_set.ok):
        keys = []  # figures that cannot be compared rank nothing: record order
    if keys:  # by mAP (2022) or AP, or by speed when no cell was scored; else in record order
        frame = frame.sort_values(keys[0], ascending=False, na_position="last", kind="stable")
    counts = frame.groupby(["method", "checkpoint"], sort=False).size()
    best = frame.groupby(["method", "checkpoint"], sort=False).head(1).reset_index(drop=True)
    raw = {r.key: r for r in record_set}
    chosen = [raw[key] for key in best["key"]]
    matched = published_entries(chosen, record_set.published)
    # the paired bootstrap compares AP: no `vs next` for a ranking by another figure
    paired = keys[:1] == ["AP"] and any(r.bootstrap is not None for r in chosen)
    comparer = PairedComparer(record_set)
    rows = []
    for rank, (_, r) in enumerate(best.iterrows(), 1):
        params = r.get("params")
        record = chosen[rank - 1]
        published, delta = published_cells(
            matched.get(str(record.key)), lambda m, row=r: _number(row.get(m))
        )
        rows.append(
            {
                "rank": rank,
                "method": r["method"],
                "backbone": r.get("backbone") or "-",
                **{heading: r.get(name) for name, heading in statistic_headings().items()},
                "AP interval": _ap_text(r, record),
                "vs next": _vs_next(chosen, rank - 1, comparer) if paired else "",
                PUBLISHED_COLUMN: published,
                DELTA_COLUMN: delta,
                "FPS": _fps(record),
                "FPS vs next": _fps_vs_next(chosen, rank - 1),
                **_speed(record),
                "GMACs": r.get("gmacs_per_frame"),
                "params": None if params is None or pd.isna(params) else f"{params / 1e6:.1f}M",
                "cell": _cell_text(r),
                "cells": int(counts[(r["method"], r["checkpoint"])]),
                "notes": r.get("notes") or "",
                "key": record.key,
            }
        )
    return pd.DataFrame(rows)


def _fps_vs_next(chosen: list[CellRecord], i: int) -> str | None:
    """FPS of rank i+1 / rank i+2, paired over the rounds both were timed in (None: no next,
    or no FPS)."""
    if i + 1 >= len(chosen) or not chosen[i].speed.fps_end_to_end:
        return None
    if not chosen[i + 1].speed.fps_end_to_end:
        return None
    return paired_ratio(chosen[i], chosen[i + 1]).text()


def _cell_text(row: pd.Series) -> str:
    """The ranked cell's setting, e.g. "T=10 S=5 res=144 fp32" ("T=all" for one clip)."""
    schedule = f"T={row['clip_length']}"
    if row["stride"] != "one clip":
        schedule += f" S={row['stride']}"
    return f"{schedule} res={row['resolution']} {row['dtype']}"


def _speed(record: CellRecord) -> dict[str, Any]:
    """The FPS of the other protocols (model only where the record lists it among its
    protocols: older records show end to end alone, as they did), the authors' / end-to-end
    ratio and the live stream's median latency."""
    fraction = ratio(record)
    return {
        "FPS model": record.speed.fps_model if "model" in (record.protocols or {}) else None,
        "FPS authors": record.speed.fps_authors,
        RATIO: None if fraction is None else f"{fraction:.2f}x",
        "p50 latency ms": latency_ms(record, "p50"),
    }


def shown_columns(frame: pd.DataFrame, columns: list[str], record_set: RecordSet) -> list[str]:
    """`columns` less the optional ones (`optional_columns`) no row has a value in."""
    optional = optional_columns(record_set)
    return [c for c in columns if c not in optional or (c in frame and frame[c].notna().any())]


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _ap_text(row: pd.Series, record: CellRecord) -> str | None:
    """`29.6 [23.7, 40.2]`: the AP with its interval's two ends, not a symmetric spread."""
    ap = _number(row.get("AP"))
    return None if ap is None else with_interval(ap, record, "AP", 1)


def _vs_next(chosen: list[CellRecord], i: int, comparer: PairedComparer) -> str:
    """AP of rank i+1 minus rank i+2 on the same videos ("" for the last rank)."""
    if i + 1 >= len(chosen) or chosen[i].metric("AP") is None:
        return ""
    return comparer.compare(chosen[i], chosen[i + 1], "AP").text(1)


def display_text(value: Any) -> str:
    """Leaderboard text: floats to one decimal, missing values as "-"."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return "-"
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def method_anchors(methods: list[str]) -> list[str]:
    """The HTML report's section id of each leaderboard row's method (`method-NAME`; a
    method ranked twice, e.g. with two checkpoints, gets `-2`, `-3` after its first row)."""
    seen: dict[str, int] = {}
    anchors = []
    for method in methods:
        slug = "method-" + (re.sub(r"[^a-z0-9]+", "-", str(method).lower()).strip("-") or "x")
        seen[slug] = seen.get(slug, 0) + 1
        anchors.append(slug if seen[slug] == 1 else f"{slug}-{seen[slug]}")
    return anchors


def _section(record_set: RecordSet, report: str | None = None) -> list[str]:
    frame = leaderboard_frame(record_set)
    if frame.empty:
        return ["No finished cells yet."]
    frame = frame.assign(AP=frame["AP interval"])
    if report is not None:  # each method row links to its section of the HTML report
        anchors = method_anchors(list(frame["method"]))
        links = [f"[{m}]({report}#{a})" for m, a in zip(frame["method"], anchors, strict=True)]
        frame = frame.assign(method=links)
    shown = {
        "vs next": frame["vs next"].astype(bool).any() and frame["AP"].notna().any(),
        PUBLISHED_COLUMN: frame[PUBLISHED_COLUMN].astype(bool).any(),
        DELTA_COLUMN: frame[PUBLISHED_COLUMN].astype(bool).any(),
    }
    columns = shown_columns(
        frame, [c for c in leaderboard_columns() if shown.get(c, True)], record_set
    )
    shown_frame = frame[columns].map(display_text)
    lines = [shown_frame.to_markdown(index=False, disable_numparse=True)]
    ranked = record_set.where(lambda r: r.key in set(frame["key"]))
    for note in mark_notes(list(ranked)):
        lines += ["", note + "."]
    return lines + _speed_section(ranked) + ["", *front_lines(record_set, level="###")]


def _speed_section(ranked: RecordSet) -> list[str]:
    """Below the ranking: what each FPS column timed, and the ranked cells' stream latency."""
    lines = []
    if has_protocols(ranked):
        lines += ["", "What each FPS timed:", ""]
        lines += [f"- {line}" for line in definition_lines(ranked)]
    latency = latency_table(ranked)
    if latency is not None:
        lines += ["", "Latency of a live stream (the ranked cells):", "", latency]
    return lines


def leaderboard_datasets(record_set: RecordSet, group_datasets: bool, grouped: str) -> list[str]:
    """The datasets the records cover; records of several are refused unless `group_datasets`
    (`grouped`: how each is then ranked, for the message), as a leaderboard ranks one."""
    datasets = datasets_of(record_set)
    if len(datasets) > 1 and not group_datasets:
        raise InputError(
            f"the records cover {len(datasets)} datasets ({'; '.join(datasets)}); a leaderboard "
            f"ranks one dataset: pass --group-datasets to rank each {grouped}",
            field="runs",
        )
    return datasets


def leaderboard_markdown(
    record_set: RecordSet,
    title: str = "vis-bench leaderboard",
    group_datasets: bool = False,
    settings: bool = False,
    report: str | None = None,
) -> str:
    """The leaderboard as a markdown document; one section per dataset when grouping, and with
    `settings` the dataset and measure settings the records were made with. With `report` (the
    HTML report's path relative to the markdown), each method row links to its section there."""
    datasets = leaderboard_datasets(record_set, group_datasets, "in its own section")
    lines = [f"# {title}", ""]
    incomplete = incomplete_line(record_set.configured, record_set.unfinished)
    lines += [incomplete, ""] if incomplete else []
    lines += header_lines(record_set)
    for dataset in datasets or ["-"]:
        lines += [f"## {dataset}", ""] if datasets else []
        lines += _section(of_dataset(record_set, dataset) if datasets else record_set, report)
        lines += [""]
    lines += unfinished_section(record_set.configured, record_set.unfinished)
    notes = {r.method: r.notes for r in record_set if r.notes}
    if notes:
        lines += ["Notes:", ""] + [f"- {m}: {n}" for m, n in sorted(notes.items())] + [""]
    matched = published_entries(record_set, record_set.published)
    if matched:
        lines += ["Published numbers (the released checkpoints, `methods --pretrained`):", ""]
        lines += [f"- {line}" for line in source_lines(matched)] + [""]
    if settings:
        lines += ["Settings (from the records):", ""]
        lines += [f"- {line}" for line in settings_lines(record_set)] + [""]
    return "\n".join(lines)


def of_dataset(record_set: RecordSet, dataset: str) -> RecordSet:
    """The records of one dataset (by its label, as `datasets_of` names it)."""
    return record_set.where(lambda r: (r.dataset_label or r.dataset) == dataset)


#: the header's sentence for YouTube-VIS 2022 records (ranked by their mAP)
MEAN_AP_NOTE = (
    "YouTube-VIS 2022: ranked by mAP = (AP_S + AP_L) / 2, the challenge's figure, and each "
    "(method, checkpoint) shown by its best-mAP cell; AP_L, the long videos' AP, is the "
    "figure recent papers quote; AP_S the short videos' (the 2021 valid set); AP, AP50 "
    "and the rest score all videos at once."
)


def _front_pointer(record_set: RecordSet) -> list[str]:
    """The sentence that points below the ranking to the front, naming the figure the front
    ranks by (AP; mAP on YouTube-VIS 2022, HOTA_all on BURST), where a timed cell has it."""
    statistic = ranked_statistic(record_set)
    if not any(r.speed.fps_end_to_end and r.metric(statistic) is not None for r in record_set.ok):
        return []
    pointer = (
        "The best-AP cell hides the trade-off: below the ranking, `Speed at equal AP` gives "
        "the cells no other cell beats on both AP and FPS, each method's fastest cell whose "
        "AP is not told apart from its best, and which method is faster at equal AP."
    )
    return [named(pointer, statistic), ""]


def header_lines(record_set: RecordSet) -> list[str]:
    """The selection rule, and what the intervals and marks mean when the records have them."""
    model = (
        ""
        if has_protocols(record_set) or has_stream(record_set)
        else ("`FPS model`: the seconds inside the method's calls in the same timed pass; ")
    )
    lines = [part for warning in warning_lines(record_set) for part in (warning, "")]
    lines += [
        f"Each (method, checkpoint) is shown by its best-{ranked_by(record_set)[0]} cell among the "
        "cells it ran (`cells`: how many; `cell`: the ranked one's clip length T, stride S, "
        "resolution and dtype); "
        f"{metric_names_note(record_set)}; FPS end to end (frames / the wall time of one pass from the "
        f"frames to every video's RLE) on the named device; {model}GMACs per frame; "
        "params: parameters.",
        "",
    ]
    lines += _front_pointer(record_set)
    if any(r.metric(MEAN_AP) is not None for r in record_set):
        lines += [MEAN_AP_NOTE, ""]
    note = interval_note(record_set)
    if note is not None:
        lines += [
            f"AP {note}. It is the interval of the chosen cell alone: picking the best of "
            "several cells favours a lucky one, which no single interval accounts for. "
            "`vs next`: AP minus the next rank's, with the interval of the paired bootstrap "
            f"(both cells re-scored on the same resampled videos); {NOT_SIGNIFICANT} = the "
            "interval contains 0, so the data do not tell the two ranks apart; `not paired` "
            "says why no paired comparison was possible.",
            "",
        ]
    if any(r.speed.fps_end_to_end for r in record_set.ok):
        lines += [
            "FPS: the median of the cell's timed rounds at full machine speed, which ran "
            "interleaved with the other cells', with its interval (± its larger side, its "
            "ends) and the rounds it comes from: 95% from 6 rounds, fewer say what theirs is "
            "worth (docs/fps.md, Precision); `FPS vs next`: this "
            "row's FPS / the next row's, the median of the per-round ratios over the rounds both "
            "counted, with their range (`not paired` says why not).",
            "",
        ]
        verdict = verdict_line(list(record_set.ok))
        lines += [verdict, ""] if verdict else []
    if has_protocols(record_set) or has_stream(record_set):
        lines += [
            "`FPS model`: the seconds inside the method's calls in the same timed pass as FPS "
            "(never above it); `FPS authors`: the "
            f"protocol the method's authors timed their FPS with, run here; `{RATIO}`: how much "
            "of a published FPS is protocol rather than method; `p50 latency ms`: the median "
            "frame's wait from arrival to final masks in a live stream (definitions below).",
            "",
        ]
    if published_entries(record_set, record_set.published):
        lines += [
            f"`{PUBLISHED_COLUMN}`: the authors' AP for the setting the cell measured; "
            f"`{DELTA_COLUMN}`: measured - published, in AP points (sources below).",
            "",
        ]
    return lines
