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

from vis_bench.eval.loading import GroundTruth, Results

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


def _frame_stats(d: dict | None, g: dict | None, g_area: int) -> tuple[float, float, int]:
    """(intersection, union, predicted area) of one frame; absent masks count as empty."""
    d_area = 0 if d is None else int(mask_utils.area(d))
    if d is None or g is None or d_area == 0 or g_area == 0:
        return 0.0, float(d_area + g_area), d_area
    iou = float(mask_utils.iou([d], [g], [0])[0, 0])
    inter = iou * (d_area + g_area) / (1.0 + iou)
    return inter, d_area + g_area - inter, d_area


def diagnose(gt: GroundTruth, res: Results) -> list[TrackDiagnosis]:
    """The diagnosis of every non-crowd ground-truth track, in annotation-file order."""
    by_video: dict[int, list[int]] = {}
    for index, video in enumerate(res.video_of.tolist()):
        by_video.setdefault(video, []).append(index)
    out = []
    for k in range(len(gt.ann_ids)):
        if gt.crowd[k]:
            continue
        video = int(gt.video_of[k])
        g_frames, g_areas = gt.frames[k], gt.frame_areas[k]
        visible = [t for t, a in enumerate(g_areas) if a > 0]
        best: tuple[float, int, list[tuple[float, float, int]]] | None = None
        for r in by_video.get(video, []):
            stats = [
                _frame_stats(d, g, int(a))
                for d, g, a in zip(res.frames[r], g_frames, g_areas, strict=True)
            ]
            union = sum(s[1] for s in stats)
            iou = sum(s[0] for s in stats) / union if union else 0.0
            if best is None or iou > best[0]:
                best = (iou, r, stats)
        track = {
            "annotation_id": int(gt.ann_ids[k]),
            "video_id": video,
            "category_id": int(gt.category_of[k]),
            "visible_frames": len(visible),
            "enters_or_leaves": len(visible) < len(g_areas),
        }
        if best is None:  # nothing predicted in this video
            out.append(
                TrackDiagnosis(
                    **track,
                    best_result=None,
                    video_iou=0.0,
                    class_correct=False,
                    empty_visible_frames=len(visible),
                    median_frame_iou=float("nan"),
                )
            )
            continue
        iou, r, stats = best
        covered = [stats[t][0] / stats[t][1] for t in visible if stats[t][2] > 0]
        out.append(
            TrackDiagnosis(
                **track,
                best_result=r,
                video_iou=float(iou),
                class_correct=int(res.category_of[r]) == int(gt.category_of[k]),
                empty_visible_frames=sum(stats[t][2] == 0 for t in visible),
                median_frame_iou=float(np.median(covered)) if covered else float("nan"),
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
