"""The provenance block: code state that ignores outputs, names a dirty state by its diff."""

from __future__ import annotations

import subprocess
from pathlib import Path

from vis_bench.measure.provenance import (
    code_state,
    commit_label,
    finish_provenance,
    source_states,
    start_provenance,
)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "config", "user.email", "t@example.com")
    _git(tmp_path, "config", "user.name", "t")
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "records.jsonl").write_text("{}\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "init")
    return tmp_path


def test_outputs_do_not_make_the_code_dirty(tmp_path):
    repo = _repo(tmp_path)
    clean = code_state(repo)
    assert clean["dirty"] is False and len(clean["commit"]) == 40
    (repo / "results" / "records.jsonl").write_text("{}\n{}\n")  # a sweep appending
    (repo / "results" / "new.json").write_text("{}")
    (repo / "NOTES.md").write_text("words")
    assert code_state(repo) == clean
    assert commit_label(clean) == clean["commit"]


def test_a_code_change_is_dirty_and_named_by_its_diff(tmp_path):
    repo = _repo(tmp_path)
    (repo / "code.py").write_text("x = 2\n")
    first = code_state(repo)
    assert first["dirty"] is True and len(first["diff_sha256"]) == 64
    assert commit_label(first).endswith("-dirty")
    assert code_state(repo) == first  # the same state hashes the same
    (repo / "extra.py").write_text("y = 1\n")  # an untracked module counts as code
    second = code_state(repo)
    assert second["dirty"] and second["diff_sha256"] != first["diff_sha256"]
    assert len(source_states([first, second, first])) == 2


def test_outside_git_there_is_no_commit(tmp_path):
    assert code_state(tmp_path)["commit"] is None
    assert source_states([None, {}]) == ["unknown"]


def test_the_block_names_machine_command_and_load():
    block = finish_provenance(start_provenance(["run_bench.py", "sizes", "--out", "x y"]))
    assert block["command"] == "run_bench.py sizes --out 'x y'"
    assert {"commit", "dirty", "diff_sha256", "machine", "threads", "torch"} <= set(block)
    assert "load_before" in block and "load_after" in block
