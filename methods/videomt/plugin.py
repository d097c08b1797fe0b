"""The `videomt` method: VidEoMT, an encoder-only video mask transformer on a DINOv2 ViT.

As the authors run it (`videomt_online` with `WINDOW_SIZE 1`): each frame resized by detectron2's
`ResizeShortestEdge(448, 1333)` (544 for OVIS), normalised with the ImageNet mean/std in 0..255,
zero-padded to a multiple of 32, through the ViT with the queries in its last blocks; the
queries carried to the next frame. The harness carries them from clip to clip (`CarriedState`),
so any clip schedule gives the per-frame loop's predictions (inference.py). The ViT's blocks
before the query blocks see each frame alone: they are the per-frame stage the runner computes
once per frame under overlapping clips.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from vis_bench.api import (
    CarriedState,
    ClipResult,
    MethodPlugin,
    MethodSpec,
    Preprocessing,
    register_method,
)
from vis_bench.api.checkpoints import CheckpointContents, LoadReport
from vis_bench.api.parity import ParityReference
from vis_bench.methods.common.checkpoint_heads import query_and_class_counts
from vis_bench.methods.common.fast_paths import RecordsFastPaths, ensure_prepared, inference_context
from vis_bench.methods.common.vit import VIT_SIZES
from vis_bench.methods.families.mask2former.postprocess import frame_logits_to_video
from vis_bench.methods.videomt import transformers_layout
from vis_bench.methods.videomt.inference import (
    CarriedQueries,
    FrameTokens,
    clip_result,
    run_clip,
    video_predictions,
)
from vis_bench.methods.videomt.model import PatchFeatureMaps, VidEoMTModel
from vis_bench.methods.videomt.options import VidEoMTOptions
from vis_bench.methods.videomt.preprocessing import pad_frames, release_preprocessing
from vis_bench.methods.videomt.timing import AUTHORS_TIMING
from vis_bench.methods.videomt.training import (
    TRAINING_RECIPE,
    VidEoMTCriterion,
    build_criterion,
    mask_probabilities,
    parameter_groups,
    videomt_losses,
)
from vis_bench.methods.videomt.variants import VARIANTS

#: keys only VidEoMT checkpoints have
CHECKPOINT_SIGNATURE = (
    r"^backbone\.query_updater\.weight$",
    r"^backbone\.encoder\.backbone\.reg_token$",
)
PREFIX = "backbone."
VIT = "backbone.encoder.backbone."

REFERENCE = "tue-mps/videomt @ 39411e940499f34f54d7c9f031a34111bab190d6 (videomt/)"


@register_method("videomt")
class VidEoMTPlugin(RecordsFastPaths, MethodPlugin):
    """VidEoMT (CVPR 2026): queries carried from frame to frame through the ViT's last blocks."""

    spec = MethodSpec(
        name="videomt",
        summary="VidEoMT: DINOv2 ViT segmenting with queries in its last blocks, carried per frame",
        options=VidEoMTOptions,
        preprocessing=release_preprocessing(448),
        reference=REFERENCE,
        checkpoint_signature=CHECKPOINT_SIGNATURE,
        parity=ParityReference(f"{__package__}.parity:run_parity", REFERENCE),
        linking=CarriedState(),
        backbones=tuple(VIT_SIZES),
        variants=VARIANTS,
        timing_protocol=AUTHORS_TIMING,
        training=TRAINING_RECIPE,
        checkpoint_constants=(r"^criterion\.empty_weight$",),
    )
    #: the ViT blocks before the queries join see one frame each
    per_frame_stages = ("vit_blocks_before_queries",)

    def __init__(self, model: VidEoMTModel, options: VidEoMTOptions) -> None:
        self.model = model
        self.options = options
        self.load_report: LoadReport | None = None
        #: the valid (unpadded) input size of the clips being inferred (`masks_to_video`)
        self.input_size: tuple[int, int] | None = None
        self._criterion: VidEoMTCriterion | None = None

    @classmethod
    def create(cls, options: VidEoMTOptions) -> VidEoMTPlugin:
        return cls(VidEoMTModel(options.network()).eval(), options)

    @property
    def preprocessing(self) -> Preprocessing:
        return release_preprocessing(int(self.options.min_size_test))

    @classmethod
    def checkpoint_options(cls, state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        """Backbone, queries, classes and query blocks of a release state dict."""
        return checkpoint_options(state_dict)

    @classmethod
    def describe_checkpoint(cls, state_dict: Mapping[str, torch.Tensor]) -> list[str]:
        options = checkpoint_options(state_dict)
        return [f"{name}: {value}" for name, value in options.items()]

    @classmethod
    def foreign_checkpoint(cls, contents: CheckpointContents) -> CheckpointContents | None:
        """A Hugging Face Transformers VidEoMT file converted to the authors' keys with its
        options from config.json; a DINOv3 file refused (transformers_layout.py)."""
        return transformers_layout.convert(contents)

    def infer_clip(
        self, frames: torch.Tensor, state: CarriedQueries | None = None, seen: int = 0
    ) -> ClipResult:
        """The per-frame stage, then the query blocks frame by frame: one code path whether or
        not the runner reuses frames."""
        return self.infer_clip_features(self.frame_features(frames), state=state, seen=seen)

    def frame_features(self, frames: torch.Tensor) -> list[FrameTokens]:
        """Each padded frame through the ViT's blocks before the query blocks, one at a time."""
        self.input_size = (int(frames.shape[-2]), int(frames.shape[-1]))
        net = self.model.backbone
        with inference_context(ensure_prepared(self.model)):
            return [FrameTokens(*net.frame_tokens(image)) for image in pad_frames(frames).split(1)]

    def infer_clip_features(
        self, features: list[FrameTokens], state: CarriedQueries | None = None, seen: int = 0
    ) -> ClipResult:
        """The query blocks and heads of every frame, from the queries the video carries."""
        with inference_context(ensure_prepared(self.model)):
            outputs, carried = run_clip(self.model.backbone, features, state, seen)
            return clip_result(outputs, carried)

    def video_predictions(self, mean_logits: torch.Tensor) -> list[tuple[int, int, float]]:
        """`inference_video_vis`: the top-k (query, class) pairs of the time-mean logits."""
        return video_predictions(mean_logits, int(self.options.top_k))

    def masks_to_video(
        self, masks: torch.Tensor, height: int, width: int, threshold: float
    ) -> np.ndarray:
        """Stride-4 logits of the padded input [n, h, w] -> uint8 [n, H, W]: resized to the
        padded size, cropped to the valid input, resized to the video."""
        return frame_logits_to_video(masks, self.input_size, height, width, threshold)

    def parameter_groups(self, lr: float, backbone_lr_mult: float) -> list[dict[str, Any]]:
        """`Trainer.build_optimizer`: the ViT's groups marked for the layer-wise decay and the
        second warm-up stage (training.py)."""
        return parameter_groups(self.model, lr, backbone_lr_mult)

    def training_losses(
        self, frames: torch.Tensor, targets: Any, num_instances: float, num_clips: int = 1
    ) -> dict[str, torch.Tensor]:
        """The authors' training forward (queries carried through the clip, deep supervision)
        and criterion, every frame supervised as an image."""
        if self._criterion is None:
            self._criterion = build_criterion(self.model).to(frames.device)
        return videomt_losses(
            self.model,
            self._criterion,
            frames,
            targets,
            num_instances,
            num_clips,
            self.options.absent_last_frame,
            masked_attention=self.options.attn_mask_annealing is not None,
        )

    def training_step(self, iteration: int, iterations: int) -> None:
        """With `attn_mask_annealing`, each query block's masked-attention probability for this
        step (EoMT's annealing); without it the masks stay off, as in the release."""
        windows = self.options.attn_mask_annealing
        if windows is not None:
            probs = mask_probabilities(windows, iteration, iterations)
            self.model.backbone.attn_mask_probs.copy_(torch.tensor(probs))

    def backbone_module(self) -> torch.nn.Module:
        """The ViT as an image backbone giving its patch tokens as maps, at the query blocks'
        input and at the end (a dense pretraining trains it; `backbone_init` fills it)."""
        backbone = self.model.backbone
        return PatchFeatureMaps(backbone.vit, backbone.config.first_query_block)

    def flops_modules(self) -> list[str]:
        vit = "backbone.encoder.backbone"  # the whole ViT, query blocks included
        return [vit, "backbone.mask_head", "backbone.upscale", "backbone.class_head"]


def checkpoint_options(state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """The options that build the model a VidEoMT state dict was saved from."""
    options: dict[str, Any] = {}
    cls_token = state_dict.get(VIT + "cls_token")
    if cls_token is not None:
        width = int(cls_token.shape[-1])
        depth = len({k.split(".")[4] for k in state_dict if k.startswith(VIT + "blocks.")})
        named = [n for n, (dim, d, _) in VIT_SIZES.items() if (dim, d) == (width, depth)]
        if named:
            options["backbone"] = named[0]
    proj = state_dict.get(VIT + "patch_embed.proj.weight")
    pos = state_dict.get(VIT + "pos_embed")
    if proj is not None and pos is not None:
        options["patch_size"] = int(proj.shape[-1])
        options["img_size"] = int(round(int(pos.shape[1]) ** 0.5)) * int(proj.shape[-1])
    masks = state_dict.get(PREFIX + "attn_mask_probs")
    blocks = {k.split(".")[4] for k in state_dict if k.startswith(VIT + "blocks.")}
    if masks is not None and blocks:
        # the released configs' query blocks are the last ones, one `attn_mask_probs` each
        options["query_blocks"] = list(range(len(blocks) - int(masks.shape[0]), len(blocks)))
    options.update(
        query_and_class_counts(state_dict, PREFIX + "q.weight", PREFIX + "class_head.weight")
    )
    return options
