"""Python API of the YouTube-VIS and OVIS metrics: load -> evaluate -> accumulate -> summarize.

The phases are separate functions with plain arrays between them (like COCOeval), so each can be
tested and timed alone; `evaluate_files` chains them and records how long each took.

`metric="auto"` (the default everywhere) scores with the OVIS metric when the ground truth
carries OVIS occlusion labels: the stats then hold the 18 OVIS numbers (the 12 YouTube-VIS ones,
unchanged, among them), so every caller records the occlusion breakdown without asking for it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path

import numpy as np

from vis_bench.errors import InputError
from vis_bench.eval.benchmarks import LVVIS, OVIS, YTVIS
from vis_bench.eval.declared import METRICS as DECLARED
from vis_bench.eval.declared import detected_kinds, resolve
from vis_bench.eval.input_loading import InputLoading
from vis_bench.eval.lvvis.metric import LVVIS_PHASES, CategorySplit
from vis_bench.eval.metric.accumulate import Accumulated
from vis_bench.eval.metric.capped import cap_warning
from vis_bench.eval.metric.dropped import DroppedPredictions, find_dropped
from vis_bench.eval.metric.iou import PairTable, compute_pairs
from vis_bench.eval.metric.loading import (
    GroundTruth,
    Results,
    paused_gc,
    results_from_list,
)
from vis_bench.eval.metric.matching import Matches
from vis_bench.eval.metric.phases import YTVIS_PHASES, MetricPhases
from vis_bench.eval.metric.result_checks import (
    duplicate_pairs,
    duplicate_warning,
    plain_counts,
    score_range_warning,
)
from vis_bench.eval.metric.summary import per_category_ap
from vis_bench.eval.ovis.metric import OVIS_PHASES, OcclusionBreakdown
from vis_bench.eval.rle.count_lists import MARKER

AUTO = "auto"

#: the metrics scored on YouTube-VIS-layout files, each a parameterisation of the shared phases
METRIC_PHASES: dict[str, MetricPhases] = {
    p.name: p for p in (YTVIS_PHASES, OVIS_PHASES, LVVIS_PHASES)
}
#: how the metric is chosen: from the GT ("auto"), or forced (declared in eval/benchmarks.py)
METRICS = (AUTO, *(name for name in METRIC_PHASES if name in DECLARED))


def resolve_metric(gt: GroundTruth, metric: str) -> str:
    """ "ytvis", "ovis" or "lvvis": `auto` asks the declared dataset kinds read like this one,
    latest registered first, and takes the first that recognises the ground truth's (LV-VIS when a category
    carries an LV-VIS `partition` (0-3), else OVIS when the GT carries occlusion labels or has
    `annotations: null`, OVIS's layout for unlabelled splits, else YouTube-VIS).
    """
    if metric not in METRICS:
        raise InputError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    if metric == AUTO:
        return next(
            kind.metric
            for kind in detected_kinds()
            if kind.metric in METRIC_PHASES
            and kind.detects is not None
            and resolve(kind.detects)(gt)
        )
    if metric == YTVIS.name:
        check_annotated(gt)
    return metric


def check_annotated(gt: GroundTruth) -> None:
    """The YouTube-VIS metric's ground-truth check: a list of annotations."""
    if gt.annotations_null:
        raise InputError(
            "ground truth has `annotations: null` (a split without labels); the YouTube-VIS "
            "evaluator needs a list of annotations",
            path=gt.path,
            field="annotations",
        )


def _statistics(gt: GroundTruth, res: Results, metric: str) -> dict[str, float]:
    return evaluate_loaded(gt, res, metric=metric).stats


#: each metric's `compute` as declared: (ground truth, results) -> statistics
ytvis_statistics = partial(_statistics, metric=YTVIS.name)
ovis_statistics = partial(_statistics, metric=OVIS.name)
lvvis_statistics = partial(_statistics, metric=LVVIS.name)


