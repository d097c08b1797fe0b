"""A method's label space against the dataset's: checked before any cell runs, applied to each
cell's predictions when the config asks for a mapping by name.

A checkpoint trained on YouTube-VIS 2019 predicts ids that mean other classes in OVIS; scoring
them as they are gives silent garbage. A method entry that names its `label_space` is checked
against the dataset's categories (vis_bench.formats.categories.check_label_space); `category_map:
by_name` maps classes of the same name instead, drops the rest and says so in the record.
"""

from __future__ import annotations

from typing import Any

from vis_bench.errors import InputError
from vis_bench.sweep.methods import MethodEntry


def label_space_mapping(entry: MethodEntry, dataset_categories: Any, source: str) -> Any:
    """How the method's classes meet the dataset's (a CategoryMapping), or None when neither
    the entry nor its checkpoint names a label space; a mismatch is an InputError naming the
    entry (before any cell runs)."""
    if entry.model_space is None or dataset_categories is None:
        return None
    from vis_bench.formats.categories import check_label_space

    try:
        return check_label_space(
            entry.model_space,
            dataset_categories,
            map_by_name=entry.category_map == "by_name",
            aliases=entry.category_aliases,
        )
    except InputError as err:
        raise InputError(
            f"{err}{_whose(entry)}; set {entry.where}.category_map: by_name to map classes by "
            "name, or use a model trained on this dataset",
            path=source,
            field=f"methods[{entry.index}].label_space",
        ) from err


def _whose(entry: MethodEntry) -> str:
    if entry.label_space is not None:
        return ""
    from vis_bench.formats.checkpoint_labels import describe_space

    return (
        f" (the label space is the checkpoint's own, {describe_space(entry.carried_label_space)},"
        " which it was trained on)"
    )


def is_unchecked(entry: MethodEntry) -> bool:
    """A trained model (a checkpoint) whose label space nothing names."""
    return entry.checkpoint is not None and entry.model_space is None


def unchecked_warning(entry: MethodEntry) -> str | None:
    """What a method entry with no label space risks, and the fix (None for an entry that is
    checked): said on the console before any cell runs and kept in each of its records' notes,
    which every page shows (one note of them: no "; ", which separates a record's notes)."""
    if not is_unchecked(entry):
        return None
    return (
        f"WARNING: label space unchecked for {entry.where} ({entry.variant or entry.name}): "
        "neither the entry nor its checkpoint names the categories the model predicts, so its "
        "category ids are scored as the dataset's ids as they are, and ids that mean other "
        f"classes give a wrong AP with no error. Set {entry.where}.label_space (ytvis2019, ytvis2021, "
        "ovis, synthetic) to check it"
    )


def dataset_categories(source: Any) -> Any:
    """The categories of a dataset source, or None for sources that carry none."""
    dataset = getattr(source, "dataset", None)
    return getattr(dataset, "categories", None)


def map_predictions(predictions: list[dict], mapping: Any) -> tuple[list[dict], int]:
    """The predictions in the dataset's ids, and how many had no counterpart (dropped).

    The worker calls it before its one write of results.json, so the parent reads the file once
    and never rewrites it; None or an identity mapping returns the list as it is.
    """
    if mapping is None or mapping.is_identity:
        return predictions, 0
    kept = []
    for prediction in predictions:
        target = mapping.dataset_id(prediction["category_id"])
        if target is not None:
            kept.append({**prediction, "category_id": target})
    return kept, len(predictions) - len(kept)
