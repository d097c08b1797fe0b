"""HOTA, DetA, AssA and LocA as TrackEval computes them for YouTube-VIS (optional extra).

Uses the `trackeval` package itself (PyPI `trackeval`, the TrackEval code of J. Luiten et al.,
maintained for numpy 2; install with `pip install vis-bench[tracking]`). TrackEval's `YouTubeVIS`
dataset reads a GT folder and a tracker folder from disk; `InMemoryYouTubeVIS` below gives it our
loaded GT and results instead (masks already compressed RLE, track areas from the GT `areas`
field as TrackEval computes them), and TrackEval's own `Evaluator` does the rest: per video and
class, HOTA on the frames' mask IoUs; combined over videos per class; then over classes, both
class-averaged (every GT category, empty ones included, as TrackEval does for YouTube-VIS) and
detection-averaged. Reported numbers are TrackEval's summary values: means over its 19 alpha
thresholds, as fractions.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

import numpy as np

from vis_bench.errors import VisBenchError
from vis_bench.eval.metric.loading import GroundTruth, Results

TRACKING_METRICS: tuple[str, ...] = ("HOTA", "DetA", "AssA", "LocA")
_TRACKER = "results"
COMBINED = {"class_averaged": "cls_comb_cls_av", "detection_averaged": "cls_comb_det_av"}


class TrackingUnavailable(VisBenchError):
    """The optional trackeval package is not installed."""


def _trackeval():
    try:
        import trackeval
    except ImportError:
        raise TrackingUnavailable(
            "tracking metrics need the optional trackeval package: pip install 'vis-bench[tracking]'"
        ) from None
    return trackeval


def video_lengths(gt: GroundTruth, res: Results) -> dict[int, int]:
    """Frames per video: `length` (or file names) of the GT, else its longest frame list."""
    longest: dict[int, int] = {}
    for video, frames in [*zip(gt.video_of.tolist(), gt.frames, strict=True)] + [
        *zip(res.video_of.tolist(), res.frames, strict=True)
    ]:
        longest[video] = max(longest.get(video, 1), len(frames))
    return {v: int(gt.video_length.get(v) or longest.get(v, 1)) for v in gt.video_ids}


def _padded(frames: list, length: int) -> list:
    """Exactly `length` entries: TrackEval indexes every frame of the video."""
    return (list(frames) + [None] * length)[:length]


def _gt_data(gt: GroundTruth, lengths: dict[int, int]) -> dict[str, Any]:
    """TrackEval's YouTube-VIS GT dict, after its own preparation step (RLE, mean track area)."""
    annotations = []
    for k in range(len(gt.ann_ids)):
        video = int(gt.video_of[k])
        frames = _padded(gt.frames[k], lengths[video])
        annotations.append(
            {
                "id": int(gt.ann_ids[k]),
                "video_id": video,
                "category_id": int(gt.category_of[k]),
                "iscrowd": int(gt.crowd[k]),
                "segmentations": frames,
                "area": float(gt.avg_area[k]),
            }
        )
    return {
        "videos": [{"id": v} for v in gt.video_ids],
        "categories": [{"id": c, "name": str(c)} for c in gt.cat_ids],
        "annotations": annotations,
    }


def _tracker_data(res: Results, lengths: dict[int, int]) -> list[dict[str, Any]]:
    out = []
    for i in range(len(res)):
        video = int(res.video_of[i])
        frames = _padded(res.frames[i], lengths[video])
        out.append(
            {
                "video_id": video,
                "category_id": int(res.category_of[i]),
                "score": float(res.score[i]),
                "segmentations": frames,
            }
        )
    return out


def in_memory_dataset(gt: GroundTruth, res: Results):
    """A TrackEval `YouTubeVIS` dataset over loaded data (no files read or written)."""
    trackeval = _trackeval()
    lengths = video_lengths(gt, res)

    class InMemoryYouTubeVIS(trackeval.datasets.YouTubeVIS):
        def __init__(self) -> None:  # replaces the file-reading constructor, same attributes
            trackeval.datasets._base_dataset._BaseDataset.__init__(self)
            self.config = self.get_default_dataset_config()
            self.config.update({"PRINT_CONFIG": False, "OUTPUT_FOLDER": ""})
            self.gt_data = _gt_data(gt, lengths)
            self.use_super_categories = False
            self.should_classes_combine = True
            self.output_fol, self.output_sub_fol, self.tracker_sub_fol = "", "", ""
            self.valid_classes = [c["name"] for c in self.gt_data["categories"]]
            self.class_list = list(self.valid_classes)
            self.class_name_to_class_id = {c["name"]: c["id"] for c in self.gt_data["categories"]}
            self.seq_list = [str(v) for v in gt.video_ids]
            self.seq_name_to_seq_id = {str(v): v for v in gt.video_ids}
            self.seq_lengths = dict(lengths)
            self.tracker_list = [_TRACKER]
            self.tracker_to_disp = {_TRACKER: _TRACKER}
            self.global_tid_counter = 0
            self.tracker_data = {_TRACKER: _tracker_data(res, lengths)}

    return InMemoryYouTubeVIS()


def run_trackeval(dataset, metric_names: tuple[str, ...] = ("HOTA",)) -> dict[str, Any]:
    """TrackEval's Evaluator on one dataset, quietly; its result dict for our one tracker."""
    trackeval = _trackeval()
    config = trackeval.Evaluator.get_default_eval_config()
    config.update(
        {
            "PRINT_RESULTS": False,
            "PRINT_CONFIG": False,
            "TIME_PROGRESS": False,
            "OUTPUT_SUMMARY": False,
            "OUTPUT_DETAILED": False,
            "PLOT_CURVES": False,
            "LOG_ON_ERROR": None,
            "BREAK_ON_ERROR": True,
        }
    )
    metrics = [getattr(trackeval.metrics, name)({"PRINT_CONFIG": False}) for name in metric_names]
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator = trackeval.Evaluator(config)
        output, _ = evaluator.evaluate([dataset], metrics)
    return output[dataset.get_name()][_TRACKER]


def summary(hota: dict[str, Any]) -> dict[str, float]:
    """TrackEval's summary values of one HOTA result (means over the alpha thresholds)."""
    return {name: float(np.mean(hota[name])) for name in TRACKING_METRICS}


def tracking_metrics(gt: GroundTruth, res: Results) -> dict[str, dict[str, float]]:
    """`{"class_averaged": {HOTA, DetA, AssA, LocA}, "detection_averaged": {...}}` (fractions)."""
    output = run_trackeval(in_memory_dataset(gt, res))
    combined = output["COMBINED_SEQ"]
    return {ours: summary(combined[key]["HOTA"]) for ours, key in COMBINED.items()}
