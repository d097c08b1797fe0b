"""The measured numbers in the README and docs are generated from committed JSON, and current."""

from __future__ import annotations

from pathlib import Path

import pytest

from vis_bench.errors import InputError
from vis_bench.maintainer.doc_numbers import (
    DOCUMENTS,
    GENERATORS,
    REPO_ROOT,
    regenerate,
    stale_documents,
)


def test_every_generated_block_in_the_docs_is_up_to_date():
    stale = stale_documents(REPO_ROOT, write=False)
    assert stale == [], f"run `python run_bench.py docs`: out of date: {stale}"


def test_the_readme_quotes_every_generator():
    text = "".join((REPO_ROOT / d).read_text() for d in DOCUMENTS if (REPO_ROOT / d).is_file())
    unused = [name for name in GENERATORS if f"<!-- numbers: {name}" not in text]
    assert unused == []


def test_a_changed_source_makes_the_readme_stale(tmp_path: Path):
    _tree_with_sizes(tmp_path, CLEAN)
    text = "<!-- numbers: model-sizes -->\nold\n<!-- end numbers -->\n"
    (tmp_path / "README.md").write_text(text)
    assert stale_documents(tmp_path) == ["README.md"]
    assert stale_documents(tmp_path, write=True) == ["README.md"]
    assert stale_documents(tmp_path) == []
    assert "| seqformer | resnet50 |" in (tmp_path / "README.md").read_text()


def test_unknown_block_and_missing_source_are_named_errors(tmp_path: Path):
    with pytest.raises(InputError, match="unknown generated block 'nope'"):
        regenerate("<!-- numbers: nope -->\n<!-- end numbers -->", tmp_path, "README.md")
    with pytest.raises(InputError, match="missing"):
        regenerate("<!-- numbers: model-sizes -->\n<!-- end numbers -->", tmp_path, "README.md")


def _tree_with_sizes(tmp_path: Path, provenance: dict | None) -> Path:
    """A copy of the model-sizes source with the given provenance block."""
    import json

    rows = json.loads((REPO_ROOT / "results/tables/model_sizes.json").read_text())
    rows = rows["rows"] if isinstance(rows, dict) else rows
    source = tmp_path / "results/tables/model_sizes.json"
    source.parent.mkdir(parents=True)
    source.write_text(json.dumps({"rows": rows, "provenance": provenance}))
    return tmp_path


CLEAN = {"commit": "a" * 40, "dirty": False, "diff_sha256": None, "command": "run_bench.py sizes"}
BLOCK = "<!-- numbers: model-sizes -->\n<!-- end numbers -->\n"


def test_a_block_names_the_full_commit_and_command_of_a_clean_source(tmp_path: Path):
    root = _tree_with_sizes(tmp_path, CLEAN)
    text = regenerate(BLOCK, root, "README.md")
    assert f"Provenance: commit {'a' * 40} by `run_bench.py sizes`." in text


def test_a_dirty_source_is_refused_unless_allowed(tmp_path: Path):
    dirty = {**CLEAN, "dirty": True, "diff_sha256": "f" * 64}
    root = _tree_with_sizes(tmp_path, dirty)
    with pytest.raises(InputError, match="not made from one clean commit"):
        regenerate(BLOCK, root, "README.md")
    allowed = regenerate(BLOCK, root, "README.md", allow_dirty=True)
    assert f"commit {'a' * 40}-dirty (ffffffffffff)" in allowed
    marked = BLOCK.replace("model-sizes -->", "model-sizes (allow-dirty) -->")
    assert "-dirty" in regenerate(marked, root, "README.md")


def test_a_source_without_provenance_is_refused(tmp_path: Path):
    root = _tree_with_sizes(tmp_path, None)
    with pytest.raises(InputError, match="unknown"):
        regenerate(BLOCK, root, "README.md")


def test_records_of_several_commits_are_refused(tmp_path: Path):
    import json

    lines = [{"status": "ok", "provenance": {**CLEAN, "commit": c * 40}} for c in ("a", "b")]
    path = tmp_path / "results/default_run/records.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    from vis_bench.maintainer.doc_numbers import provenance_line

    with pytest.raises(InputError, match="a{40}, b{40}"):
        provenance_line("default-run", tmp_path, allow_dirty=False)
