"""BURST class-guided scores: HOTA, DetA, AssA and track AP per class, averaged over classes.

Per sequence and class the inputs are prepared as the BURST toolkit prepares them (below), and
scored by TrackEval's own HOTA and TrackMAP (the `trackeval` package, the code the toolkit
vendors), so the numbers are the toolkit's. What the preparation does:

* HOTA matches per frame on the masks' integer boxes (the toolkit hands its boxes, not its masks,
  to pycocotools' IoU there); track AP uses the masks.
* On a frame, a class's predictions are matched to its GT by the Hungarian method (IoU < 0.5
  counts as no match); unmatched ones are dropped when the class has no GT on that frame and is
  not in the sequence's `neg_category_ids`, or when it is in `not_exhaustive_category_ids`.
* Track AP keeps a sequence's prediction tracks of a class only when the class has GT in the
  sequence or is in its neg list; a track's class is that of its first detection, its score the
  mean of its detections' scores.
* A (sequence, class) pair with nothing in it is skipped: it adds exactly zero to every sum.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils
from scipy.optimize import linear_sum_assignment

from vis_bench.errors import VisBenchError
from vis_bench.eval.benchmarks import BURST_SPLITS, BURST_STAT_NAMES, BURST_STATISTICS
from vis_bench.eval.burst.reader import Detection, GroundTruth, Sequence, boxes, read_predictions

#: the statistics, in the order the toolkit's table gives them; the class splits; every output
#: name, e.g. HOTA_all (declared with the metric: eval/benchmarks.py)
STATISTICS, SPLITS, STAT_NAMES = BURST_STATISTICS, BURST_SPLITS, BURST_STAT_NAMES
_EPS = np.finfo("float").eps


class TrackEvalMissing(VisBenchError):
    """The BURST metric scores with the trackeval package, which is not installed."""


def _trackeval_metrics() -> tuple[Any, Any]:
    try:
        from trackeval.metrics import HOTA, TrackMAP
    except ImportError:
        raise TrackEvalMissing(
            "--metric burst scores with the trackeval package (TrackEval for numpy 2), a "
            "dependency of vis-bench missing from this environment: pip install trackeval==1.3.0"
        ) from None
    return HOTA(), TrackMAP({"PRINT_CONFIG": False})


@dataclass
class BurstResult:
    """Headline numbers (percent; None where a split has no class) and per-class fractions."""

    stats: dict[str, float | None]
    #: class name -> {"category_id", "HOTA", "DetA", "AssA", "AP"} (fractions)
    per_class: dict[str, dict[str, float]]
    classes: dict[str, list[int]]
    warnings: list[str] = field(default_factory=list)


def evaluated_classes(gt: GroundTruth) -> list[int]:
    """Categories with a GT track somewhere, in the toolkit's category order, minus distractors
    and ids it does not know."""
    seen = {track.category for seq in gt.sequences for track in seq.gt_tracks}
    cats = gt.categories
    return [cid for cid in cats.names if cid in seen and cid not in cats.distractors]


@dataclass
class _Frame:
    gt_ids: np.ndarray
    gt_classes: np.ndarray
    pred_ids: np.ndarray
    pred_classes: np.ndarray
    similarity: np.ndarray


def _ids(dets: list[Detection]) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.asarray([det.track for det in dets], dtype=int),
        np.asarray([det.category for det in dets], dtype=int),
    )


def _box_ious(gt: list[Detection], pred: list[Detection]) -> np.ndarray:
    if not gt or not pred:
        return np.zeros((len(gt), len(pred)))
    return np.asarray(mask_utils.iou(boxes(gt), boxes(pred), [False] * len(pred)))


def _frames(seq: Sequence) -> list[_Frame]:
    """The sequence's frames that have GT, in frame order (the toolkit's time steps; predictions
    on annotated frames without any GT are not seen by HOTA)."""
    images = sorted(seq.gt_by_image, key=lambda image: seq.frame_index[image])
    frames = []
    for image in images:
        gt = seq.gt_by_image[image]
        pred = seq.pred_by_image.get(image, [])
        gt_ids, gt_classes = _ids(gt)
        pred_ids, pred_classes = _ids(pred)
        frames.append(_Frame(gt_ids, gt_classes, pred_ids, pred_classes, _box_ious(gt, pred)))
    return frames


def _contiguous(ids_per_frame: list[np.ndarray]) -> tuple[list[np.ndarray], int]:
    present = [ids for ids in ids_per_frame if len(ids)]
    if not present:
        return ids_per_frame, 0
    unique = np.unique(np.concatenate(present))
    return [np.searchsorted(unique, ids) for ids in ids_per_frame], len(unique)


def _hota_data(frames: list[_Frame], cid: int, neg: bool, not_exhaustive: bool) -> dict | None:
    """One class's HOTA input for one sequence; None when it has neither GT nor predictions."""
    gt_ids, pred_ids, sims = [], [], []
    for frame in frames:
        gt_mask = frame.gt_classes == cid
        pred_mask = frame.pred_classes == cid
        frame_gt = frame.gt_ids[gt_mask]
        frame_pred = frame.pred_ids[pred_mask]
        sim = frame.similarity[gt_mask][:, pred_mask]
        unmatched = np.arange(len(frame_pred))
        if len(frame_gt) and len(frame_pred):
            scores = sim.copy()
            scores[scores < 0.5 - _EPS] = 0
            rows, cols = linear_sum_assignment(-scores)
            matched = cols[scores[rows, cols] > 0 + _EPS]
            unmatched = np.delete(unmatched, matched)
        if (len(frame_gt) == 0 and not neg) or not_exhaustive:
            frame_pred = np.delete(frame_pred, unmatched)
            sim = np.delete(sim, unmatched, axis=1)
        gt_ids.append(frame_gt)
        pred_ids.append(frame_pred)
        sims.append(sim)
    num_gt_dets = sum(len(ids) for ids in gt_ids)
    num_pred_dets = sum(len(ids) for ids in pred_ids)
    if num_gt_dets == 0 and num_pred_dets == 0:
        return None
    gt_ids, num_gt_ids = _contiguous(gt_ids)
    pred_ids, num_pred_ids = _contiguous(pred_ids)
    return {
        "gt_ids": gt_ids,
        "tracker_ids": pred_ids,
        "similarity_scores": sims,
        "num_gt_dets": num_gt_dets,
        "num_tracker_dets": num_pred_dets,
        "num_gt_ids": num_gt_ids,
        "num_tracker_ids": num_pred_ids,
        "num_timesteps": len(frames),
    }


