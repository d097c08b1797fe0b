"""The README is the front door and docs/README.md the index: the README stays short, the index
names every file in docs/ and its folders, and every relative link of the README and docs/ leads
to a file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers.tracked import repo_relative, tracked, tracked_params

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: the README's size limit in bytes: what a newcomer reads first, everything else in docs/
README_LIMIT = 15 * 1024
#: a markdown link or image: [text](target) or ![alt](target)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
#: the committed pages (git's list: a note of one's own in docs/ is not the project's)
PAGES = tracked_params("README.md", "docs/**/*.md")


def test_the_readme_stays_short():
    assert len((ROOT / "README.md").read_bytes()) <= README_LIMIT


def test_the_docs_index_names_every_file_in_docs():
    index = (DOCS / "README.md").read_text()
    linked = set(LINK.findall(index))
    files = [p.relative_to(DOCS).as_posix() for p in tracked("docs/**")]
    missing = [name for name in files if name not in linked]
    assert missing == [], f"docs/README.md: no line for {missing}"


@pytest.mark.parametrize("page", PAGES, ids=repo_relative)
def test_every_relative_link_leads_to_a_file(page: Path):
    path = ROOT / page
    broken = []
    for target in LINK.findall(path.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a web address or an anchor of the page itself
        if not (path.parent / target.split("#", 1)[0]).exists():
            broken.append(target)
    assert broken == [], f"{page}: links to nothing: {broken}"
