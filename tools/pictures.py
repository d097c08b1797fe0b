"""`python -m tools pictures`: draw the docs' pictures from the committed default run.

docs/report.png is the run's HTML report in headless Chromium, docs/show_sheet.png the contact
sheet of the first `show` example of docs/show_and_report.md; docs/pictures.json says what they
were drawn from (tools/picture_provenance.py, checked by `docs --check`). The committed run keeps
records and per-video matching but no predictions, so the leaderboard cells are made again
first, from the config each record embeds, into the dataset cache (as `show --run` does; each is
checked against its recorded AP): a copy of the run with those predictions is what gets drawn.
Needs the system Chromium (`apt-get install chromium`) for the report's picture.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

NAME = "pictures"
HELP = "draw docs/report.png and docs/show_sheet.png from the committed default run"

#: the first `show` example of docs/show_and_report.md draws this video of the default run
SHOW_VIDEO = "synth_00007"
REPORT_PICTURE = "docs/report.png"
SHEET_PICTURE = "docs/show_sheet.png"
#: the contact sheet's size: panels of this many pixels, this many frames
SHEET_PANEL = 300
SHEET_FRAMES = 4
TITLE = "vis-bench: default"  # `run` titles a run's reports with its config's name


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--video", default=None, help="the video the report's picture shows (default: the worst)"
    )
    parser.add_argument(
        "--keep", type=Path, default=None, help="keep the drawable copy of the run (and its page)"
    )
    parser.add_argument("--chromium", default=None, help="Chromium binary (default: on PATH)")


def drawable_copy(run: Path, to: Path) -> Path:
    """The run's records and side files in `to`, each leaderboard cell's predictions made again
    (or found in the dataset cache) and put in its folder."""
    from vis_bench.report.overlays.inputs import leaderboard_cells, run_cells
    from vis_bench.report.record_set import RecordSet
    from vis_bench.sweep.regenerate import regenerate_predictions

    shutil.copytree(run, to, ignore=shutil.ignore_patterns("report.html", "plots", "*.md", "*.csv"))
    record_set = RecordSet.read([to])
    for cell in leaderboard_cells(run_cells(record_set), record_set):
        if cell.results.is_file():
            continue
        made = regenerate_predictions(cell.record, str(run / "records.jsonl"))
        assert cell.folder is not None
        shutil.copy2(made, cell.folder / "results.json")
    return to


def run(args: argparse.Namespace) -> int:
    from tools.doc_numbers import REPO_ROOT
    from tools.picture_provenance import RUN_RECORDS, write_sidecar
    from tools.screenshot import screenshot
    from vis_bench.report.html_report import write_html_report
    from vis_bench.report.overlays.show import ShowRequest, render_show
    from vis_bench.report.record_set import RecordSet

    root = REPO_ROOT
    run_dir = (root / RUN_RECORDS).parent
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp) / "run"
        if work.exists():
            shutil.rmtree(work)
        copy = drawable_copy(run_dir, work)
        shown_as = str(run_dir.relative_to(root))
        page = write_html_report(RecordSet.read([copy]), title=TITLE, log=print, folder=shown_as)
        shown = args.video
        screenshot(page, root / REPORT_PICTURE, video=shown, chromium=args.chromium)
        print(f"wrote {REPORT_PICTURE}")
        request = ShowRequest(
            video=SHOW_VIDEO,
            run=copy,
            out=Path(tmp) / "show.gif",
            sheet=root / SHEET_PICTURE,
            sheet_frames=SHEET_FRAMES,
            panel_size=SHEET_PANEL,
            max_frames=1,
        )
        scene, _ = render_show(request)
        print(f"wrote {SHEET_PICTURE}")
    about = {
        REPORT_PICTURE: {"shows": f"{run_dir.name}'s report.html, video {shown or 'the worst'}"},
        SHEET_PICTURE: {
            "shows": f"show --run {run_dir.relative_to(root)} --video {SHOW_VIDEO} "
            f"--panel-size {SHEET_PANEL} --sheet-frames {SHEET_FRAMES}",
            "columns": ["ground truth", *[m.label for m in scene.methods]],
        },
    }
    print(f"wrote {write_sidecar(root, about).relative_to(root)}")
    return 0
