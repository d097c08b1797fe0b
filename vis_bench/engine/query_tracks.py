"""Query tracks: clips linked by their tracks' embeddings (or by a method's own state).

A method that declares `EmbeddingAssociation` or `CarriedState` (vis_bench/api/linking.py)
returns every track of a clip in a `ClipResult` with `frame_logits` [T, N, K+1],
`frame_embeddings` [T, N, C] and `mask_logits` [N, T, h, w], already linked inside the clip.
`QueryTrackLinker` keeps N slots for the video: each clip's first frame the video has not seen yet is matched to the last frame seen
(the previous clip's last frame, already in slot order), the clip's tracks are re-ordered into
the slots, and for every new frame the slots' class logits are added (in frame order, so the mean
equals a whole-video sum divided by the frame count). Frames a previous clip already covered
(overlapping schedules) keep the first prediction. At the end the method picks the video's
predictions from the mean logits (its `video_predictions`), e.g. the top 10 over (slot, class).

Masks are finalised as the authors do it (`inference_video_vis`: the top-k first, then the masks
of only those queries): a new frame's working-resolution masks of all N slots are held back, and
when the video ends only the slots its predictions keep are handed to the sinks, which resize,
threshold and RLE-encode them. The selection reads the mean logits alone, so the results are
those of finalising every slot of every frame, with the full-resolution work of the slots no
prediction keeps (90 of 100 slots for a method keeping 10 of 100 queries) left out.

Memory: the held masks are at the working resolution (a quarter of the input's side for the
query-track methods in the tree), never the video's. A frame's masks are kept in float16 or
bfloat16 where that holds them exactly (a model run under autocast), else in their own dtype: a
narrower copy of float32 logits would change the resized masks' thresholds, so the results would
not be the method's. Which slots the video keeps cannot be known before its last frame (a slot's
mean can still rise to the top), so no slot can be dropped early. Instead the newest frames are
held in memory up to `DEFERRED_MASK_BYTES` (`DEFERRED_DEVICE_BYTES` of an accelerator's memory
where the masks are on one) and older ones written as they are to a temporary
file up to `DEFERRED_DISK_BYTES` (engine/held_masks.py), from which only the kept slots' planes
are read back at the end: memory stays flat in the video's length with the same results and
the same work. Past both budgets, the oldest held frames are finalised for every slot at once,
as every frame was before (the same results, the full cost for those frames only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from vis_bench.api.guide import see
from vis_bench.api.linking import CarriedState, EmbeddingAssociation, VideoPredictions
from vis_bench.api.output import TrackSummary
from vis_bench.api.plugin import ClipResult
from vis_bench.engine.held_masks import HeldMasks
from vis_bench.engine.stitching import FrameSink

#: working-resolution mask bytes one video's linker holds back in memory (see the module
#: docstring): 1 GiB is about 60 frames of 200 queries' float32 masks at 112 x 200 (a ViT
#: method at 448 px). Writing a frame out costs the kernel a copy into the page cache, which
#: an authors' loop holding every frame never spends: with a smaller limit a 12-frame video
#: wrote most of its frames out (benchmarks/results/side_by_side_profile.json)
DEFERRED_MASK_BYTES = 2**30
#: where the masks are on an accelerator, held in its memory instead: writing each frame out
#: costs a copy to the host and a file write per frame, and reading it back a copy to the device
#: (found on an H200: a 720p query-track run spent most of its pass there); 1 GiB is about 60
#: frames of 200 queries' float16 masks at 160 x 288, and 1 % of an 80 GB GPU
DEFERRED_DEVICE_BYTES = 2**30
#: and in its temporary file beyond that: about 4,000 frames at 240 px, 700 at 480 px
DEFERRED_DISK_BYTES = 4 * 2**30
#: the narrower dtypes a frame's masks are kept in where they hold them exactly
NARROW_DTYPES = (torch.float16, torch.bfloat16)
#: elements compared before the whole frame, so a float32 model's masks are refused cheaply
_PROBE = 4096


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
        deferred_bytes: int = DEFERRED_MASK_BYTES,
        spill_bytes: int = DEFERRED_DISK_BYTES,
        device_bytes: int = DEFERRED_DEVICE_BYTES,
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
        #: the masks held back, [N, h, w] per frame in slot order
        self._held = HeldMasks(deferred_bytes, spill_bytes, device_bytes)
        #: frames finalised for every slot because the held masks outgrew `deferred_bytes`
        self.frames_finalised_early = 0
        #: (frame, slot) masks handed to the sinks
        self.masks_finalised = 0

    def seen_frames(self, frames: Sequence[int]) -> int:
        """How many of a clip's frames (ascending video indices) earlier clips already covered:
        its first ones, whose predictions the linker keeps from those clips. A `CarriedState`
        method is handed this count, so it can start its new frames from its carried state."""
        return sum(1 for frame in frames if frame <= self.last_frame)

    def add_clip(self, frames: Sequence[int], result: ClipResult) -> None:
        """Link a clip covering `frames` (ascending video frame indices) into the slots."""
        frames = list(frames)
        carried = isinstance(self.association, CarriedState) and self.logit_sum is not None
        _check_query_tracks(result, len(frames), self.logit_sum.shape[0] if carried else None)
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
        # slots already in order and every frame new: each frame's masks are held as a view of
        # the clip's, whose bytes they then account for exactly (no copy of the clip's masks)
        in_order = len(new) == len(frames) and torch.equal(order, torch.arange(order.shape[0]))
        for i in new:
            logits = result.frame_logits[i][order].float()
            self.logit_sum = logits if self.logit_sum is None else self.logit_sum + logits
            self.frames_seen += 1
            self._hold(frames[i], masks[:, i] if in_order else masks[order, i])
        self.last_embeddings = embeddings[new[-1]][order]
        self.last_frame = frames[new[-1]]
        self._note_peak(masks, result.frame_logits, embeddings)
        while self._held.over_budget():
            held, every = self._held.pop_oldest()
            planes = {slot: every[slot] for slot in range(every.shape[0])}
            self._finalise(held.frame, planes, held.dtype, held.threshold)
            self.frames_finalised_early += 1

    @property
    def frames_spilled(self) -> int:
        """Frames whose held masks went to the temporary file."""
        return self._held.frames_spilled

    def _hold(self, frame: int, masks: torch.Tensor) -> None:
        """Hold a new frame's masks [N, h, w] (slot order) back until the video's end."""
        self._held.add(frame, _narrowed(masks), masks.dtype, self.threshold)

    def _finalise(
        self, frame: int, planes: dict[int, torch.Tensor], dtype: torch.dtype, threshold: float
    ) -> None:
        """The sinks finalise the frame's masks of the given slots, in their own dtype again."""
        if not planes:
            return
        planes = {slot: plane.to(dtype) for slot, plane in planes.items()}
        for sink in self.sinks:
            sink.frame_final(frame, planes, threshold)
        self.masks_finalised += len(planes)

    def _note_peak(self, *tensors: torch.Tensor) -> None:
        held = [t for t in (*tensors, self.logit_sum, self.last_embeddings) if t is not None]
        self.peak_tensors = max(self.peak_tensors, len(held) + len(self._held))
        held_bytes = sum(_nbytes(t) for t in held) + self._held.in_memory
        self.peak_bytes = max(self.peak_bytes, held_bytes)

    def mean_logits(self) -> torch.Tensor:
        """Each slot's class logits averaged over the video's frames."""
        if self.logit_sum is None:
            raise ValueError("no clip was linked")
        return self.logit_sum / self.frames_seen

    def finish(self) -> list[SelectedTrack]:
        """The method's predictions of the video, one entry per prediction; the held frames'
        masks of the slots they keep are handed to the sinks (and dropped)."""
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
        kept = sorted({track.track_id for track in selected})
        for held, planes in self._held.drain(kept):
            self._finalise(held.frame, planes, held.dtype, held.threshold)
        return selected


