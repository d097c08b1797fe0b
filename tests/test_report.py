"""`report` and what `run` writes beside tables.md: one self-contained HTML page of a run, its
leaderboard links, `show --run`, `diagnose --show`; and the page opened in a real browser.

The run is two toy methods on three short synthetic videos (tests/helpers/picture_cases.py),
swept in process. The browser test drives the system Chromium through Playwright and skips,
saying why, where either is missing (README: `apt-get install chromium`).
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers.picture_cases import toy_run
from vis_bench.cli import main
from vis_bench.report.overlays.inputs import run_cells
from vis_bench.report.record_set import RecordSet

REPO = Path(__file__).resolve().parents[1]
METHODS = ("toy", "toy_dark")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return toy_run(tmp_path_factory.mktemp("pictures"))


def test_run_writes_the_report_and_links_the_leaderboard_to_it(run_dir):
    page = (run_dir / "report.html").read_text()
    for method in METHODS:
        assert f'id="method-{method.replace("_", "-")}"' in page
    board = (run_dir / "leaderboard.md").read_text()
    assert "[toy](report.html#method-toy)" in board
    assert "[toy_dark](report.html#method-toy-dark)" in board


def test_the_leaderboard_links_only_where_the_report_is(run_dir, tmp_path):
    out = tmp_path / "board.md"
    title = ["--title", "vis-bench: pictures", "--group-datasets", "--out", str(out)]
    assert main(["leaderboard", str(run_dir), *title]) == 0
    assert out.read_text() == (run_dir / "leaderboard.md").read_text()
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns("report.html"))
    assert main(["leaderboard", str(copy), *title]) == 0
    assert "report.html" not in out.read_text() and "| toy " in out.read_text()


def test_the_page_is_self_contained(run_dir):
    page = (run_dir / "report.html").read_text()
    # no file or address outside the page: every image is a data URI, nothing is fetched
    assert not re.search(r"""(src|href)=["'](?!#|data:)""", page)
    assert not re.search(r"url\((?!'data:)", page)
    assert "<style>" in page and "<script>" in page and "default-src 'none'" in page
    for section in ("leaderboard", "videos", "tables", "plots", "published", "cells"):
        assert f'<section id="{section}">' in page
    assert page.count('class="video"') == 3  # every video of the run drawn, worst first
    assert "deformable-attention core" in page and "machine load while timed" in page


def test_report_command_limits_what_it_embeds(run_dir, tmp_path, capsys):
    out = tmp_path / "small.html"
    argv = ["report", str(run_dir), "--out", str(out), "--videos", "1", "--frames", "2"]
    assert main(argv) == 0
    page = out.read_text()
    assert page.count('class="video"') == 1
    assert "the 1 videos with the lowest mean AP of 3" in page
    assert len(page) < (run_dir / "report.html").stat().st_size


