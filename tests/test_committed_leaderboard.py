"""The committed default run's leaderboard and tables are recomputed from the repository alone:
its records, the per-video matching and bootstrap replicates committed beside them, and
the published numbers give the committed text, `vs next` and `n.s.` marks included."""

from __future__ import annotations

from pathlib import Path

from vis_bench.cli import main

RUN = Path(__file__).resolve().parents[1] / "results" / "default_run"


def test_the_committed_leaderboard_is_recomputed_from_the_repository(tmp_path, monkeypatch):
    monkeypatch.chdir(RUN.parents[1])
    out = tmp_path / "leaderboard.md"
    # `run` titles its leaderboard with the config's name and ranks each dataset apart
    arguments = ["--title", "vis-bench: default", "--group-datasets", "--out", str(out)]
    assert main(["leaderboard", "results/default_run", *arguments]) == 0
    produced = out.read_text()
    assert "not found" not in produced  # the paired marks found the committed matching
    assert produced == (RUN / "leaderboard.md").read_text()
