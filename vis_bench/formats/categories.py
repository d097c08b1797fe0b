"""Category lists of the public VIS datasets, so a file can be recognised and logits mapped.

YouTube-VIS 2019, YouTube-VIS 2021 and OVIS share one annotation layout but not one label space:
a model trained on one predicts ids that mean something else in another (`check_label_space`
catches that, or maps categories by name when asked). Ids are 1..K in the
order listed here (the order of the released annotation files). OVIS spells "Vehical" that way
in its released files; we keep the spelling so names compare equal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from vis_bench.errors import InputError


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


# -- checking a model's label space against a dataset's ------------------------------------------


@dataclass(frozen=True)
class CategoryMapping:
    """How a model's category ids become a dataset's: explicit, so nothing is scored silently
    against the wrong class. Predictions of `dropped` model categories have no counterpart and
    must be left out; the dataset's `unreachable` categories can never be predicted."""

    model_to_dataset: dict[int, int]
    dropped: tuple[tuple[int, str], ...] = ()  # model (id, name) without a dataset category
    unreachable: tuple[tuple[int, str], ...] = ()  # dataset (id, name) no model class maps to

    @property
    def is_identity(self) -> bool:
        return not self.dropped and all(m == d for m, d in self.model_to_dataset.items())

    def dataset_id(self, model_id: int) -> int | None:
        """The dataset category a model category id stands for, None to drop the prediction."""
        return self.model_to_dataset.get(int(model_id))

    def describe(self) -> str:
        if self.is_identity and not self.unreachable:
            return f"same label space ({len(self.model_to_dataset)} categories)"
        moved = sum(m != d for m, d in self.model_to_dataset.items())
        parts = [
            f"{len(self.model_to_dataset)} model categories mapped by name ({moved} renumbered)"
        ]
        if self.dropped:
            parts.append(f"{len(self.dropped)} dropped ({_names(self.dropped)})")
        if self.unreachable:
            parts.append(f"{len(self.unreachable)} dataset categories unreachable "
                         f"({_names(self.unreachable)})")  # fmt: skip
        return "; ".join(parts)


LabelSpace = CategorySet | str | Iterable[Any]


def check_label_space(
    model: LabelSpace,
    dataset: LabelSpace,
    *,
    map_by_name: bool = False,
    aliases: Mapping[str, str] | None = None,
) -> CategoryMapping:
    """Check that a model's categories mean the dataset's; raise InputError if they do not.

    `model` and `dataset` are a CategorySet, a dataset name (`ytvis2019`, `ovis`, ...) or
    (id, name) pairs / records with `.id` and `.name` (a dataset's `categories`). Equal spaces
    (same ids, same names up to case, `_`, `-` and spaces) give the identity mapping. Different
    ones raise, naming the first id that means two things, unless `map_by_name`: then model
    categories map to dataset categories of the same name (or of the name `aliases` gives a
    model name, e.g. {"motorbike": "Motorcycle"}), the rest are listed as dropped/unreachable.
    """
    ours, theirs = _pairs(model), _pairs(dataset)
    if not ours or not theirs:
        raise InputError("a label space needs at least one category", field="categories")
    if _keyed(ours) == _keyed(theirs):
        return CategoryMapping({cid: cid for cid, _ in ours})
    if not map_by_name:
        raise InputError(_mismatch_message(ours, theirs), field="categories")
    by_name = {_norm(name): cid for cid, name in theirs}
    alias = {_norm(k): _norm(v) for k, v in (aliases or {}).items()}
    mapping, dropped = {}, []
    for cid, name in ours:
        target = by_name.get(alias.get(_norm(name), _norm(name)))
        if target is None:
            dropped.append((cid, name))
        else:
            mapping[cid] = target
    if not mapping:
        raise InputError(
            f"no category of the model ({_label(ours)}) has a namesake in the dataset "
            f"({_label(theirs)}); give aliases for the categories that correspond",
            field="categories",
        )
    reached = set(mapping.values())
    unreachable = tuple((cid, name) for cid, name in theirs if cid not in reached)
    return CategoryMapping(mapping, tuple(dropped), unreachable)


def _pairs(space: LabelSpace) -> list[tuple[int, str]]:
    if isinstance(space, str):
        try:
            space = get_category_set(space)
        except KeyError as err:
            raise InputError(str(err.args[0]), field="categories") from None
    if isinstance(space, CategorySet):
        return list(zip(space.ids, space.names, strict=True))
    out = []
    for item in space:
        if isinstance(item, tuple | list) and len(item) == 2:
            out.append((int(item[0]), str(item[1])))
        else:
            out.append((int(item.id), str(item.name)))
    return sorted(out)


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch not in "_- ")


def _keyed(pairs: list[tuple[int, str]]) -> set[tuple[int, str]]:
    return {(cid, _norm(name)) for cid, name in pairs}


def _label(pairs: list[tuple[int, str]]) -> str:
    known = identify_dataset(pairs)
    return f"{known}, {len(pairs)} categories" if known else f"{len(pairs)} categories"


def _names(pairs: tuple[tuple[int, str], ...], limit: int = 6) -> str:
    shown = ", ".join(name for _, name in pairs[:limit])
    return shown + (f", ... {len(pairs) - limit} more" if len(pairs) > limit else "")


def _meaning(names: dict[int, str], cid: int) -> str:
    return repr(names[cid]) if cid in names else "nothing"


def _mismatch_message(ours: list[tuple[int, str]], theirs: list[tuple[int, str]]) -> str:
    model_names, data_names = dict(ours), dict(theirs)
    differing = [
        cid
        for cid in sorted(set(model_names) | set(data_names))
        if _norm(model_names.get(cid, "")) != _norm(data_names.get(cid, ""))
    ]
    cid = differing[0]
    shared = len({_norm(n) for _, n in ours} & {_norm(n) for _, n in theirs})
    return (
        f"the model's label space ({_label(ours)}) is not the dataset's ({_label(theirs)}): "
        f"category id {cid} means {_meaning(model_names, cid)} to the model and "
        f"{_meaning(data_names, cid)} in "
        f"the dataset ({len(differing)} ids differ), so its predictions would be scored against "
        f"the wrong classes. Evaluate on data with the model's categories, or map categories by "
        f"name ({shared} of the model's {len(ours)} names occur in the dataset)"
    )
