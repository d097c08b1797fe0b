"""Query tracks: clips linked by their tracks' embeddings (or by a method's own state).

A method that declares `EmbeddingAssociation` or `CarriedState` (vis_bench/api/linking.py)
returns every track of a clip in a `ClipResult` with `frame_logits` [T, N, K+1],
`frame_embeddings` [T, N, C] and `mask_logits` [N, T, h, w], already linked inside the clip.
`QueryTrackLinker` keeps N slots for the video: each clip's first frame the video has not seen yet is matched to the last frame seen
(the previous clip's last frame, already in slot order), the clip's tracks are re-ordered into
the slots, and for every new frame the slots' class logits are added (in frame order, so the mean
equals a whole-video sum divided by the frame count) and their masks handed to the sinks, which
resize and RLE-encode them at once. Frames a previous clip already covered (overlapping
schedules) keep the first prediction. At the end the method picks the video's predictions from
the mean logits (its `video_predictions`), e.g. the top 10 over (slot, class).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from vis_bench.api.linking import CarriedState, EmbeddingAssociation, VideoPredictions
from vis_bench.api.output import TrackSummary
from vis_bench.api.plugin import ClipResult
from vis_bench.engine.stitching import FrameSink


@dataclass
class SelectedTrack(TrackSummary):
    """One prediction of a video: its slot's masks under the method's label and score."""

    predictions: list[tuple] = field(default_factory=list)


class QueryTrackLinker:
    """Links one video's clips into N query slots (see the module docstring)."""

    def __init__(
        self,
        association: EmbeddingAssociation | CarriedState,
        video_predictions: VideoPredictions,
        sinks: Sequence[FrameSink] = (),
    ) -> None:
        self.association = association
        self.video_predictions = video_predictions
        self.sinks = list(sinks)
        self.logit_sum: torch.Tensor | None = None
        self.frames_seen = 0
        self.last_frame = -1
        self.last_embeddings: torch.Tensor | None = None
        #: the method's per-video state from the last clip (CarriedState)
        self.state: object = None
        self.threshold = 0.0
        self.peak_tensors = 0
        self.peak_bytes = 0

    def seen_frames(self, frames: Sequence[int]) -> int:
        """How many of a clip's frames (ascending video indices) earlier clips already covered:
        its first ones, whose predictions the linker keeps from those clips. A `CarriedState`
        method is handed this count, so it can start its new frames from its carried state."""
        return sum(1 for frame in frames if frame <= self.last_frame)

    def add_clip(self, frames: Sequence[int], result: ClipResult) -> None:
        """Link a clip covering `frames` (ascending video frame indices) into the slots."""
        frames = list(frames)
        _check_query_tracks(result, len(frames))
        new = [i for i, frame in enumerate(frames) if frame > self.last_frame]
        self.state = result.state
        if not new:
            return
        masks = result.mask_logits if result.mask_logits is not None else result.masks
        self.threshold = 0.0 if result.mask_logits is not None else 0.5
        embeddings = result.frame_embeddings
        order = torch.arange(embeddings.shape[1])
        if self.last_embeddings is not None:
            order = self.association.assign(self.last_embeddings, embeddings[new[0]])
        for i in new:
            logits = result.frame_logits[i][order].float()
            self.logit_sum = logits if self.logit_sum is None else self.logit_sum + logits
            self.frames_seen += 1
            slots = masks[order, i]
            for sink in self.sinks:
                sink.frame_final(
                    frames[i], {slot: slots[slot] for slot in range(len(order))}, self.threshold
                )
        self.last_embeddings = embeddings[new[-1]][order]
        self.last_frame = frames[new[-1]]
        self._note_peak(masks, result.frame_logits, embeddings)

    def _note_peak(self, *tensors: torch.Tensor) -> None:
        held = [t for t in (*tensors, self.logit_sum, self.last_embeddings) if t is not None]
        self.peak_tensors = max(self.peak_tensors, len(held))
        self.peak_bytes = max(self.peak_bytes, sum(t.numel() * t.element_size() for t in held))

    def mean_logits(self) -> torch.Tensor:
        """Each slot's class logits averaged over the video's frames."""
        if self.logit_sum is None:
            raise ValueError("no clip was linked")
        return self.logit_sum / self.frames_seen

    def finish(self) -> list[SelectedTrack]:
        """The method's predictions of the video, one entry per prediction."""
        if self.logit_sum is None:
            return []
        selected = []
        for slot, category, score in self.video_predictions(self.mean_logits()):
            selected.append(
                SelectedTrack(
                    track_id=int(slot),
                    label=int(category),
                    score=float(score),
                    mask_threshold=self.threshold,
                    predictions=[(int(category), float(score))],
                )
            )
        return selected


def _check_query_tracks(result: ClipResult, frames: int) -> None:
    """A clip result of a query-track method must carry what linking reads."""
    missing = [
        name for name in ("frame_logits", "frame_embeddings") if getattr(result, name, None) is None
    ]
    if result.mask_logits is None and result.masks is None:
        missing.append("mask_logits")
    if missing:
        raise ValueError(
            f"a method linked by query tracks must return {missing} in its ClipResult "
            "(see vis_bench/api/linking.py)"
        )
    if result.frame_logits.shape[0] != frames or result.frame_embeddings.shape[0] != frames:
        raise ValueError(
            f"frame_logits / frame_embeddings cover {result.frame_logits.shape[0]} / "
            f"{result.frame_embeddings.shape[0]} frames, the clip has {frames}"
        )


def selected_track_predictions(track: TrackSummary) -> list[tuple]:
    """`track_predictions` for the linker's tracks: the prediction chosen for the video."""
    return list(getattr(track, "predictions", []))
