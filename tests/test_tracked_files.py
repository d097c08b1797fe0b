"""The tests of committed files read git's list: what a user made in the checkout (an ignored run
folder, an untracked note or config) is never among them, and without git they skip, saying why."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers.tracked import REPO_ROOT, git_tracked, no_git_reason, tracked, tracked_params


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A git checkout with a committed run, the user's ignored default run and an own config."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("/results/runs/\n")
    for name in ("results/default_run/records.jsonl", "configs/default.yaml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True)
    for name in ("results/runs/default/records.jsonl", "configs/mine.yaml", "docs/notes.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}\n")
    return tmp_path


def test_only_the_committed_files_are_listed(checkout):
    assert git_tracked("results/**/records.jsonl", root=checkout) == [
        checkout / "results/default_run/records.jsonl"
    ]
    assert git_tracked("configs/*.yaml", root=checkout) == [checkout / "configs/default.yaml"]
    assert git_tracked("docs/*.md", root=checkout) == []


def test_a_star_stays_within_one_folder(checkout):
    assert git_tracked("results/*/records.jsonl", root=checkout) == [
        checkout / "results/default_run/records.jsonl"
    ]
    assert git_tracked("*/default_run/records.jsonl", root=checkout) == [
        checkout / "results/default_run/records.jsonl"
    ]
    assert git_tracked("*/records.jsonl", root=checkout) == []  # one folder deeper


def test_without_git_the_committed_set_is_unknown_and_the_test_skips_saying_why(tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "records.jsonl").write_text("{}\n")
    assert git_tracked("results/*.jsonl", root=tmp_path) is None
    assert "committed files unknown" in no_git_reason(tmp_path)
    with pytest.raises(pytest.skip.Exception, match="is not a git checkout"):
        tracked("results/*.jsonl", root=tmp_path)
    (case,) = tracked_params("results/*.jsonl", root=tmp_path)
    assert case.marks[0].kwargs["reason"] == no_git_reason(tmp_path)


def test_a_folder_inside_another_checkout_is_not_taken_for_one(checkout):
    inner = checkout / "unpacked"
    inner.mkdir()
    assert "inside another git work tree" in no_git_reason(inner)


def test_this_checkout_lists_its_committed_runs():
    if no_git_reason() is not None:
        pytest.skip(no_git_reason())
    assert REPO_ROOT / "results/default_run/records.jsonl" in tracked("results/**/records.jsonl")
