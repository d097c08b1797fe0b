"""The label space a checkpoint carries: the categories its model was trained to predict.

A project checkpoint records how it was trained (`training`): `train` writes the training
dataset's categories there (`categories`, (id, name) pairs); older files name the training
dataset's kind, which is a label space by name for the kinds with a fixed one. A sweep checks
that space against its dataset's categories even when the config names no `label_space`, so a
model is never scored on ids that mean other classes there.
"""

from __future__ import annotations

from typing import Any

#: (id, name) pairs, or the name of a known label space (`synthetic`, `ytvis2019`, ...)
CarriedSpace = str | tuple[tuple[int, str], ...]


def carried_label_space(contents: Any) -> CarriedSpace | None:
    """The label space of a checkpoint (a `CheckpointContents`), None when it carries none (the
    authors' files hold only tensors)."""
    from vis_bench.formats.categories import get_category_set

    training = getattr(contents, "training", None)
    if not isinstance(training, dict):
        return None
    categories = training.get("categories")
    if isinstance(categories, list) and categories:
        try:
            return tuple((int(c["id"]), str(c["name"])) for c in categories)
        except (KeyError, TypeError, ValueError):
            return None
    config = training.get("config")
    dataset = config.get("dataset") if isinstance(config, dict) else None
    kind = dataset.get("kind") if isinstance(dataset, dict) else None
    if not isinstance(kind, str):
        return None
    try:
        get_category_set(kind)
    except KeyError:
        return None  # a dataset of one's own (custom, synth): its categories were not kept
    return kind


def describe_space(space: CarriedSpace) -> str:
    """A label space as a message names it: `synthetic`, or "3 categories (cat, dog, ...)"."""
    if isinstance(space, str):
        return space
    names = ", ".join(name for _, name in space[:4])
    more = ", ..." if len(space) > 4 else ""
    return f"{len(space)} categories ({names}{more})"
