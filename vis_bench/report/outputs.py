"""Writing every report of a run (tables, leaderboard, plots and, for `run`, the HTML report)
from its record set, built once by the caller."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from vis_bench.atomic import write_atomic
from vis_bench.errors import InputError
from vis_bench.report.exports import CELLS_FILE, cells_frame
from vis_bench.report.html_report import write_html_report
from vis_bench.report.leaderboard import REPORT_FILE, leaderboard_markdown
from vis_bench.report.overlays.inputs import Regenerate
from vis_bench.report.plot_index import draw_plots
from vis_bench.report.record_set import RecordSet
from vis_bench.report.tables_document import tables_markdown


def write_reports(
    record_set: RecordSet,
    out_dir: str | Path,
    title: str,
    html: bool = False,
    log: Callable[[str], None] = lambda message: None,
    regenerate: Regenerate | None = None,
) -> list[Path]:
    """tables.md, cells.csv (every cell's numbers, flat), the PNG plots, with `html` the HTML report (report.html: needs the run
    folder's predictions and dataset) and leaderboard.md, whose method rows link to the report
    when there is one; returns what was written."""
    out_dir = Path(out_dir)
    written = []
    tables = out_dir / "tables.md"
    write_atomic(tables, tables_markdown(record_set, title))
    written.append(tables)
    cells = out_dir / CELLS_FILE
    write_atomic(cells, cells_frame(record_set).to_csv(index=False))
    written.append(cells)
    written += draw_plots(record_set, out_dir / "plots")
    if html:
        written += _html_report(record_set, out_dir, title, log, regenerate)
    board = out_dir / "leaderboard.md"
    report = REPORT_FILE if (out_dir / REPORT_FILE).is_file() else None
    markdown = leaderboard_markdown(record_set, title, group_datasets=True, report=report)
    write_atomic(board, markdown)
    written.append(board)
    return written


def _html_report(
    record_set: RecordSet,
    out_dir: Path,
    title: str,
    log: Callable[[str], None],
    regenerate: Regenerate | None,
) -> list[Path]:
    """The HTML report, or a note of why there is none (the run's numbers are written anyway)."""
    try:
        path = write_html_report(
            record_set,
            out_dir / REPORT_FILE,
            title=title,
            plots_dir=out_dir / "plots",
            log=log,
            regenerate=regenerate,
        )
    except InputError as err:
        log(f"note: no HTML report: {err}")
        return []
    return [path]
