"""Sweep records of cells scored by the sweep's own Scorer on small in-memory cases.

Each record has what a real run's record has for reports: the metrics, their bootstrap intervals,
the bootstrap settings and the per-video matching file beside the cell's results.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers.vis_cases import public
from vis_bench.sweep.scoring import Scorer


class ScoredCells:
    """Scores results lists against one GT (written once under `folder`) into records."""

    def __init__(self, folder: Path, gt: dict, replicates: int = 200, dataset: str = "d"):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        gt_path = self.folder / "gt.json"
        gt_path.write_text(json.dumps(public(gt)))
        self.scorer = Scorer(gt_path, replicates=replicates, seed=0)
        self.dataset = dataset
        self._scored: dict[tuple[str, int], Any] = {}

    def record(self, method: str, results: list[dict], clip="all", **fields) -> dict:
        """A record of `results` scored as the cell (method, clip, checkpoint); a cell scored
        before with the same results list is not scored again."""
        key = f"{method}-{clip}-{fields.get('checkpoint', '')}"
        if (key, id(results)) not in self._scored:
            cell = self.folder / f"cell{len(self._scored)}"
            cell.mkdir()
            (cell / "results.json").write_text(json.dumps(results))
            self._scored[key, id(results)] = self.scorer.score(cell / "results.json")
        score = self._scored[key, id(results)]
        return {
            "key": key,
            "status": "ok",
            "method": method,
            "checkpoint": None,
            "options": {},
            "model_options": {},
            "dataset": self.dataset,
            "dataset_label": f"test data {self.dataset}",
            "clip_length": clip,
            "stride": None if clip == "all" else max(1, int(clip) // 2),
            "resolution": None,
            "device": "cpu",
            "dtype": "fp32",
            "notes": "",
            "results_path": str(Path(score.video_matches_path).with_name("results.json")),
            **score.metrics,
            **score.intervals,
            "bootstrap": score.bootstrap,
            "video_matches_path": score.video_matches_path,
            **fields,
        }
