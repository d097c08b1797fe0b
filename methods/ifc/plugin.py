"""The `ifc` method plugin: everything a user needs to run IFC, declared in one place.

Published setting (ifc.md §1): R-50, shortest edge 360 (max 1333), RGB 0..255 normalised with
ImageNet mean/std, window T=5 stride S=1 near-online (T=36 offline), multi-class output with
class-probability threshold 0.01. The R-101 release (`backbone: resnet101`) differs only in its
backbone: stride in the 1x1 conv, BGR input minus the MSRA mean, std 1. `infer_clip` serves the
harness's loop (shared schedule and stitcher); the authors' own loop (backbone once per video) is
kept outside the inference path as the parity reference (authors_loop.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from vis_bench.api import (
    ClipResult,
    InputError,
    MethodPlugin,
    MethodSpec,
    Preprocessing,
    register_method,
)
from vis_bench.api.checkpoints import LoadReport
from vis_bench.api.measurements import TableMeasurement
from vis_bench.api.parity import ParityReference
from vis_bench.api.training import TrainingRecipe
from vis_bench.methods.common.backbone_registry import detect_backbone
from vis_bench.methods.common.detectron2_input import (
    PIXEL_MEAN,
    PIXEL_STD,
    detectron2_preprocessing,
)
from vis_bench.methods.common.fast_paths import (
    FastPaths,
    RecordsFastPaths,
    ensure_prepared,
    inference_context,
)
from vis_bench.methods.common.frame_sampling import WindowFrameSampler
from vis_bench.methods.common.frames import stack_frames
from vis_bench.methods.ifc.flops import encoder_flops
from vis_bench.methods.ifc.model import BACKBONES, RESNET_RELEASES, IFCConfig, IFCModel
from vis_bench.methods.ifc.postprocess import class_predictions, filter_clip, object_queries
from vis_bench.methods.ifc.timing import AUTHORS_TIMING
from vis_bench.methods.ifc.training import ifc_losses
from vis_bench.methods.ifc.variants import VARIANTS

REFERENCE = "sukjunhwang/IFC @ 880d646352661a165f1008de94d0432f1f43de3e (projects/IFC)"
#: configs/R101_ytvis.yaml: MSRA (Caffe) weights take BGR 0..255 minus the BGR mean, std 1
MSRA_PIXEL_MEAN = (103.530, 116.280, 123.675)
MSRA_PIXEL_STD = (1.0, 1.0, 1.0)
#: INPUT.FORMAT and MODEL.PIXEL_MEAN/STD per backbone; any other backbone takes R-50's
INPUT_NORMALISATION = {
    "resnet50": ("RGB", PIXEL_MEAN, PIXEL_STD),
    "resnet101": ("BGR", MSRA_PIXEL_MEAN, MSRA_PIXEL_STD),
}

#: configs/base_ytvis.yaml: AdamW 1e-4 (backbone x0.1), weight decay 1e-4, the whole model's
#: gradient norm clipped at 0.01, 6000 iterations with the rate x0.1 at 4000, 10 warm-up
#: iterations at factor 1.0 (none in effect); 5 frames drawn from +-20 around a reference;
#: detectron2's dataset has one item per video
TRAINING_RECIPE = TrainingRecipe(
    lr=1e-4,
    weight_decay=1e-4,
    clip_max_norm=0.01,
    lr_drops=(4000 / 6000,),
    backbone_lr_mult=0.1,
    frame_sampler=WindowFrameSampler(),
    videos_by_length=False,
)
#: FREEZE_AT = 2: the stem and res2 of a ResNet get no gradient
FROZEN_RESNET_PREFIXES = ("detr.backbone.0.backbone.stem", "detr.backbone.0.backbone.res2")
#: keys only IFC checkpoints have: the clip decoder and the dynamic mask head's weight generator
CHECKPOINT_SIGNATURE = (
    r"^detr\.transformer\.clip_decoder\.",
    r"^detr\.mask_head\.convert_to_weight",
)


def resized_shape(h: int, w: int, short: int, max_size: int) -> tuple[int, int]:
    """detectron2 ResizeShortestEdge output size (int(x + 0.5) rounding)."""
    return _preprocessing(short, max_size).output_size(h, w)


def _preprocessing(short: int, max_size: int, backbone: str = "resnet50") -> Preprocessing:
    """detectron2's ResizeShortestEdge with PIL bilinear, then the backbone's input format and
    (x - mean) / std on 0..255 pixels (R-50: RGB, ImageNet mean/std; R-101: BGR, MSRA mean)."""
    fmt, mean, std = INPUT_NORMALISATION.get(backbone, INPUT_NORMALISATION["resnet50"])
    return detectron2_preprocessing(short, max_size, mean, std, fmt)


@dataclass
class IFCOptions(IFCConfig):
    """IFCConfig (the network) plus the published inference settings (ifc.md section 1)."""

    #: near-online window T and stride S of the authors' own loop (authors_loop.py)
    window: int = 5
    stride: int = 1
    #: every class whose track-averaged probability exceeds `apply_cls_thres` (else the argmax)
    multi_cls: bool = True
    apply_cls_thres: float = 0.01
    match_threshold: float = 0.05
    min_size_test: int = 360
    max_size_test: int = 1333
    #: False: the model takes backbone features (parity fixtures)
    with_backbone: bool = True

    def network(self) -> IFCConfig:
        """The network part of the options."""
        return IFCConfig(**{name: getattr(self, name) for name in IFCConfig.__dataclass_fields__})


@register_method("ifc")
class IFCPlugin(RecordsFastPaths, MethodPlugin):
    """IFC (Hwang et al., NeurIPS 2021) with the authors' inference settings."""

    spec = MethodSpec(
        name="ifc",
        summary="IFC: inter-frame communication through memory tokens, near-online by default",
        options=IFCOptions,
        preprocessing=_preprocessing(360, 1333),
        reference=REFERENCE,
        checkpoint_signature=CHECKPOINT_SIGNATURE,
        training=TRAINING_RECIPE,
        parity=ParityReference(f"{__package__}.parity:run_parity", REFERENCE),
        measurements={
            "encoder_flops": TableMeasurement(
                run=encoder_flops,
                description="encoder-only FLOPs of a comm variant on meta tensors (paper table)",
                arguments=(
                    "comm",
                    "height",
                    "width",
                    "frames",
                    "hidden_dim",
                    "nheads",
                    "dim_feedforward",
                    "enc_layers",
                    "num_memory_bus",
                ),
            )
        },
        stitch_class_aware=False,
        timing_protocol=AUTHORS_TIMING,
        backbones=BACKBONES,
        variants=VARIANTS,
        checkpoint_constants=(r"^criterion\.empty_weight$",),
    )
    # the encoder's memory tokens communicate across frames: what comes before it is per
    # frame (the backbone, res5's projection and position encoding, the mask head's laterals)
    per_frame_stages = (
        "backbone",
        "input_proj",
        "position",
        "mask_head.adapter1",
        "mask_head.adapter2",
    )

    def __init__(self, options: IFCOptions) -> None:
        self.options = options
        self.cfg = options.network()
        self.model = IFCModel(self.cfg, with_backbone=bool(options.with_backbone)).eval()
        self.load_report: LoadReport | None = None

    @classmethod
    def create(cls, options: IFCOptions) -> IFCPlugin:
        return cls(options)

    @property
    def preprocessing(self) -> Preprocessing:
        return _preprocessing(
            self.options.min_size_test, self.options.max_size_test, self.cfg.backbone
        )

    @classmethod
    def describe_checkpoint(cls, state_dict: Mapping[str, torch.Tensor]) -> list[str]:
        """The backbone the state dict holds, read from its keys and shapes."""
        return [f"backbone: {detect_backbone(state_dict).describe()}"]

    @classmethod
    def checkpoint_options(cls, state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        """The released backbone (resnet50 / resnet101) a state dict's keys describe."""
        name = detect_backbone(state_dict).name
        return {"backbone": name} if name in RESNET_RELEASES else {}

    def backbone_name(self) -> str:
        if self.options.backbone == "resnet":
            return f"resnet{self.options.depth}"
        return self.options.backbone

    def _mask_queries(self, paths: FastPaths) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """With `query_masks`, masks only for the queries `filter_clip` keeps."""
        if not paths.query_masks:
            return None
        return functools.partial(object_queries, num_classes=self.cfg.num_classes)

    def infer_clip(self, frames: torch.Tensor) -> ClipResult:
        """The backbone of the clip's frames, then the rest (`infer_clip_features`): one code
        path, whether the runner reuses frames or not."""
        return self.infer_clip_features(self.frame_features(frames))

    def frame_features(self, frames: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        """Per frame: what the network computes of it alone (`IFCNet.forward_frame_maps`: the
        projected res5, its position encoding, the mask head's lateral maps), all C wide."""
        paths = ensure_prepared(self.model)
        net = self.model.detr
        with inference_context(paths):
            maps = net.forward_frame_maps(net.forward_pre_backbone(frames))
        return [{k: v[i] for k, v in maps.items()} for i in range(len(frames))]

    def infer_clip_features(self, features: list[dict[str, torch.Tensor]]) -> ClipResult:
        paths = ensure_prepared(self.model)
        with inference_context(paths):
            return self._infer_clip(features, paths)

    def _infer_clip(self, features: list[dict[str, torch.Tensor]], paths: FastPaths) -> ClipResult:
        maps = {k: stack_frames([f[k] for f in features]) for k in features[0]}
        out = self.model.detr.forward_clip(maps, mask_queries=self._mask_queries(paths))
        inst = filter_clip(
            out["pred_logits"],
            out["pred_masks"],
            list(range(len(features))),
            self.cfg.num_classes,
            out.get("mask_queries"),
        )
        return inst.clip_result()

    def track_predictions(self, track: Any) -> list[tuple[int, float]]:
        """`inference_video`: every class whose track-averaged probability exceeds 0.01
        (class id ascending), or the argmax class with MULTI_CLS_ON off."""
        return class_predictions(
            track.class_probs, bool(self.options.multi_cls), float(self.options.apply_cls_thres)
        )

    def backbone_module(self) -> torch.nn.Module:
        if not self.options.with_backbone:
            raise InputError("built without a backbone", field="with_backbone")
        return self.model.detr.backbone[0].backbone

    def parameter_groups(self, lr: float, backbone_lr_mult: float) -> list[dict[str, Any]]:
        """train_net.py: parameters named "backbone" at lr x BACKBONE_MULTIPLIER."""
        backbone, rest = [], []
        freeze = self.cfg.backbone != "tiny"
        for name, param in self.model.named_parameters():
            if freeze and name.startswith(FROZEN_RESNET_PREFIXES):
                param.requires_grad_(False)
            if param.requires_grad:
                (backbone if "backbone" in name else rest).append(param)
        groups = [
            {"params": backbone, "lr": lr * backbone_lr_mult, "name": "backbone"},
            {"params": rest, "lr": lr, "name": "rest"},
        ]
        return [g for g in groups if g["params"]]

    def training_losses(
        self, frames: torch.Tensor, targets: Any, num_instances: float, num_clips: int = 1
    ) -> dict[str, torch.Tensor]:
        return ifc_losses(self.model, frames, targets, num_instances, num_clips)

    def flops_modules(self) -> list[str]:
        backbone = ["detr.backbone"] if self.options.with_backbone else []
        # the mask head's lateral 1x1 convs run per frame, outside the head's own forward
        return [
            *backbone,
            "detr.input_proj",
            "detr.mask_head.adapter1",
            "detr.mask_head.adapter2",
            "detr.transformer.encoder",
            "detr.transformer.clip_decoder",
            "detr.class_embed",
            "detr.mask_head",
        ]
