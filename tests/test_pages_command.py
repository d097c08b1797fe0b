"""`pages RUN_DIR` writes every page of a run again from its records, as `run` does at its end:
for a copied run folder, or one whose pages are missing or were written by an older vis-bench."""

from __future__ import annotations

from pathlib import Path

from tests.test_marks_explained import _copy_run
from vis_bench.cli import main

RUN = Path(__file__).resolve().parents[1] / "results" / "default_run"


def test_pages_writes_tables_cells_plots_and_leaderboard_of_a_copied_run(tmp_path, capsys):
    run = _copy_run(tmp_path / "copy")
    assert main(["pages", str(run), "--no-html"]) == 0
    out = capsys.readouterr().out
    for name in ("tables.md", "cells.csv", "leaderboard.md", "plots/ap_vs_fps.png"):
        assert (run / name).is_file() and f"wrote {run / name}" in out
    assert not (run / "report.html").exists()
    # titled with the run's name, as `run` titles them
    assert (run / "tables.md").read_text().startswith("# vis-bench: default\n")
    board = (run / "leaderboard.md").read_text()
    assert board.startswith("# vis-bench: default\n") and "report.html#" not in board  # no page
    committed = [line.split("|")[3:6] for line in (RUN / "leaderboard.md").read_text().splitlines()]
    assert [line.split("|")[3:6] for line in board.splitlines()] == committed  # same numbers
    assert (run / "cells.csv").read_text() == (RUN / "cells.csv").read_text()
