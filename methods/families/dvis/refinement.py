"""DVIS++ offline over a video: what its clips gather, the refiner's decision, and the masks.

The authors keep every frame's mask features of the video on the CPU until the refiner has run
(`run_window_inference` of `DVIS_Plus_offline`), which grows with the video without bound. Here
the first pass (the harness's clips) keeps only what the refiner reads, a few numbers per query
and frame: the tracker's last-layer outputs and the segmenter's un-normed 2C queries (T x Q x 2C
each), and the tracker's logits (T x Q x (K+1)), with the tracker's state. At the video's end the
refiner runs on all of it; its class scores decide the video's top-k (track, class) pairs, and
only those tracks' normed outputs are kept for the masks, which the second pass over the frames
makes from each frame's raw mask features, computed again (docs/dvis_plus.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from vis_bench.methods.families.dvis.inference import CarriedTracks, TrackedClip
from vis_bench.methods.families.dvis.refiner import TemporalRefiner
from vis_bench.methods.families.dvis.segmenter import FrameQueries


@dataclass
class GatheredVideo:
    """A video's first pass so far: the tracker's state and, per frame, the tracker's outputs
    [Q, 2C], the segmenter's un-normed queries [Q, 2C] and the tracker's logits [Q, K+1]."""

    tracks: CarriedTracks
    instance_embeds: list[torch.Tensor] = field(default_factory=list)
    frame_embeds: list[torch.Tensor] = field(default_factory=list)
    tracker_logits: list[torch.Tensor] = field(default_factory=list)

    def extended(
        self,
        tracked: TrackedClip,
        queries: FrameQueries,
        logits: torch.Tensor,
        tracks: CarriedTracks,
    ) -> GatheredVideo:
        """This video with a clip's new frames added (a new object: states are not shared)."""
        return GatheredVideo(
            tracks,
            self.instance_embeds + list(tracked.outputs),
            self.frame_embeds + list(queries.embeds_no_norm),
            self.tracker_logits + list(logits),
        )

    @property
    def num_frames(self) -> int:
        return len(self.instance_embeds)


@dataclass
class RefinedVideo:
    """The refiner on a whole video: normed last-layer outputs [T, Q, 2C], the refiner's class
    logits [Q, K+1] (one per track for the video) and the tracker's time-mean logits [Q, K+1]."""

    normed: torch.Tensor
    logits: torch.Tensor
    aux_logits: torch.Tensor


def refine(refiner: TemporalRefiner, video: GatheredVideo, consume: bool = False) -> RefinedVideo:
    """The refiner over every frame at once (its last layer, as the authors predict at test),
    in chunks of tracks or frames whose temporaries do not grow with the video
    (`TemporalRefiner.last_output`): what grows is the gathered T x Q x 2C inputs only.
    `consume` (the video's end: nothing reads the gathered frames again) empties the video's
    lists as they are stacked and computes the layers, the norm and the class logits in the
    stacked buffer, so the whole video's queries are held about twice (the tracker's outputs
    and the segmenter's queries), not several times over."""
    stack = _stack_emptying if consume else torch.stack
    instance_embeds = stack(video.instance_embeds)
    frame_embeds = stack(video.frame_embeds)
    aux_logits = stack(video.tracker_logits).mean(0)
    output = refiner.last_output(instance_embeds, frame_embeds, overwrite=consume)
    del instance_embeds, frame_embeds
    if consume:
        normed = refiner.normed_in_place(output)
        return RefinedVideo(normed, refiner.video_class_logits(normed), aux_logits)
    normed = refiner.decoder_norm(output[None])
    logits = refiner.class_logits(normed)[0]
    return RefinedVideo(normed[0], logits, aux_logits)


def _stack_emptying(tensors: list[torch.Tensor]) -> torch.Tensor:
    """`torch.stack(tensors)` that empties the list as it copies, so a long video's frames are
    not held both as the list and as the stacked copy (the list's tensors are often views of a
    clip's, freed once the clip's last frame is copied)."""
    stacked = tensors[0].new_empty((len(tensors), *tensors[0].shape))
    for i in range(len(tensors)):
        stacked[i] = tensors[i]
        tensors[i] = stacked[i]  # the list's own tensor is let go: a view of the copy
    tensors.clear()
    return stacked


@dataclass
class RefinedSlots:
    """What the second pass needs: the chosen tracks' normed refiner outputs [T, S, 2C]."""

    normed: torch.Tensor


def slot_masks(
    refiner: TemporalRefiner, slots: RefinedSlots, frames: list[int], mask_features: torch.Tensor
) -> torch.Tensor:
    """Mask logits [S, t, h, w] of the chosen tracks on the video's `frames`, from those
    frames' raw mask features [t, C, h, w]."""
    return refiner.mask_logits(slots.normed[frames], mask_features).transpose(0, 1)
