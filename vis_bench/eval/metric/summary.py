"""Summarize phase: the 12 official numbers (18 for OVIS) and per-category AP."""

from __future__ import annotations

import numpy as np

from vis_bench.eval.benchmarks import OCCLUSION_AP, OCCLUSION_AR, OCCLUSION_LEVELS
from vis_bench.eval.metric.accumulate import Accumulated
from vis_bench.eval.metric.params import (
    AREA_LABELS,
    IOU_THRESHOLDS,
    MAX_DETS,
    OCCLUSION_RANGE_LABELS,
    OVIS_STAT_NAMES,
    STAT_NAMES,
)

# (name, use precision?, IoU threshold or None for all, area label, maxDets), official order
# (LV-VIS splits each of them: eval/lvvis/metric.py); the names are the declared ones.
STAT_SETTINGS = tuple(
    (name, *setting)
    for name, setting in zip(
        STAT_NAMES,
        (
            (True, None, "all", 100),
            (True, 0.5, "all", 100),
            (True, 0.75, "all", 100),
            (True, None, "small", 100),
            (True, None, "medium", 100),
            (True, None, "large", 100),
            (False, None, "all", 1),
            (False, None, "all", 10),
            (False, None, "all", 100),
            (False, None, "small", 100),
            (False, None, "medium", 100),
            (False, None, "large", 100),
        ),
        strict=True,
    )
)


def mean_defined(values: np.ndarray) -> float:
    """Mean of the entries > -1, or -1 when there are none (official rule)."""
    kept = values[values > -1]
    return float(np.mean(kept)) if kept.size else -1.0


def select(
    acc: Accumulated, precision: bool, iou: float | None, area: str, max_det: int
) -> np.ndarray:
    """One statistic's slice: precision [T', R, K] or recall [T', K] (categories last)."""
    a = AREA_LABELS.index(area)
    m = MAX_DETS.index(max_det)
    array = acc.precision if precision else acc.recall
    if iou is not None:
        # Exact equality with the linspace doubles, as the official summary does.
        array = array[np.flatnonzero(iou == IOU_THRESHOLDS)]
    return array[..., a, m]


def summarize(acc: Accumulated) -> dict[str, float]:
    """The 12 summary numbers keyed AP, AP50, ..., ARl (-1 where undefined)."""
    stats = {name: mean_defined(select(acc, *spec)) for name, *spec in STAT_SETTINGS}
    assert tuple(stats) == STAT_NAMES
    return stats


OCC = OCCLUSION_LEVELS
# OVIS: (name, use precision?, IoU, area label, occlusion label, maxDets), official order.
OVIS_STATS = (
    *((name, p, iou, area, "all", m) for name, p, iou, area, m in STAT_SETTINGS[:6]),
    *((name, True, None, "all", level, 100) for name, level in zip(OCCLUSION_AP, OCC, strict=True)),
    *((name, p, iou, area, "all", m) for name, p, iou, area, m in STAT_SETTINGS[6:]),
    *(
        (name, False, None, "all", level, 100)
        for name, level in zip(OCCLUSION_AR, OCC, strict=True)
    ),
)


def summarize_ovis(precision: np.ndarray, recall: np.ndarray) -> dict[str, float]:
    """The 18 OVIS numbers from precision [T, R, K, A, O, M] and recall [T, K, A, O, M]."""
    stats = {}
    for name, use_precision, iou, area, occ, max_det in OVIS_STATS:
        array = precision if use_precision else recall
        if iou is not None:
            array = array[np.flatnonzero(iou == IOU_THRESHOLDS)]
        a, o = AREA_LABELS.index(area), OCCLUSION_RANGE_LABELS.index(occ)
        stats[name] = mean_defined(array[..., a, o, MAX_DETS.index(max_det)])
    assert tuple(stats) == OVIS_STAT_NAMES
    return stats


def per_category_ap(acc: Accumulated) -> dict[int, float]:
    """AP over all thresholds, area 'all', 100 results, per category id (-1 where undefined).

    All categories in one pass (no loop over LV-VIS's 1,196): each one's sum of defined entries
    over their count.
    """
    sel = acc.precision[:, :, :, AREA_LABELS.index("all"), MAX_DETS.index(100)]
    defined = sel > -1
    counts = defined.sum(axis=(0, 1))
    sums = np.where(defined, sel, 0.0).sum(axis=(0, 1))
    ap = np.where(counts > 0, sums / np.maximum(counts, 1), -1.0)
    return {int(c): float(v) for c, v in zip(acc.cat_ids, ap, strict=True)}
