"""What every Mask2Former-family method declares alike: preprocessing, options, checkpoints,
mask resizing and training; a member adds its inference (offline clip, or per frame + linking).

Preprocessing is detectron2's test mapper: `ResizeShortestEdge(MIN_SIZE_TEST, 1333)` with PIL's
bilinear filter, RGB 0..255 normalised with the ImageNet mean/std in that range; the network pads
to a multiple of 32. MIN_SIZE_TEST is 360 for the R50 releases and 480 for Swin-L, and Swin-L
models have 200 queries where R50 ones have 100, so both follow the backbone unless set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from vis_bench.api import (
    CarriedState,
    ClipResult,
    EmbeddingAssociation,
    MethodPlugin,
    MethodSpec,
    Preprocessing,
    SoftIoUStitching,
    WholeVideoRefinement,
)
from vis_bench.api.checkpoints import KeyRename, LoadReport
from vis_bench.api.parity import ParityReference
from vis_bench.api.timing import TimingProtocol
from vis_bench.api.training import TrainingRecipe
from vis_bench.api.variants import PretrainedVariant
from vis_bench.methods.common.backbone_registry import detect_backbone
from vis_bench.methods.common.detectron2_input import detectron2_preprocessing, pad_frames
from vis_bench.methods.common.fast_paths import (
    RecordsFastPaths,
    ensure_prepared,
    inference_context,
)
from vis_bench.methods.common.frame_sampling import WindowFrameSampler
from vis_bench.methods.common.ms_deform_attn_core import RecordsDeformAttnCore
from vis_bench.methods.families.mask2former.model import (
    BACKBONES,
    RELEASE_BACKBONES,
    Mask2FormerConfig,
    Mask2FormerModel,
    build_model,
)
from vis_bench.methods.families.mask2former.pixel_decoder import PixelDecoderFeatures, split_frames
from vis_bench.methods.families.mask2former.postprocess import frame_logits_to_video
from vis_bench.methods.families.mask2former.training import criterion_for, mask2former_losses

#: MIN_SIZE_TEST and NUM_OBJECT_QUERIES of the released configs, per backbone
RELEASE_TEST_SIZE = {"resnet50": 360, "swin_l": 480}
RELEASE_QUERIES = {"resnet50": 100, "swin_l": 200}
#: keys only Mask2Former-family checkpoints have (detectron2's MaskFormerHead)
CHECKPOINT_SIGNATURE = (
    r"^sem_seg_head\.pixel_decoder\.transformer\.level_embed$",
    r"^sem_seg_head\.predictor\.query_feat\.weight$",
)
#: what the authors' modules rename when they load a file whose `_metadata` gives them a version
#: below 2, or none (every model-zoo pickle): the decoder's `static_query` (its name before
#: `query_feat`), and the pixel decoder's keys from directly under `sem_seg_head.` to under
#: `sem_seg_head.pixel_decoder.` (never a key already there, nor the predictor's)
CHECKPOINT_RENAMES = (
    KeyRename(
        r"^(sem_seg_head\.predictor\.)static_query\.",
        r"\1query_feat.",
        module="sem_seg_head.predictor",
        below_version=2,
        source="facebookresearch/Mask2Former video_mask2former_transformer_decoder.py "
        "(VideoMultiScaleMaskedTransformerDecoder._load_from_state_dict)",
    ),
    KeyRename(
        r"^sem_seg_head\.(?!predictor\.|pixel_decoder\.)",
        "sem_seg_head.pixel_decoder.",
        module="sem_seg_head",
        below_version=2,
        source="facebookresearch/Mask2Former mask_former_head.py "
        "(MaskFormerHead._load_from_state_dict)",
    ),
)
#: the criterion's class weights (1 per class, the no-object weight last): built from the
#: options, needed by no forward, and loaded non-strictly by detectron2's checkpointer
CHECKPOINT_CONSTANTS = (r"^criterion\.empty_weight$",)
#: the Base-YouTubeVIS configs: AdamW 1e-4 (backbone x0.1), weight decay 0.05 (none on norms
#: and embeddings), the whole model's gradient norm clipped at 0.01, 6000 iterations with
#: the rate x0.1 at 4000; detectron2's video dataset has one item per video
TRAINING_RECIPE_ARGS = {
    "lr": 1e-4,
    "weight_decay": 0.05,
    "clip_max_norm": 0.01,
    "lr_drops": (4000 / 6000,),
    "backbone_lr_mult": 0.1,
    "videos_by_length": False,
}


def test_preprocessing(shorter_side: int) -> Preprocessing:
    """The released configs' test mapper at a given MIN_SIZE_TEST."""
    return detectron2_preprocessing(shorter_side)


