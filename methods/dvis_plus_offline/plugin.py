"""The `dvis-plus-offline` method: DVIS++'s segmenter and tracker, then the temporal refiner.

As the authors run it (`DVIS_Plus_offline` with WINDOW_INFERENCE): the segmenter and the tracker
as in the online model, window by window with the tracker's state carried; then the refiner over
every frame's tracked queries at once; the video's scores are, per (track, class), the larger of
the refiner's and the online tracker's softmax of time-mean logits; the top 10 pairs by
`topk(sorted=False)`; masks from the refiner, resized to the padded input, cropped and resized to
the video.

The harness runs it as a `WholeVideoRefinement`: the clips carry the tracker's state and gather
the refiner's small inputs (T x Q x 2C); at the video's end the refiner decides the tracks, and
the chosen tracks' masks are made in a second pass over the frames from each frame's mask
features, which the first pass wrote to a temporary file (`keep_mask_features: disk`) or which
are made again (`no`), so no long video's feature maps are held in memory (docs/methods/dvis_plus.md
has the memory against video length).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from vis_bench.api import ClipResult, InputError, register_method
from vis_bench.api.refinement import VideoRefinement
from vis_bench.api.tensor_spill import TensorSpill
from vis_bench.methods.common.fast_paths import ensure_prepared, inference_context
from vis_bench.methods.common.first_pass import first_pass_result
from vis_bench.methods.dvis_plus_offline.variants import VARIANTS
from vis_bench.methods.families.dvis.base_plugin import (
    DVISBase,
    DVISOptions,
    SecondPassMasks,
    member_spec,
)
from vis_bench.methods.families.dvis.inference import clip_predictions, track_clip
from vis_bench.methods.families.dvis.postprocess import video_predictions
from vis_bench.methods.families.dvis.refinement import (
    GatheredVideo,
    RefinedSlots,
    kept_frames,
    refine,
    slot_masks,
)
from vis_bench.methods.families.dvis.timing import AUTHORS_TIMING
from vis_bench.methods.families.mask2former.pixel_decoder import (
    PixelDecoderFeatures,
    stack_features,
)

SUMMARY = "DVIS++ offline: DVIS++ online's tracks refined by a temporal refiner"
REFERENCE = "zhang-tao-whu/DVIS_Plus @ c0eb2495 (DVIS_Plus/dvis_Plus/: DVIS_Plus_offline)"
#: option keep_mask_features -> the dtype the first pass keeps each frame's mask features in
#: (None: keeps none); "disk" keeps them as they are, in a temporary file (SPILLED)
KEPT_MASK_FEATURES: dict[str, torch.dtype | None] = {
    "disk": torch.float32,
    "no": None,
    "float32": torch.float32,
    "float16": torch.float16,
}
SPILLED = ("disk",)
#: what a user whose temporary folder cannot take the features can do instead
SPILL_FALLBACK = "or keep nothing on disk: keep_mask_features: no"


@dataclass
class DVISOfflineOptions(DVISOptions):
    """The YouTube-VIS 2019 R50 config (DVIS_Plus_Offline_R50.yaml) by default."""

    #: MODEL.REFINER.DECODER_LAYERS
    refiner_layers: int = 6
    train_stage: str = "refiner"
    #: MODEL.REFINER.USE_CL (True in the YouTube-VIS configs, False in OVIS's)
    refiner_contrastive: bool = True
    #: the second pass's mask features: "disk" keeps every frame's from the first pass in a
    #: temporary file (no second backbone pass, the same numbers, memory flat in the video's
    #: length; the file takes C x H/4 x W/4 floats per frame until the video's end); "no"
    #: makes them again from the frames (backbone and pixel decoder a second time; nothing
    #: kept); "float32" keeps them in memory, as the authors do; "float16" keeps them in memory
    #: at half the bytes, which moves mask logits by rounding (docs/methods/dvis_plus.md, Offline)
    keep_mask_features: str = "disk"

    def __post_init__(self) -> None:
        if self.keep_mask_features not in KEPT_MASK_FEATURES:
            raise InputError(
                f"keep_mask_features must be one of {list(KEPT_MASK_FEATURES)}, "
                f"not {self.keep_mask_features!r}",
                field="keep_mask_features",
            )
        super().__post_init__()


@register_method("dvis-plus-offline")
class DVISOfflinePlugin(SecondPassMasks, DVISBase):
    """DVIS++ offline: the online model's tracks refined over the whole video."""

    spec = member_spec(
        __package__, SUMMARY, DVISOfflineOptions, REFERENCE, VARIANTS, AUTHORS_TIMING
    )
    training_stages = ("refiner",)

    @classmethod
    def refiner_layers(cls, options: Any) -> int | None:
        return int(options.refiner_layers)

    def infer_clip_features(
        self,
        features: list[PixelDecoderFeatures],
        state: GatheredVideo | None = None,
        seen: int = 0,
    ) -> ClipResult:
        """The clip's new frames through the segmenter (one batch) and the tracker (frame by
        frame from the carried state); what the refiner reads is added to the video's state.
        Frames an earlier clip covered are in the state already."""
        new = features[seen:]
        if not new:
            return first_pass_result(state)
        paths = ensure_prepared(self.model)
        with inference_context(paths):
            stacked = stack_features(new)
            queries = self.model.segment(stacked)
            carried = state.tracks if state is not None else None
            tracked, tracks = track_clip(self.model.tracker, queries, carried)
            logits, _ = clip_predictions(self.model.tracker, tracked, None)
        choice = self.options.keep_mask_features
        if state is None:
            spill = TensorSpill(fallback=SPILL_FALLBACK) if choice in SPILLED else None
            state = GatheredVideo(tracks, spill=spill)
        kept = kept_frames(stacked.mask_features, KEPT_MASK_FEATURES[choice], state.spill)
        return first_pass_result(state.extended(tracked, queries, logits, tracks, kept))

    def refine_video(self, state: GatheredVideo) -> VideoRefinement:
        """The refiner over the whole video; the top-k pairs of the max of its and the
        tracker's scores; the chosen tracks' normed outputs for the second pass."""
        paths = ensure_prepared(self.model)
        with inference_context(paths):
            refined = refine(self.model.refiner, state, consume=True)
        top_k = int(self.options.top_k)
        predictions = video_predictions(refined.logits, refined.aux_logits, top_k)
        refinement = VideoRefinement(predictions)
        refinement.data = RefinedSlots(refined.tracks(refinement.slots), state.mask_features)
        return refinement

    def refined_masks(
        self, frames: torch.Tensor, refinement: VideoRefinement, frame_indices: list[int]
    ) -> torch.Tensor:
        """The second pass: the chosen tracks' masks from the frames' mask features, kept by
        the first pass (`keep_mask_features`) or made again."""
        kept = refinement.data.kept_mask_features(frame_indices)
        if kept is None:
            return super().refined_masks(frames, refinement, frame_indices)
        return self.masks_from(kept, refinement, frame_indices)

    def chosen_masks(
        self, mask_features: torch.Tensor, refinement: VideoRefinement, frame_indices: list[int]
    ) -> torch.Tensor:
        """The refinement's slots' masks (the refiner reads the raw mask features, not the
        tracker's projection)."""
        return slot_masks(self.model.refiner, refinement.data, frame_indices, mask_features)

    def flops_modules(self) -> list[str]:
        return [*super().flops_modules(), "refiner"]
