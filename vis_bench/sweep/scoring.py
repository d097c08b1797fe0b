"""Scoring a sweep's cells: the ground truth is parsed once per sweep, each cell's predictions in
memory (the metric's fast GT loader, then `evaluate_loaded` per cell).

Besides the 12 (or OVIS 18) summary numbers, a scored cell gets what "is this difference real?"
needs: bootstrap intervals of AP, AP50, AP75 and AR10 over videos (`measure.bootstrap`
replicates, seeded), re-accumulated from the one matching the evaluation did, and that matching
itself (`VideoMatches`), written as `video_matches.json` beside the cell's `results.json` so
reports and `regress --tolerance auto` can compare two cells on the same resampled videos
without re-scoring them. The file holds a few numbers per predicted track (about 30 bytes), too
many for a line of records.jsonl on a real split (thousands of results per cell).

The replicate values themselves go to `bootstrap_replicates.npz` (B float64 per statistic): the
draws depend only on the number of videos, B and the seed, so two cells of one sweep were
resampled identically, and their paired difference is the difference of their stored values;
reports then pair cells without re-accumulating anything.

A dataset config asking for them adds YouTube-VIS 2022's figures (a `ytvis2022` dataset: its
short and long sets scored apart, eval/stats/ytvis2022.py; the figures join the metrics, each
set's statistics go to `video_sets`) and every line per group of categories (`category_groups`).
"""

from __future__ import annotations

import dataclasses
import io
import json
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vis_bench.atomic import write_atomic
from vis_bench.errors import InputError
from vis_bench.eval.analysis.errors import error_breakdown
from vis_bench.eval.api import AUTO, METRIC_PHASES, evaluate_loaded
from vis_bench.eval.benchmarks import BURST, KINDS
from vis_bench.eval.metric.dropped import DroppedPredictions
from vis_bench.eval.metric.loading import (
    GroundTruth,
    load_ground_truth,
    paused_gc,
    results_from_list,
)
from vis_bench.eval.stats.bootstrap import DEFAULT_CONFIDENCE, bootstrap
from vis_bench.eval.stats.subset import restrict_ground_truth, restrict_to_categories
from vis_bench.eval.stats.video_matches import VideoMatches
from vis_bench.formats.results_file import read_results
from vis_bench.sweep.burst_scoring import BurstScoring

#: the per-video matching of a scored cell, beside its results.json
VIDEO_MATCHES_FILE = "video_matches.json"
#: the bootstrap replicate values of a scored cell (one array per statistic), beside it too
REPLICATES_FILE = "bootstrap_replicates.npz"


@dataclass
class CellScore:
    """What scoring one cell gives its record."""

    #: the summary numbers as fractions (None where the official metric gives -1)
    metrics: dict[str, float | None] = field(default_factory=dict)
    #: `{"AP_ci": [low, high], ...}` (fractions); empty when the bootstrap is off
    intervals: dict[str, list[float] | None] = field(default_factory=dict)
    #: replicates, seed, confidence, unit, method and the seconds the intervals took
    bootstrap: dict[str, Any] | None = None
    #: where the per-video matching was written (None: nothing scored)
    video_matches_path: str | None = None
    #: AP per category, by category name (None where the category has no ground truth)
    per_category_ap: dict[str, float | None] | None = None
    #: AP50 and what fixing each error type alone would add to it (eval/analysis/errors.py)
    error_breakdown: dict[str, Any] | None = None
    #: YouTube-VIS 2022: each set's statistics and videos (`{"S": {...}, "L": {...}}`)
    video_sets: dict[str, Any] | None = None
    #: every summary line per group of categories (`{group: {"AP": ..., ...}}`, fractions)
    category_groups: dict[str, dict[str, float | None]] | None = None
    #: what the metric dropped or cut of the cell's predictions (None: it scored them all)
    dropped: DroppedPredictions | None = None
    #: scored on part of the vocabulary (the categories the model names): (scored, listed)
    vocabulary: tuple[int, int] | None = None


