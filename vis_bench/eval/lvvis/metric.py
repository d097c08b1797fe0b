"""The LV-VIS metric: the YouTube-VIS metric, its own crowd rule, and a base / novel split.

Same numbers as the LV-VIS authors' evaluator (`haochenheheda/LVVIS`, `lvviseval.py`; spec:
tests/fixtures/golden/lvvis_eval/README.md; that code is GPL-3.0 and none of it is used here).
What differs from YouTube-VIS:

* a crowd GT track is not ignored: it counts in the recall denominator like any track, and as
  before it is never "taken", so several results can match it, each a true positive;
* a track's mean area is taken over int()-truncated per-frame areas (the same for integers);
* every one of the 12 summary numbers is also given over the base (`partition` 0 or 1) and the
  novel (`partition` 2 or 3) categories: 36 numbers, `AP, AP_b, AP_n, AP50, ...`.

Where the official code crashes or answers wrongly, this one answers and says so (docs/lvvis.md):
the split is taken by category id, so ids need not be 1..K; a split with no category gives
-1 ("n/a") for its numbers; a category without `partition` is an InputError naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vis_bench.errors import InputError
from vis_bench.eval.benchmarks import LVVIS_STAT_NAMES, SPLIT_SUFFIXES
from vis_bench.eval.metric.accumulate import Accumulated, accumulate
from vis_bench.eval.metric.iou import PairTable
from vis_bench.eval.metric.loading import GroundTruth, Results
from vis_bench.eval.metric.matching import Matches, match_settings, matches_from, outside
from vis_bench.eval.metric.phases import MetricPhases
from vis_bench.eval.metric.summary import STAT_SETTINGS, select

#: `partition` values of base and of novel categories (any other value: overall numbers only)
BASE_PARTITIONS = (0, 1)
NOVEL_PARTITIONS = (2, 3)


@dataclass(frozen=True)
class CategorySplit:
    """The base and novel category ids (ascending) the summary splits by."""

    base: tuple[int, ...]
    novel: tuple[int, ...]

    def empty_splits(self) -> list[str]:
        """The splits ("base", "novel") without any category: their numbers are n/a."""
        return [name for name in ("base", "novel") if not getattr(self, name)]

    def describe(self) -> list[str]:
        """What `eval` prints above the LV-VIS numbers: the split, and why a split is n/a."""
        lines = [
            f"LV-VIS metric: YouTube-VIS numbers over all, base (_b: {len(self.base)}) and "
            f"novel (_n: {len(self.novel)}) categories; crowd tracks count as ground truth"
        ]
        for name in self.empty_splits():
            suffix = SPLIT_SUFFIXES[name]
            lines.append(
                f"no {name} category is listed, so every *{suffix} statistic is n/a (-1 in "
                "--out); the official evaluator stops with an IndexError here"
            )
        return lines


def has_lvvis_partitions(gt: GroundTruth) -> bool:
    """True when a category's `partition` is one of LV-VIS's codes 0-3 (`eval --metric auto`
    then picks this metric; other values, e.g. the names `--category-groups partition` can
    read, do not make a file LV-VIS's)."""
    return any(
        _member(p, BASE_PARTITIONS + NOVEL_PARTITIONS) and type(p) is not bool
        for p in gt.cat_partition.values()
    )


def category_split(gt: GroundTruth) -> CategorySplit:
    """Base and novel ids from the categories' `partition` (compared as the official code
    compares them: 1.0 is 1, "1" is no partition of either split)."""
    base, novel = [], []
    # each distinct value is classified once (LV-VIS: 4 values over 1,196 categories); a value
    # that cannot be a dict key (a list) is classified where it occurs
    split_of: dict[Any, list[int] | None] = {}
    for cid in gt.cat_ids:
        partition = gt.cat_partition.get(cid)
        try:
            chosen = split_of[partition]
        except KeyError:
            chosen = split_of[partition] = _split_list(partition, base, novel)
        except TypeError:
            chosen = _split_list(partition, base, novel)
        if chosen is not None:
            chosen.append(cid)
    return CategorySplit(tuple(base), tuple(novel))


def _split_list(partition: Any, base: list[int], novel: list[int]) -> list[int] | None:
    if _member(partition, BASE_PARTITIONS):
        return base
    return novel if _member(partition, NOVEL_PARTITIONS) else None


def _member(value: object, values: tuple[int, ...]) -> bool:
    try:
        return bool(value in values)
    except (TypeError, ValueError):  # e.g. an array-like value with no single truth value
        return False


def check_partitions(gt: GroundTruth, res: Results) -> None:
    """The metric's input check: the ground truth's (`check_ground_truth`)."""
    check_ground_truth(gt)


def check_ground_truth(gt: GroundTruth) -> None:
    """Every category needs a `partition` (the official code stops with a KeyError), and
    every track a mean area the official int() can take."""
    missing = [cid for cid in gt.cat_ids if cid not in gt.cat_partition]
    if missing:
        cid = missing[0]
        more = f" ({len(missing) - 1} more categories lack it)" if len(missing) > 1 else ""
        raise InputError(
            f"category id {cid} ({gt.cat_names.get(cid, '')!r}) has no 'partition'; the LV-VIS "
            "metric needs one on every category (0 or 1: base, 2 or 3: novel). Use the LV-VIS "
            f"annotation file, or --metric ytvis for the YouTube-VIS metric{more}",
            path=gt.path,
            field="partition",
        )
    truncated = gt.avg_area_truncated
    if truncated is not None and np.isnan(truncated).any():
        i = int(np.flatnonzero(np.isnan(truncated))[0])
        raise InputError(
            f"annotation id {int(gt.ann_ids[i])} has an area with no integer part (NaN or "
            "infinite); the LV-VIS metric truncates each area to an integer",
            path=gt.path,
            field="areas",
        )


def _no_pair_check(gt: GroundTruth, res: Results, pairs: PairTable) -> None:
    """Frame lists of any lengths are compared up to the shorter one, as in YouTube-VIS."""


def match_lvvis(gt: GroundTruth, pairs: PairTable) -> Matches:
    """YouTube-VIS matching with crowd tracks counted: a GT is ignored only outside the area
    range. The pair table's mean areas become LV-VIS's (they differ only for fractional areas)."""
    if gt.avg_area_truncated is not None:
        pairs.gt_area = gt.avg_area_truncated[pairs.gt_track]
    gt_ignored = outside(pairs.gt_area)  # [A, G]: crowd tracks are not ignored
    dt_gt = match_settings(pairs, gt_ignored)  # crowd tracks stay free for later results
    return matches_from(pairs, dt_gt, gt_ignored, outside(pairs.dt_area))


def _accumulate(
    gt: GroundTruth, pairs: PairTable, matches: Matches
) -> tuple[Matches, Accumulated, CategorySplit]:
    """Accumulated over the categories with GT only: every other one of the 1,196 would be -1
    throughout, and the full arrays (116 MB) are made only if a caller reads them."""
    with_gt = np.flatnonzero(
        np.bincount(pairs.pair_cat[pairs.gt_count > 0], minlength=len(pairs.cat_ids))
    )
    return matches, accumulate(pairs, matches, with_gt), category_split(gt)


def summarize_lvvis(acc: Accumulated, split: CategorySplit) -> dict[str, float]:
    """The 36 numbers: each YouTube-VIS number over all, base and novel categories (-1 where
    undefined, and for a split without categories).

    Each number is the official mean of the defined entries of its slice, taken as the sum of
    per-category sums over the count of defined entries: one pass over the array per setting,
    the three splits then cost nothing (the order of the additions differs from NumPy's mean
    by a few units in the last place).
    """
    columns = {
        "all": slice(None),
        "base": np.flatnonzero(np.isin(acc.cat_ids, split.base)),
        "novel": np.flatnonzero(np.isin(acc.cat_ids, split.novel)),
    }
    stats = {}
    for name, *setting in STAT_SETTINGS:
        values = select(acc, *setting)  # categories last
        defined = values > -1
        sums = np.where(defined, values, 0.0).reshape(-1, values.shape[-1]).sum(axis=0)
        counts = defined.reshape(-1, values.shape[-1]).sum(axis=0)
        for part, suffix in SPLIT_SUFFIXES.items():
            n = int(counts[columns[part]].sum())
            stats[f"{name}{suffix}"] = float(sums[columns[part]].sum() / n) if n else -1.0
    assert tuple(stats) == LVVIS_STAT_NAMES
    return stats


#: the LV-VIS metric as a parameterisation of the shared phases (eval/metric/phases.py)
LVVIS_PHASES = MetricPhases(
    "lvvis", check_partitions, _no_pair_check, match_lvvis, _accumulate, summarize_lvvis
)