#: every member's backbone and pixel decoder see one frame at a time (frames meet after them)
PER_FRAME_STAGES = ("backbone", "pixel_decoder")


def family_spec(
    *,
    name: str,
    summary: str,
    options: type,
    min_size_test: int,
    reference: str,
    parity: str,
    training: TrainingRecipe,
    backbones: tuple[str, ...],
    variants: tuple[PretrainedVariant, ...],
    checkpoint_signature: tuple[str, ...] = CHECKPOINT_SIGNATURE,
    linking: SoftIoUStitching
    | EmbeddingAssociation
    | CarriedState
    | WholeVideoRefinement
    | None = None,
    timing_protocol: TimingProtocol | None = None,
) -> MethodSpec:
    """A member's declaration: what all members declare alike (detectron2's test mapper, a
    parity check against `reference`, its `parity` naming the check as "module:function")
    around what it declares itself; `linking` None keeps the spec's default (clips stitched by
    soft IoU)."""
    own = {} if linking is None else {"linking": linking}
    return MethodSpec(
        name=name,
        summary=summary,
        options=options,
        preprocessing=test_preprocessing(min_size_test),
        reference=reference,
        checkpoint_signature=checkpoint_signature,
        training=training,
        parity=ParityReference(parity, reference),
        backbones=backbones,
        variants=variants,
        timing_protocol=timing_protocol,
        checkpoint_renames=CHECKPOINT_RENAMES,
        checkpoint_constants=CHECKPOINT_CONSTANTS,
        **own,
    )


@dataclass
class Mask2FormerOptions(Mask2FormerConfig):
    """The network (Mask2FormerConfig) plus the test settings; `num_queries` and `min_size_test`
    left at None follow the backbone's released config (100 / 360 for R50, 200 / 480 Swin-L)."""

    num_queries: int | None = None  # type: ignore[assignment]
    min_size_test: int | None = None
    #: results per video (`inference_video`'s top-10 over query x class)
    top_k: int = 10

    def __post_init__(self) -> None:
        release = self.backbone if self.backbone in RELEASE_BACKBONES else "resnet50"
        if self.num_queries is None:
            self.num_queries = RELEASE_QUERIES[release]
        if self.min_size_test is None:
            self.min_size_test = RELEASE_TEST_SIZE[release]
        super().__post_init__()

    def network(self) -> Mask2FormerConfig:
        fields = Mask2FormerConfig.__dataclass_fields__
        return Mask2FormerConfig(**{name: getattr(self, name) for name in fields})


