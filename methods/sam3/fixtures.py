"""The public SAM 3 fixture set (tests/fixtures/golden/sam3/public): loading its files and the
model sizes of its `config.json`."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import torch

from vis_bench.methods.sam3.detector import DetectorSizes
from vis_bench.methods.sam3.fusion import FusionSizes
from vis_bench.methods.sam3.text_encoder import TextEncoderSizes
from vis_bench.methods.sam3.tracker import TrackerSizes
from vis_bench.methods.sam3.vit import VitSizes

#: the fixture README's tolerance for fp32 tensors
FP32_TOLERANCE = 1e-4
TEXT_PREFIX = "detector.backbone.language_backbone."
VISION_PREFIX = "detector.backbone.vision_backbone."
GEOMETRY_PREFIX = "detector.geometry_encoder."
ENCODER_PREFIX = "detector.transformer.encoder."
SCORING_PREFIX = "detector.dot_prod_scoring."
SEGMENTATION_PREFIX = "detector.segmentation_head."
DECODER_PREFIX = "detector.transformer.decoder."
DETECTOR_PREFIX = "detector."
TRACKER_PREFIX = "tracker."


def load_gz(path: Path) -> Any:
    """A gzip of a `torch.save` file, loaded without unpickling code."""
    with gzip.open(path, "rb") as handle:
        return torch.load(io.BytesIO(handle.read()), weights_only=True)


def _cfg(fixture: Path) -> dict[str, Any]:
    return json.loads((fixture / "config.json").read_text(encoding="utf-8"))["cfg"]


def vit_sizes(fixture: Path) -> VitSizes:
    """The reduced ViT trunk's sizes from the fixture's `config.json`."""
    cfg = _cfg(fixture)
    return VitSizes(
        image=cfg["img"],
        patch=cfg["patch"],
        dim=cfg["vit_dim"],
        depth=cfg["vit_depth"],
        heads=cfg["vit_heads"],
        mlp_ratio=cfg["vit_mlp_ratio"],
        window=cfg["vit_window"],
        global_blocks=tuple(cfg["vit_global"]),
        pretrain_image=cfg["pretrain_img"],
    )


def fusion_sizes(fixture: Path) -> FusionSizes:
    """The reduced geometry and DETR encoders' sizes from the fixture's `config.json`."""
    cfg = _cfg(fixture)
    return FusionSizes(
        d_model=cfg["d"],
        heads=cfg["heads"],
        ffn=cfg["ffn"],
        geometry_layers=cfg["geo_layers"],
        encoder_layers=cfg["enc_layers"],
    )


def detector_sizes(fixture: Path) -> DetectorSizes:
    """The reduced detector's sizes from the fixture's `config.json`."""
    cfg = _cfg(fixture)
    return DetectorSizes(
        vit=vit_sizes(fixture),
        text=text_sizes(fixture),
        fusion=fusion_sizes(fixture),
        queries=cfg["queries"],
        decoder_layers=cfg["dec_layers"],
    )


def d_model(fixture: Path) -> int:
    return int(_cfg(fixture)["d"])


def heads(fixture: Path) -> int:
    return int(_cfg(fixture)["heads"])


def ffn(fixture: Path) -> int:
    return int(_cfg(fixture)["ffn"])


def text_sizes(fixture: Path) -> TextEncoderSizes:
    """The reduced text encoder's sizes from the fixture's `config.json`."""
    cfg = _cfg(fixture)
    return TextEncoderSizes(
        width=cfg["txt_width"],
        heads=cfg["txt_heads"],
        layers=cfg["txt_layers"],
        context=cfg["ctx"],
        d_model=cfg["d"],
    )


def sub_state_dict(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The entries below `prefix`, with it removed."""
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def tracker_sizes(fixture: Path) -> TrackerSizes:
    """The reduced tracker's sizes from the fixture's `config.json`."""
    cfg = _cfg(fixture)
    return TrackerSizes(
        d_model=cfg["d"],
        mem_dim=cfg["mem_dim"],
        image=cfg["img"],
        stride=cfg["patch"],
        num_maskmem=cfg["num_maskmem"],
        attention_layers=cfg["trk_layers"],
        attention_ffn=cfg["trk_ffn"],
    )
