"""Fixed parameters of the YouTube-VIS metric, as the official evaluator defines them.

The thresholds are built with `numpy.linspace` on purpose: its doubles (0.8999999999999999 for
the 9th IoU threshold, exact literals elsewhere) decide whether an IoU of exactly 0.6/0.9/0.95
matches, and the summary finds the 0.5/0.75 slices by exact equality.
"""

from __future__ import annotations

import numpy as np

# the statistics' names are declared with the metrics (eval/benchmarks.py)
from vis_bench.eval.benchmarks import OVIS_STAT_NAMES as OVIS_STAT_NAMES
from vis_bench.eval.benchmarks import STAT_NAMES as STAT_NAMES

IOU_THRESHOLDS: np.ndarray = np.linspace(0.5, 0.95, 10)
RECALL_THRESHOLDS: np.ndarray = np.linspace(0.0, 1.0, 101)
MAX_DETS: tuple[int, int, int] = (1, 10, 100)
# Area ranges on a track's mean per-frame area; both ends inclusive (ranges overlap at 128², 256²).
AREA_RANGES: tuple[tuple[float, float], ...] = (
    (0.0, 1e10),
    (0.0, 128.0**2),
    (128.0**2, 256.0**2),
    (256.0**2, 1e10),
)
AREA_LABELS: tuple[str, ...] = ("all", "small", "medium", "large")
# OVIS: occlusion ranges on a GT track's occlusion score (formats/occlusion.py); both ends inclusive,
# so a score of exactly 0.25 is light and medium, 0.5 medium and heavy. "all" ignores nothing.
OCCLUSION_RANGES: tuple[tuple[float, float], ...] = (
    (0.0, 1.0),
    (0.0, 0.25),
    (0.25, 0.5),
    (0.5, 1.0),
)
OCCLUSION_RANGE_LABELS: tuple[str, ...] = ("all", "light", "medium", "heavy")
# The best IoU a match starts from is min(threshold, 1 - 1e-10), as in COCO.
MATCH_CEILING = 1 - 1e-10
