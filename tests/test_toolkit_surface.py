"""The method toolkit is one documented surface: every public name is listed in
docs/architecture.md, and what it exports exists."""

from __future__ import annotations

from pathlib import Path

import vis_bench.toolkit as toolkit

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def test_every_toolkit_name_is_documented_once_in_the_architecture_doc():
    section = DOC.read_text().split("## The method toolkit", 1)[1].split("\n## ", 1)[0]
    undocumented = [name for name in toolkit.__all__ if f"`{name}`" not in section]
    assert not undocumented, f"toolkit names missing from docs/architecture.md: {undocumented}"


def test_every_exported_name_exists():
    assert sorted(toolkit.__all__) == sorted(set(toolkit.__all__))
    for name in toolkit.__all__:
        assert hasattr(toolkit, name), name