@dataclass
class EvalResult:
    """Summary numbers plus the intermediate arrays, for reports and for tests.

    `stats` holds the 12 YouTube-VIS numbers (benchmarks.STAT_NAMES order), with the OVIS
    metric the 18 OVIS ones (benchmarks.OVIS_STAT_NAMES order), with the LV-VIS metric the 36
    LV-VIS ones (benchmarks.LVVIS_STAT_NAMES order). `precision` and `recall` are the
    YouTube-VIS-shaped arrays (all occlusions) either way, over every listed category;
    `occlusion` has the OVIS breakdown, `split` LV-VIS's base and novel categories.
    """

    stats: dict[str, float]
    per_category_ap: dict[int, float]
    category_names: dict[int, str]
    #: the precision and recall arrays as the metric accumulated them: over every listed
    #: category, or (LV-VIS) only over those with GT, the others being -1 throughout
    accumulated: Accumulated = field(repr=False)
    pairs: PairTable = field(repr=False)
    matches: Matches = field(repr=False)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase
    #: the official evaluators' warnings, one per (video, category) pair whose masks have zero
    #: union first (their count is the official one), then those of this implementation
    warnings: list[str] = field(default_factory=list)
    #: those (video, category) pairs with zero union
    zero_union: list[tuple[int, int]] = field(default_factory=list)
    #: what the official evaluators score without a word but a user should know (exact
    #: duplicate predictions, scores outside [0, 1], predictions over the 100 cap:
    #: eval/metric/result_checks.py, capped.py)
    notices: list[str] = field(default_factory=list)
    metric: str = "ytvis"  # "ytvis", "ovis" or "lvvis"
    occlusion: OcclusionBreakdown | None = field(default=None, repr=False)
    split: CategorySplit | None = None
    #: predictions scoring dropped or cut (counted, not changed: the numbers stay official)
    dropped: DroppedPredictions | None = None

    @property
    def cat_ids(self) -> list[int]:
        return [int(c) for c in self.pairs.cat_ids]

    @cached_property
    def precision(self) -> np.ndarray:
        """[T=10, R=101, K, A=4, M=3] over every listed category (-1 where undefined)."""
        return self._over_all_categories(self.accumulated.precision, 2)

    @cached_property
    def recall(self) -> np.ndarray:
        """[T, K, A, M] over every listed category (-1 where undefined)."""
        return self._over_all_categories(self.accumulated.recall, 1)

    def _over_all_categories(self, array: np.ndarray, axis: int) -> np.ndarray:
        """`array`, whose category axis holds `accumulated.cat_ids`, over `pairs.cat_ids`."""
        if np.array_equal(self.accumulated.cat_ids, self.pairs.cat_ids):
            return array
        shape = list(array.shape)
        shape[axis] = len(self.pairs.cat_ids)
        full = np.full(shape, -1.0)
        where = np.searchsorted(self.pairs.cat_ids, self.accumulated.cat_ids)
        index = [slice(None)] * len(shape)
        index[axis] = where
        full[tuple(index)] = array
        return full

    @property
    def video_ids(self) -> list[int]:
        return [int(v) for v in self.pairs.video_ids]

    def ious(self) -> dict[str, dict[str, list]]:
        """IoU matrices per `"video_id:category_id"` (rows: results by score, cols: GT)."""
        return self.pairs.ious_by_key()

    def printed_warnings(self) -> list[str]:
        """The warnings as `eval` prints them: the zero-union pairs in one line (predictions
        whose masks are another size than their video are counted in `dropped`), the others
        as they are, then the notices."""
        lines = []
        sizes_counted = self.dropped is not None and bool(self.dropped.mask_size)
        if self.zero_union and not sizes_counted:
            videos = len({v for v, _ in self.zero_union})
            lines.append(
                f"IoU set to 0 for {len(self.zero_union)} (video, category) pairs in {videos} "
                "videos whose masks have zero union: their mask sizes may not match the "
                "ground truth's (as the official evaluator warns, once per pair)"
            )
        return lines + self.warnings[len(self.zero_union) :] + self.notices

    def gt_avg_areas(self) -> dict[int, float]:
        """GT annotation id -> the mean area the area ranges used."""
        return {int(i): float(a) for i, a in zip(self.pairs.gt_id, self.pairs.gt_area, strict=True)}


def evaluate_loaded(
    gt: GroundTruth,
    res: Results,
    timings: dict[str, float] | None = None,
    metric: str = "auto",
) -> EvalResult:
    """Run evaluate, accumulate and summarize on loaded inputs; fills `timings` if given.

    metric: "auto" (LV-VIS when the categories carry `partition`, OVIS when the GT has
    occlusion labels), "ytvis", "ovis" or "lvvis".
    """
    timings = {} if timings is None else timings
    kind = resolve_metric(gt, metric)
    phases = METRIC_PHASES[kind]
    start = time.perf_counter()
    with paused_gc():
        phases.check_inputs(gt, res)
        pairs = compute_pairs(gt, res)
        phases.check_pairs(gt, res, pairs)
        matched = phases.match(gt, pairs)
    timings["evaluate"] = time.perf_counter() - start

    start = time.perf_counter()
    matches, acc, breakdown = phases.accumulate(gt, pairs, matched)
    timings["accumulate"] = time.perf_counter() - start

    start = time.perf_counter()
    stats = phases.summarize(acc, breakdown)
    per_cat = dict.fromkeys(gt.cat_ids, -1.0) | per_category_ap(acc)
    timings["summarize"] = time.perf_counter() - start

    warnings = [
        f"mask sizes in video {v} and category {c} may not match (zero union: IoU set to 0)"
        for v, c in pairs.zero_union
    ]
    warnings += non_finite_score_warnings(res)
    notices = [
        line
        for line in (
            duplicate_warning(duplicate_pairs(_predictions(res), _counts_reader(res)), len(res)),
            score_range_warning(res.score),
            cap_warning(gt, res),
        )
        if line is not None
    ]
    if gt.annotations_null:
        warnings.append(
            "the ground truth has `annotations: null` (a split without labels): every "
            "statistic is -1, as with the OVIS evaluator"
        )
    return EvalResult(
        stats=stats,
        per_category_ap=per_cat,
        category_names=dict(gt.cat_names),
        accumulated=acc,
        pairs=pairs,
        matches=matches,
        timings=timings,
        warnings=warnings,
        zero_union=[(int(v), int(c)) for v, c in pairs.zero_union],
        notices=notices,
        metric=kind,
        occlusion=breakdown if isinstance(breakdown, OcclusionBreakdown) else None,
        split=breakdown if isinstance(breakdown, CategorySplit) else None,
        dropped=find_dropped(gt, res),
    )


