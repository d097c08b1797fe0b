"""What a picture of one video shows: tracks, colours, per-frame marks and per-track diagnosis.

A method's predictions are those of the video with a score of at least the threshold, the `top`
highest first. Everything said about them is computed on exactly those, with the metric code's
own analysis (so `--score-threshold 0` gives what `diagnose` and `eval --per-video` give):

* pairing and colour: a prediction takes the colour of the GT track it is matched to in most of
  that track's frames (`identity`'s main prediction); a GT track matched in no frame lends its
  colour to the free prediction that overlaps it most in video IoU (the metric's overlap), if
  that prediction overlaps no other GT track more. One object thus has one colour in every
  method's column; other predictions take colours after the GT ones, by score.
* per-frame marks: the frame matching of `identity.frame_matches` (CLEAR MOT rules, IoU >= 0.5):
  a visible GT track left unmatched in a frame is *missed* there, a shown prediction with a
  non-empty mask left unmatched is a *false positive* there, and a GT track matched to another
  prediction than the one it was last matched to has an *identity switch* there.
* per GT track: best video IoU, class, frames matched, identity switches, fragmentations and
  visible frames left empty (`diagnose`, `identity`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from vis_bench.eval.analysis.diagnose import diagnose
from vis_bench.eval.analysis.identity import frame_matches, track_identities
from vis_bench.eval.metric.iou import video_ious
from vis_bench.eval.metric.loading import GroundTruth, Results, results_from_list
from vis_bench.eval.stats.subset import restrict_to_videos, select_results
from vis_bench.report.overlays.palette import RGB, colour

#: predictions drawn by default: score at least this, at most `DEFAULT_TOP` per method and video
DEFAULT_SCORE_THRESHOLD = 0.3
DEFAULT_TOP = 10


@dataclass(frozen=True)
class VideoInfo:
    """The video a scene is of: its id, the name people use (frame folder) and its size."""

    id: int
    name: str
    height: int
    width: int
    length: int


@dataclass(frozen=True)
class Track:
    """One track as drawn: its masks by frame (RLE or None), colour and caption."""

    caption: str
    category: str
    colour: RGB
    frames: list[Any] = field(repr=False)
    #: GT: the track's slot in its video (0, 1, ...); prediction: the GT slot it is paired with
    slot: int | None
    #: GT: annotation id; prediction: index in its results file
    ref: int
    score: float | None = None
    crowd: bool = False


@dataclass(frozen=True)
class FrameMarks:
    """What went wrong in one frame of one method (GT slots and prediction positions)."""

    missed: tuple[int, ...] = ()
    false_positives: tuple[int, ...] = ()
    switches: tuple[int, ...] = ()
    #: a non-crowd GT track is visible in this frame
    has_gt: bool = False

    @property
    def status(self) -> str:
        """`miss` (a GT track missed), `fp` (false positives only), `ok`, or `none` (no GT)."""
        if self.missed:
            return "miss"
        if self.false_positives:
            return "fp"
        return "ok" if self.has_gt else "none"


@dataclass
class MethodScene:
    """One method's predictions on the video and what the matching says of them."""

    label: str
    predictions: list[Track]
    marks: list[FrameMarks]
    #: one row per non-crowd GT track (see `_diagnosis_rows`)
    diagnosis: list[dict[str, Any]]
    shown: int
    total: int

    @property
    def missed_frames(self) -> int:
        return sum(bool(m.missed) for m in self.marks)

    @property
    def false_positive_frames(self) -> int:
        return sum(bool(m.false_positives) for m in self.marks)


@dataclass
class VideoScene:
    """A video's ground truth (None: no annotations) and each method's predictions on it."""

    video: VideoInfo
    gt: list[Track] | None
    methods: list[MethodScene]
    score_threshold: float
    top: int


