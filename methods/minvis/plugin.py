"""The `minvis` method: MinVIS, an image Mask2Former whose queries are linked across frames.

As the authors run it (`VideoMaskFormer_frame` at inference, windowed or not): every frame through
the backbone, the pixel decoder and the decoder on its own (2-D encoding, no frame sees
another), frames linked by Hungarian matching of query embeddings to the previous frame's
re-ordered queries, class logits averaged over the frames, then the top 10 (query, class) pairs
and masks resized as Mask2Former-VIS does. A clip of the harness is linked the same way, so with
T = all a video is linked exactly as the authors' inference links it. Across clips (T < all) the
harness's soft-IoU stitcher joins them; the authors' windows carry the last frame's embeddings
into the next window instead, which the plugin interface does not yet declare.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vis_bench.api import ClipResult, register_method
from vis_bench.methods.common.fast_paths import ensure_prepared, inference_context
from vis_bench.methods.families.mask2former.base_plugin import (
    Mask2FormerBase,
    Mask2FormerOptions,
    vis_member_spec,
)
from vis_bench.methods.families.mask2former.pixel_decoder import (
    PixelDecoderFeatures,
    stack_features,
)
from vis_bench.methods.minvis.matching import (
    ASSOCIATION,
    clip_result,
    frame_outputs,
    link_frames,
    video_predictions,
)
from vis_bench.methods.minvis.timing import AUTHORS_TIMING
from vis_bench.methods.minvis.variants import VARIANTS

SUMMARY = "MinVIS: image Mask2Former per frame, queries linked by embedding matching"
REFERENCE = "NVlabs/MinVIS @ d039c54b9831b623e27f2edb1d28b8e84d694cda (minvis/)"


@dataclass
class MinVISOptions(Mask2FormerOptions):
    """The YouTube-VIS 2019 R50 config (video_maskformer2_R50_bs32_8ep_frame.yaml) by default."""


@register_method("minvis")
class MinVISPlugin(Mask2FormerBase):
    """MinVIS (Huang et al., NeurIPS 2022): per-frame Mask2Former, queries matched over time."""

    spec = vis_member_spec(
        __package__, SUMMARY, MinVISOptions, REFERENCE, VARIANTS, AUTHORS_TIMING, ASSOCIATION
    )
    temporal = False

    def infer_clip_features(self, features: list[PixelDecoderFeatures]) -> ClipResult:
        """Each frame decoded alone, frames linked: all Q query tracks with their per-frame
        logits, embeddings and mask logits (stride 4 of the padded input); the harness links
        clips and asks `video_predictions` for the video's results."""
        paths = ensure_prepared(self.model)
        with inference_context(paths):
            out = self.model.decode(stack_features(features))
            return clip_result(link_frames(*frame_outputs(out)))

    def video_predictions(self, mean_logits: torch.Tensor) -> list[tuple[int, int, float]]:
        """`inference_video`: the top 10 (slot, class) pairs of the video's mean logits."""
        return video_predictions(mean_logits, int(self.options.top_k))
