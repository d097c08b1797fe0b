"""`eval --per-video`: where in the split a score comes from, and how tracks keep their identity.

Per video: AP, AP50, AP75 and AR10 of the official metric restricted to that video (categories
without GT there are undefined, so a video without GT has none), from the one matching already
done (`resample.WeightedAccumulator` with only that video weighted). Per GT track: its best video
IoU over the predictions of its video and that prediction's class (`diagnose`), and its identity
behaviour (`identity`: frames matched, identity switches, fragmentations). Tracking metrics of
the whole split (HOTA, DetA, AssA, LocA from TrackEval) when the optional package is installed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vis_bench.eval.analysis.diagnose import diagnose
from vis_bench.eval.analysis.identity import track_identities
from vis_bench.eval.metric.loading import GroundTruth, Results
from vis_bench.eval.stats.resample import RESAMPLED_STATS, WeightedAccumulator
from vis_bench.eval.stats.video_matches import VideoMatches


def _defined(value: float) -> float | None:
    return None if value < 0 or value != value else float(value)


def per_video_scores(matches: VideoMatches) -> dict[int, dict[str, float | None]]:
    """Video id -> AP, AP50, AP75, AR10 of the official metric on that video alone."""
    accumulator = WeightedAccumulator(matches)
    out = {}
    for i, video in enumerate(matches.video_ids.tolist()):
        weights = np.zeros(matches.n_videos, dtype=np.int64)
        weights[i] = 1
        stats = accumulator.stats(weights)
        out[video] = {name: _defined(stats[name]) for name in RESAMPLED_STATS}
    return out


def track_records(gt: GroundTruth, res: Results) -> list[dict[str, Any]]:
    """Per GT track: best video IoU, its prediction and class, and identity behaviour."""
    best = {d.annotation_id: d for d in diagnose(gt, res)}
    records = []
    for ident in track_identities(gt, res):
        d = best.get(ident.annotation_id)  # None for crowd tracks (diagnose skips them)
        k = int(np.flatnonzero(gt.ann_ids == ident.annotation_id)[0])
        best_result = None if d is None else d.best_result
        records.append(
            {
                "annotation_id": ident.annotation_id,
                "video_id": ident.video_id,
                "category_id": int(gt.category_of[k]),
                "crowd": ident.crowd,
                "best_iou": None if d is None else d.video_iou,
                "best_result": best_result,
                "matched_category": None
                if best_result is None
                else int(res.category_of[best_result]),
                "class_correct": None if d is None else d.class_correct,
                "visible_frames": ident.visible_frames,
                "matched_frames": ident.matched_frames,
                "identity_switches": ident.identity_switches,
                "fragmentations": ident.fragmentations,
                "predictions": list(ident.predictions),
                "main_prediction": ident.main_prediction,
                "main_share": ident.main_share,
            }
        )
    return records


def per_video_report(gt: GroundTruth, res: Results, result: Any) -> dict[str, Any]:
    """Everything `eval --per-video FILE` writes (JSON-ready; undefined values are null)."""
    from vis_bench.eval.analysis.tracking import TrackingUnavailable, tracking_metrics

    scores = per_video_scores(VideoMatches.from_pairs(result.pairs, result.matches))
    tracks = track_records(gt, res)
    gt_per_video = dict(
        zip(*(a.tolist() for a in np.unique(gt.video_of, return_counts=True)), strict=True)
    )
    res_per_video = dict(
        zip(*(a.tolist() for a in np.unique(res.video_of, return_counts=True)), strict=True)
    )
    videos = []
    for video in gt.video_ids:
        own = [t for t in tracks if t["video_id"] == video]
        videos.append(
            {
                "video_id": video,
                "frames": gt.video_length.get(video),
                "gt_tracks": int(gt_per_video.get(video, 0)),
                "results": int(res_per_video.get(video, 0)),
                **scores[video],
                "identity_switches": sum(t["identity_switches"] for t in own),
                "fragmentations": sum(t["fragmentations"] for t in own),
            }
        )
    notes = []
    try:
        tracking = tracking_metrics(gt, res)
    except TrackingUnavailable as err:
        tracking = None
        notes.append(str(err))
    return {
        "summary": {
            "videos": len(videos),
            "tracks": len(tracks),
            "identity_switches": sum(t["identity_switches"] for t in tracks),
            "fragmentations": sum(t["fragmentations"] for t in tracks),
        },
        "tracking": tracking,
        "videos": videos,
        "tracks": tracks,
        "notes": notes,
    }