def frame_ranges(frames: list[int]) -> str:
    """[0, 1, 2, 5, 7, 8] -> "0-2, 5, 7-8"."""
    parts: list[str] = []
    start = prev = None
    for t in [*frames, None]:
        if t is not None and prev is not None and t == prev + 1:
            prev = t
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = t
    return ", ".join(parts)


def _category(names: dict[int, str], category_id: int) -> str:
    return names.get(int(category_id), f"category {int(category_id)}")


def _shown_predictions(res: Results, video: int, threshold: float, top: int) -> list[int]:
    """Indices of the video's predictions with score >= threshold, best first, at most `top`."""
    own = np.flatnonzero(res.video_of == video)
    own = own[res.score[own] >= threshold]
    order = np.argsort(-res.score[own], kind="stable")
    return [int(i) for i in own[order][:top]]


def _gt_tracks(gt: GroundTruth, names: dict[int, str]) -> list[Track]:
    """The (one-video) GT's tracks in file order; slot = position."""
    tracks = []
    for k in range(len(gt.ann_ids)):
        crowd = bool(gt.crowd[k])
        category = _category(names, gt.category_of[k])
        tracks.append(
            Track(
                caption=f"#{k} {category}" + (" (crowd)" if crowd else ""),
                category=category,
                colour=colour(k),
                frames=gt.frames[k],
                slot=k,
                ref=int(gt.ann_ids[k]),
                crowd=crowd,
            )
        )
    return tracks


def _video_ious(gt: GroundTruth, shown: Results) -> np.ndarray:
    """Video IoU [prediction, GT track] of one video, as the metric computes it."""
    if not len(shown) or not len(gt.ann_ids):
        return np.zeros((len(shown), len(gt.ann_ids)))
    return video_ious(shown.frames, gt, range(len(gt.ann_ids)))


def _pairing(gt: GroundTruth, shown: Results, identities: list) -> dict[int, int]:
    """Prediction position -> the GT slot whose colour it takes.

    First each GT track's main prediction (matched in most of its frames, `identity`), the track
    matched in more frames winning a prediction two tracks share. Then a GT track matched in no
    frame lends its colour to the free prediction that overlaps it most in video IoU, if that
    prediction overlaps no other GT track more (so a duplicate of another object keeps its own).
    """
    slot_of = {int(a): k for k, a in enumerate(gt.ann_ids.tolist())}
    paired: dict[int, int] = {}
    mains = sorted(
        (i for i in identities if i.main_prediction is not None and not i.crowd),
        key=lambda i: -i.matched_frames,
    )
    for ident in mains:
        paired.setdefault(int(ident.main_prediction), slot_of[ident.annotation_id])
    matched = {slot_of[i.annotation_id] for i in mains}
    ious = _video_ious(gt, shown)
    candidates = [
        (float(ious[p, k]), p, k)
        for p in range(ious.shape[0])
        if p not in paired and ious.shape[1] and ious[p].max() > 0
        for k in [int(np.argmax(ious[p]))]
        if k not in matched and not gt.crowd[k]
    ]
    for _, p, k in sorted(candidates, reverse=True):
        if k not in paired.values():
            paired[p] = k
    return paired


def _marks(gt: GroundTruth, shown: Results, length: int) -> list[FrameMarks]:
    """Per frame: missed GT slots, unmatched non-empty predictions, identity switches."""
    tracks = list(range(len(gt.ann_ids)))
    preds = list(range(len(shown)))
    last = {}
    marks = []
    for t, frame in enumerate(frame_matches(gt, shown, tracks, preds, length)):
        matched = dict(frame.pairs)
        switches = tuple(g for g, p in frame.pairs if last.get(g, p) != p)
        last.update(matched)
        taken = set(matched.values())
        visible = [g for g in frame.gt_present if not gt.crowd[g]]
        false_positives = tuple(
            p
            for p in frame.pred_present
            if p not in taken and int(mask_utils.area(shown.frames[p][t])) > 0
        )
        marks.append(
            FrameMarks(
                missed=tuple(g for g in visible if g not in matched),
                false_positives=false_positives,
                switches=switches,
                has_gt=bool(visible),
            )
        )
    return marks


