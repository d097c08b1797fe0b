"""One self-contained HTML page per run (`report RUN_DIR`, and `run` writes it as report.html).

The page holds the leaderboard (its columns sortable), the tables of tables.md, the plots, the
published numbers beside the reproduced ones, each cell's record (environment, deformable-
attention core, dtype, machine load, config) and the per-video browser (report/video_browser.py).
Styles, script and images are inside the file (images as data URIs): it opens from disk with no
server and makes no network request. Templates are Jinja2 files shipped with the package
(vis_bench/report/templates/).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vis_bench.atomic import write_atomic
from vis_bench.errors import InputError
from vis_bench.records import CellRecord
from vis_bench.report.front_tables import (
    front_lines,
    front_note,
    front_title,
    named,
    ranked_statistic,
)
from vis_bench.report.leaderboard import (
    REPORT_FILE,
    display_text,
    header_lines,
    leaderboard_columns,
    leaderboard_frame,
    method_anchors,
    of_dataset,
    shown_columns,
)
from vis_bench.report.overlays.inputs import Regenerate
from vis_bench.report.overlays.media import data_uri
from vis_bench.report.overlays.scene import DEFAULT_SCORE_THRESHOLD, DEFAULT_TOP, frame_ranges
from vis_bench.report.published_columns import DELTA_COLUMN, PUBLISHED_COLUMN
from vis_bench.report.record_set import RecordSet
from vis_bench.report.run_state import incomplete_line, unfinished_section
from vis_bench.report.speed_trust import mark_notes
from vis_bench.report.tables import datasets_of
from vis_bench.report.tables_document import speed_sections, tables_markdown
from vis_bench.report.video_browser import Browser, BrowserLimits, build_browser


def _leaderboard(record_set: RecordSet) -> list[dict[str, Any]]:
    """Per dataset: the leaderboard's header and rows as text, each row with its anchor."""
    sections = []
    for dataset in datasets_of(record_set) or ["-"]:
        subset = of_dataset(record_set, dataset)
        frame = leaderboard_frame(subset if len(subset) else record_set)
        if frame.empty:
            continue
        frame = frame.assign(AP=frame["AP interval"])
        published = frame[PUBLISHED_COLUMN].astype(bool).any()
        columns = shown_columns(
            frame,
            [
                c
                for c in leaderboard_columns()
                if (c not in (PUBLISHED_COLUMN, DELTA_COLUMN) or published)
                and (c != "vs next" or frame["vs next"].astype(bool).any())
            ],
            subset if len(subset) else record_set,
        )
        anchors = method_anchors(list(frame["method"]))
        rows = [
            {"anchor": anchor, "cells": [display_text(row[c]) for c in columns]}
            for anchor, (_, row) in zip(anchors, frame.iterrows(), strict=True)
        ]
        sections.append({"dataset": dataset, "columns": columns, "rows": rows})
    return sections


def _leaderboard_notes(record_set: RecordSet) -> dict[str, str]:
    """What the leaderboard's marks and columns mean (the same words as leaderboard.md: the
    selection rule, the intervals, `vs next` and `n.s.`, the load mark), the warning of an
    incomplete run and its configured cells without a result, as HTML."""
    import markdown

    lines = []
    incomplete = incomplete_line(record_set.configured, record_set.unfinished)
    lines += [incomplete, ""] if incomplete else []
    lines += header_lines(record_set)
    for note in mark_notes(list(record_set.ok)):
        lines += [note + ".", ""]
    unfinished = unfinished_section(record_set.configured, record_set.unfinished, level="###")
    return {
        "notes": markdown.markdown("\n".join(lines)),
        "unfinished": markdown.markdown("\n".join(unfinished), extensions=["tables"]),
    }


def _plots(record_set: RecordSet, plots_dir: Path | None) -> list[dict[str, str]]:
    """The run's plots as data URIs: read from `plots_dir` where drawn, else drawn here."""
    from vis_bench.report.plot_index import RUN_PLOTS

    out = []
    statistic = ranked_statistic(record_set)
    with tempfile.TemporaryDirectory() as tmp:
        for plot in RUN_PLOTS:
            path = plots_dir / plot.name if plots_dir is not None else None
            if path is None or not path.is_file():
                path = plot.draw(record_set, Path(tmp) / plot.name)
            if path is not None:
                out.append(
                    {
                        "title": named(plot.title, statistic),
                        "uri": data_uri(Path(path).read_bytes(), "image/png"),
                    }
                )
    return out