def _nbytes(tensor: torch.Tensor) -> int:
    return tensor.numel() * tensor.element_size()


def _narrowed(masks: torch.Tensor) -> torch.Tensor:
    """`masks` in the first of `NARROW_DTYPES` that holds every value exactly (the values of a
    model run under autocast), else `masks` itself."""
    if masks.dtype != torch.float32 or masks.numel() == 0:
        return masks
    probe = masks[0].reshape(-1)[:_PROBE]  # one slot's plane: no copy of a strided view
    for dtype in NARROW_DTYPES:
        if not torch.equal(probe.to(dtype).to(masks.dtype), probe):
            continue
        narrow = masks.to(dtype)
        if torch.equal(narrow.to(masks.dtype), masks):
            return narrow
    return masks


def _check_query_tracks(result: ClipResult, frames: int, slots: int | None = None) -> None:
    """A clip result of a query-track method must carry what linking reads, in the shapes it
    reads them; under `CarriedState` (`slots`: the previous clip's count) the same slots."""
    missing = [
        name for name in ("frame_logits", "frame_embeddings") if getattr(result, name, None) is None
    ]
    if result.mask_logits is None and result.masks is None:
        missing.append("mask_logits")
    if missing:
        raise ValueError(
            f"a method linked by query tracks must return {missing} in its ClipResult "
            f"({see('query-track results')})"
        )
    logits, embeddings = result.frame_logits, result.frame_embeddings
    masks = result.mask_logits if result.mask_logits is not None else result.masks
    if logits.dim() != 3 or embeddings.dim() != 3 or masks.dim() != 4:
        raise ValueError(
            f"frame_logits {list(logits.shape)}, frame_embeddings {list(embeddings.shape)} and "
            f"masks {list(masks.shape)} must be [T, N, K+1], [T, N, C] and [N, T, h, w] "
            f"({see('query-track results')})"
        )
    if logits.shape[0] != frames or embeddings.shape[0] != frames or masks.shape[1] != frames:
        raise ValueError(
            f"frame_logits / frame_embeddings / masks cover {logits.shape[0]} / "
            f"{embeddings.shape[0]} / {masks.shape[1]} frames, the clip has {frames} "
            f"({see('query-track results')})"
        )
    if not logits.shape[1] == embeddings.shape[1] == masks.shape[0]:
        raise ValueError(
            f"frame_logits, frame_embeddings and masks hold {logits.shape[1]}, "
            f"{embeddings.shape[1]} and {masks.shape[0]} tracks: every track of the clip in "
            f"each, in one order ({see('query-track results')})"
        )
    if slots is not None and logits.shape[1] != slots:
        raise ValueError(
            f"a CarriedState method returns every slot in a fixed order: this clip has "
            f"{logits.shape[1]} tracks, the previous one {slots} ({see('query-track results')})"
        )


def selected_track_predictions(track: TrackSummary) -> list[tuple]:
    """`track_predictions` for the linker's tracks: the prediction chosen for the video."""
    return list(getattr(track, "predictions", []))
