"""The Mask2Former network every family member builds on: backbone, pixel decoder, decoder.

Module tree and names as the authors' detectron2 meta-architecture, so a release checkpoint's
`"model"` dict loads strictly: `backbone.*` (detectron2 ResNet with FrozenBN: `stem.conv1`,
`res2..res5`; or the D2 Swin: `patch_embed`, `layers`, `norm0..3`), `sem_seg_head.pixel_decoder.*`,
`sem_seg_head.predictor.*` and `criterion.empty_weight` (the class weights of the loss, K + 1
entries with the no-object weight last, saved with every checkpoint).

Frames are normalised by the harness; the network pads them with zeros at the bottom and right
to a multiple of 32 (detectron2's `ImageList.from_tensors(images, 32)`), as the authors do after
normalising. `per_frame` (backbone and pixel decoder: frames never interact there) and `decode`
(the transformer decoder over the clip or per frame) are separate so that per-frame work can be
computed once per frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from vis_bench.api import InputError
from vis_bench.methods.common.detectron2_input import pad_frames
from vis_bench.methods.common.detectron2_resnet import ResNetD2
from vis_bench.methods.common.losses import NoObjectWeight
from vis_bench.methods.common.swin import SWIN_L, SwinTransformer
from vis_bench.methods.common.tiny_backbone import DEFAULT_WIDTH, TinyResNet
from vis_bench.methods.families.mask2former.masked_decoder import (
    DecoderOutput,
    MaskedAttentionDecoder,
)
from vis_bench.methods.families.mask2former.pixel_decoder import (
    MSDeformAttnPixelDecoder,
    PixelDecoderFeatures,
)

#: detectron2's `ImageList.from_tensors(images, size_divisibility=32)`
BACKBONES = ("resnet50", "swin_l", "tiny")
#: the released models' backbones (`keys --backbone`); "tiny" is the project's own
RELEASE_BACKBONES = ("resnet50", "swin_l")


@dataclass
class Mask2FormerConfig:
    """The network's shape, named after the authors' config keys (YouTube-VIS R50 defaults).

    dec_layers is the number of decoder layers built: the configs' DEC_LAYERS minus one (they
    count the prediction of the learnable queries as a layer). backbone None builds no backbone
    (the network then takes backbone features: parity fixtures).
    """

    backbone: str | None = "resnet50"
    num_classes: int = 40
    num_queries: int = 100
    hidden_dim: int = 256
    nheads: int = 8
    dim_feedforward: int = 2048
    dec_layers: int = 9
    conv_dim: int = 256
    mask_dim: int = 256
    enc_layers: int = 6
    no_object_weight: float = 0.1

    def __post_init__(self) -> None:
        if self.backbone is not None and self.backbone not in self.backbone_names():
            raise InputError(
                f"backbone {self.backbone!r} not supported; use one of "
                f"{list(self.backbone_names())}",
                field="backbone",
            )
        if self.conv_dim % 32 or self.hidden_dim % self.nheads:
            raise InputError(
                "conv_dim must be a multiple of 32 (GroupNorm(32)) and hidden_dim of nheads",
                field="conv_dim",
            )

    def backbone_names(self) -> tuple[str, ...]:
        """The backbones this network can be built with (a member may have others)."""
        return BACKBONES

    def backbone_channels(self) -> dict[str, int]:
        """Channels of res2..res5 of the configured backbone."""
        if self.backbone == "tiny":
            w = DEFAULT_WIDTH
            return {"res2": w, "res3": 2 * w, "res4": 4 * w, "res5": 8 * w}
        if self.backbone == "swin_l":
            dim = SWIN_L["embed_dim"]
            return {f"res{i + 2}": dim * 2**i for i in range(4)}
        return dict(ResNetD2.channels)


class SwinD2(SwinTransformer):
    """The D2 Swin of the Mask2Former family: all four stages out, named res2..res5."""

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {f"res{int(k) + 2}": v for k, v in super().forward(x).items()}


def build_backbone(name: str) -> nn.Module:
    if name == "resnet50":
        return ResNetD2(50, stride_in_1x1=False)
    if name == "swin_l":
        return SwinD2(**SWIN_L)
    return TinyResNet(with_res2=True)


def decoder_arguments(cfg: Mask2FormerConfig) -> tuple[int, ...]:
    """`MaskedAttentionDecoder`'s positional arguments for `cfg` (subclasses pass them on)."""
    return (
        cfg.conv_dim,
        cfg.num_classes,
        cfg.hidden_dim,
        cfg.num_queries,
        cfg.nheads,
        cfg.dim_feedforward,
        cfg.dec_layers,
        cfg.mask_dim,
    )


