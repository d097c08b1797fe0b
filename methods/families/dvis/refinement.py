"""DVIS++ offline over a video: what its clips gather, the refiner's decision, and the masks.

The authors keep every frame's mask features of the video on the CPU until the refiner has run
(`run_window_inference` of `DVIS_Plus_offline`), which grows with the video without bound. Here
the first pass (the harness's clips) keeps only what the refiner reads, a few numbers per query
and frame: the tracker's last-layer outputs and the segmenter's un-normed 2C queries (T x Q x 2C
each), and the tracker's logits (T x Q x (K+1)), with the tracker's state. At the video's end the
refiner runs on all of it; its class scores decide the video's top-k (track, class) pairs, and
only those tracks' normed outputs are kept for the masks, which the second pass over the frames
makes from each frame's raw mask features: kept by the first pass on disk (the default,
`keep_mask_features: disk`) or in memory, or computed again (docs/methods/dvis_plus.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from vis_bench.api.tensor_spill import SpilledTensor, TensorSpill
from vis_bench.methods.families.dvis.frame_rows import FrameRows, as_rows
from vis_bench.methods.families.dvis.inference import CarriedTracks, TrackedClip
from vis_bench.methods.families.dvis.refiner import TemporalRefiner
from vis_bench.methods.families.dvis.segmenter import FrameQueries


@dataclass
class GatheredVideo:
    """A video's first pass so far: the tracker's state and, per frame, the tracker's outputs
    [Q, 2C], the segmenter's un-normed queries [Q, 2C] and the tracker's logits [Q, K+1], each
    gathered in chunks (`FrameRows`)."""

    tracks: CarriedTracks
    instance_embeds: FrameRows = field(default_factory=FrameRows)
    frame_embeds: FrameRows = field(default_factory=FrameRows)
    tracker_logits: FrameRows = field(default_factory=FrameRows)
    #: the frames this state covers (its rows may hold more: a later state's, sharing them)
    frames: int = 0
    #: each frame's raw mask features [C, H/4, W/4] as the option `keep_mask_features` keeps
    #: them (the second pass reads them instead of running the backbone and pixel decoder
    #: again): tensors in memory (the authors' way: memory grows with the video), handles into
    #: the video's spill on disk, or none
    mask_features: tuple[torch.Tensor | SpilledTensor, ...] = ()
    #: the temporary file the kept mask features are written to (`keep_mask_features: disk`)
    spill: TensorSpill | None = None

    def extended(
        self,
        tracked: TrackedClip,
        queries: FrameQueries,
        logits: torch.Tensor,
        tracks: CarriedTracks,
        mask_features: Sequence[torch.Tensor | SpilledTensor] = (),
    ) -> GatheredVideo:
        """This video with a clip's new frames added: a new state, which writes its frames into
        the same chunks after this state's own; a state extended a second time copies its rows
        first, so each state keeps exactly its frames. `mask_features`: the new frames' mask
        features to keep (the option `keep_mask_features`, `kept_frames`), one per frame."""
        rows = self.own_rows()
        for part, frames in zip(
            rows, (tracked.outputs, queries.embeds_no_norm, logits), strict=True
        ):
            part.append(frames)
        return GatheredVideo(
            tracks,
            *rows,
            frames=self.frames + len(tracked.outputs),
            mask_features=(*self.mask_features, *mask_features),
            spill=self.spill,
        )

    @property
    def num_frames(self) -> int:
        return self.frames

    def own_rows(self) -> list[FrameRows]:
        """The tracker's outputs, the segmenter's queries and the logits, holding exactly this
        state's frames: shared with a later state they hold more, and are copied first."""
        rows = [self.instance_embeds, self.frame_embeds, self.tracker_logits]
        if any(len(part) != self.frames for part in rows):
            rows = [part.copy_first(self.frames) for part in rows]
        return rows


@dataclass
class RefinedVideo:
    """The refiner on a whole video: normed last-layer outputs [T, Q, 2C] (stacked, or where the
    video was gathered), the refiner's class logits [Q, K+1] (one per track for the video) and
    the tracker's time-mean logits [Q, K+1]."""

    normed: torch.Tensor | FrameRows
    logits: torch.Tensor
    aux_logits: torch.Tensor

    def tracks(self, slots: list[int]) -> torch.Tensor:
        """The normed outputs of some tracks on every frame, [T, S, 2C]."""
        return as_rows(self.normed).tracks(torch.as_tensor(slots, dtype=torch.long))


def refine(refiner: TemporalRefiner, video: GatheredVideo, consume: bool = False) -> RefinedVideo:
    """The refiner over every frame at once (its last layer, as the authors predict at test),
    in chunks of tracks or frames whose temporaries do not grow with the video
    (`TemporalRefiner.last_output`): what grows is the gathered T x Q x 2C inputs only.
    `consume` (the video's end: nothing reads the gathered frames again) runs the layers, the
    norm and the class logits in the chunks the frames were gathered in, so the whole video's
    queries are held once (the tracker's outputs and the segmenter's queries), never stacked."""
    video = GatheredVideo(
        video.tracks, *video.own_rows(), video.frames, video.mask_features, video.spill
    )
    aux_logits = video.tracker_logits.stacked().mean(0)
    if consume:
        output = refiner.last_output(video.instance_embeds, video.frame_embeds, overwrite=True)
        normed = refiner.normed_in_place(output)
        return RefinedVideo(normed, refiner.video_class_logits(normed), aux_logits)
    instance_embeds = video.instance_embeds.stacked()
    output = refiner.last_output(instance_embeds, video.frame_embeds.stacked())
    normed = refiner.decoder_norm(output[None])
    logits = refiner.class_logits(normed)[0]
    return RefinedVideo(normed[0], logits, aux_logits)


@dataclass
class RefinedSlots:
    """What the second pass needs: the chosen tracks' normed refiner outputs [T, S, 2C], and
    each frame's mask features where the first pass kept them (else the second pass makes
    them again from the frames)."""

    normed: torch.Tensor
    mask_features: tuple[torch.Tensor | SpilledTensor, ...] = ()

    def kept_mask_features(self, frames: list[int]) -> torch.Tensor | None:
        """The kept mask features of `frames` [t, C, H/4, W/4] in float32 on the slots' device
        (a spill reads back into host memory; on a GPU the refiner's product needs them beside
        the slots), or None if the first pass kept none."""
        if not self.mask_features:
            return None
        kept = [self.mask_features[t] for t in frames]
        loaded = [f.load() if isinstance(f, SpilledTensor) else f for f in kept]
        return torch.stack(loaded).to(self.normed.device).float()


def kept_frames(
    mask_features: torch.Tensor, dtype: torch.dtype | None, spill: TensorSpill | None
) -> list[torch.Tensor | SpilledTensor]:
    """A clip's mask features [t, C, H/4, W/4] as the first pass keeps them, one per frame:
    written to the spill (in their own dtype), copied in `dtype` (one copy per frame, so no
    view holds the clip's batch alive), or none (`dtype` None)."""
    if dtype is None:
        return []
    if spill is not None:
        return [spill.put(frame) for frame in mask_features]
    return [frame.to(dtype, copy=True) for frame in mask_features]


def slot_masks(
    refiner: TemporalRefiner, slots: RefinedSlots, frames: list[int], mask_features: torch.Tensor
) -> torch.Tensor:
    """Mask logits [S, t, h, w] of the chosen tracks on the video's `frames`, from those
    frames' raw mask features [t, C, h, w]."""
    return refiner.mask_logits(slots.normed[frames], mask_features).transpose(0, 1)
