"""Mask2Former's pixel decoder: a deformable encoder over res3-res5 and an FPN step onto res2.

The Mask2Former family (Mask2Former-VIS, MinVIS, DVIS, ...) shares it unchanged. Every frame is
decoded on its own: frames sit in the batch dimension and never interact here, which is why its
output can be cached per frame. What the authors' `MSDeformAttnPixelDecoder` does, in order:

* res5, res4, res3 (low to high resolution) each pass a 1x1 conv and GroupNorm(32) to `conv_dim`;
  each gets the 2-D sine encoding (DETR's: no half-pixel offset) plus a learnt level embedding;
* a post-norm deformable encoder (Deformable DETR's layer: self-attention over all three levels
  with 4 points per head and level, FFN of 1024 whatever the decoder's FFN is, heads as the
  decoder's) refines the tokens; its reference points are the token centres (nothing is padded);
* its output is split back into maps (`transformer_encoder_features` is the res5 one); res2 enters
  through a lateral 1x1 conv (`adapter_1`, GroupNorm, no bias) added to the bilinearly upsampled
  res3 map, then a 3x3 conv with GroupNorm and ReLU (`layer_1`);
* `mask_features`, a 1x1 conv of that stride-4 map, is what query embeddings are dotted with.

The convolutions take the shared fused path (`conv_block`, which is also what makes a frame's
result independent of its batch), and every GroupNorm runs on the NCHW layout (the backbone may hand over channels-last maps): PyTorch's
channels-last GroupNorm splits its sums over threads by batch size, so a frame's values would
depend on the frames beside it, and per-frame features must not.

Module names are the authors' (`input_proj.{i}.{0,1}`, `transformer.level_embed`,
`transformer.encoder.layers.{i}`, `adapter_1`, `layer_1`, `mask_features`) so release checkpoints
load as they are under `sem_seg_head.pixel_decoder.`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.methods.common.fast_paths import active_paths
from vis_bench.methods.common.frames import stack_frames
from vis_bench.methods.common.fused_ops import add_residual, conv_block, residual_ffn
from vis_bench.methods.common.ms_deform_attn import (
    MSDeformAttn,
    encoder_reference_points,
    reset_deformable_parameters,
)
from vis_bench.methods.common.position_encoding import PositionEmbeddingSine

#: the deformable encoder's FFN width: fixed in the authors' `from_config`, not DIM_FEEDFORWARD
ENCODER_FFN_DIM = 1024
#: levels the encoder attends over (res3, res4, res5) and the decoder reads
ENCODER_LEVELS = ("res5", "res4", "res3")
GROUPS = 32


@dataclass(frozen=True)
class PixelDecoderFeatures:
    """What the pixel decoder hands the transformer decoder, per frame (batch = frames).

    mask_features [N, mask_dim, H/4, W/4]; encoder_features: the encoded res5 map;
    multi_scale [3 x [N, conv_dim, h, w]] at strides 32, 16, 8 (the decoder's round-robin order).
    """

    mask_features: torch.Tensor
    encoder_features: torch.Tensor
    multi_scale: list[torch.Tensor]


class DeformableEncoderLayer(nn.Module):
    """Post-norm: deformable self-attention, add, norm1; FFN, add, norm2."""

    def __init__(self, d_model: int, d_ffn: int, n_levels: int, n_heads: int, n_points: int):
        super().__init__()
        self.self_attn = MSDeformAttn(d_model, n_levels, n_heads, n_points)
        self.norm1 = nn.LayerNorm(d_model)
        self.linear1 = nn.Linear(d_model, d_ffn)
        self.linear2 = nn.Linear(d_ffn, d_model)
        self.norm2 = nn.LayerNorm(d_model)

    def forward(
        self,
        src: torch.Tensor,
        pos: torch.Tensor,
        reference_points: torch.Tensor,
        spatial_shapes: torch.Tensor,
        level_start_index: torch.Tensor,
    ) -> torch.Tensor:
        paths = active_paths(self)
        attn = self.self_attn(src + pos, reference_points, src, spatial_shapes, level_start_index)
        src = self.norm1(add_residual(src, attn, paths))
        return self.norm2(residual_ffn(src, self.linear1, self.linear2, paths))


class DeformableEncoder(nn.Module):
    def __init__(self, layer_args: tuple[int, int, int, int, int], num_layers: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(DeformableEncoderLayer(*layer_args) for _ in range(num_layers))


class EncoderOnlyTransformer(nn.Module):
    """The deformable encoder with its level embedding (`transformer.*` in checkpoints)."""

    def __init__(self, d_model: int, n_heads: int, num_layers: int, n_levels: int) -> None:
        super().__init__()
        self.level_embed = nn.Parameter(torch.empty(n_levels, d_model))
        self.encoder = DeformableEncoder(
            (d_model, ENCODER_FFN_DIM, n_levels, n_heads, 4), num_layers
        )
        reset_deformable_parameters(self)
        nn.init.normal_(self.level_embed)

    def forward(self, srcs: list[torch.Tensor], pos: list[torch.Tensor]) -> torch.Tensor:
        """Maps [N, C, h_l, w_l] and their encodings -> encoded tokens [N, sum h_l w_l, C]."""
        shapes = [tuple(src.shape[-2:]) for src in srcs]
        tokens = torch.cat([src.flatten(2).transpose(1, 2) for src in srcs], 1)
        lvl_pos = torch.cat(
            [
                p.flatten(2).transpose(1, 2) + self.level_embed[lvl].view(1, 1, -1)
                for lvl, p in enumerate(pos)
            ],
            1,
        )
        spatial_shapes = torch.as_tensor(shapes, dtype=torch.long, device=tokens.device)
        level_start_index = torch.cat(
            (spatial_shapes.new_zeros((1,)), spatial_shapes.prod(1).cumsum(0)[:-1])
        )
        valid_ratios = tokens.new_ones(tokens.shape[0], len(srcs), 2)  # nothing is padded
        reference_points = encoder_reference_points(spatial_shapes, valid_ratios, tokens.device)
        out = tokens
        for layer in self.encoder.layers:
            out = layer(out, lvl_pos, reference_points, spatial_shapes, level_start_index)
        return out


class ConvNormAct(nn.Conv2d):
    """detectron2's `Conv2d(norm=GroupNorm, activation=...)`: keys `weight` and `norm.*`."""

    def __init__(self, cin: int, cout: int, kernel: int, relu: bool) -> None:
        super().__init__(cin, cout, kernel, padding=kernel // 2, bias=False)
        self.norm = nn.GroupNorm(GROUPS, cout)
        self.relu = relu
        nn.init.kaiming_uniform_(self.weight, a=1)  # c2_xavier_fill

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.norm(conv_block(x, self, active_paths(self)).contiguous())
        return F.relu(out) if self.relu else out


class MSDeformAttnPixelDecoder(nn.Module):
    """Backbone maps res2..res5 -> `PixelDecoderFeatures` (see the module docstring)."""

    def __init__(
        self,
        in_channels: dict[str, int],
        conv_dim: int,
        mask_dim: int,
        n_heads: int,
        enc_layers: int,
    ) -> None:
        super().__init__()
        self.input_proj = nn.ModuleList(
            nn.Sequential(nn.Conv2d(in_channels[name], conv_dim, 1), nn.GroupNorm(GROUPS, conv_dim))
            for name in ENCODER_LEVELS
        )
        for proj in self.input_proj:
            nn.init.xavier_uniform_(proj[0].weight, gain=1)
            nn.init.constant_(proj[0].bias, 0)
        self.transformer = EncoderOnlyTransformer(
            conv_dim, n_heads, enc_layers, len(ENCODER_LEVELS)
        )
        self.pe_layer = PositionEmbeddingSine(conv_dim // 2, normalize=True, offset=0.0)
        self.mask_features = nn.Conv2d(conv_dim, mask_dim, 1)
        nn.init.kaiming_uniform_(self.mask_features.weight, a=1)
        nn.init.constant_(self.mask_features.bias, 0)
        self.adapter_1 = ConvNormAct(in_channels["res2"], conv_dim, 1, relu=False)
        self.layer_1 = ConvNormAct(conv_dim, conv_dim, 3, relu=True)

    def forward(self, features: dict[str, torch.Tensor]) -> PixelDecoderFeatures:
        srcs, pos = [], []
        paths = active_paths(self)
        for (conv, norm), name in zip(self.input_proj, ENCODER_LEVELS, strict=True):
            x = features[name].float()  # the authors' encoder runs in float32 under autocast too
            srcs.append(norm(conv_block(x, conv, paths).contiguous()))
            no_padding = torch.zeros(x.shape[0], *x.shape[-2:], dtype=torch.bool, device=x.device)
            pos.append(self.pe_layer(no_padding))
        tokens = self.transformer(srcs, pos)
        maps = [
            part.transpose(1, 2).reshape(src.shape)
            for part, src in zip(
                tokens.split([s.shape[-2] * s.shape[-1] for s in srcs], 1), srcs, strict=True
            )
        ]
        lateral = self.adapter_1(features["res2"].float())
        top_down = lateral + F.interpolate(
            maps[-1], size=lateral.shape[-2:], mode="bilinear", align_corners=False
        )
        finest = self.layer_1(top_down)
        mask_features = conv_block(finest, self.mask_features, paths)
        return PixelDecoderFeatures(mask_features, maps[0], maps[:3])


def split_frames(features: PixelDecoderFeatures) -> list[PixelDecoderFeatures]:
    """A batch's outputs -> one entry per frame (views of the batch)."""
    return [
        PixelDecoderFeatures(
            features.mask_features[i],
            features.encoder_features[i],
            [level[i] for level in features.multi_scale],
        )
        for i in range(features.mask_features.shape[0])
    ]


def stack_features(frames: list[PixelDecoderFeatures]) -> PixelDecoderFeatures:
    """Per-frame outputs -> one batch, in the layout the batched forward had (`stack_frames`)."""
    return PixelDecoderFeatures(
        stack_frames([f.mask_features for f in frames]),
        stack_frames([f.encoder_features for f in frames]),
        [
            stack_frames([f.multi_scale[level] for f in frames])
            for level in range(len(frames[0].multi_scale))
        ],
    )
