"""Every AP/AR line per group of categories: LV-VIS's base and novel, BURST's common and uncommon.

Open-vocabulary and long-tail benchmarks report each summary line of the metric per group: the
mean, over the group's categories, of that line computed for one category alone, leaving out the
categories where it is undefined (-1: a category absent from the ground truth, or without ground
truth of that area). A group with no category defined is -1 as well. Written from that
definition: a category's figure is the ordinary summary (summary.py, the same thresholds, area
ranges and result caps) over its own slice of the precision and recall arrays.

Groups come from a JSON file mapping each group's name to its category ids, or from a field of
the ground truth's categories (LV-VIS's `partition`: each distinct value is a group).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from vis_bench.errors import InputError
from vis_bench.eval.api import EvalResult
from vis_bench.eval.metric.accumulate import Accumulated
from vis_bench.eval.metric.summary import summarize, summarize_ovis
from vis_bench.jsonio import read_json


def per_category_stats(result: EvalResult) -> dict[int, dict[str, float]]:
    """Category id -> every summary line of that category alone (-1 where undefined)."""
    out = {}
    for k, cid in enumerate(result.cat_ids):
        one = slice(k, k + 1)
        if result.metric == "ovis" and result.occlusion is not None:
            occ = result.occlusion
            out[cid] = summarize_ovis(occ.precision[:, :, one], occ.recall[:, one])
        else:
            acc = Accumulated(result.precision[:, :, one], result.recall[:, one], np.array([cid]))
            out[cid] = summarize(acc)
    return out


def group_stats(result: EvalResult, groups: Mapping[str, list[int]]) -> dict[str, dict[str, float]]:
    """Group name -> every summary line: the mean of its categories' defined figures."""
    per_category = per_category_stats(result)
    # a category's own lines (LV-VIS's base/novel variants are not among them)
    names = list(next(iter(per_category.values()), result.stats))
    out = {}
    for group, cat_ids in groups.items():
        figures = [per_category[c] for c in cat_ids if c in per_category]
        out[group] = {name: _mean_defined([f[name] for f in figures]) for name in names}
    return out


def _mean_defined(values: list[float]) -> float:
    kept = [v for v in values if v > -1]
    return float(np.mean(kept)) if kept else -1.0


def read_category_groups(
    spec: Any, gt_path: str | Path, listed: Iterable[int], what: str
) -> dict[str, list[int]]:
    """The groups `spec` names: a mapping itself, a JSON file of one (group -> category ids),
    or the name of a field of the ground truth's categories (the file is read for them). Every
    id must be `listed` (the ground truth's category ids). `what` names the option or config
    key in errors."""
    if isinstance(spec, Mapping):
        groups, source = _checked_mapping(spec, what, what), what
    elif Path(str(spec)).is_file():
        source = str(spec)
        groups = _checked_mapping(read_json(source, "category groups"), source, what)
    elif str(spec).lower().endswith(".json"):
        raise InputError(
            "category groups file not found; give a JSON file mapping each group to its "
            "category ids, or the name of a field of the ground truth's categories",
            path=str(spec),
            field=what,
        )
    else:
        return _groups_by_field(str(spec), _categories(gt_path), str(gt_path))
    listed = set(listed)
    for group, ids in groups.items():
        unknown = sorted(set(ids) - listed)
        if unknown:
            raise InputError(
                f"group {group!r} names category ids the ground truth does not list: "
                f"{unknown[:10]}; use the ids of {gt_path}'s categories",
                path=source,
                field=what,
            )
    return groups


def _checked_mapping(data: Any, source: str, what: str) -> dict[str, list[int]]:
    if not isinstance(data, Mapping) or not data:
        raise InputError(
            "category groups must be a JSON object mapping each group to its category ids, "
            'e.g. {"base": [1, 2], "novel": [3]}',
            path=source,
            field=what,
        )
    groups = {}
    for group, ids in data.items():
        if not isinstance(ids, list) or not all(
            isinstance(c, int) and not isinstance(c, bool) for c in ids
        ):
            raise InputError(
                f"group {group!r} must be a list of integer category ids, got {ids!r}"[:200],
                path=source,
                field=what,
            )
        groups[str(group)] = list(ids)
    return groups


def _categories(gt_path: str | Path) -> list[Any]:
    data = read_json(gt_path, "ground truth")
    categories = data.get("categories") if isinstance(data, dict) else None
    if not isinstance(categories, list):
        raise InputError("ground truth needs a list 'categories'", path=str(gt_path))
    return categories


def _groups_by_field(name: str, categories: list[Any], gt_path: str) -> dict[str, list[int]]:
    """One group per distinct value of the categories' field `name`, in first-seen order."""
    groups: dict[str, list[int]] = {}
    for i, category in enumerate(categories):
        if not isinstance(category, dict) or "id" not in category:
            continue
        if name not in category:
            fields = sorted(k for k in category if k not in ("id", "name"))
            raise InputError(
                f"categories[{i}] (id {category['id']}) has no field {name!r} to group by "
                f"(its fields: {', '.join(fields) or 'none besides id and name'}); give a field "
                "every category has, or a JSON file mapping groups to category ids",
                path=gt_path,
                field=f"categories[{i}].{name}",
            )
        groups.setdefault(str(category[name]), []).append(int(category["id"]))
    if not groups:
        raise InputError("the ground truth lists no categories to group", path=gt_path)
    return groups