class Mask2FormerBase(RecordsDeformAttnCore, RecordsFastPaths, MethodPlugin):
    """The parts every Mask2Former-family plugin shares; `temporal` picks the decoder's mode."""

    #: the decoder attends over the whole clip (Mask2Former-VIS) or over each frame alone
    temporal: bool = True
    #: every member's backbone and pixel decoder see one frame at a time
    per_frame_stages = PER_FRAME_STAGES

    def __init__(self, model: Mask2FormerModel, options: Mask2FormerOptions) -> None:
        self.model = model
        self.options = options
        self.config = options.network()
        self.load_report: LoadReport | None = None
        #: the valid (unpadded) input size of the clips being inferred (`masks_to_video`)
        self.input_size: tuple[int, int] | None = None

    @classmethod
    def create(cls, options: Mask2FormerOptions) -> Mask2FormerBase:
        return cls(build_model(options.network(), temporal=cls.temporal), options)

    @property
    def preprocessing(self) -> Preprocessing:
        return test_preprocessing(int(self.options.min_size_test))

    @classmethod
    def describe_checkpoint(cls, state_dict: Mapping[str, torch.Tensor]) -> list[str]:
        """The backbone and query count a state dict holds, read from its keys and shapes."""
        lines = [f"backbone: {detect_backbone(state_dict).describe()}"]
        queries = state_dict.get("sem_seg_head.predictor.query_feat.weight")
        if queries is not None:
            lines.append(f"queries: {int(queries.shape[0])}")
        return lines

    @classmethod
    def checkpoint_options(cls, state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        """Backbone, queries and classes of the model a release state dict was saved from."""
        options: dict[str, Any] = {}
        name = detect_backbone(state_dict).name
        if name in RELEASE_BACKBONES:
            options["backbone"] = name
        queries = state_dict.get("sem_seg_head.predictor.query_feat.weight")
        if queries is not None:
            options["num_queries"] = int(queries.shape[0])
        classes = state_dict.get("sem_seg_head.predictor.class_embed.weight")
        if classes is not None:
            options["num_classes"] = int(classes.shape[0]) - 1
        return options

    def infer_clip(self, frames: torch.Tensor) -> ClipResult:
        """The per-frame stages, then the member's `infer_clip_features`: one code path whether
        or not the runner reuses frames."""
        return self.infer_clip_features(self.frame_features(frames))

    def frame_features(self, frames: torch.Tensor) -> list[PixelDecoderFeatures]:
        """Per frame: the pixel decoder's maps (backbone and pixel decoder see one frame each;
        the decoder runs on the clip's batch, its matrix products round differently with the
        batch's size)."""
        paths = ensure_prepared(self.model)
        with inference_context(paths):
            self.input_size = (int(frames.shape[-2]), int(frames.shape[-1]))
            return split_frames(self.model.per_frame(pad_frames(frames)))

    def masks_to_video(
        self, masks: torch.Tensor, height: int, width: int, threshold: float
    ) -> np.ndarray:
        """Stride-4 logits of the padded input [n, h, w] -> uint8 [n, H, W]: resized to the
        padded size, cropped to the valid input, resized to the video (`inference_video`)."""
        return frame_logits_to_video(masks, self.input_size, height, width, threshold)

    def backbone_module(self) -> torch.nn.Module:
        return self.model.backbone

    def parameter_groups(self, lr: float, backbone_lr_mult: float) -> list[dict[str, Any]]:
        """The authors' build_optimizer: backbone at lr x BACKBONE_MULTIPLIER; no weight decay
        on norm layers, embeddings and Swin's relative position tables."""
        groups: dict[tuple[str, bool], list[torch.nn.Parameter]] = {}
        no_decay_types = (torch.nn.GroupNorm, torch.nn.LayerNorm, torch.nn.Embedding)
        for module_name, module in self.model.named_modules():
            for name, param in module.named_parameters(recurse=False):
                if not param.requires_grad:
                    continue
                part = "backbone" if module_name.startswith("backbone") else "rest"
                decay = not (
                    isinstance(module, no_decay_types) or "relative_position_bias_table" in name
                )
                groups.setdefault((part, decay), []).append(param)
        rates = {"backbone": lr * backbone_lr_mult, "rest": lr}
        out = []
        for (part, decay), params in groups.items():
            group: dict[str, Any] = {"params": params, "lr": rates[part], "name": part}
            if not decay:
                group["weight_decay"] = 0.0
                group["name"] = f"{part} (no decay)"
            out.append(group)
        return out

    def training_losses(
        self, frames: torch.Tensor, targets: Any, num_instances: float, num_clips: int = 1
    ) -> dict[str, torch.Tensor]:
        if getattr(self, "_criterion", None) is None:
            self._criterion = criterion_for(self.model).to(frames.device)
        return mask2former_losses(
            self.model, self._criterion, frames, targets, num_instances, num_clips
        )

    def flops_modules(self) -> list[str]:
        backbone = ["backbone"] if self.model.has_backbone else []
        return [*backbone, "sem_seg_head.pixel_decoder", "sem_seg_head.predictor"]


class CarryingMember(Mask2FormerBase):
    """A member whose clips carry the video's state (the DVIS families): each clip's new
    frames (after the `seen` an earlier clip covered) go on from what the video gathered."""

    def infer_clip(self, frames: torch.Tensor, state: Any = None, seen: int = 0) -> ClipResult:
        """The per-frame stages, then the rest: one code path with or without frame reuse."""
        return self.infer_clip_features(self.frame_features(frames), state=state, seen=seen)


def training_recipe(frame_sampler: Any) -> TrainingRecipe:
    """The shared recipe with a member's frame sampler."""
    return TrainingRecipe(frame_sampler=frame_sampler, **TRAINING_RECIPE_ARGS)


#: Mask2Former-VIS's and MinVIS's test size (MIN_SIZE_TEST 360 in their YouTube-VIS configs)
VIS_MIN_SIZE_TEST = 360


def vis_member_spec(
    package: str,
    summary: str,
    options: type,
    reference: str,
    variants: tuple[PretrainedVariant, ...],
    timing_protocol: TimingProtocol,
    linking: EmbeddingAssociation | None = None,
) -> MethodSpec:
    """Mask2Former-VIS's or MinVIS's declaration, the method named after its package: tested
    at 360, trained on windows of frames (MinVIS's SAMPLING_FRAME_NUM 1: one frame), on the
    family's backbones, `package`'s parity check."""
    return family_spec(
        name=package.rsplit(".", 1)[-1].replace("_", "-"),
        summary=summary,
        options=options,
        min_size_test=VIS_MIN_SIZE_TEST,
        reference=reference,
        parity=f"{package}.parity:run_parity",
        training=training_recipe(WindowFrameSampler()),
        backbones=BACKBONES,
        variants=variants,
        linking=linking,
        timing_protocol=timing_protocol,
    )
