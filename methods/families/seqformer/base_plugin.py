"""SeqFormer's plugin, unregistered: the declaration, clip inference and checkpoint loading that
the `seqformer` method registers as it is and the MS-STS methods (a fork of SeqFormer's code)
build on.

Everything a user needs to run SeqFormer the authors' way is declared here: frames resized so the
shorter side is 360 (torchvision-0.8 `Resize(360)`, no max-size cap), ImageNet normalisation,
the whole clip in one forward, and the top-10 (query, class) post-processing of inference.py.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from vis_bench.api import ClipResult, InputError, MethodPlugin, MethodSpec, Preprocessing
from vis_bench.api.checkpoints import (
    CheckpointContents,
    LoadReport,
    checkpoint_contents,
    load_state_dict_strict,
)
from vis_bench.api.output import sigmoid_cut
from vis_bench.api.parity import ParityReference
from vis_bench.api.training import TrainingRecipe
from vis_bench.methods.common.backbone_registry import (
    backbone_names,
    detect_backbone,
    is_frozen_bn_resnet,
)
from vis_bench.methods.common.fast_paths import (
    FastPaths,
    RecordsFastPaths,
    ensure_prepared,
    inference_context,
)
from vis_bench.methods.common.ms_deform_attn_core import RecordsDeformAttnCore
from vis_bench.methods.families.seqformer.checkpoint import complete_box_head_aliases
from vis_bench.methods.families.seqformer.model import (
    TINY_BACKBONE,
    SeqFormer,
    SeqFormerConfig,
    build,
)
from vis_bench.methods.families.seqformer.postprocess import (
    MASK_THRESHOLD,
    MIN_SCORE_FOR_MASKS,
    TOP_K,
    clip_instances,
    top_queries,
)
from vis_bench.methods.families.seqformer.timing import AUTHORS_TIMING
from vis_bench.methods.families.seqformer.training import seqformer_frame_indices, seqformer_losses

SHORTER_SIDE = 360
REFERENCE = "wjf5203/SeqFormer @ 94272384dfa357dab6c4a6cc08af4e5073942fb5"

#: inference.py: torchvision-0.8 Resize(360) on PIL images, ToTensor, ImageNet mean/std
PREPROCESSING = Preprocessing(shorter_side=SHORTER_SIDE, resize="antialias", size_divisibility=32)

#: main.py + configs/r50_seqformer.sh: AdamW 2e-4 (backbone 2e-5), weight decay 1e-4, gradient
#: norm clipped at 0.1, 12 epochs with the rate x0.1 after epochs 4 and 10, 5-frame clips; the
#: dataset has one item per frame, so long videos are drawn more often
TRAINING_RECIPE = TrainingRecipe(
    lr=2e-4,
    weight_decay=1e-4,
    clip_max_norm=0.1,
    lr_drops=(4 / 12, 10 / 12),
    backbone_lr_mult=0.1,
    frame_sampler=seqformer_frame_indices,
    videos_by_length=True,
)
#: learning rate x0.1 for the modules that place sampling points (lr_linear_proj_names)
LINEAR_PROJ_NAMES = ("reference_points", "sampling_offsets")
LINEAR_PROJ_MULT = 0.1
#: a ResNet's stem and layer1 are frozen (only layer2-4 train, models/backbone.py); Swin trains
#: whole (frozen_stages -1)
FROZEN_RESNET_PREFIXES = (
    "detr.backbone.0.body.conv1",
    "detr.backbone.0.body.bn1",
    "detr.backbone.0.body.layer1",
)
#: what SeqFormer computes of each frame alone (`frame_features`): the deformable encoder attends
#: within a frame, the mask head's features come from that frame's memory, and so do the values
#: each decoder layer's cross-attention samples (a projection of each memory token)
PER_FRAME_STAGES = ("backbone", "input_proj", "encoder", "mask_features", "decoder_values")
#: keys only SeqFormer-family checkpoints have: the dynamic mask head and the box-head alias
CHECKPOINT_SIGNATURE = (r"^controller\.", r"^detr\.transformer\.decoder\.bbox_embed\.")


@dataclass
class SeqFormerOptions(SeqFormerConfig):
    """SeqFormerConfig (the network) plus inference.py's settings."""

    #: test-time shorter side (the sweep's resolution axis overrides it per cell)
    shorter_side: int = SHORTER_SIDE
    #: (query, class) pairs kept per clip
    top_k: int = TOP_K

    def network(self) -> SeqFormerConfig:
        """The network part of the options."""
        fields = SeqFormerConfig.__dataclass_fields__
        return SeqFormerConfig(**{name: getattr(self, name) for name in fields})