def test_report_of_a_folder_without_records_is_a_clear_error(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no records found" in err and str(tmp_path) in err


def test_show_draws_a_runs_cells(run_dir, tmp_path, capsys):
    out = tmp_path / "run.gif"
    assert main(["show", "--run", str(run_dir), "--video", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "toy T=all" in printed and "toy_dark T=all" in printed
    key = run_cells(RecordSet.read([run_dir]))[0].key
    one = tmp_path / "one.gif"
    argv = ["show", "--run", str(run_dir), "--cell", key[:6], "--video", "2", "--out", str(one)]
    assert main(argv) == 0
    with Image.open(out) as both, Image.open(one) as single:
        assert both.size[0] > single.size[0]  # GT and two columns against GT and one


def test_show_names_the_cells_of_a_run_when_a_key_is_wrong(run_dir, tmp_path, capsys):
    argv = ["show", "--run", str(run_dir), "--cell", "nope", "--video", "2"]
    assert main([*argv, "--out", str(tmp_path / "x.gif")]) == 2
    err = capsys.readouterr().err
    assert "cell 'nope' is not a finished cell" in err and "toy_dark T=all" in err
    assert not (tmp_path / "x.gif").exists()


def test_diagnose_show_draws_the_worst_tracks(run_dir, tmp_path, capsys):
    cell = run_cells(RecordSet.read([run_dir]))[0]
    data = next((run_dir.parent.parent / "cache").glob("synthetic-*"))
    argv = ["diagnose", "--gt", str(data / "annotations.json"), "--results", str(cell.results)]
    argv += ["--show", str(tmp_path / "worst"), "--frames", str(data / "JPEGImages")]
    assert main([*argv, "--worst", "2"]) == 0
    sheets = sorted((tmp_path / "worst").glob("worst-*.png"))
    assert [p.name[:9] for p in sheets] == ["worst-01-", "worst-02-"]
    assert main(argv[:5] + ["--show", str(tmp_path / "w2")]) == 2
    assert "--frames" in capsys.readouterr().err


def test_the_templates_are_package_data():
    """Every template file is matched by pyproject's package-data, so a wheel carries it."""
    tomllib = pytest.importorskip("tomllib")  # the standard library's from Python 3.11
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["vis_bench.report"]
    folder = REPO / "vis_bench" / "report"
    for path in (folder / "templates").iterdir():
        relative = str(path.relative_to(folder))
        assert any(fnmatch.fnmatch(relative, p) for p in patterns), relative


def _chromium() -> str | None:
    """The system Chromium: $VIS_BENCH_CHROMIUM when it names a file, else on the PATH."""
    named = os.environ.get("VIS_BENCH_CHROMIUM")
    if named:
        return named if Path(named).is_file() else None
    found = (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome"))
    return next((path for path in found if path), None)


def _visible_tracks(page) -> list[str]:
    """data-slot of every track layer shown in the video on screen."""
    layers = page.locator(".video:not([hidden]) .layer.track:not(.hidden)")
    return layers.evaluate_all("ls => ls.map(l => l.getAttribute('data-slot'))")


def _captions(page) -> list[str]:
    return page.locator(".video:not([hidden]) .captions span").all_inner_texts()


def _check_overlay_controls(page) -> None:
    """Labels hide and show the captions; Track shows one GT track's layers and captions (its
    predictions and misses) and `all tracks` every layer again."""
    assert _captions(page)  # captions drawn by the script from the video's data
    every = _visible_tracks(page)
    page.locator("#show-labels").uncheck()
    assert _captions(page) == [] and _visible_tracks(page) == every  # masks stay
    page.locator("#show-labels").check()
    assert _captions(page)
    options = page.locator("#track-picker option")
    assert options.count() >= 3 and options.nth(1).inner_text().startswith("#0 ")
    page.locator("#track-picker").select_option("0")
    alone = _visible_tracks(page)
    assert alone and set(alone) == {"0"} and len(alone) < len(every)
    assert all(not c.startswith("#1 ") for c in _captions(page))
    page.locator("#track-picker").select_option("")
    assert _visible_tracks(page) == every


@pytest.mark.slow
def test_the_report_in_a_real_browser(run_dir, tmp_path):
    """Chromium opens the page from disk: no console error, no request, every method on the
    leaderboard, the video picker switches the overlays, the slider moves every layer, and the
    overlay controls (labels, one track) work."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    browser_path = _chromium()
    if browser_path is None:
        pytest.skip("no Chromium installed: apt-get install chromium (or set VIS_BENCH_CHROMIUM)")
    from tests.helpers.browser import open_page

    with sync_api.sync_playwright() as playwright:
        page, problems, requests = open_page(playwright, browser_path, run_dir / "report.html")
        methods = page.locator("table.leaderboard tbody tr td:nth-child(2)").all_inner_texts()
        assert sorted(methods) == sorted(METHODS)
        picker = page.locator("#video-picker")
        shown = page.locator(".video:not([hidden])")
        first = shown.get_attribute("data-video")
        assert shown.locator(f".layer.frames-{first}").count() == 3  # GT and two methods
        other = picker.locator("option").nth(1).get_attribute("value")
        picker.select_option(other)
        assert page.locator(".video:not([hidden])").count() == 1
        assert shown.get_attribute("data-video") == other != first
        assert shown.locator(f".layer.frames-{other}").count() == 3
        height = int(shown.get_attribute("data-height"))
        page.locator("#frame-slider").fill("2")
        assert "frame" in page.locator("#frame-label").inner_text()
        positions = shown.locator(".layer").evaluate_all(
            "ls => ls.map(l => l.style.backgroundPosition)"
        )
        assert set(positions) == {f"0px {-2 * height}px"}  # frames and every track moved
        assert shown.locator(".timeline span.current").count() == 3
        _check_overlay_controls(page)
        page.locator("table.leaderboard th", has_text="AP50").click()  # sorting runs cleanly
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        assert not problems, problems
        assert all(url.startswith(("file:", "data:")) for url in requests), requests
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_a_run_without_its_predictions_or_dataset_still_gets_a_page(run_dir, tmp_path, capsys):
    kept = tmp_path / "kept"
    shutil.copytree(run_dir, kept, ignore=shutil.ignore_patterns("results.json", "report.html"))
    assert main(["report", str(kept)]) == 0
    page = (kept / "report.html").read_text()
    assert "overlays left out" in page and "were not kept" in page
    assert page.count('class="video"') == 0 and "Every video's AP per method" in page
    moved = tmp_path / "moved"
    shutil.copytree(run_dir, moved, ignore=shutil.ignore_patterns("report.html"))
    records = (moved / "records.jsonl").read_text()
    cache = str(run_dir.parent.parent / "cache")
    (moved / "records.jsonl").write_text(
        records.replace(
            '"kind": "synthetic"', '"kind": "ovis", "annotations": "/gone.json"'
        ).replace(cache, str(tmp_path / "nocache"))
    )
    assert main(["report", str(moved)]) == 0
    assert "overlays left out" in (moved / "report.html").read_text()
