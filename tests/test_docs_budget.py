"""The docs stay on a size budget: what a reader must get through is bounded, so a change that adds
to the docs cuts repetition or history first.

What counts is the text: the bytes of every committed Markdown page under docs/, its folders
included. The pictures (PNG) and their JSON sidecar are not read as text and do not count. The
generated blocks (`python -m tools docs`) count like the prose around them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.tracked import repo_relative, tracked, tracked_params

#: one page's limit in bytes (25 KB): a page longer than that is split by audience or cut
PAGE_LIMIT = 25 * 1024
#: all of docs/ in bytes (330 KB)
TOTAL_LIMIT = 330 * 1024
#: the pattern of the pages that count
DOC_PAGES = "docs/**/*.md"
#: where a page about one method or one family of methods lives
METHOD_DOCS = "docs/methods"


def _size(page: Path) -> int:
    return len(page.read_bytes())


@pytest.mark.parametrize("page", tracked_params(DOC_PAGES), ids=repo_relative)
def test_no_page_is_over_the_page_limit(page: Path):
    size = _size(page)
    assert size <= PAGE_LIMIT, (
        f"{repo_relative(page)}: {size} bytes, over the {PAGE_LIMIT}-byte page limit; "
        "cut repetition and history, or split the page by audience"
    )


def test_all_of_docs_stays_within_the_total():
    sizes = {repo_relative(page): _size(page) for page in tracked(DOC_PAGES)}
    total = sum(sizes.values())
    largest = sorted(sizes.items(), key=lambda item: -item[1])[:5]
    assert total <= TOTAL_LIMIT, (
        f"docs/: {total} bytes of Markdown, over the {TOTAL_LIMIT}-byte budget by "
        f"{total - TOTAL_LIMIT}; the largest pages: {largest}"
    )


def _method_names() -> set[str]:
    """The folder names of the method packages and of the families (`methods/`)."""
    packages = {path.parent for path in tracked("methods/*/__init__.py")}
    families = {path.parent for path in tracked("methods/families/*/__init__.py")}
    return {p.name for p in packages | families} - {"common", "families"}


def test_method_pages_live_under_docs_methods():
    """A top-level page named after a method or a family (e.g. docs/videomt.md, or
    docs/dvis_plus.md for the dvis_plus_* methods) belongs in docs/methods/."""
    names = _method_names()
    misplaced = [
        repo_relative(page)
        for page in tracked("docs/*.md")  # `*` stays in one folder: the top level
        if any(name.startswith(page.stem) or page.stem.startswith(name) for name in names)
    ]
    assert misplaced == [], f"move these under {METHOD_DOCS}/: {misplaced}"