class SeqFormerBase(RecordsDeformAttnCore, RecordsFastPaths, MethodPlugin):
    """SeqFormer (Wu et al., ECCV 2022) as its authors' inference.py runs it (registered by
    methods/seqformer; subclassed by the MS-STS methods)."""

    spec = MethodSpec(
        name="seqformer",
        summary="SeqFormer: query decomposition over a whole clip, dynamic mask head",
        options=SeqFormerOptions,
        preprocessing=PREPROCESSING,
        reference=REFERENCE,
        checkpoint_signature=CHECKPOINT_SIGNATURE,
        training=TRAINING_RECIPE,
        parity=ParityReference(f"{__package__}.parity:run_parity", REFERENCE),
        drop_empty_tracks=True,
        backbones=(*backbone_names(), TINY_BACKBONE),
        timing_protocol=AUTHORS_TIMING,
    )
    # the encoder attends within each frame, and the mask features come from its memory
    per_frame_stages = PER_FRAME_STAGES
    #: builds the network of the options (a variant of the architecture replaces it)
    build_network = staticmethod(build)

    def __init__(self, model: SeqFormer, options: SeqFormerOptions):
        self.model = model
        self.options = options
        self.config = options.network()
        self.load_report: LoadReport | None = None

    @classmethod
    def create(cls, options: SeqFormerOptions) -> SeqFormerBase:
        return cls(cls.build_network(options.network()), options)

    @property
    def preprocessing(self) -> Preprocessing:
        return dataclasses.replace(PREPROCESSING, shorter_side=self.options.shorter_side)

    def load_checkpoint(
        self, checkpoint: str | CheckpointContents, strict: bool = True
    ) -> LoadReport:
        """Release `.pth` (weights under "model") or the project's format; strict by default."""
        contents = checkpoint_contents(checkpoint)
        contents.check_method(self.name)
        state_dict = self.checkpoint_tensors(self.adapt_to_checkpoint(contents.state_dict))
        self.load_report = load_state_dict_strict(
            self.model, contents, self.spec, state_dict, strict
        )
        return self.load_report

    def adapt_to_checkpoint(self, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Rebuild the model where a variant's checkpoint says how (the MS-STS release depth)."""
        return state_dict

    @classmethod
    def describe_checkpoint(cls, state_dict: Mapping[str, torch.Tensor]) -> list[str]:
        """The backbone the state dict holds, read from its keys and shapes."""
        return [f"backbone: {detect_backbone(state_dict).describe()}"]

    @classmethod
    def checkpoint_options(cls, state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        """Options that build the model a state dict was saved from: its backbone, read from
        key names and shapes (`check-checkpoint`)."""
        name = detect_backbone(state_dict).name
        return {"backbone": name} if name else {}

    @classmethod
    def checkpoint_tensors(cls, state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The entries `load_checkpoint` loads: a file's box heads under either name count."""
        return complete_box_head_aliases(dict(state_dict))

    def infer_clip(self, frames: torch.Tensor) -> ClipResult:
        """The whole clip in one forward (no padding: all frames share a size).

        Masks are returned at the model's mask resolution (stride 4 of the input), so the
        harness's single bilinear resize to the video size mirrors inference.py (which resizes
        logits rather than probabilities). With the `query_masks` fast path the mask head runs
        only for the queries of the top-k (query, class) pairs. The forward is the per-frame
        stages of the clip's frames, then the rest (`infer_clip_features`): one code path,
        whether the runner reuses frames or not.
        """
        return self.infer_clip_features(self.frame_features(frames))

    def frame_features(self, frames: torch.Tensor) -> list[dict[str, Any]]:
        """Per frame: backbone levels projected, and with a per-frame encoder its memory and
        mask features (`SeqFormer.frame_features`)."""
        paths = ensure_prepared(self.model)
        encode = "encoder" in self.per_frame_stages
        size = (int(frames.shape[-1]), int(frames.shape[-2]))  # (w, h)
        with inference_context(paths):
            return [f | {"input_size": size} for f in self.model.frame_features(frames, encode)]

    def infer_clip_features(self, features: list[dict[str, Any]]) -> ClipResult:
        paths = ensure_prepared(self.model)
        with inference_context(paths):
            return self._infer_clip(features, paths)

    def _infer_clip(self, features: list[dict[str, Any]], paths: FastPaths) -> ClipResult:
        top_k = self.options.top_k
        select = functools.partial(top_queries, top_k=top_k) if paths.query_masks else None
        out = self.model.forward_frames(features, features[0]["input_size"], mask_queries=select)
        # queries with empty masks are dropped per track at the video size, as inference.py does
        inst = clip_instances(
            out["pred_logits"][0],
            out["pred_masks"][0],
            top_k,
            drop_empty=False,
            mask_queries=out.get("mask_queries"),
        )
        hs = out["query_embeddings"][0]  # [Nq, C]
        return ClipResult(
            scores=inst.scores,
            labels=inst.labels,
            masks=inst.masks,
            mask_logits=inst.mask_logits,
            extra={
                "queries": inst.queries,
                "query_embeddings": hs[inst.queries],
                "null_segmentations": inst.null_segmentations,
                "mask_stride": self.config.mask_out_stride,
            },
        )

    def track_predictions(self, track: Any) -> list[tuple]:
        """One prediction per track; below score 0.001 its segmentations are `None`."""
        score = float(track.score)
        return [(int(track.label), score, score >= MIN_SCORE_FOR_MASKS)]

    def masks_to_video(self, masks: torch.Tensor, height: int, width: int, threshold: float):
        """inference.py: bilinear resize of the mask logits straight to the frame size, then
        sigmoid > 0.5 (not logit > 0: they differ for |logit| below float resolution)."""
        resized = F.interpolate(
            masks.float()[:, None], size=(height, width), mode="bilinear", align_corners=False
        )[:, 0]
        if threshold == 0.0:  # logits
            # in place on the temporary: no second frame-size float tensor
            return (resized.sigmoid_() > MASK_THRESHOLD).to(torch.uint8).numpy()
        return (resized > threshold).to(torch.uint8).numpy()

    def mask_cut(self, threshold: float) -> float | None:
        """`sigmoid(resized) > 0.5` is `resized > sigmoid_cut(0.5)` for logits (the cut is the
        largest float PyTorch's sigmoid maps to 0.5 or below)."""
        return sigmoid_cut(MASK_THRESHOLD) if threshold == 0.0 else float(threshold)

    def backbone_module(self) -> torch.nn.Module:
        if self.model.detr.backbone is None:
            raise InputError("built without a backbone", field="backbone")
        return self.model.detr.backbone[0].body

    def parameter_groups(self, lr: float, backbone_lr_mult: float) -> list[dict[str, Any]]:
        """main.py's three groups: backbone, sampling-point projections, everything else."""
        groups: dict[str, list[torch.nn.Parameter]] = {
            "backbone": [],
            "linear_proj": [],
            "rest": [],
        }
        freeze = is_frozen_bn_resnet(self.config.backbone)
        for name, param in self.model.named_parameters():
            if freeze and name.startswith(FROZEN_RESNET_PREFIXES):
                param.requires_grad_(False)
            if not param.requires_grad:
                continue
            if "backbone.0" in name:
                groups["backbone"].append(param)
            elif any(key in name for key in LINEAR_PROJ_NAMES):
                groups["linear_proj"].append(param)
            else:
                groups["rest"].append(param)
        rates = {
            "backbone": lr * backbone_lr_mult,
            "linear_proj": lr * LINEAR_PROJ_MULT,
            "rest": lr,
        }
        return [{"params": p, "lr": rates[k], "name": k} for k, p in groups.items() if p]

    def training_losses(
        self, frames: torch.Tensor, targets: Any, num_instances: float, num_clips: int = 1
    ) -> dict[str, torch.Tensor]:
        return seqformer_losses(self.model, frames, targets, num_instances)

    def flops_modules(self) -> list[str]:
        return [
            "detr.backbone",
            "detr.input_proj",
            "detr.transformer.encoder",
            "detr.transformer.decoder",
            "detr.class_embed",
            "detr.bbox_embed",
            "controller",
            "mask_head",
        ]