class Scorer:
    """AP/AR and their intervals of cells against one ground truth (None: nothing to score)."""

    def __init__(
        self,
        gt_path: Path | None,
        replicates: int = 0,
        seed: int = 0,
        dataset: Any = None,
        video_ids: list[int] | None = None,
        config_path: str | None = None,
    ):
        self.gt_path = gt_path
        #: the config file the dataset came from (named in errors about its keys)
        self.config_path = config_path or None
        #: the videos the cells predict when only some are (`dataset.max_videos`): the ground
        #: truth is restricted to them, so the videos never run are not scored as missed
        self.video_ids = video_ids
        self.replicates = replicates
        self.seed = seed
        #: the dataset config (config.DatasetConfig): its 2022 sets and category groups
        self.dataset = dataset
        self._gt: GroundTruth | None = None
        self._whole: GroundTruth | None = None
        self._sets: tuple[Any, Any] | None = None
        self._groups: dict[str, list[int]] | None = None
        #: the dataset's declared kind (eval/benchmarks.py): how its ground truth is read and
        #: checked, and the metric it is scored with (None: synthetic or custom data, `auto`)
        kind_name = getattr(dataset, "kind", None)
        self.kind = KINDS[kind_name] if kind_name in KINDS else None
        self.metric = (
            self.kind.metric
            if self.kind is not None and self.kind.metric in METRIC_PHASES
            else AUTO
        )
        #: a BURST dataset's cells are scored by the BURST metric (sweep/burst_scoring.py)
        self.burst = (
            BurstScoring(gt_path, dataset, video_ids)
            if gt_path is not None and self.kind is not None and self.kind.metric == BURST.name
            else None
        )
        if gt_path is not None and dataset is not None:
            _check_named_files(dataset)
            if self.kind is not None and self.kind.check is not None:
                self._ground_truth()  # its checks said before any cell runs, not after each
            if getattr(dataset, "short_videos", None) is not None:
                self._video_sets()  # read and checked before any cell runs, not after each

    def score(
        self,
        results_path: Path,
        predictions: list[dict] | None = None,
        categories: Collection[int] | None = None,
    ) -> CellScore:
        """Score `results_path` (read here, once; or `predictions`, its content already in
        memory), on the dataset `categories` only where given (those a model mapped by name can
        predict); the matching goes to `video_matches.json` in its folder."""
        if self.gt_path is None:
            return CellScore()
        if self.burst is not None:
            stats, vocabulary = self.burst.statistics(results_path, predictions, categories)
            return CellScore(stats, vocabulary=vocabulary)
        gt = self._ground_truth()
        if predictions is None:
            predictions = read_results(results_path)
        with paused_gc():
            res = results_from_list(predictions, gt)
        vocabulary = None
        if categories is not None and set(gt.cat_ids) - set(categories):
            listed = len(gt.cat_ids)
            gt, res = restrict_to_categories(gt, res, categories)
            vocabulary = (len(gt.cat_ids), listed)
        result = evaluate_loaded(gt, res, metric=self.metric)
        metrics = {name: _fraction(value) for name, value in result.stats.items()}
        matches = VideoMatches.from_pairs(result.pairs, result.matches)
        matches_path = Path(results_path).with_name(VIDEO_MATCHES_FILE)
        write_atomic(matches_path, json.dumps(matches.to_dict(), separators=(",", ":")))
        score = CellScore(
            metrics,
            video_matches_path=str(matches_path),
            per_category_ap={
                result.category_names.get(cid, str(cid)): (None if ap < 0 else float(ap))
                for cid, ap in result.per_category_ap.items()
            },
            error_breakdown=_errors(gt, res),
            dropped=result.dropped if result.dropped is not None and result.dropped.any else None,
            vocabulary=vocabulary,
        )
        self._dataset_scores(score, res, result, gt.cat_ids if vocabulary else None)
        if self.replicates > 0:
            start = time.perf_counter()
            boot = bootstrap(matches, self.replicates, self.seed, DEFAULT_CONFIDENCE)
            seconds = time.perf_counter() - start
            values_path = Path(results_path).with_name(REPLICATES_FILE)
            buffer = io.BytesIO()
            np.savez(buffer, **boot.values)
            write_atomic(values_path, buffer.getvalue())
            score.intervals = boot.stats_entries()
            score.bootstrap = {
                "replicates": self.replicates,
                "seed": self.seed,
                "confidence": DEFAULT_CONFIDENCE,
                "unit": "video",
                "method": "percentile",
                "seconds": round(seconds, 4),
                "values_path": str(values_path),
            }
        return score

    def _ground_truth(self) -> GroundTruth:
        """The ground truth cells are scored against, parsed once (the videos run only)."""
        if self._gt is None:
            self._gt = (
                load_ground_truth(self.gt_path)
                if self.kind is None
                else self.kind.read(self.gt_path)
            )
            if self.video_ids is not None:
                self._whole = self._gt
                self._gt = restrict_ground_truth(self._gt, self.video_ids)
        return self._gt

    def _video_sets(self) -> tuple[Any, Any]:
        """YouTube-VIS 2022's short and long sets, each restricted to the videos run; a video
        in both, in neither, listed twice or not in the ground truth is an InputError naming
        the key (the 2022 figures would silently score it twice or never)."""
        if self._sets is None:
            from vis_bench.eval.stats.ytvis2022 import read_video_set
            from vis_bench.sweep.video_sets import check_video_sets

            self._ground_truth()
            whole = self._whole if self._whole is not None else self._gt
            dataset = self.dataset
            try:
                sets = (
                    read_video_set(dataset.short_videos, whole, "S", "dataset.short_videos"),
                    read_video_set(dataset.long_videos, whole, "L", "dataset.long_videos"),
                )
                check_video_sets(dataset, whole, sets)
            except InputError as err:
                if err.path is not None or self.config_path is None:
                    raise
                # a list in the config: the config file is where to fix it
                raise InputError(err.message, path=self.config_path, field=err.field) from None
            if self.video_ids is not None:  # each set's part of the videos run
                sets = tuple(
                    dataclasses.replace(s, gt=restrict_ground_truth(s.gt, self.video_ids))
                    for s in sets
                )
            self._sets = sets
        return self._sets

    def _dataset_scores(
        self, score: CellScore, res: Any, result: Any, categories: list[int] | None
    ) -> None:
        """What the dataset config asks for beyond the metric: the 2022 figures and sets,
        every line per category group (on `categories` only where given, as the metric)."""
        dataset = self.dataset
        if getattr(dataset, "short_videos", None) is not None and self._gt is not None:
            from vis_bench.eval.stats.ytvis2022 import evaluate_long_short

            gt, video_sets = self._gt, self._video_sets()
            if categories is not None:
                gt = restrict_to_categories(gt, res, categories)[0]
                video_sets = tuple(
                    dataclasses.replace(s, gt=restrict_to_categories(s.gt, res, categories)[0])
                    for s in video_sets
                )
            sets = evaluate_long_short(gt, res, *video_sets)
            score.metrics.update({k: _fraction(v) for k, v in sets.figures.items()})
            score.video_sets = {
                suffix: {
                    "videos": len(sets.video_ids[suffix]),
                    **{k: _fraction(v) for k, v in sets.stats(suffix).items()},
                }
                for suffix in sets.sets
            }
        if getattr(dataset, "category_groups", None) is not None:
            from vis_bench.eval.stats.category_groups import group_stats, read_category_groups

            if self._groups is None:
                self._groups = read_category_groups(
                    dataset.category_groups, self.gt_path, result.cat_ids, "dataset.category_groups"
                )
            score.category_groups = {
                group: {k: _fraction(v) for k, v in stats.items()}
                for group, stats in group_stats(result, self._groups).items()
            }


def _check_named_files(dataset: Any) -> None:
    """The files the dataset's 2022 sets and category groups name exist: said before any cell
    runs, not by every cell's scoring after its inference."""
    named = [(key, getattr(dataset, key, None)) for key in ("short_videos", "long_videos")] + [
        ("category_groups", getattr(dataset, "category_groups", None))
    ]
    for key, value in named:
        if not isinstance(value, str) or value.lstrip().startswith("[") or Path(value).is_file():
            continue
        if key == "category_groups" and not value.lower().endswith(".json"):
            continue  # a field of the ground truth's categories
        raise InputError(
            "file not found; give an existing file (or, for a set, a list of video ids)",
            path=value,
            field=f"dataset.{key}",
        )


def _fraction(value: float) -> float | None:
    """A statistic as records keep it: None where the metric gives -1."""
    return None if value < 0 else float(value)


def _errors(gt: GroundTruth, res: Any) -> dict[str, Any] | None:
    """The cell's error breakdown, without the per-prediction list (that is for `errors`)."""
    if len(res) == 0:
        return None
    breakdown = error_breakdown(gt, res)
    return {"ap50": breakdown.ap50, "gains": breakdown.gains, "counts": breakdown.counts}