def _published(record_set: RecordSet) -> dict[str, Any]:
    """The authors' numbers of the run's methods beside the AP of any cell of that setting."""
    from vis_bench.report.published_columns import published_entries

    published = record_set.published
    methods = {r.method for r in record_set}
    matched = published_entries(record_set, published)
    by_entry: dict[str, list[CellRecord]] = {}
    for key, entry in matched.items():
        found = record_set.record(key)
        if found is not None:
            by_entry.setdefault(entry["id"], []).append(found)
    rows = []
    for entry in published.entries if published is not None else []:
        if entry["method"] not in methods:
            continue
        cells = by_entry.get(entry["id"], [])
        ap = entry["metrics"].get("AP")
        measured = [100 * ap for ap in (r.metric("AP") for r in cells) if ap is not None]
        rows.append(
            {
                "id": entry["id"],
                "method": entry["method"],
                "setting": _setting_text(entry["setting"]),
                "published": "-" if ap is None else f"{ap:.1f}",
                "reproduced": ", ".join(f"{m:.1f}" for m in measured) or "no cell of this setting",
                "delta": ", ".join(f"{m - ap:+.1f}" for m in measured) if ap is not None else "",
                "source": f"{entry['source']['kind']} of "
                f"{entry['source'].get('repository') or entry['source'].get('paper')}, "
                f"{entry['source']['table']}",
            }
        )
    return {"rows": rows, "matched": len(matched)}


def _setting_text(setting: dict[str, Any]) -> str:
    keys = ("dataset", "split", "backbone", "clip_length", "stride", "resolution")
    return ", ".join(f"{k} {setting[k]}" for k in keys if setting.get(k) is not None)


def _tables_html(record_set: RecordSet, title: str) -> str:
    """tables.md's content as HTML (its title line left out: the page has its own; its speed
    sections are the page's Speed section)."""
    import markdown

    text = tables_markdown(record_set, title, speed=False)
    text = re.sub(r"\A# .*\n", "", text)
    return markdown.markdown(text, extensions=["tables"])


def _speed_html(record_set: RecordSet) -> str:
    """FPS by protocol, what each timed, latency and energy as HTML ("" when none measured)."""
    import markdown

    parts = speed_sections(record_set)
    if not parts:
        return ""
    text = "\n".join(parts).replace("\n## ", "\n### ").replace("## ", "### ", 1)
    return markdown.markdown(text, extensions=["tables"])


def _front_html(record_set: RecordSet) -> str:
    """The speed-accuracy answer (report/front_tables.py) as HTML ("" when no cell has an AP)."""
    import markdown

    lines = front_lines(record_set, level="##", heading=False)  # the section gives its own
    return markdown.markdown("\n".join(lines), extensions=["tables"]) if lines else ""


def report_context(
    record_set: RecordSet,
    title: str,
    limits: BrowserLimits,
    plots_dir: Path | None = None,
    log: Callable[[str], None] = lambda message: None,
    folder: str | None = None,
    regenerate: Regenerate | None = None,
) -> dict[str, Any]:
    """Everything the template shows, as plain data (`folder`: the run folder as the page names
    it, default the record set's; `regenerate`: makes a drawn cell's predictions again where
    the run did not keep them)."""
    from vis_bench.report.cell_records import cell_sections

    browser: Browser = build_browser(record_set, limits, log, regenerate)
    return {
        "title": title,
        "datasets": datasets_of(record_set),
        "run_dir": folder or str(record_set.folder),
        "leaderboards": _leaderboard(record_set),
        "leaderboard_notes": _leaderboard_notes(record_set),
        "tables_html": _tables_html(record_set, title),
        "speed": _speed_html(record_set),
        "front": _front_html(record_set),
        "front_title": front_title(ranked_statistic(record_set)),
        "front_note": front_note(ranked_statistic(record_set)),
        "plots": _plots(record_set, plots_dir),
        "published": _published(record_set),
        "methods": cell_sections(record_set),
        "browser": browser,
        "provenance": _provenance(),
        "threshold": DEFAULT_SCORE_THRESHOLD,
        "top": DEFAULT_TOP,
    }


def _provenance() -> str:
    from vis_bench.measure.provenance import code_state, commit_label

    label = commit_label(code_state()) or "unknown (not a git checkout)"
    return f"vis-bench at commit {label}"


def inline_code(text: Any) -> Any:
    """Plain text with markdown's `code` spans as <code> (everything else escaped): notes and
    record fields are written for markdown files and terminals, and the page renders them."""
    from markupsafe import Markup, escape

    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


def render_report(context: dict[str, Any]) -> str:
    """The page's HTML from the package's Jinja2 templates."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("vis_bench.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["points"] = lambda v: "-" if v is None else f"{100 * v:.1f}"
    environment.filters["code"] = inline_code
    environment.filters["ranges"] = frame_ranges
    return environment.get_template("report.html.j2").render(**context)


def write_html_report(
    record_set: RecordSet,
    out: str | Path | None = None,
    title: str | None = None,
    limits: BrowserLimits | None = None,
    plots_dir: Path | None = None,
    log: Callable[[str], None] = lambda message: None,
    folder: str | None = None,
    regenerate: Regenerate | None = None,
) -> Path:
    """Write the page of the record set's run folder (default: <run folder>/report.html), whole
    or not at all; `folder` names the run folder on the page (a copy drawn elsewhere)."""
    run_dir = record_set.folder
    if run_dir is None:
        raise InputError(
            "the HTML report shows one run: pass one run folder (records.jsonl beside cells/)",
            field="run_dir",
        )
    title = title or f"vis-bench: {run_dir.name}"
    out = Path(out) if out is not None else run_dir / REPORT_FILE
    limits = limits or BrowserLimits()
    context = report_context(record_set, title, limits, plots_dir, log, folder, regenerate)
    write_atomic(out, render_report(context))
    return out
