"""The `dvis-plus-online` method: DVIS++'s segmenter and referring tracker, online.

As the authors run it (`DVIS_Plus_online` with WINDOW_INFERENCE): every frame through the
backbone, the pixel decoder and the decoder (each frame its own image, a window's frames in one
batch), then the tracker frame by frame with its state kept from window to window; the video's
scores are the softmax of each track's time-mean logits, the top 10 (track, class) pairs by
`topk(sorted=False)`, masks resized to the padded input, cropped and resized to the video.

The harness carries the tracker's state from clip to clip (`CarriedState`): any clip schedule
gives the authors' tracks (T = 3 is their window; the tracker is frame by frame, so only the
segmenter's batching changes, within float noise). The backbone and the pixel decoder see one
frame each: they are the per-frame stage the runner computes once per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vis_bench.api import ClipResult, register_method
from vis_bench.methods.common.fast_paths import ensure_prepared, inference_context
from vis_bench.methods.common.tracked_clip import tracked_clip_result
from vis_bench.methods.dvis_plus_online.variants import VARIANTS
from vis_bench.methods.families.dvis.base_plugin import (
    DVISBase,
    DVISOptions,
    member_spec,
)
from vis_bench.methods.families.dvis.inference import (
    CarriedTracks,
    TrackedClip,
    clip_predictions,
    track_clip,
)
from vis_bench.methods.families.dvis.postprocess import video_predictions
from vis_bench.methods.families.dvis.timing import AUTHORS_TIMING
from vis_bench.methods.families.mask2former.pixel_decoder import (
    PixelDecoderFeatures,
    stack_features,
)

SUMMARY = "DVIS++ online: per-frame Mask2Former with ReID, learnt referring tracker"
REFERENCE = "zhang-tao-whu/DVIS_Plus @ c0eb2495 (DVIS_Plus/dvis_Plus/: DVIS_Plus_online)"


@dataclass
class DVISOnlineOptions(DVISOptions):
    """The YouTube-VIS 2019 R50 config (DVIS_Plus_Online_R50_8wIter.yaml) by default; OVIS's
    differs only in its 25 classes."""


def clip_result(
    logits: torch.Tensor, masks: torch.Tensor, tracked: TrackedClip, carried: CarriedTracks
) -> ClipResult:
    """Every track of the clip in the video's fixed order: per-frame logits [T, Q, K+1], the
    tracker's outputs as embeddings [T, Q, 2C] (the harness links by the carried state, not
    by them), mask logits [Q, T, h, w]; scores and labels of the clip-mean logits (tables)."""
    return tracked_clip_result(logits, masks.transpose(0, 1).float(), tracked.outputs, carried)


@register_method("dvis-plus-online")
class DVISOnlinePlugin(DVISBase):
    """DVIS++ online: Mask2Former per frame, a learnt tracker carries each object."""

    spec = member_spec(__package__, SUMMARY, DVISOnlineOptions, REFERENCE, VARIANTS, AUTHORS_TIMING)

    def infer_clip_features(
        self,
        features: list[PixelDecoderFeatures],
        state: CarriedTracks | None = None,
        seen: int = 0,
    ) -> ClipResult:
        """The clip's frames decoded as one batch, then tracked frame by frame from the state
        the video carries."""
        paths = ensure_prepared(self.model)
        with inference_context(paths):
            queries = self.model.segment(stack_features(features))
            tracked, carried = track_clip(self.model.tracker, queries, state, seen)
            logits, masks = clip_predictions(self.model.tracker, tracked, queries.mask_features)
            return clip_result(logits, masks, tracked, carried)

    def video_predictions(self, mean_logits: torch.Tensor) -> list[tuple[int, int, float]]:
        """`inference_video_vis`: the top-k (track, class) pairs of the time-mean logits."""
        return video_predictions(mean_logits, None, int(self.options.top_k))
