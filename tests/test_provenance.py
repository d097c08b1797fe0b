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


def test_an_install_says_it_is_no_checkout_and_names_its_version(monkeypatch):
    """Where the package's files are tracked by no repository (a wheel in site-packages), the
    block carries the installed version and says so rather than naming some other commit."""
    from vis_bench.measure import provenance

    monkeypatch.setattr(provenance, "package_checkout", lambda: None)
    block = start_provenance(["vis-bench", "run"])
    assert block["commit"] is None and block["code"] == "not a git checkout"
    assert block["vis_bench"] == provenance.installed_version()
    line = provenance.written_by(block)
    assert (
        line
        == f"Written by `vis-bench run` with vis-bench {block['vis_bench']} (not a git checkout)."
    )


def test_the_package_is_found_in_its_checkout_and_not_in_an_ignored_folder(tmp_path):
    """package_checkout is this checkout here; a package inside an ignored folder of a repository
    (a venv's site-packages) is no checkout of it, a tracked one is."""
    import shutil

    from vis_bench.measure import provenance

    assert provenance.package_checkout() == Path(__file__).resolve().parents[1]
    repo = _repo(tmp_path)
    (repo / ".gitignore").write_text(".venv/\n")
    site = repo / ".venv" / "site-packages" / "vis_bench"
    site.mkdir(parents=True)
    shutil.copyfile(provenance.PACKAGE_DIR / "__init__.py", site / "__init__.py")
    assert provenance.checkout_of(site) is None
    (repo / "pkg").mkdir()
    shutil.copyfile(provenance.PACKAGE_DIR / "__init__.py", repo / "pkg" / "__init__.py")
    _git(repo, "add", "pkg")
    assert provenance.checkout_of(repo / "pkg") == repo.resolve()
