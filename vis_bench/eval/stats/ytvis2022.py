"""YouTube-VIS 2022: one results file scored on the short and on the long videos apart.

The 2022 validation set is the 2021 videos plus long videos. Its scoring program (the
`utils/yt2022_evaluate.py` that recent methods' repositories publish; see the README of
tests/fixtures/golden/ytvis2022_eval/) loads the results against the whole ground truth, then
runs the ordinary YouTube-VIS evaluator twice, once on the short set's ground truth and once on
the long set's. Each run takes its video ids (and categories) from its own
ground truth, so the predictions for the other set's videos are simply not looked at. It reports
`mAP = (mAP_S + mAP_L) / 2` and, per set, AP, AP50, AP75 (100 results), AR1 and AR10 under its own
names (`FIGURE_NAMES`). Papers now often quote AP_L alone.

Here the whole ground truth and the results are read once; each set is the ground truth a set
file gives (the challenge's `gt_short.json`, `gt_long.json`) or the whole ground truth restricted
to a list of video ids, and the ordinary fast evaluator runs on it with the results of its
videos (eval/stats/subset.py). Numbers equal the scoring program's on every golden case.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vis_bench.errors import InputError
from vis_bench.eval.api import EvalResult, evaluate_loaded, non_finite_score_warnings

# the figures, their sets and names are declared with the metric
from vis_bench.eval.benchmarks import AP, FIGURE_NAMES, MEAN_AP, SET_FIGURES
from vis_bench.eval.metric.dropped import DroppedPredictions, find_dropped
from vis_bench.eval.metric.loading import GroundTruth, Results, load_ground_truth, paused_gc
from vis_bench.eval.stats.subset import restrict_ground_truth, select_results
from vis_bench.jsonio import read_json

SET_LABELS = {"S": "short videos", "L": "long videos"}


@dataclass
class VideoSet:
    """One set's ground truth and where it came from (a file, or ids out of the whole GT)."""

    suffix: str  # "S" or "L"
    gt: GroundTruth
    source: str

    @property
    def label(self) -> str:
        return SET_LABELS[self.suffix]


@dataclass
class LongShortResult:
    """The 11 figures, and each set's whole evaluation (its 12 statistics, arrays, matching)."""

    figures: dict[str, float]
    sets: dict[str, EvalResult]  # by suffix
    video_ids: dict[str, list[int]]  # by suffix, ascending
    #: what scoring against the whole GT drops or cuts (once, not per set)
    dropped: DroppedPredictions | None = None
    warnings: list[str] = field(default_factory=list)

    def stats(self, suffix: str) -> dict[str, float]:
        return self.sets[suffix].stats


def figures_from(short: dict[str, float], long: dict[str, float]) -> dict[str, float]:
    """The scoring program's figures from each set's statistics (-1 stays -1 where a set has
    no ground truth; mAP is then their plain mean all the same, as the program computes it)."""
    figures = {MEAN_AP: (short[AP] + long[AP]) / 2}
    for suffix, stats in (("S", short), ("L", long)):
        for name, stat in SET_FIGURES:
            figures[f"{name}_{suffix}"] = stats[stat]
    assert tuple(figures) == FIGURE_NAMES
    return figures


def read_video_set(source: Any, whole: GroundTruth, suffix: str, what: str) -> VideoSet:
    """A set from a ground-truth file (used as it is: its videos, categories and tracks), a file
    holding a JSON list of video ids, or such a list itself (a list, or its JSON text, e.g.
    `[3, 7]` on the command line): the whole GT restricted to them.
    `what` names the option or config key in errors. Videos the whole GT lacks are an error."""
    if isinstance(source, (list, tuple)):
        return VideoSet(suffix, _listed_set(list(source), whole, None, what), what)
    if isinstance(source, str) and source.lstrip().startswith("[") and not Path(source).exists():
        try:  # the list itself, given on the command line
            ids = json.loads(source)
        except json.JSONDecodeError as err:
            raise InputError(f"not a JSON list of video ids: {err}", field=what) from None
        return VideoSet(suffix, _listed_set(ids, whole, None, what), what)
    path = Path(source)
    if not path.is_file():
        raise InputError(
            "not found: give a ground-truth file of the set (gt_short.json / gt_long.json) or "
            "a JSON list of its video ids",
            path=str(path),
            field=what,
        )
    if _starts_with_list(path):
        ids = read_json(path, f"{what} video list")
        return VideoSet(suffix, _listed_set(ids, whole, str(path), what), str(path))
    gt = load_ground_truth(path)
    unknown = sorted(set(gt.video_ids) - set(whole.video_ids))
    if unknown:
        raise InputError(
            f"{len(unknown)} of its videos are not in the whole ground truth {whole.path} "
            f"(ids {_ids_text(unknown)}); give the set file of the same split",
            path=str(path),
            field="videos",
        )
    return VideoSet(suffix, gt, str(path))


