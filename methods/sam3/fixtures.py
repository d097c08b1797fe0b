"""The public SAM 3 fixture set (tests/fixtures/golden/sam3/public): loading its files and the
model sizes of its `config.json`."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

from vis_bench.methods.common.config_fields import from_config
from vis_bench.methods.sam3.detector import DetectorSizes
from vis_bench.methods.sam3.fusion import FusionSizes
from vis_bench.methods.sam3.text_encoder import TextEncoderSizes
from vis_bench.methods.sam3.tracker import TrackerSizes
from vis_bench.methods.sam3.vit import VitSizes

Part = TypeVar("Part", bound=nn.Module)
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
#: each reduced part's sizes -> the `config.json` keys the fixture stores them under
VIT_KEYS = {
    "image": "img",
    "patch": "patch",
    "dim": "vit_dim",
    "depth": "vit_depth",
    "heads": "vit_heads",
    "mlp_ratio": "vit_mlp_ratio",
    "window": "vit_window",
    "pretrain_image": "pretrain_img",
}
FUSION_KEYS = {
    "d_model": "d",
    "heads": "heads",
    "ffn": "ffn",
    "geometry_layers": "geo_layers",
    "encoder_layers": "enc_layers",
}
TEXT_KEYS = {
    "width": "txt_width",
    "heads": "txt_heads",
    "layers": "txt_layers",
    "context": "ctx",
    "d_model": "d",
}
TRACKER_KEYS = {
    "d_model": "d",
    "mem_dim": "mem_dim",
    "image": "img",
    "stride": "patch",
    "num_maskmem": "num_maskmem",
    "attention_layers": "trk_layers",
    "attention_ffn": "trk_ffn",
}


def load_gz(path: Path) -> Any:
    """A gzip of a `torch.save` file, loaded without unpickling code."""
    with gzip.open(path, "rb") as handle:
        return torch.load(io.BytesIO(handle.read()), weights_only=True)


def _cfg(fixture: Path) -> dict[str, Any]:
    return json.loads((fixture / "config.json").read_text(encoding="utf-8"))["cfg"]


def vit_sizes(fixture: Path) -> VitSizes:
    """The reduced ViT trunk's sizes from the fixture's `config.json`."""
    cfg = _cfg(fixture)
    return from_config(VitSizes, cfg, VIT_KEYS, global_blocks=tuple(cfg["vit_global"]))


def fusion_sizes(fixture: Path) -> FusionSizes:
    """The reduced geometry and DETR encoders' sizes from the fixture's `config.json`."""
    return from_config(FusionSizes, _cfg(fixture), FUSION_KEYS)


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
    return from_config(TextEncoderSizes, _cfg(fixture), TEXT_KEYS)


def sub_state_dict(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The entries below `prefix`, with it removed."""
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def loaded(module: Part, weights: dict[str, torch.Tensor], prefix: str) -> Part:
    """`module` in eval mode with the fixture's weights below `prefix` (every key, by name)."""
    module.eval().load_state_dict(sub_state_dict(weights, prefix), strict=True)
    return module


def tracker_sizes(fixture: Path) -> TrackerSizes:
    """The reduced tracker's sizes from the fixture's `config.json`."""
    return from_config(TrackerSizes, _cfg(fixture), TRACKER_KEYS)