def _predictions(res: Results) -> list[tuple[int, int, list]]:
    return list(zip(res.video_of.tolist(), res.category_of.tolist(), res.frames, strict=True))


def _counts_reader(res: Results):
    """A frame's mask string: its `counts`, or (a located results text) its bytes in the text."""
    strings = res.strings
    if strings is None:
        return plain_counts

    def counts(seg: dict) -> object:
        k = seg.get(MARKER)
        if k is None:
            return seg.get("counts")
        return bytes(strings.raw[int(strings.starts[k]) : int(strings.ends[k])])

    return counts


def non_finite_score_warnings(res: Results) -> list[str]:
    """One warning per result whose score is NaN or infinite. The official semantics are kept
    (NumPy's sort places NaN after every number and +-inf at the ends, so such a result is
    ranked accordingly), but a NaN score almost always means a bug upstream."""
    bad = np.flatnonzero(~np.isfinite(res.score))
    return [
        f"result {int(i)} (video_id {int(res.video_of[i])}, category_id "
        f"{int(res.category_of[i])}) has score {res.score[i]}: scored as the official "
        "evaluator does, but check the model's output"
        for i in bad
    ]


def evaluate_files(
    gt_path: str | Path,
    results_path: str | Path,
    gt_cache_dir: str | Path | None = None,
    metric: str = "auto",
    loading: InputLoading | None = None,
) -> EvalResult:
    """Score a results.json against a YouTube-VIS or OVIS ground truth, as the official
    evaluators do.

    Raises InputError (naming file, entry and field) for unreadable input; an empty results list
    scores 0 wherever GT exists instead of crashing (documented deviation). With `gt_cache_dir`,
    the loaded GT is kept there (see gt_cache) so the next run skips parsing it. `metric`:
    "auto" (OVIS when the GT has occlusion labels), "ytvis" or "ovis". `loading`: the same
    files already being read (input_loading.py; started before this module was imported).
    """
    timings: dict[str, float] = {}
    # One pause for the whole run: per phase, the collector would re-scan everything loaded
    # so far each time it is switched back on, though nothing here forms reference cycles.
    with paused_gc():
        start = time.perf_counter()
        # both files are read on background threads (their compiled parts release the GIL);
        # a GT error surfaces before a results error, as in a sequential read
        if loading is None:
            loading = InputLoading(gt_path, results_path, gt_cache_dir)
        gt = loading.ground_truth()
        data, strings = loading.results()
        res = results_from_list(data, gt, str(results_path), strings)
        del data, strings, loading
        timings["load"] = time.perf_counter() - start
        result = evaluate_loaded(gt, res, timings, metric)
        del gt, res  # freed now, so the collector, once back on, does not scan them
    timings["total"] = sum(timings[k] for k in ("load", "evaluate", "accumulate", "summarize"))
    return result


def evaluate_predictions(
    gt: GroundTruth, predictions: list[dict], metric: str = "auto"
) -> EvalResult:
    """Score predictions still in memory (results.json layout) against a loaded GT.

    For sweeps: the GT is loaded once and no JSON round trip is needed per run.
    """
    timings: dict[str, float] = {}
    with paused_gc():
        start = time.perf_counter()
        res = results_from_list(predictions, gt)
        timings["load"] = time.perf_counter() - start
        result = evaluate_loaded(gt, res, timings, metric)
        del res  # freed now, so the collector, once back on, does not scan it
    timings["total"] = sum(timings[k] for k in ("load", "evaluate", "accumulate", "summarize"))
    return result
