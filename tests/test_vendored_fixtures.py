"""The vendored golden fixtures are the shared upstream copy, byte for byte, when it is present."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from conftest import GOLDEN, SHARED

UPSTREAM = SHARED / "golden"


def _digests(root: Path) -> dict[str, str]:
    """sha256 of every file below `root`, by relative path."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_vendored_fixtures_are_present():
    for folder in (
        "seqformer/public",
        "ifc/public",
        "mssts/public",
        "ytvis_eval/public",
        "ovis_eval/public",
        "backbones/public",
    ):
        assert any((GOLDEN / folder).iterdir()), folder


@pytest.mark.skipif(not UPSTREAM.is_dir(), reason=f"no upstream golden folder at {UPSTREAM}")
def test_vendored_files_equal_the_upstream_copy():
    vendored = _digests(GOLDEN)
    vendored.pop("README.md")  # the vendored folder's own README
    upstream = _digests(UPSTREAM)
    changed = sorted(k for k in vendored if upstream.get(k) != vendored[k])
    assert not changed, f"vendored fixtures differ from {UPSTREAM}: {changed[:10]}"
