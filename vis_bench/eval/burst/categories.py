"""The BURST toolkit's category facts: TAO/LVIS names, merged ids, distractors, the common list.

They live in tao_categories.json beside this module (MIT, its `source` names where each list
comes from), because the toolkit ignores the categories of the GT file and uses its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_DATA = Path(__file__).with_name("tao_categories.json")


@dataclass(frozen=True)
class BurstCategories:
    """The toolkit's fixed category tables, in its own order (the order classes are averaged in)."""

    names: dict[int, str]
    #: merged id -> the parent id it is evaluated as (GT and predictions alike)
    merged: dict[int, int]
    #: ids never evaluated; GT tracks of these (before merging) are dropped
    distractors: frozenset[int]
    #: the "common" split (TAO's COCO-like classes); every other evaluated class is "uncommon"
    common: frozenset[int]

    def parent(self, category_id: int) -> int:
        """The id a category is evaluated as."""
        return self.merged.get(category_id, category_id)


@cache
def burst_categories() -> BurstCategories:
    """The tables, read once per process."""
    data = json.loads(_DATA.read_text(encoding="utf-8"))
    return BurstCategories(
        names={int(cid): name for cid, name in data["categories"]},
        merged={int(child): int(parent) for child, parent in data["merged"].items()},
        distractors=frozenset(data["distractors"]),
        common=frozenset(data["common"]),
    )