def _diagnosis_rows(
    gt: GroundTruth, shown: Results, diagnosis: list, identities: list, marks: list, names: dict
) -> list[dict[str, Any]]:
    """Per non-crowd GT track: best IoU and class, frames matched and missed, identity."""
    identity = {i.annotation_id: i for i in identities}
    slot_of = {int(a): k for k, a in enumerate(gt.ann_ids.tolist())}
    rows = []
    for d in diagnosis:
        ident = identity[d.annotation_id]
        slot = slot_of[d.annotation_id]
        best = d.best_result
        rows.append(
            {
                "slot": slot,
                "annotation_id": d.annotation_id,
                "category": _category(names, d.category_id),
                "best_iou": d.video_iou,
                "predicted_category": None
                if best is None
                else _category(names, shown.category_of[best]),
                "class_correct": d.class_correct,
                "visible_frames": d.visible_frames,
                "matched_frames": ident.matched_frames,
                "missed_frames": [t for t, m in enumerate(marks) if slot in m.missed],
                "identity_switches": ident.identity_switches,
                "fragmentations": ident.fragmentations,
                "empty_visible_frames": d.empty_visible_frames,
            }
        )
    return rows


def method_scene(
    label: str,
    gt: GroundTruth,
    res: Results,
    video: VideoInfo,
    names: dict[int, str],
    score_threshold: float = DEFAULT_SCORE_THRESHOLD,
    top: int = DEFAULT_TOP,
    has_annotations: bool = True,
) -> MethodScene:
    """One method's shown predictions on `video`, paired, coloured and matched frame by frame
    (a split without annotations has nothing to match: no marks)."""
    gt1, res1 = restrict_to_videos(gt, res, [video.id])
    positions = _shown_predictions(res1, video.id, score_threshold, top)
    in_file = np.flatnonzero(res.video_of == video.id)  # res1's order is the file's
    shown = select_results(res1, positions)
    n_gt = len(gt1.ann_ids)
    diagnosis = diagnose(gt1, shown)
    identities = track_identities(gt1, shown)
    paired = _pairing(gt1, shown, identities)
    unpaired = 0
    predictions = []
    for p in range(len(shown)):
        slot = paired.get(p)
        if slot is None:
            track_colour, unpaired = colour(n_gt + unpaired), unpaired + 1
        else:
            track_colour = colour(slot)
        category = _category(names, shown.category_of[p])
        score = float(shown.score[p])
        predictions.append(
            Track(
                caption=f"{category} {score:.2f}",
                category=category,
                colour=track_colour,
                frames=shown.frames[p],
                slot=slot,
                ref=int(in_file[positions[p]]),
                score=score,
            )
        )
    marks = _marks(gt1, shown, video.length) if has_annotations else []
    return MethodScene(
        label=label,
        predictions=predictions,
        marks=marks,
        diagnosis=_diagnosis_rows(gt1, shown, diagnosis, identities, marks, names),
        shown=len(shown),
        total=len(in_file),
    )


def video_scene(
    gt: GroundTruth,
    methods: list[tuple[str, Results]],
    video: VideoInfo,
    has_annotations: bool = True,
    score_threshold: float = DEFAULT_SCORE_THRESHOLD,
    top: int = DEFAULT_TOP,
) -> VideoScene:
    """The scene of `video`: its GT tracks (when the split has annotations) and each method's."""
    names = dict(gt.cat_names)
    gt1, _ = restrict_to_videos(gt, results_from_list([], gt), [video.id])
    return VideoScene(
        video=video,
        gt=_gt_tracks(gt1, names) if has_annotations else None,
        methods=[
            method_scene(label, gt, res, video, names, score_threshold, top, has_annotations)
            for label, res in methods
        ],
        score_threshold=score_threshold,
        top=top,
    )
