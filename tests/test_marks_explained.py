"""Every mark and abbreviation the pages of a run print is explained on the same page.

The default run's pages are written again from its committed records (tables.md, leaderboard.md,
report.html, the leaderboard's csv, json and latex exports); each is scanned for the marks and
abbreviations below, and where one is printed its explanation must be printed too. A csv has no
room for words: it carries plain numbers only (no marks), and the json export explains the
columns they share."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest

from vis_bench.report.exports import export_leaderboard
from vis_bench.report.outputs import write_reports
from vis_bench.report.record_set import RecordSet

RUN = Path(__file__).resolve().parents[1] / "results" / "default_run"
SIDE_FILES = ("video_matches.json", "bootstrap_replicates.npz")

#: name -> (how it is printed, how its explanation reads); both regular expressions
MARKS = {
    "load mark": (r"\d\*", r"\*`? after an FPS: measured while the machine was loaded"),
    "noisy mark": (r"\d\*?†", r"†`? after an FPS: noisy: the machine's reference speed moved"),
    "FPS vs next": (r"FPS vs next", r"`?FPS vs next`?: this row's FPS / the next row's"),
    "FPS range": (r"FPS range", r"FPS range: the slowest and fastest round"),
    "machine GFLOP/s": (r"machine GFLOP/s", r"machine GFLOP/s: the reference workload"),
    "paired ratio": (r"FPS ratio \[", r"FPS ratio: this cell's FPS / the other cell's"),
    "non-default mark": (r"\d‡", r"‡`? after a number: measured with a non-default execution"),
    "interval": (r"\d \[-?\d+\.\d+, -?\d+\.\d+\]", r"\[low, high\](:| =) the cell's"),
    "n.s.": (r"\bn\.s\.(?! =|:)", r"n\.s\.(:| =) the (paired bootstrap )?interval"),
    "vs next": (r"\bvs next\b", r"vs next`?: AP minus the next rank's"),
    "error counts": (r"\d\.\d\d \(\d+\)", r"\(n\) after a gain: how many predictions"),
    "error types": (r"\|\s*cls\s*\|", r"cls = right place, wrong category"),
    "T and S": (r"\|\s*T\s*\|\s*S\s*\|", r"T: clip length .*S: stride"),
    "AP50 and AR10": (r"\bAR10\b", r"AR1 / AR10: average recall given 1 / 10 predictions"),
    "GMACs": (r"\bGMACs\b", r"GMACs( per frame|: multiply-accumulates per frame)"),
    "memory MiB": (r"memory MiB", r"memory MiB: the worker's peak RSS"),
    "params": (r"\bparams\b", r"params: parameters"),
    "model FPS": (
        r"model FPS|FPS model",
        r"(model FPS|FPS model)`?: (the same pass's frames|the seconds inside the method's calls)",
    ),
    "cell": (r"\|\s*cell\s*\|", r"`?cell`?: the ranked one's clip length T"),
    "published": (r"AP published", r"AP published`?: the authors' AP|The authors' \d+ entries"),
    "n/a": (r"\bn/a\b", r"n/a[^a-z]"),
}


def _committed_cells() -> list[str]:
    """The run's cell folders as its committed index names them (not whatever else a re-run
    left beside them)."""
    index = json.loads((RUN / "cells" / "index.json").read_text())
    return sorted(entry["folder"] for entry in index.values())


def _copy_run(to: Path, mark_loaded: bool = False) -> Path:
    """The default run's records and side files; `mark_loaded` marks SeqFormer's cells as
    timed on a loaded machine (a quiet run has no load mark of its own to explain)."""
    to.mkdir(parents=True)
    records = [json.loads(line) for line in (RUN / "records.jsonl").read_text().splitlines()]
    for record in records:
        if mark_loaded and record["method"] == "seqformer":
            record["load"] = {**(record.get("load") or {}), "loaded": True, "load1_max": 4.0}
            record["speed"] = {**(record.get("speed") or {}), "loaded": True}
    (to / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (to / "cells").mkdir()
    shutil.copy2(RUN / "cells" / "index.json", to / "cells" / "index.json")
    for folder in _committed_cells():
        (to / "cells" / folder).mkdir()
        for name in SIDE_FILES:
            shutil.copy2(RUN / "cells" / folder / name, to / "cells" / folder / name)
    return to


def _text_of_page(page: str) -> str:
    """report.html as a reader sees it: no script, style or image data, tags as cell breaks."""
    page = re.sub(r"<(script|style)>.*?</\1>", "", page, flags=re.S)
    page = re.sub(r"</t[dh]>\s*<t[dh][^>]*>", " | ", page)
    page = re.sub(r"<t[dh][^>]*>", "| ", page)
    page = re.sub(r"<[^>]+>", "", page)
    return html.unescape(page)


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, str]:
    """Every page of the default run, written again from a copy of its records."""
    run = _copy_run(tmp_path_factory.mktemp("marks") / "run", mark_loaded=True)
    record_set = RecordSet.read([run])
    write_reports(record_set, run, "vis-bench: default", html=True)
    return {
        "tables.md": (run / "tables.md").read_text(),
        "leaderboard.md": (run / "leaderboard.md").read_text(),
        "report.html": _text_of_page((run / "report.html").read_text()),
        "leaderboard.tex": export_leaderboard(record_set, "latex", "vis-bench: default"),
        "leaderboard.json": export_leaderboard(record_set, "json", "vis-bench: default"),
        "leaderboard.csv": export_leaderboard(record_set, "csv", "vis-bench: default"),
        "cells.csv": (run / "cells.csv").read_text(),
    }


@pytest.mark.parametrize("name", ["tables.md", "leaderboard.md", "report.html", "leaderboard.tex"])
def test_each_mark_printed_is_explained_on_its_page(pages, name):
    page = pages[name]
    printed = [mark for mark, (shown, _) in MARKS.items() if re.search(shown, page)]
    unexplained = [m for m in printed if not re.search(MARKS[m][1], page, flags=re.S)]
    assert not unexplained, f"{name} prints {unexplained} without saying what they mean"
    assert printed  # the scan saw something: the default run has intervals and marks


def test_the_pages_print_the_marks_the_default_run_has(pages):
    """The scan is only as good as what the run shows: these are on its pages."""
    for name in ("tables.md", "report.html"):
        for mark in ("load mark", "interval", "n.s.", "error counts", "T and S", "memory MiB"):
            assert re.search(MARKS[mark][0], pages[name]), (name, mark)
    for mark in ("vs next", "n.s.", "interval", "load mark", "cell", "params"):
        assert re.search(MARKS[mark][0], pages["leaderboard.md"]), mark
        assert re.search(MARKS[mark][0], pages["report.html"]), mark


def test_the_load_marks_note_keeps_its_mark_in_the_html_page(pages):
    """Markdown reads `- * FPS ...` as a nested list and eats the `*`: the note shows it."""
    assert re.search(
        r"\*\s*after an FPS: measured while the machine was loaded", pages["report.html"]
    )


def test_exports_carry_plain_numbers_and_the_json_says_what_columns_hold(pages):
    for name in ("leaderboard.csv", "cells.csv"):
        assert not re.search(r"\d\*|n\.s\.|‡|\d \[", pages[name]), name
    exported = json.loads(pages["leaderboard.json"])
    columns = set(exported["rows"][0])
    explained = {part.strip() for key in exported["columns"] for part in key.split(",")}
    plain = {"method", "backbone", "key", "machine", "AP50", "AP75", "AR1", "AR10"}
    assert columns - explained - plain == set()
    assert "bootstrap interval" in exported["columns"]["AP_low, AP_high"]
    latex = pages["leaderboard.tex"]
    caption = re.search(r"\\caption\{(.*?)\}\n", latex, flags=re.S).group(1)
    assert "synthetic (seed 0, 8 videos)" in caption  # the dataset
    assert "bootstrap interval" in caption and "AP [low, high]" in latex  # the intervals
    assert re.search(r"& T=(all|\d+ S=\d+) res=144 fp32 \\\\", latex)  # each row's cell
