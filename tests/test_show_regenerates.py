"""`show --run` on a run that did not keep its predictions makes the cell again, and says so."""

from __future__ import annotations

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
    assert "making them again" in out and "as recorded" in out
    assert (tmp_path / "s.png").is_file()
    assert (tmp_path / "cache" / "regenerated").is_dir()