def _track_fields(tracks: list, prefix: str) -> dict[str, list]:
    return {
        f"{prefix}_tracks": [{det.image: det.rle for det in t.detections} for t in tracks],
        f"{prefix}_track_ids": [t.id for t in tracks],
        f"{prefix}_track_lengths": [len(t.detections) for t in tracks],
        f"{prefix}_track_areas": [
            sum(det.area for det in t.detections) / len(t.detections) for t in tracks
        ],
    }


def _track_map_data(seq: Sequence, cid: int, pred_classes: set[int]) -> dict | None:
    """One class's track-AP input for one sequence; None when it has no track of either side."""
    gt_tracks = [t for t in seq.gt_tracks if t.category == cid]
    pred_tracks = [t for t in seq.pred_tracks if t.category == cid] if cid in pred_classes else []
    if not gt_tracks and not pred_tracks:
        return None
    scores = [np.mean([det.score for det in t.detections]) for t in pred_tracks]
    order = np.argsort([-score for score in scores], kind="mergesort") if scores else []
    pred_tracks = [pred_tracks[i] for i in order]
    return {
        **_track_fields(gt_tracks, "gt"),
        **_track_fields(pred_tracks, "dt"),
        "dt_track_scores": [scores[i] for i in order],
        "not_exhaustively_labeled": cid in seq.not_exhaustive_category_ids,
        "iou_type": "mask",
    }


def _split_mean(values: list[float]) -> float | None:
    """100 x the plain mean over classes, summed in class order as the toolkit sums."""
    if not values:
        return None
    return 100 * sum(values) / len(values)


def evaluate_burst(gt: GroundTruth) -> BurstResult:
    """Score the predictions read into `gt` (reader.read_predictions)."""
    hota, track_map = _trackeval_metrics()
    class_ids = evaluated_classes(gt)
    wanted = set(class_ids)
    hota_runs: dict[int, dict[str, Any]] = {cid: {} for cid in class_ids}
    map_runs: dict[int, dict[str, Any]] = {cid: {} for cid in class_ids}
    for seq in sorted(gt.sequences, key=lambda s: s.key):
        frames = _frames(seq)
        present = {int(c) for f in frames for c in (*f.gt_classes, *f.pred_classes)} & wanted
        neg = set(seq.neg_category_ids)
        not_exhaustive = set(seq.not_exhaustive_category_ids)
        for cid in sorted(present):
            data = _hota_data(frames, cid, cid in neg, cid in not_exhaustive)
            if data is not None:
                hota_runs[cid][seq.key] = hota.eval_sequence(data)
        gt_classes = {t.category for t in seq.gt_tracks}
        pred_classes = gt_classes | neg
        for cid in sorted((gt_classes | {t.category for t in seq.pred_tracks}) & wanted):
            data = _track_map_data(seq, cid, pred_classes)
            if data is not None:
                map_runs[cid][seq.key] = track_map.eval_sequence(data)
    per_class: dict[str, dict[str, float]] = {}
    for cid in class_ids:
        combined = hota.combine_sequences(hota_runs[cid])
        ap = track_map.combine_sequences(map_runs[cid])
        per_class[gt.categories.names[cid]] = {
            "category_id": cid,
            "HOTA": combined["HOTA"].mean(),
            "DetA": combined["DetA"].mean(),
            "AssA": combined["AssA"].mean(),
            "AP": ap["AP_all"].mean(),
        }
    common = gt.categories.common
    classes = {
        "all": class_ids,
        "common": [cid for cid in class_ids if cid in common],
        "uncommon": [cid for cid in class_ids if cid not in common],
    }
    stats: dict[str, float | None] = {}
    for stat in STATISTICS:
        for split in SPLITS:
            values = [per_class[gt.categories.names[cid]][stat] for cid in classes[split]]
            mean = _split_mean(values)
            stats[f"{stat}_{split}"] = None if mean is None else float(mean)
    for entry in per_class.values():
        for key in STATISTICS:
            entry[key] = float(entry[key])
    return BurstResult(stats, per_class, classes, _warnings(gt, wanted))


def burst_statistics(gt: GroundTruth, predictions: Any) -> dict[str, float | None]:
    """The metric as the registry computes it: BURST-format `predictions` (a dict) read into a
    ground truth just read (reader.read_ground_truth_file), scored; percent, None where a split
    has no class."""
    read_predictions(predictions, "predictions", gt)
    return evaluate_burst(gt).stats


def _warnings(gt: GroundTruth, wanted: set[int]) -> list[str]:
    unknown = sorted(
        {t.category for seq in gt.sequences for t in seq.gt_tracks} - set(gt.categories.names)
    )
    out = []
    if unknown:
        out.append(
            f"GT categories not in the TAO/LVIS list, not evaluated (as the toolkit): {unknown}"
        )
    for split in ("common", "uncommon"):
        if not any((cid in gt.categories.common) == (split == "common") for cid in wanted):
            out.append(f"no {split} class has GT: its statistics are n/a")
    return out
