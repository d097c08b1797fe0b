"""Scoring a sweep's cells on a BURST dataset (`dataset.kind: burst`): HOTA and track AP.

A model writes YouTube-VIS-format results on the videos of the sequences' annotated frames
(eval/burst/as_videos.py); each cell's results are converted to BURST predictions with the
dataset's `score_threshold` and `remove_overlap` (the rule and settings of `eval --metric burst`)
and scored by the BURST metric against the ground truth parsed once per sweep. The metric's
numbers are percentages, as declared (eval/benchmarks.py), so records hold them as the toolkit
prints them; the settings are in every record's dataset identity (inference/sources.py). A
model mapped by name to part of the classes is scored on those (`dataset.vocabulary: named`).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from vis_bench.eval.benchmarks import BURST
from vis_bench.eval.burst.convert import ConversionSettings, ytvis_to_burst
from vis_bench.eval.burst.metric import evaluated_classes
from vis_bench.eval.burst.reader import GroundTruth, read_ground_truth
from vis_bench.formats.results_file import read_results
from vis_bench.jsonio import read_json


def conversion_settings(dataset: Any) -> ConversionSettings:
    """The dataset config's conversion settings (config.CONVERSION_KEYS; unset: none)."""
    threshold = getattr(dataset, "score_threshold", None)
    return ConversionSettings(
        score_threshold=None if threshold is None else float(threshold),
        remove_overlap=bool(getattr(dataset, "remove_overlap", False)),
    )


class BurstScoring:
    """The BURST metric of cells against one BURST ground truth (its file, or the folder holding
    `all_classes.json`), on the videos run only (`video_ids`, from `dataset.max_videos`)."""

    def __init__(self, gt_path: Path, dataset: Any, video_ids: list[int] | None = None):
        path = Path(gt_path)
        self.gt_path = path / "all_classes.json" if path.is_dir() else path
        self.settings = conversion_settings(dataset)
        data = read_json(self.gt_path, "ground truth")
        read_ground_truth(data, self.gt_path)  # its errors said before any cell runs
        if video_ids is not None and isinstance(data, dict):
            kept = set(video_ids)
            data = {**data, "sequences": [s for s in data["sequences"] if s.get("id") in kept]}
        self.data = data

    def statistics(
        self,
        results_path: Path,
        predictions: list[dict] | None = None,
        categories: Collection[int] | None = None,
    ) -> tuple[dict[str, float | None], tuple[int, int] | None]:
        """The BURST statistics of one cell's results (read here unless given), on the classes
        `categories` only where given (those a model mapped by name can predict), and then the
        classes scored and those with GT (None: every class scored)."""
        if predictions is None:
            predictions = read_results(results_path)
        converted = ytvis_to_burst(predictions, self.data, self.settings, str(results_path))
        # a fresh ground truth per cell: the metric attaches the predictions to it
        gt = read_ground_truth(self.data, self.gt_path)
        vocabulary = None if categories is None else named_classes_only(gt, categories)
        return BURST.computed(gt, converted), vocabulary


def named_classes_only(gt: GroundTruth, categories: Collection[int]) -> tuple[int, int] | None:
    """Drop the GT tracks of every class outside `categories` (merged ids as their parent), so
    the classes a model cannot name are not scored as missed; (scored, with GT) classes, None
    when it can name them all."""
    listed = len(evaluated_classes(gt))
    keep = {gt.categories.parent(int(c)) for c in categories}
    for seq in gt.sequences:
        seq.gt_tracks = [track for track in seq.gt_tracks if track.category in keep]
        by_image = {
            i: [d for d in dets if d.category in keep] for i, dets in seq.gt_by_image.items()
        }
        seq.gt_by_image = {i: dets for i, dets in by_image.items() if dets}
    scored = len(evaluated_classes(gt))
    return (scored, listed) if scored < listed else None
