"""The public datasets' label spaces by name, for a method whose classes are words (an
open-vocabulary model prompted with every category name): `(id, name)` pairs, ids 1..K in the
released annotation files' order. The lists themselves live in vis_bench.formats.categories."""

from __future__ import annotations

from vis_bench.formats.categories import KNOWN_CATEGORY_SETS, get_category_set


def known_label_spaces() -> list[str]:
    """The label spaces `label_space_categories` knows."""
    return list(KNOWN_CATEGORY_SETS)


def label_space_categories(name: str) -> list[tuple[int, str]]:
    """(id, name) of every category of a known label space; KeyError naming the known ones."""
    space = get_category_set(name)
    return list(zip(space.ids, space.names, strict=True))
