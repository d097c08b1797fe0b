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
        "ytvis2022_eval/public",
        "ovis_eval/public",
        "lvvis_eval/public",
        "backbones/public",
        "mask2former_vis/public",
        "minvis/public",
        "videomt/public",
        "dvis_plus",
        "dvis_plus_online/public",
        "dvis_plus_offline/public",
        "dvis_daq",
        "dvis_daq_online/public",
        "dvis_daq_offline/public",
        "burst_eval/public",
        "sam3/public",
    ):
        assert any((GOLDEN / folder).iterdir()), folder


#: upstream fixture sets the project does not use yet; each is vendored with the method that
#: first reads it (an upstream set in neither place fails the test below)
NOT_VENDORED: dict[str, str] = {}


def _sets(root: Path) -> set[str]:
    return {path.name for path in root.iterdir() if path.is_dir()}


@pytest.mark.skipif(not UPSTREAM.is_dir(), reason=f"no upstream golden folder at {UPSTREAM}")
def test_vendored_files_equal_the_upstream_copy():
    """Both directions: a vendored file that differs or is not upstream, and an upstream file of
    a vendored set that the copy lacks, are both reported."""
    vendored = _digests(GOLDEN)
    vendored.pop("README.md")  # the vendored folder's own README
    used = _sets(GOLDEN)
    upstream = {
        name: digest
        for name, digest in _digests(UPSTREAM).items()
        if name.split("/", 1)[0] in used or "/" not in name
    }
    upstream.pop("README.md", None)
    changed = sorted(k for k in vendored if k in upstream and upstream[k] != vendored[k])
    extra = sorted(k for k in vendored if k not in upstream)
    missing = sorted(k for k in upstream if k not in vendored)
    assert not changed, f"vendored fixtures differ from {UPSTREAM}: {changed[:10]}"
    assert not extra, f"vendored files that {UPSTREAM} does not have: {extra[:10]}"
    assert not missing, f"upstream files missing from {GOLDEN}: {missing[:10]}"


@pytest.mark.skipif(not UPSTREAM.is_dir(), reason=f"no upstream golden folder at {UPSTREAM}")
def test_every_upstream_set_is_vendored_or_named():
    unaccounted = sorted(_sets(UPSTREAM) - _sets(GOLDEN) - set(NOT_VENDORED))
    assert not unaccounted, (
        f"upstream fixture sets neither vendored in {GOLDEN} nor listed in NOT_VENDORED: "
        f"{unaccounted}"
    )
    stale = sorted(set(NOT_VENDORED) & _sets(GOLDEN))
    assert not stale, f"vendored now, remove from NOT_VENDORED: {stale}"
