"""The `mask2former-vis` method: Mask2Former for video instance segmentation, offline.

As the authors run it (`VideoMaskFormer.forward` at inference): every frame of the video through
the backbone and the pixel decoder, then the video decoder over all frames at once (queries attend
to every frame's tokens; one class prediction per query for the whole video, one mask per frame),
then `inference_video`: the top 10 (query, class) pairs, masks resized to the padded input, cropped
and resized to the video. The harness's clip schedule gives T = all (the published setting); a
shorter clip length runs the same network on each clip and the harness stitches the clips.
"""

from __future__ import annotations

from dataclasses import dataclass

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
from vis_bench.methods.families.mask2former.postprocess import top_predictions
from vis_bench.methods.mask2former_vis.timing import AUTHORS_TIMING
from vis_bench.methods.mask2former_vis.variants import VARIANTS

SUMMARY = "Mask2Former-VIS: masked-attention decoder over all frames' tokens, offline"
REFERENCE = (
    "facebookresearch/Mask2Former @ 9b0651c6c1d5b3af2e6da0589b719c514ec0d69a "
    "(mask2former_video/; identical in NVlabs/MinVIS @ d039c54b)"
)


@dataclass
class Mask2FormerVISOptions(Mask2FormerOptions):
    """The YouTube-VIS 2019 R50 config (video_maskformer2_R50_bs16_8ep.yaml) by default."""


@register_method("mask2former-vis")
class Mask2FormerVISPlugin(Mask2FormerBase):
    """Mask2Former-VIS (Cheng et al., arXiv 2112.10764), offline over the whole video."""

    spec = vis_member_spec(
        __package__, SUMMARY, Mask2FormerVISOptions, REFERENCE, VARIANTS, AUTHORS_TIMING
    )
    temporal = True

    def infer_clip_features(self, features: list[PixelDecoderFeatures]) -> ClipResult:
        """The video decoder over the clip's frames; the top-k (query, class) pairs, with their
        queries' mask logits at stride 4 of the padded input (`masks_to_video` resizes them)."""
        paths = ensure_prepared(self.model)
        with inference_context(paths):
            out = self.model.decode(stack_features(features))
            top = top_predictions(out.logits[0], int(self.options.top_k))
            logits = out.masks[0][top.queries].float()  # [k, T, h, w]
            return ClipResult(
                scores=top.scores,
                labels=top.labels + 1,  # contiguous labels -> dataset category ids
                masks=logits.sigmoid(),
                mask_logits=logits,
                extra={"queries": top.queries},
            )
