"""Scoring a sweep's cells: the ground truth is parsed once per sweep, each cell's predictions in
memory (the metric's fast GT loader, then `evaluate_predictions` per cell)."""

from __future__ import annotations

from pathlib import Path

import orjson

from vis_bench.eval.api import evaluate_predictions
from vis_bench.eval.loading import GroundTruth, load_ground_truth


class Scorer:
    """AP/AR of cells against one ground truth (None: nothing to score against)."""

    def __init__(self, gt_path: Path | None):
        self.gt_path = gt_path
        self._gt: GroundTruth | None = None

    def score(self, results_path: Path) -> dict[str, float | None]:
        """The 12 summary numbers as fractions (None where the official metric gives -1)."""
        if self.gt_path is None:
            return {}
        if self._gt is None:
            self._gt = load_ground_truth(self.gt_path)
        predictions = orjson.loads(Path(results_path).read_bytes())
        result = evaluate_predictions(self._gt, predictions)
        return {name: (None if value < 0 else float(value)) for name, value in result.stats.items()}
