"""Identity behaviour of each GT track: which predictions cover it, frame by frame.

Frame-level matching follows the CLEAR MOT rules as TrackEval implements them (`metrics/clear.py`),
applied class-agnostically to all predictions of the video (a prediction of the wrong class can
still carry the right identity; its class is reported apart):

* In each frame, GT masks and predicted masks that are present (a non-null entry) are matched
  one-to-one by the Hungarian algorithm on mask IoU, among pairs with IoU >= 0.5; a pair that
  continues the match of the previous frame is preferred over any other (score 1000 + IoU).
* **Identity switch** of a GT track: a frame where it is matched to a prediction other than the
  one it was last matched to (any number of frames earlier).
* **Fragmentation** of a GT track: every time it becomes matched again after a frame in which it
  was not, i.e. (number of matched stretches) - 1. As in TrackEval, a frame with no GT at all or
  no prediction at all does not interrupt a stretch.

`frame_matches` gives the matching itself, frame by frame (which GT tracks and predictions are
present, which pairs matched), so a picture of a video marks exactly the frames these counts
come from (`show`, the HTML report).

Totals over tracks equal TrackEval's CLEAR `IDSW` and `Frag` on the same video with all classes
merged into one (tests/test_eval_tracking.py checks this against TrackEval itself).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from pycocotools import mask as mask_utils
from scipy.optimize import linear_sum_assignment

from vis_bench.eval.metric.loading import GroundTruth, Results

#: IoU a frame match needs (TrackEval's CLEAR default)
MATCH_IOU = 0.5
_EPS = np.finfo("float").eps


@dataclass(frozen=True)
class TrackIdentity:
    """Frame-level identity behaviour of one GT track."""

    annotation_id: int
    video_id: int
    #: crowd tracks take part in the matching like any other (as in TrackEval)
    crowd: bool
    visible_frames: int
    matched_frames: int
    identity_switches: int
    fragmentations: int
    #: results-file indices of the predictions it was matched to, in order of first match
    predictions: tuple[int, ...]
    #: the prediction matched in most frames (None: never matched) and its share of visible frames
    main_prediction: int | None
    main_share: float


def _frame_ious(gt_masks: list[dict], pred_masks: list[dict]) -> np.ndarray:
    """IoU [gt, pred] of one frame's present masks (plain IoU, no crowd)."""
    if not gt_masks or not pred_masks:
        return np.zeros((len(gt_masks), len(pred_masks)))
    return np.asarray(mask_utils.iou(gt_masks, pred_masks, [0] * len(pred_masks)), dtype=float)


def _frame_entry(frames: list, t: int) -> dict | None:
    return frames[t] if t < len(frames) else None


@dataclass(frozen=True)
class FrameMatch:
    """One frame's matching: the GT tracks and predictions present, and the pairs matched.

    Indices are positions in the `tracks` and `preds` lists the matching was given. `counted` is
    False for a frame with no GT or no prediction present: such a frame neither matches nor
    interrupts a stretch.
    """

    gt_present: tuple[int, ...]
    pred_present: tuple[int, ...]
    pairs: tuple[tuple[int, int], ...]  # (gt position, pred position)

    @property
    def counted(self) -> bool:
        return bool(self.gt_present) and bool(self.pred_present)


def frame_matches(
    gt: GroundTruth, res: Results, tracks: list[int], preds: list[int], n_frames: int
) -> list[FrameMatch]:
    """The frame-by-frame matching of one video's GT `tracks` and predictions `preds` (indices
    into `gt` and `res`), with the continuity preference of the module's rules."""
    prev_frame_pred = np.full(len(tracks), -1)  # prediction matched in the previous counted frame
    out = []
    for t in range(n_frames):
        g_rows = [i for i, k in enumerate(tracks) if _frame_entry(gt.frames[k], t) is not None]
        p_cols = [j for j, r in enumerate(preds) if _frame_entry(res.frames[r], t) is not None]
        if not g_rows or not p_cols:
            out.append(FrameMatch(tuple(g_rows), tuple(p_cols), ()))
            continue
        sim = _frame_ious(
            [gt.frames[tracks[i]][t] for i in g_rows], [res.frames[preds[j]][t] for j in p_cols]
        )
        cont = np.array(p_cols)[None, :] == prev_frame_pred[np.array(g_rows)][:, None]
        score = 1000 * cont + sim
        score[sim < MATCH_IOU - _EPS] = 0
        rows, cols = linear_sum_assignment(-score)
        ok = score[rows, cols] > _EPS
        g_hit = np.array(g_rows)[rows[ok]]
        p_hit = np.array(p_cols)[cols[ok]]
        prev_frame_pred[:] = -1
        prev_frame_pred[g_hit] = p_hit
        pairs = tuple(zip(g_hit.tolist(), p_hit.tolist(), strict=True))
        out.append(FrameMatch(tuple(g_rows), tuple(p_cols), pairs))
    return out


