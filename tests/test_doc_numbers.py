"""The measured numbers in the README and docs are generated from committed JSON, and current."""

from __future__ import annotations

import shutil
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
    unused = [name for name in GENERATORS if f"<!-- numbers: {name} -->" not in text]
    assert unused == []


def test_a_changed_source_makes_the_readme_stale(tmp_path: Path):
    for relative in ("README.md", "results/tables/model_sizes.json"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / relative, tmp_path / relative)
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