def masked_decoder(cfg: Mask2FormerConfig, temporal: bool) -> MaskedAttentionDecoder:
    """The family's transformer decoder for `cfg`, over clips or single frames."""
    return MaskedAttentionDecoder(*decoder_arguments(cfg), temporal=temporal)


#: builds the decoder of a head (a member's own decoder adds its heads, e.g. a ReID branch)
PredictorFactory = Callable[[Mask2FormerConfig, bool], nn.Module]


class MaskFormerHead(nn.Module):
    """`sem_seg_head`: the pixel decoder and the transformer decoder ("predictor")."""

    def __init__(
        self,
        cfg: Mask2FormerConfig,
        temporal: bool,
        predictor: PredictorFactory = masked_decoder,
    ) -> None:
        super().__init__()
        self.pixel_decoder = MSDeformAttnPixelDecoder(
            cfg.backbone_channels(), cfg.conv_dim, cfg.mask_dim, cfg.nheads, cfg.enc_layers
        )
        self.predictor = predictor(cfg, temporal)


class Mask2FormerModel(nn.Module):
    """Normalised frames [T, 3, H, W] of one clip -> `DecoderOutput` (see `forward`)."""

    def __init__(self, cfg: Mask2FormerConfig, temporal: bool) -> None:
        super().__init__()
        self.cfg = cfg
        if cfg.backbone is not None:
            self.backbone = self.build_backbone(cfg.backbone)
        self.sem_seg_head = MaskFormerHead(cfg, temporal, self.build_predictor)
        self.criterion = NoObjectWeight(cfg.num_classes, cfg.no_object_weight)

    def build_backbone(self, name: str) -> nn.Module:
        """The backbone module named `name` (a member with other backbones overrides this)."""
        return build_backbone(name)

    def build_predictor(self, cfg: Mask2FormerConfig, temporal: bool) -> nn.Module:
        """The transformer decoder (a member with its own decoder overrides this)."""
        return masked_decoder(cfg, temporal)

    @property
    def has_backbone(self) -> bool:
        return "backbone" in self._modules

    def per_frame(self, frames: torch.Tensor) -> PixelDecoderFeatures:
        """Padded normalised frames [T, 3, Hp, Wp] -> pixel-decoder outputs per frame."""
        if not self.has_backbone:
            raise InputError("built without a backbone: pass features", field="backbone")
        return self.sem_seg_head.pixel_decoder(self.backbone(frames))

    def decode(self, features: PixelDecoderFeatures, keep_aux: bool = False) -> DecoderOutput:
        """The transformer decoder on a clip's per-frame features."""
        return self.sem_seg_head.predictor(features.multi_scale, features.mask_features, keep_aux)

    def forward(self, frames: torch.Tensor, keep_aux: bool = False) -> DecoderOutput:
        """frames [T, 3, H, W], normalised, unpadded -> predictions (masks at stride 4 of the
        padded size `padded_size(H, W)`)."""
        return self.decode(self.per_frame(pad_frames(frames)), keep_aux)

    def forward_features(
        self, features: dict[str, torch.Tensor], keep_aux: bool = False
    ) -> tuple[PixelDecoderFeatures, DecoderOutput]:
        """Backbone features res2..res5 [T, C, h, w] -> (pixel-decoder outputs, predictions)."""
        pixel = self.sem_seg_head.pixel_decoder(features)
        return pixel, self.decode(pixel, keep_aux)


def build_model(cfg: Mask2FormerConfig | dict[str, Any], temporal: bool) -> Mask2FormerModel:
    """The network for `cfg`, in eval mode."""
    if not isinstance(cfg, Mask2FormerConfig):
        cfg = Mask2FormerConfig(**cfg)
    return Mask2FormerModel(cfg, temporal).eval()
