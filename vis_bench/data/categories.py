"""Category lists of the public VIS datasets, so a file can be recognised and logits mapped.

YouTube-VIS 2019, YouTube-VIS 2021 and OVIS share one annotation layout but not one label space:
a model trained on one predicts ids that mean something else in another. Ids are 1..K in the
order listed here (the order of the released annotation files). OVIS spells "Vehical" that way
in its released files; we keep the spelling so names compare equal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class CategorySet:
    """A dataset's label space: `names[i]` has category id `i + 1`."""

    dataset: str
    names: tuple[str, ...]

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(range(1, len(self.names) + 1))

    def id_to_name(self) -> dict[int, str]:
        return dict(zip(self.ids, self.names, strict=True))

    def id_to_index(self) -> dict[int, int]:
        """Category id -> contiguous logit index 0..K-1 (what a classifier head outputs)."""
        return {cid: i for i, cid in enumerate(self.ids)}

    def as_json(self) -> list[dict[str, object]]:
        """The `categories` list as the released files write it."""
        return [
            {"id": cid, "name": name, "supercategory": "object"}
            for cid, name in zip(self.ids, self.names, strict=True)
        ]


YTVIS_2019 = CategorySet(
    "ytvis2019",
    (
        "person", "giant_panda", "lizard", "parrot", "skateboard", "sedan", "ape", "dog",
        "snake", "monkey", "hand", "rabbit", "duck", "cat", "cow", "fish", "train", "horse",
        "turtle", "bear", "motorbike", "giraffe", "leopard", "fox", "deer", "owl", "surfboard",
        "airplane", "truck", "zebra", "tiger", "elephant", "snowboard", "boat", "shark",
        "mouse", "frog", "eagle", "earless_seal", "tennis_racket",
    ),
)  # fmt: skip

YTVIS_2021 = CategorySet(
    "ytvis2021",
    (
        "airplane", "bear", "bird", "boat", "car", "cat", "cow", "deer", "dog", "duck",
        "earless_seal", "elephant", "fish", "flying_disc", "fox", "frog", "giant_panda",
        "giraffe", "horse", "leopard", "lizard", "monkey", "motorbike", "mouse", "parrot",
        "person", "rabbit", "shark", "skateboard", "snake", "snowboard", "squirrel",
        "surfboard", "tennis_racket", "tiger", "train", "truck", "turtle", "whale", "zebra",
    ),
)  # fmt: skip

OVIS = CategorySet(
    "ovis",
    (
        "Person", "Bird", "Cat", "Dog", "Horse", "Sheep", "Cow", "Elephant", "Bear", "Zebra",
        "Giraffe", "Poultry", "Giant_panda", "Lizard", "Parrot", "Monkey", "Rabbit", "Tiger",
        "Fish", "Turtle", "Bicycle", "Motorcycle", "Airplane", "Boat", "Vehical",
    ),
)  # fmt: skip

# The synthetic generator's label space: shape and texture together decide the class (each
# shape occurs with two textures and each texture with two shapes, so neither cue alone suffices).
SYNTHETIC = CategorySet(
    "synthetic",
    (
        "striped_disc", "dotted_disc", "checker_box", "striped_box",
        "solid_triangle", "dotted_star", "checker_ring", "solid_cross",
    ),
)  # fmt: skip

KNOWN_CATEGORY_SETS: Mapping[str, CategorySet] = {
    s.dataset: s for s in (YTVIS_2019, YTVIS_2021, OVIS, SYNTHETIC)
}


def get_category_set(dataset: str) -> CategorySet:
    """Look a label space up by dataset name (`ytvis2019`, `ytvis2021`, `ovis`, `synthetic`)."""
    key = dataset.lower().replace("-", "").replace("_", "")
    for name, cats in KNOWN_CATEGORY_SETS.items():
        if name == key:
            return cats
    known = ", ".join(KNOWN_CATEGORY_SETS)
    raise KeyError(f"unknown dataset {dataset!r}; known: {known}")


def identify_dataset(categories: Iterable[tuple[int, str]]) -> str | None:
    """Name the dataset whose label space is exactly these (id, name) pairs, else None.

    Names compare case-insensitively, so a re-cased copy of a file is still recognised.
    """
    given = {(int(cid), str(name).lower()) for cid, name in categories}
    for name, cats in KNOWN_CATEGORY_SETS.items():
        if given == {(cid, n.lower()) for cid, n in zip(cats.ids, cats.names, strict=True)}:
            return name
    return None
