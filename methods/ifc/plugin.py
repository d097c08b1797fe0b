"""The `ifc` method plugin: everything a user needs to run IFC, declared in one place.

Published setting (ifc.md §1): R-50, shortest edge 360 (max 1333), RGB 0..255 normalised with
ImageNet mean/std, window T=5 stride S=1 near-online (T=36 offline), multi-class output with
class-probability threshold 0.01. The R-101 release (`backbone: resnet101`) differs only in its
backbone: stride in the 1x1 conv, BGR input minus the MSRA mean, std 1. `infer_clip` serves the harness's generic loop; `infer_video`
runs the authors' own loop (backbone once per video, soft-IoU matching) for exact reproduction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from vis_bench.methods.common.backbone_registry import detect_backbone
from vis_bench.methods.ifc.checkpoint import LoadReport, load_checkpoint
from vis_bench.methods.ifc.model import BACKBONES, RESNET_RELEASES, IFCConfig, IFCModel
from vis_bench.methods.ifc.training import ifc_losses
from vis_bench.methods.ifc.video import filter_clip, run_video_loop, video_results

from vis_bench.errors import InputError
from vis_bench.parity import ParityReport
from vis_bench.plugin import ClipResult, MethodPlugin, TrainingRecipe
from vis_bench.registry import register_method

PIXEL_MEAN = (123.675, 116.280, 103.530)
PIXEL_STD = (58.395, 57.120, 57.375)
#: configs/R101_ytvis.yaml: MSRA (Caffe) weights take BGR 0..255 minus the BGR mean, std 1
MSRA_PIXEL_MEAN = (103.530, 116.280, 123.675)
MSRA_PIXEL_STD = (1.0, 1.0, 1.0)
#: INPUT.FORMAT and MODEL.PIXEL_MEAN/STD per backbone; any other backbone takes R-50's
INPUT_NORMALISATION = {
    "resnet50": ("RGB", PIXEL_MEAN, PIXEL_STD),
    "resnet101": ("BGR", MSRA_PIXEL_MEAN, MSRA_PIXEL_STD),
}

#: inference options (not network shape) and their published defaults
INFERENCE_DEFAULTS: dict[str, Any] = {
    "window": 5,
    "stride": 1,
    "multi_cls": True,
    "apply_cls_thres": 0.01,
    "match_threshold": 0.05,
    "min_size_test": 360,
    "max_size_test": 1333,
    "with_backbone": True,
}


#: configs/base_ytvis.yaml: AdamW 1e-4 (backbone x0.1), weight decay 1e-4, the whole model's
#: gradient norm clipped at 0.01, 6000 iterations with the rate x0.1 at 4000, 10 warm-up
#: iterations at factor 1.0 (none in effect); 5 frames drawn from +-20 around a reference
TRAINING_RECIPE = TrainingRecipe(
    lr=1e-4,
    weight_decay=1e-4,
    clip_max_norm=0.01,
    lr_drops=(4000 / 6000,),
    backbone_lr_mult=0.1,
    frame_sampling="ifc",
    sampling_range=20,
)
#: FREEZE_AT = 2: the stem and res2 of a ResNet get no gradient
FROZEN_RESNET_PREFIXES = ("detr.backbone.0.backbone.stem", "detr.backbone.0.backbone.res2")


def resized_shape(h: int, w: int, short: int, max_size: int) -> tuple[int, int]:
    """detectron2 ResizeShortestEdge output size (int(x + 0.5) rounding)."""
    scale = short / min(h, w)
    newh, neww = (short, scale * w) if h < w else (scale * h, short)
    if max(newh, neww) > max_size:
        s = max_size / max(newh, neww)
        newh, neww = newh * s, neww * s
    return int(newh + 0.5), int(neww + 0.5)


def parse_config(cfg: dict[str, Any] | None) -> tuple[IFCConfig, dict[str, Any]]:
    """Split a flat config dict into network and inference options; unknown keys are errors."""
    cfg = dict(cfg or {})
    net_keys = {f.name for f in fields(IFCConfig)}
    unknown = sorted(set(cfg) - net_keys - set(INFERENCE_DEFAULTS))
    if unknown:
        raise InputError(
            f"unknown ifc option(s) {unknown}; known: {sorted(net_keys | set(INFERENCE_DEFAULTS))}",
            field=unknown[0],
        )
    try:
        net = IFCConfig(**{k: v for k, v in cfg.items() if k in net_keys})
    except ValueError as err:
        raise InputError(str(err), path="methods[ifc].options") from err
    inference = {**INFERENCE_DEFAULTS, **{k: v for k, v in cfg.items() if k in INFERENCE_DEFAULTS}}
    return net, inference


@register_method("ifc")
class IFCPlugin(MethodPlugin):
    #: IFC matches clips regardless of class and expands classes per video track
    stitch_class_aware = False

    name = "ifc"
    notes = ""
    #: values of the `backbone` option ("resnet": a detectron2 ResNet of any `depth`)
    backbones = BACKBONES

    def __init__(self, net_cfg: IFCConfig, options: dict[str, Any]) -> None:
        self.cfg = net_cfg
        self.options = options
        self.model = IFCModel(net_cfg, with_backbone=bool(options["with_backbone"])).eval()
        self.last_load: LoadReport | None = None

    @classmethod
    def build(cls, cfg: dict[str, Any] | None = None) -> IFCPlugin:
        net, options = parse_config(cfg)
        return cls(net, options)

    @classmethod
    def checkpoint_options(cls, state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        """The released backbone (resnet50 / resnet101) a state dict's keys describe."""
        name = detect_backbone(state_dict).name
        return {"backbone": name} if name in RESNET_RELEASES else {}

    def load_checkpoint(self, path: str) -> None:
        report = load_checkpoint(self.model, path)
        self.last_load = report
        print(report.format())

    def preprocess(self, frames: torch.Tensor, shorter_side: int | None = None) -> torch.Tensor:
        """PIL bilinear resize of uint8 RGB frames (shortest edge), then the backbone's input
        format and (x - mean) / std (R-101: BGR, MSRA mean, std 1)."""
        short = int(shorter_side or self.options["min_size_test"])
        _, _, h, w = frames.shape
        nh, nw = resized_shape(h, w, short, int(self.options["max_size_test"]))
        out = []
        for frame in frames:
            array = frame.permute(1, 2, 0).cpu().numpy().astype(np.uint8)
            if (nh, nw) != (h, w):
                array = np.asarray(Image.fromarray(array).resize((nw, nh), Image.BILINEAR))
            out.append(torch.from_numpy(array.copy()).permute(2, 0, 1))
        x = torch.stack(out).float()
        device = next(self.model.parameters()).device
        fmt, pixel_mean, pixel_std = INPUT_NORMALISATION.get(
            self.cfg.backbone, INPUT_NORMALISATION["resnet50"]
        )
        if fmt == "BGR":
            x = x.flip(1)
        mean = torch.tensor(pixel_mean).view(1, 3, 1, 1)
        std = torch.tensor(pixel_std).view(1, 3, 1, 1)
        return ((x - mean) / std).to(device)

    @torch.no_grad()
    def infer_clip(self, frames: torch.Tensor) -> ClipResult:
        net = self.model.detr
        feats = net.forward_pre_backbone(frames)
        out = net.forward_post_backbone(feats)
        inst = filter_clip(
            out["pred_logits"], out["pred_masks"], list(range(len(frames))), self.cfg.num_classes
        )
        return ClipResult(
            scores=inst.scores,
            labels=inst.labels + 1,
            masks=inst.mask_probs,
            mask_logits=inst.mask_logits,
            class_probs=inst.cls_probs,
        )

    def track_predictions(self, track: Any) -> list[tuple[int, float]]:
        """`inference_video`: every class whose track-averaged probability exceeds 0.01
        (class id ascending), or the argmax class with MULTI_CLS_ON off."""
        probs = track.class_probs[:-1]  # the last entry is "no object"
        if self.options["multi_cls"]:
            keep = torch.nonzero(probs > float(self.options["apply_cls_thres"])).flatten()
            return [(int(c) + 1, float(probs[c])) for c in keep]
        score, label = probs.max(-1)
        return [(int(label) + 1, float(score))]

    @torch.no_grad()
    def infer_video(
        self,
        frames: torch.Tensor,
        video_id: int,
        orig_size: tuple[int, int] | None = None,
        window: int | None = None,
        stride: int | None = None,
    ) -> list[dict[str, Any]]:
        """The authors' loop on preprocessed frames `[L, 3, H, W]` -> results.json entries."""
        net = self.model.detr
        length, _, h, w = frames.shape
        feats = net.forward_pre_backbone(frames)
        keep = ("res3", "res4", "res5")
        tracks, _ = run_video_loop(
            lambda idx: net.forward_post_backbone({k: feats[k][idx] for k in keep}),
            length,
            int(window or self.options["window"]),
            int(stride or self.options["stride"]),
            (math.ceil(h / 8), math.ceil(w / 8)),
            self.cfg.num_classes,
            float(self.options["match_threshold"]),
        )
        results, _, _ = video_results(
            tracks,
            tuple(orig_size or (h, w)),
            video_id,
            float(self.options["apply_cls_thres"]),
            bool(self.options["multi_cls"]),
        )
        return results

    def training_recipe(self) -> TrainingRecipe:
        return TRAINING_RECIPE

    def backbone_module(self) -> torch.nn.Module:
        if not self.options["with_backbone"]:
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
        backbone = ["detr.backbone"] if self.options["with_backbone"] else []
        return [
            *backbone,
            "detr.input_proj",
            "detr.transformer.encoder",
            "detr.transformer.clip_decoder",
            "detr.class_embed",
            "detr.mask_head",
        ]

    @staticmethod
    def measure_encoder_flops(**kwargs: Any) -> tuple[Any, int]:
        """Encoder-only FLOPs of one comm variant (the `flops` command's table cells)."""
        from vis_bench.methods.ifc.flops import encoder_flops

        return encoder_flops(**kwargs)

    @classmethod
    def run_parity(cls, fixture_dir: Path, out_path: Path | None = None) -> ParityReport:
        from vis_bench.methods.ifc.parity import run_parity

        return run_parity(Path(fixture_dir), out_path)