def _video_identity(
    gt: GroundTruth, res: Results, tracks: list[int], preds: list[int], n_frames: int
) -> list[TrackIdentity]:
    n_gt = len(tracks)
    seen = np.zeros(n_gt, dtype=np.int64)
    matched = np.zeros(n_gt, dtype=np.int64)
    switches = np.zeros(n_gt, dtype=np.int64)
    stretches = np.zeros(n_gt, dtype=np.int64)
    last_pred = np.full(n_gt, -1)  # last prediction matched, any frame earlier
    prev_frame_pred = np.full(n_gt, -1)  # prediction matched in the previous counted frame
    per_pred: list[dict[int, int]] = [{} for _ in range(n_gt)]
    for frame in frame_matches(gt, res, tracks, preds, n_frames):
        if not frame.gt_present:
            continue
        seen[list(frame.gt_present)] += 1
        if not frame.counted:
            continue
        g_hit = np.array([g for g, _ in frame.pairs], dtype=np.int64)
        p_hit = np.array([p for _, p in frame.pairs], dtype=np.int64)
        switches[g_hit] += (last_pred[g_hit] >= 0) & (last_pred[g_hit] != p_hit)
        matched[g_hit] += 1
        stretches[g_hit] += prev_frame_pred[g_hit] < 0
        last_pred[g_hit] = p_hit
        prev_frame_pred[:] = -1
        prev_frame_pred[g_hit] = p_hit
        for g, p in frame.pairs:
            per_pred[g][p] = per_pred[g].get(p, 0) + 1
    out = []
    for i, k in enumerate(tracks):
        counts = per_pred[i]
        main = max(counts, key=lambda p: (counts[p], -p)) if counts else None
        out.append(
            TrackIdentity(
                annotation_id=int(gt.ann_ids[k]),
                video_id=int(gt.video_of[k]),
                crowd=bool(gt.crowd[k]),
                visible_frames=int(seen[i]),
                matched_frames=int(matched[i]),
                identity_switches=int(switches[i]),
                fragmentations=int(max(stretches[i] - 1, 0)),
                predictions=tuple(preds[p] for p in counts),
                main_prediction=None if main is None else preds[main],
                main_share=float(counts[main] / seen[i]) if main is not None and seen[i] else 0.0,
            )
        )
    return out


def track_identities(gt: GroundTruth, res: Results) -> list[TrackIdentity]:
    """Identity behaviour of every GT track, in annotation-file order."""
    preds_by_video: dict[int, list[int]] = {}
    for index, video in enumerate(res.video_of.tolist()):
        preds_by_video.setdefault(video, []).append(index)
    tracks_by_video: dict[int, list[int]] = {}
    for k in range(len(gt.ann_ids)):
        tracks_by_video.setdefault(int(gt.video_of[k]), []).append(k)
    found: dict[int, TrackIdentity] = {}
    for video, tracks in tracks_by_video.items():
        length = gt.video_length.get(video)
        if length is None:
            length = max(len(gt.frames[k]) for k in tracks)
        for k, ident in zip(
            tracks,
            _video_identity(gt, res, tracks, preds_by_video.get(video, []), int(length)),
            strict=True,
        ):
            found[k] = ident
    return [found[k] for k in sorted(found)]


def as_records(identities: list[TrackIdentity]) -> list[dict]:
    return [{**asdict(i), "predictions": list(i.predictions)} for i in identities]
