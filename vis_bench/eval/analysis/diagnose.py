"""Where a method loses AP, track by track: found or missed, classified, lost on some frames.

AP folds every failure into one number. This pairs each ground-truth track with the prediction of
its video that overlaps it best (video IoU, as the metric computes it, whatever the category),
and reports what that prediction got wrong: its category, and the frames where the object is
visible but the predicted mask is empty. Tracks that are absent from some frames of their video
(objects that enter or leave) are counted apart, because methods that predict a box per frame
can learn to call a visible object absent there.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from pycocotools import mask as mask_utils

from vis_bench.eval.metric.iou import video_ious
from vis_bench.eval.metric.loading import GroundTruth, Results

#: video IoU from which a ground-truth track counts as found (the metric's loosest threshold)
FOUND_IOU = 0.5


@dataclass(frozen=True)
class TrackDiagnosis:
    """One ground-truth track and its best-overlapping prediction (None: its video has none)."""

    annotation_id: int
    video_id: int
    category_id: int
    visible_frames: int
    #: the object is absent from at least one frame of its video
    enters_or_leaves: bool
    best_result: int | None  # index into the results file
    video_iou: float
    class_correct: bool
    #: frames where the object is visible and the best prediction's mask is empty
    empty_visible_frames: int
    #: median IoU over the visible frames the best prediction does cover (nan if none)
    median_frame_iou: float


def _best_pairs(gt: GroundTruth, res: Results, tracks: list[int]) -> dict[int, tuple[int, float]]:
    """Track -> (result index, video IoU) of its best-overlapping result, per video in one call
    of the metric's exact overlap counting (first result on ties)."""
    by_video: dict[int, list[int]] = {}
    for index, video in enumerate(res.video_of.tolist()):
        by_video.setdefault(video, []).append(index)
    tracks_by_video: dict[int, list[int]] = {}
    for k in tracks:
        tracks_by_video.setdefault(int(gt.video_of[k]), []).append(k)
    best = {}
    for video, ks in tracks_by_video.items():
        rs = by_video.get(video, [])
        if not rs:
            continue
        iou = video_ious([res.frames[r] for r in rs], gt, ks)
        for column, k in enumerate(ks):
            row = int(np.argmax(iou[:, column]))
            best[k] = (rs[row], float(iou[row, column]))
    return best


def _frame_ious(d_frames: list, g_frames: list, visible: list[int]) -> tuple[int, list[float]]:
    """(visible frames whose predicted mask is empty, IoU of each visible frame it covers)."""
    empty, ious = 0, []
    for t in visible:
        d = d_frames[t] if t < len(d_frames) else None
        if d is None or int(mask_utils.area(d)) == 0:
            empty += 1
        else:
            ious.append(float(mask_utils.iou([d], [g_frames[t]], [0])[0, 0]))
    return empty, ious


def diagnose(gt: GroundTruth, res: Results) -> list[TrackDiagnosis]:
    """The diagnosis of every non-crowd ground-truth track, in annotation-file order."""
    tracks = [k for k in range(len(gt.ann_ids)) if not gt.crowd[k]]
    best = _best_pairs(gt, res, tracks)
    out = []
    for k in tracks:
        g_areas = gt.frame_areas[k]
        visible = [t for t, a in enumerate(g_areas) if a > 0]
        r, iou = best.get(k, (None, 0.0))
        if r is None:  # nothing predicted in this video
            empty, ious = len(visible), []
        else:
            empty, ious = _frame_ious(res.frames[r], gt.frames[k], visible)
        out.append(
            TrackDiagnosis(
                annotation_id=int(gt.ann_ids[k]),
                video_id=int(gt.video_of[k]),
                category_id=int(gt.category_of[k]),
                visible_frames=len(visible),
                enters_or_leaves=len(visible) < len(g_areas),
                best_result=r,
                video_iou=iou,
                class_correct=r is not None and int(res.category_of[r]) == int(gt.category_of[k]),
                empty_visible_frames=empty,
                median_frame_iou=float(np.median(ious)) if ious else float("nan"),
            )
        )
    return out


def _share(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


def summarize(tracks: list[TrackDiagnosis]) -> dict[str, dict[str, float]]:
    """Per group of tracks (all, always visible, entering or leaving): counts and shares."""
    groups = {
        "all": tracks,
        "always visible": [t for t in tracks if not t.enters_or_leaves],
        "enters or leaves": [t for t in tracks if t.enters_or_leaves],
    }
    summary = {}
    for name, group in groups.items():
        visible = sum(t.visible_frames for t in group)
        covered = [t.median_frame_iou for t in group if not np.isnan(t.median_frame_iou)]
        summary[name] = {
            "tracks": len(group),
            "found": _share(sum(t.video_iou >= FOUND_IOU for t in group), len(group)),
            "class_correct": _share(sum(t.class_correct for t in group), len(group)),
            "mean_video_iou": _share(sum(t.video_iou for t in group), len(group)),
            "empty_visible_frames": _share(sum(t.empty_visible_frames for t in group), visible),
            "median_frame_iou": float(np.median(covered)) if covered else float("nan"),
        }
    return summary


def as_records(tracks: list[TrackDiagnosis]) -> list[dict]:
    """Plain dicts for JSON output."""
    return [asdict(t) for t in tracks]
