"""One frame of one prompt's pass in SAM 3's video inference (the authors'
`_det_track_one_frame`): the tracker states propagate to the frame (masks hole-filled), the
frame's detections are associated with the tracks, births get ids, hotstart removes masklets,
the periodic reconditioning gives a track the detection's mask, occlusion suppression picks the
masks whose memories are encoded, then new tracker states start for the births and removed
objects leave theirs. Gives the frame's masks at video size and the scores the outputs use."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from vis_bench.methods.sam3.association import NEW_DETECTION_SCORE, Association, associate
from vis_bench.methods.sam3.frame_masks import fill_holes, frame_masks
from vis_bench.methods.sam3.hotstart import HotstartSettings, HotstartState
from vis_bench.methods.sam3.masklets import REMOVED_SCORE, Masklets
from vis_bench.methods.sam3.occlusion import suppress_recently_occluded
from vis_bench.methods.sam3.tracker import FrameFeatures, Tracker
from vis_bench.methods.sam3.tracker_state import (
    TrackerState,
    encode_memories,
    give_masks,
    propagate_states,
)
from vis_bench.methods.sam3.video_detections import (
    NMS_IOU_THRESHOLD,
    SCORE_THRESHOLD,
    FrameDetections,
)

#: `recondition_every_nth_frame` of the release
RECONDITION_EVERY = 16
#: a track is reconditioned only when its object-score logit exceeds this
RECONDITION_TRACK_SCORE = 0.8


@dataclass(frozen=True)
class VideoSettings:
    """The video heuristics; the defaults are the released ones."""

    hotstart: HotstartSettings = field(default_factory=HotstartSettings)
    recondition_every_nth_frame: int = RECONDITION_EVERY
    #: a detection is kept above this probability (also the mask NMS's pre-filter)
    score_threshold_detection: float = SCORE_THRESHOLD
    #: the mask NMS suppresses a detection overlapping a higher-scoring one above this IoU
    det_nms_thresh: float = NMS_IOU_THRESHOLD
    #: a detection away from every track starts a new one from this probability up (while
    #: no track is alive, every kept detection does)
    new_det_thresh: float = NEW_DETECTION_SCORE
    #: prompts whose detector and tracker work run as one batch (0: all): each prompt's
    #: results whatever the value (up to float32 rounding), not its memory or speed
    prompt_batch: int = 0

    @classmethod
    def from_overrides(cls, overrides: dict | None) -> VideoSettings:
        """Settings with some values replaced (names as in the authors' builder)."""
        overrides = overrides or {}
        hotstart = HotstartSettings.named_in(overrides)
        every = overrides.get("recondition_every_nth_frame", RECONDITION_EVERY)
        return cls(hotstart=hotstart, recondition_every_nth_frame=every)


@dataclass(frozen=True)
class FrameResult:
    """What one frame's step gives the outputs (and, for checks, what it decided)."""

    frame: int
    #: masklet id -> (H, W) bool mask at video size
    masks: dict[int, torch.Tensor]
    #: masklet id -> birth detection probability (-1e4 once removed), as of this frame
    scores: dict[int, float]
    #: masklet id -> this frame's tracker probability (the detection's on its birth frame)
    tracker_scores: dict[int, float]
    #: every masklet removed so far, and those hidden on this frame for lack of matches
    removed: set[int]
    suppressed: set[int]
    track_ids: list[int]
    track_masks: torch.Tensor
    track_scores: torch.Tensor
    association: Association
    new_ids: list[int]
    newly_removed: set[int]


class PromptPass:
    """The state of one text prompt's pass over a video: tracker states, masklets, hotstart
    bookkeeping, last-occluded frames and per-frame tracker scores."""

    def __init__(
        self,
        tracker: Tracker,
        num_frames: int,
        video_size: tuple[int, int],
        settings: VideoSettings | None = None,
    ) -> None:
        self.tracker = tracker
        self.num_frames = num_frames
        self.video_size = video_size
        self.settings = settings or VideoSettings()
        self.states: list[TrackerState] = []
        self.masklets = Masklets()
        self.hotstart = HotstartState(self.settings.hotstart)
        self.last_occluded: dict[int, int] = {}
        self.tracker_scores: dict[int, dict[int, float]] = {}

    def _tracks(
        self, outputs: list[tuple[torch.Tensor, torch.Tensor]], features: FrameFeatures
    ) -> tuple[list[int], torch.Tensor, torch.Tensor]:
        """The states' propagated outputs as the pass's tracks: ids, hole-filled masks, scores."""
        ids = [obj for state in self.states for obj in state.obj_ids]
        if not ids:
            low = self.tracker.sizes.low_res
            empty = features.top.new_zeros(0, low, low)
            return [], empty, features.top.new_zeros(0)
        masks = torch.cat([m for m, _ in outputs])
        return ids, fill_holes(masks), torch.cat([s for _, s in outputs])

    def _recondition(
        self,
        frame: int,
        pairs: dict[int, int],
        track_ids: list[int],
        track_scores: torch.Tensor,
        detections: FrameDetections,
        features: FrameFeatures,
    ) -> None:
        every = self.settings.recondition_every_nth_frame
        if every <= 0 or frame % every != 0 or not pairs:
            return
        per_state: dict[int, dict[int, torch.Tensor]] = {}
        for obj, det in pairs.items():
            if float(track_scores[track_ids.index(obj)]) <= RECONDITION_TRACK_SCORE:
                continue
            for index, state in enumerate(self.states):
                if obj in state.obj_ids:
                    per_state.setdefault(index, {})[obj] = detections.masks[det]
        for index, masks in per_state.items():
            self.states[index].add_masks(frame, masks, features, self.video_size)

    def step(self, frame: int, detections: FrameDetections, features: FrameFeatures) -> FrameResult:
        return step_passes([self], frame, [detections], features)[0]

    def _decide(
        self,
        frame: int,
        detections: FrameDetections,
        outputs: list[tuple[torch.Tensor, torch.Tensor]],
        features: FrameFeatures,
    ) -> _Decision:
        """The frame's decisions from the propagated tracks: association, births' ids,
        hotstart removals, reconditioning, and the masks whose memories are encoded."""
        track_ids, track_masks, track_scores = self._tracks(outputs, features)
        found = associate(
            detections.masks,
            detections.scores,
            track_masks,
            track_ids,
            self.settings.new_det_thresh,
        )
        det_scores = detections.scores.tolist()
        kept, new_ids = self.masklets.admit(found.new_detections, det_scores)
        removed = self.hotstart.update(
            frame, new_ids, found.matched_tracks, found.unmatched_tracks, found.empty_tracks
        )
        self._recondition(
            frame, found.reconditioning, track_ids, track_scores, detections, features
        )
        to_encode, self.last_occluded = suppress_recently_occluded(
            frame, track_masks, track_ids, self.last_occluded, removed
        )
        return _Decision(
            track_ids,
            track_masks,
            track_scores,
            found,
            det_scores,
            kept,
            new_ids,
            removed,
            to_encode,
            detections.masks[kept],
        )

    def _finish(self, frame: int, d: _Decision) -> FrameResult:
        """Scores and removals after the memories and births: the frame's result."""
        self.masklets.commit(d.new_ids, [d.det_scores[k] for k in d.kept], d.removed)
        frame_scores = self.tracker_scores.setdefault(frame, {})
        frame_scores.update(zip(d.new_ids, (d.det_scores[k] for k in d.kept), strict=True))
        frame_scores.update(dict.fromkeys(d.removed, REMOVED_SCORE))
        for obj in d.removed:
            for state in self.states:
                state.remove(obj)
        self.states = [s for s in self.states if s.obj_ids]
        masks = frame_masks(self.video_size, d.track_ids, d.track_masks, d.new_ids, d.new_masks)
        frame_scores.update(zip(d.track_ids, d.track_scores.sigmoid().tolist(), strict=True))
        return FrameResult(
            frame=frame,
            masks=masks,
            scores=dict(self.masklets.scores),
            tracker_scores=dict(frame_scores),
            removed=set(self.hotstart.removed),
            suppressed=set(self.hotstart.suppressed.get(frame, set())),
            track_ids=d.track_ids,
            track_masks=d.track_masks,
            track_scores=d.track_scores,
            association=d.found,
            new_ids=d.new_ids,
            newly_removed=d.removed,
        )


@dataclass(frozen=True)
class _Decision:
    """What a pass decided on a frame before its memories and births are computed."""

    track_ids: list[int]
    track_masks: torch.Tensor
    track_scores: torch.Tensor
    found: Association
    det_scores: list[float]
    kept: list[int]
    new_ids: list[int]
    removed: set[int]
    to_encode: torch.Tensor
    new_masks: torch.Tensor


def step_passes(
    passes: list[PromptPass],
    frame: int,
    detections: list[FrameDetections],
    features: FrameFeatures,
) -> list[FrameResult]:
    """One frame of several independent passes over one video (`PromptPass.step` each), their
    tracker work batched across passes: every state's propagation, every pass's memory
    encoding and every birth run as one batch each, each object computed apart from the
    others, so each pass gives what it gives alone."""
    outputs = propagate_states([s for p in passes for s in p.states], frame, features)
    decisions, start = [], 0
    for prompt_pass, found in zip(passes, detections, strict=True):
        count = len(prompt_pass.states)
        own = outputs[start : start + count]
        decisions.append(prompt_pass._decide(frame, found, own, features))
        start += count
    encode_memories(
        [(p.states, d.to_encode) for p, d in zip(passes, decisions, strict=True) if d.track_ids],
        frame,
        features,
    )
    born = [
        (p, TrackerState.unborn(p.tracker, p.num_frames, d.new_ids), d.new_masks)
        for p, d in zip(passes, decisions, strict=True)
        if d.new_ids
    ]
    if born:
        items = [(state, state.birth_masks(masks)) for _, state, masks in born]
        give_masks(items, frame, features, passes[0].video_size)
        for prompt_pass, state, _ in born:
            prompt_pass.states.append(state)
    return [p._finish(frame, d) for p, d in zip(passes, decisions, strict=True)]