def _starts_with_list(path: Path) -> bool:
    """Whether a JSON file's first value is a list (of video ids) rather than an object."""
    with open(path, "rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"[")


def _listed_set(ids: Any, whole: GroundTruth, source: str | None, what: str) -> GroundTruth:
    """The whole GT restricted to `ids` (`source`: the file that listed them; None for a list
    given in the config or on the command line, which `what` names)."""
    if not isinstance(ids, list) or not ids:
        raise InputError(
            "a set of video ids must be a non-empty JSON list of integers", path=source, field=what
        )
    bad = [v for v in ids if isinstance(v, bool) or not isinstance(v, int)]
    if bad:
        raise InputError(
            f"video ids must be integers, got {bad[:5]!r}; list the ids of the ground truth's "
            "`videos`",
            path=source,
            field=what,
        )
    unknown = sorted(set(ids) - set(whole.video_ids))
    if unknown:
        raise InputError(
            f"{len(unknown)} video ids are not in the ground truth {whole.path}: "
            f"{_ids_text(unknown)}",
            path=source,
            field=what,
        )
    return restrict_ground_truth(whole, ids)


def _ids_text(ids: list[int], shown: int = 8) -> str:
    text = ", ".join(map(str, ids[:shown]))
    return text if len(ids) <= shown else f"{text} and {len(ids) - shown} more"


def set_warnings(whole: GroundTruth, short: VideoSet, long: VideoSet) -> list[str]:
    """Videos in both sets, or in neither (their predictions are then never scored)."""
    both = sorted(set(short.gt.video_ids) & set(long.gt.video_ids))
    neither = sorted(set(whole.video_ids) - set(short.gt.video_ids) - set(long.gt.video_ids))
    warnings = []
    if both:
        warnings.append(
            f"{len(both)} videos are in both the short and the long set (ids "
            f"{_ids_text(both)}); each set scores them"
        )
    if neither:
        warnings.append(
            f"{len(neither)} videos of the ground truth are in neither set (ids "
            f"{_ids_text(neither)}); their predictions are not scored"
        )
    return warnings


def results_of(res: Results, video_ids: list[int]) -> Results:
    """The results of these videos, in file order (so score ties keep the official order)."""
    return select_results(res, np.flatnonzero(np.isin(res.video_of, video_ids)))


def evaluate_long_short(
    whole: GroundTruth, res: Results, short: VideoSet, long: VideoSet
) -> LongShortResult:
    """Score `res` (loaded against the whole GT) on each set, as the scoring program does."""
    sets: dict[str, EvalResult] = {}
    warnings = set_warnings(whole, short, long)
    with paused_gc():
        for video_set in (short, long):
            own = results_of(res, video_set.gt.video_ids)
            result = evaluate_loaded(video_set.gt, own, metric="ytvis")
            sets[video_set.suffix] = result
            said = set(non_finite_score_warnings(own))  # said once below, for the whole file
            warnings += [f"{video_set.label}: {w}" for w in result.warnings if w not in said]
    warnings += non_finite_score_warnings(res)
    return LongShortResult(
        figures=figures_from(sets["S"].stats, sets["L"].stats),
        sets=sets,
        video_ids={s.suffix: list(s.gt.video_ids) for s in (short, long)},
        dropped=find_dropped(whole, res),
        warnings=warnings,
    )


def set_statistics(
    ground_truth: tuple[GroundTruth, VideoSet, VideoSet], res: Results
) -> dict[str, float]:
    """The YouTube-VIS 2022 metric as the registry computes it: the 12 numbers over all videos
    and the scoring program's 11 figures, for (the whole GT, its short set, its long set)."""
    whole, short, long = ground_truth
    stats = evaluate_loaded(whole, res, metric="ytvis").stats
    return stats | evaluate_long_short(whole, res, short, long).figures


def evaluate_long_short_files(
    gt_path: str | Path,
    results_path: str | Path,
    short: Any,
    long: Any,
    gt_cache_dir: str | Path | None = None,
) -> LongShortResult:
    """The scoring program on files: `short` and `long` are each a set's ground-truth file, a
    file holding a JSON list of video ids, or such a list."""
    from vis_bench.eval.input_loading import InputLoading
    from vis_bench.eval.metric.loading import results_from_list

    loading = InputLoading(gt_path, results_path, gt_cache_dir)
    whole = loading.ground_truth()
    data, strings = loading.results()
    with paused_gc():
        res = results_from_list(data, whole, str(results_path), strings)
    sets = (
        read_video_set(short, whole, "S", "--short-videos"),
        read_video_set(long, whole, "L", "--long-videos"),
    )
    return evaluate_long_short(whole, res, *sets)
