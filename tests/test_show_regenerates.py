"""`show --run` on a run that did not keep its predictions makes the cell again, and says so."""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path

import pytest

from vis_bench.cli import main


@pytest.mark.slow
def test_show_runs_a_cell_again_when_its_predictions_were_not_kept(tmp_path, capsys):
    run_dir = tmp_path / "run"
    overrides = [
        "dataset.videos=2", f"dataset.cache_dir={tmp_path / 'cache'}", "sweep.clip_length=[all]",
        "measure.fps=false", "measure.flops=false", "measure.bootstrap=0",
        "methods=[{name: minvis, checkpoint: results/checkpoints/minvis_tiny.pth, "
        "label_space: synthetic}]",
    ]  # fmt: skip
    argv = ["run", "--in-process", "--run-dir", str(run_dir)]
    assert main([*argv, *[a for o in overrides for a in ("--set", o)]]) == 0
    (kept,) = run_dir.glob("cells/*/results.json")
    kept.unlink()  # as a committed run: records and matching only
    capsys.readouterr()
    show = ["show", "--run", str(run_dir), "--video", "1", "--sheet", str(tmp_path / "s.png")]
    show += ["--out", str(tmp_path / "a.gif")]  # never beside the tests: the working directory
    assert main([*show, "--no-regenerate"]) == 2
    assert "were not kept" in capsys.readouterr().err
    assert main(show) == 0
    out = capsys.readouterr().out
    assert "making them again" in out and "video 1 only" in out
    assert "regenerated: video 1 AP" in out and "alone, as recorded" in out
    assert (tmp_path / "s.png").is_file()
    (made,) = (tmp_path / "cache" / "regenerated").glob("*/videos-1/records.jsonl")
    (again,) = [json.loads(line) for line in made.read_text().splitlines()]
    assert again["num_videos"] == 1  # the video drawn, not the run's two
    # a recorded matching the video's predictions no longer give is said, not hidden
    (recorded,) = run_dir.glob("cells/*/video_matches.json")
    matching = json.loads(recorded.read_text())
    every = (1 << 10) - 1  # a bit per IoU threshold: a false positive at each
    matching["fp"] = [every] * len(matching["tp"])
    matching["tp"] = [0] * len(matching["tp"])
    recorded.write_text(json.dumps(matching))
    assert main(show) == 0
    assert "warning: regenerated predictions score AP" in capsys.readouterr().out


@pytest.mark.slow
def test_the_docs_show_example_draws_the_committed_run_on_a_fresh_clone(tmp_path, capsys):
    """The first `show` example of docs/show_and_report.md, which the README's command table
    gives too, names the committed default run, which keeps no predictions: it runs as written
    (the leaderboard cells made again into the dataset cache, each checked against its recorded
    AP) and draws every method's column."""
    from vis_bench.report.record_set import RecordSet

    root = Path(__file__).resolve().parents[1]
    docs = (root / "docs" / "show_and_report.md").read_text()
    line = next(m for m in re.findall(r"^ {4}(python run_bench.py show .*)$", docs, re.M))
    command = line.split("#")[0].strip()
    assert f"`{command}`" in (root / "README.md").read_text()
    argv = shlex.split(command)[2:]
    run = Path(argv[argv.index("--run") + 1])
    assert run == Path("results/default_run") and not list(
        (root / run).glob("cells/*/results.json")
    )
    methods = {r.method for r in RecordSet.read([root / run]).ok}
    out = ["--out", str(tmp_path / "show.gif"), "--max-frames", "2", "--sheet-frames", "2"]
    here = os.getcwd()
    os.chdir(root)  # as a user of the clone runs it: the dataset cache is the checkout's
    try:
        assert main([*argv, *out]) == 0
    finally:
        os.chdir(here)
    printed = capsys.readouterr().out
    assert all(f"{method} T=" in printed for method in methods)
    assert (tmp_path / "show.sheet.png").is_file()
