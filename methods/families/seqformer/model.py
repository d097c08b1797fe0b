"""SeqFormer: Deformable DETR over a clip plus a dynamic mask head (models/segmentation.py).

`SeqFormer.detr` holds the backbone, input projections, transformer and the per-layer class and
box heads; `SeqFormer` adds the mask branch. The forward mirrors the official `inference()` but
runs the heads and the mask branch only where their output is used: for the last decoder layer.
Parity reads intermediates with forward hooks (methods/families/seqformer/parity.py) and computes the
other layers' heads with `layer_heads`/`query_masks`, as training does; the forward has no
parity switch.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from vis_bench.api import InputError, build_dataclass
from vis_bench.methods.common.backbone import Backbone, Joiner, resize_mask
from vis_bench.methods.common.backbone_registry import (
    backbone_names,
    build_backbone,
    unknown_backbone_message,
)
from vis_bench.methods.common.box_ops import inverse_sigmoid
from vis_bench.methods.common.fast_paths import active_paths
from vis_bench.methods.common.frames import stack_frame_views, stack_frames
from vis_bench.methods.common.fused_ops import conv_block
from vis_bench.methods.common.mlp import MLP
from vis_bench.methods.common.position_encoding import PositionEmbeddingSine
from vis_bench.methods.common.tiny_backbone import TinyResNet
from vis_bench.methods.families.seqformer.segmentation import (
    MaskHeadSmallConv,
    dynamic_mask_logits,
    dynamic_param_sizes,
)
from vis_bench.methods.families.seqformer.transformer import DeformableTransformer

#: the project's own small body, trained from scratch (methods/common/tiny_backbone.py)
TINY_BACKBONE = "tiny"


@dataclass
class SeqFormerConfig:
    """Model hyper-parameters; the defaults are the published R50 model (configs/r50_seqformer.sh)."""

    #: a body of methods/common/backbone_registry.py (resnet50, resnet101, resnext101_32x8d,
    #: resnext101_64x4d, swin_l), "tiny", or None: no backbone, feed features to forward_features
    backbone: str | None = "resnet50"
    hidden_dim: int = 256
    dim_feedforward: int = 1024
    nheads: int = 8
    enc_layers: int = 6
    dec_layers: int = 6
    num_feature_levels: int = 4
    enc_n_points: int = 4
    dec_n_points: int = 4
    num_queries: int = 300
    num_classes: int = 42
    with_box_refine: bool = True
    rel_coord: bool = True
    masks: bool = True
    position_embedding: str = "sine"
    mask_out_stride: int = 4
    dropout: float = 0.1
    backbone_channels: list[int] = field(default_factory=lambda: [512, 1024, 2048])
    backbone_strides: list[int] = field(default_factory=lambda: [8, 16, 32])

    @classmethod
    def from_dict(cls, cfg: dict[str, Any] | None, source: str = "config") -> SeqFormerConfig:
        """Typed config from a dict; unknown keys and unsupported variants are errors."""
        return build_dataclass(cls, dict(cfg or {}), "", source)

    def check(self, where: str, source: str) -> None:
        """Only the published architecture's variants are implemented."""
        prefix = f"{where}." if where else ""
        known = [*backbone_names(), TINY_BACKBONE]
        if self.backbone is not None and self.backbone not in known:
            raise InputError(
                unknown_backbone_message(self.backbone, known),
                path=source,
                field=f"{prefix}backbone",
            )
        for name, value in (
            ("with_box_refine", True),
            ("masks", True),
            ("position_embedding", "sine"),
            ("num_feature_levels", 4),
        ):
            if getattr(self, name) != value:
                raise InputError(
                    f"only {name}={value!r} is implemented (the published models)",
                    path=source,
                    field=f"{prefix}{name}",
                )


class FrameGroupNorm(nn.GroupNorm):
    """The input projections' GroupNorm, each frame's values independent of its batch.

    It normalises on the authors' NCHW layout: PyTorch's channels-last GroupNorm splits its sums
    over threads by batch size, so a frame's values would depend on the frames beside it
    (per-frame feature reuse needs them not to). And it takes a lone frame whose groups hold one
    value each (a small model's 1x1 extra level), which `F.group_norm` refuses as if batch
    statistics were at stake; such a group normalises to its bias, as it does in a batch.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.group_norm(
            x.contiguous(),
            self.num_groups,
            self.weight,
            self.bias,
            self.eps,
            torch.backends.cudnn.enabled,
        )


class DeformableDETR(nn.Module):
    """Backbone, input projections, transformer, and the class/box head of every decoder layer."""

    def __init__(
        self,
        backbone: Joiner | None,
        transformer: DeformableTransformer,
        num_classes: int,
        num_queries: int,
        num_feature_levels: int,
        backbone_channels: list[int],
    ) -> None:
        super().__init__()
        self.num_queries = num_queries
        self.transformer = transformer
        self.num_classes = num_classes
        self.num_feature_levels = num_feature_levels
        hidden_dim = transformer.d_model
        num_pred = transformer.decoder.num_layers

        class_embed = nn.Linear(hidden_dim, num_classes)
        class_embed.bias.data.fill_(-math.log((1 - 0.01) / 0.01))  # focal-loss prior 0.01
        bbox_embed = MLP(hidden_dim, hidden_dim, 4, 3)
        nn.init.constant_(bbox_embed.layers[-1].weight, 0)
        nn.init.constant_(bbox_embed.layers[-1].bias, 0)
        self.class_embed = nn.ModuleList(copy.deepcopy(class_embed) for _ in range(num_pred))
        self.bbox_embed = nn.ModuleList(copy.deepcopy(bbox_embed) for _ in range(num_pred))
        nn.init.constant_(self.bbox_embed[0].layers[-1].bias.data[2:], -2.0)
        # iterative refinement: the decoder uses these heads too (alias keys in the state dict)
        self.transformer.decoder.bbox_embed = self.bbox_embed

        self.query_embed = nn.Embedding(num_queries, hidden_dim * 2)
        projections = [
            nn.Sequential(nn.Conv2d(c, hidden_dim, kernel_size=1), FrameGroupNorm(32, hidden_dim))
            for c in backbone_channels
        ]
        in_channels = backbone_channels[-1]
        for _ in range(num_feature_levels - len(backbone_channels)):
            projections.append(
                nn.Sequential(
                    nn.Conv2d(in_channels, hidden_dim, kernel_size=3, stride=2, padding=1),
                    FrameGroupNorm(32, hidden_dim),
                )
            )
            in_channels = hidden_dim
        self.input_proj = nn.ModuleList(projections)
        for proj in self.input_proj:
            nn.init.xavier_uniform_(proj[0].weight, gain=1)
            nn.init.constant_(proj[0].bias, 0)
        self.backbone = backbone
        # parameter-free; kept outside the backbone so a backbone-less model can encode positions
        self.position_embedding = PositionEmbeddingSine(hidden_dim // 2, normalize=True)

    def project_input(self, lvl: int, x: torch.Tensor) -> torch.Tensor:
        """Input projection `lvl` (conv, GroupNorm) of a feature map [N, C, h, w]."""
        conv, norm = self.input_proj[lvl]
        return norm(conv_block(x, conv, active_paths(self)))


class ReferencePixels(nn.Module):
    """Reference centres in pixels of the unpadded input, from reference logits.

    A parameter-free module so the value (the origin of the mask head's relative coordinates)
    is a module output that a parity hook can read.
    """

    def forward(self, reference: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """reference [..., 2|4] (inverse-sigmoid space), scale [2] (w, h) -> [..., 2] pixels."""
        return reference[..., :2].sigmoid() * scale


class SeqFormer(nn.Module):
    def __init__(self, detr: DeformableDETR, rel_coord: bool = True, mask_out_stride: int = 4):
        super().__init__()
        self.detr = detr
        self.rel_coord = rel_coord
        self.mask_out_stride = mask_out_stride
        self.mask_feat_stride = 8
        hidden_dim = detr.transformer.d_model
        self.in_channels = hidden_dim // 32
        self.weight_nums, self.bias_nums = dynamic_param_sizes(
            self.in_channels, channels=8, num_layers=3, rel_coord=rel_coord
        )
        self.num_gen_params = sum(self.weight_nums) + sum(self.bias_nums)
        self.controller = MLP(hidden_dim, hidden_dim, self.num_gen_params, 3)
        for layer in self.controller.layers:
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
        self.mask_head = MaskHeadSmallConv(hidden_dim, hidden_dim)
        self.reference_pixels = ReferencePixels()

    def forward(
        self,
        images: torch.Tensor,
        image_mask: torch.Tensor | None = None,
        orig_size: tuple[int, int] | None = None,
        mask_queries: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> dict[str, Any]:
        """One clip: images [T, 3, H, W] (normalised) and padding mask [T, H, W] (True = padded).

        orig_size (w, h): the unpadded input size relative coordinates are measured in; by
        default the valid size of frame 0. `mask_queries`: see `forward_features`.
        """
        if self.detr.backbone is None:
            raise RuntimeError("built without a backbone; call forward_features with features")
        if image_mask is None:
            image_mask = images.new_zeros((images.shape[0], *images.shape[-2:]), dtype=torch.bool)
        if orig_size is None:
            valid = ~image_mask[0]
            orig_size = (int(valid[0].sum()), int(valid[:, 0].sum()))
        features, feature_masks = self.detr.backbone(images, image_mask)
        return self.forward_features(features, feature_masks, image_mask, orig_size, mask_queries)

    def forward_features(
        self,
        features: dict[str, torch.Tensor],
        feature_masks: dict[str, torch.Tensor],
        image_mask: torch.Tensor,
        orig_size: tuple[int, int],
        mask_queries: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> dict[str, Any]:
        """Everything after the backbone, for a batch of one clip.

        features: res3/res4/res5 [T, C_l, h_l, w_l]; feature_masks: the same keys [T, h_l, w_l];
        image_mask [T, H, W]. Returns the last decoder layer's pred_logits [1, Nq, K],
        pred_boxes [1, T, Nq, 4], pred_masks [1, Nq, T, H/4, W/4] and query_embeddings
        [1, Nq, C] (its instance queries). `mask_queries(pred_logits [Nq, K])` -> query
        indices: masks are computed for those queries only (pred_masks [1, n, T, H/4, W/4],
        the indices under "mask_queries").
        """
        out = self.encode_decode(features, feature_masks, image_mask)
        return self.clip_outputs(out, orig_size, mask_queries)

    def frame_features(self, images: torch.Tensor, encode: bool) -> list[dict[str, Any]]:
        """The per-frame stages of unpadded frames [n, 3, H, W], one dict per frame.

        Backbone, input projections and positions always; with `encode` (an encoder whose
        frames never interact, SeqFormer's) also the encoder's memory, the mask features and
        every decoder layer's cross-attention values of the memory (a projection of each token,
        batched over the frames as the encoder's own projections are). `forward_frames` runs
        the rest of a clip from them, with the values `forward` computes.
        """
        if self.detr.backbone is None:
            raise RuntimeError("built without a backbone; call forward_features with features")
        image_mask = images.new_zeros((images.shape[0], *images.shape[-2:]), dtype=torch.bool)
        features, feature_masks = self.detr.backbone(images, image_mask)
        srcs, masks, poses = self.project_levels(features, feature_masks, image_mask)
        n = images.shape[0]
        if not encode:
            return [
                {"levels": [[level[0, i] for level in part] for part in (srcs, masks, poses)]}
                for i in range(n)
            ]
        transformer = self.detr.transformer
        flat = transformer.flatten_levels(srcs, masks, poses)
        memory = transformer.encode(flat)
        mask_feats = self.mask_features(memory, flat)
        # [n, S, M, C/M] per layer: linear in each token, as the encoder's own projections are
        values = transformer.decoder.project_values(memory, flat["mask"])
        # every frame of a video has the size (and padding) of the first: its layout is theirs
        layout = {k: flat[k] for k in ("spatial_shapes", "level_start_index", "valid_ratios")}
        return [
            {
                "memory": memory[0, i],
                "mask": flat["mask"][0, i],
                "mask_feats": mask_feats[i],
                "values": [layer[i] for layer in values],
            }
            | layout
            for i in range(n)
        ]

    def forward_frames(
        self,
        frames: list[dict[str, Any]],
        orig_size: tuple[int, int],
        mask_queries: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> dict[str, Any]:
        """`forward`'s outputs for a clip from its frames' `frame_features`."""
        first = frames[0]
        if "levels" in first:
            srcs, masks, poses = (_stacked_levels(frames, part) for part in range(3))
            out = self.encode_decode_levels(srcs, masks, poses)
        else:
            flat = {k: first[k] for k in ("spatial_shapes", "level_start_index", "valid_ratios")}
            flat["mask"] = torch.stack([f["mask"] for f in frames])[None]
            memory = torch.stack([f["memory"] for f in frames])[None]
            mask_feats = stack_frames([f["mask_feats"] for f in frames])
            values = [
                stack_frame_views(list(layer))
                for layer in zip(*(f["values"] for f in frames), strict=True)
            ]
            out = self.decode_clip(memory, flat, mask_feats, values)
        return self.clip_outputs(out, orig_size, mask_queries)

    def clip_outputs(
        self,
        out: dict[str, Any],
        orig_size: tuple[int, int],
        mask_queries: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> dict[str, Any]:
        """The last decoder layer's heads and masks (`forward_features`' outputs)."""
        heads = self.layer_heads(out, out["hs"].shape[0] - 1, orig_size)
        reference_px, params = heads["mask_reference_points_px"][0], heads["dynamic_params"][0]
        kept = None
        if mask_queries is not None:
            kept = mask_queries(heads["pred_logits"][0])
            reference_px, params = reference_px[:, kept], params[kept]
        masks = self.query_masks(out["mask_feats"], reference_px, params)
        result: dict[str, Any] = {
            "pred_logits": heads["pred_logits"],
            "pred_boxes": heads["pred_boxes"],
            "pred_masks": masks[None],  # [B, Nq, T, H/4, W/4]
            "query_embeddings": out["hs"][-1],
        }
        if kept is not None:
            result["mask_queries"] = kept
        return result

    def encode_decode(
        self,
        features: dict[str, torch.Tensor],
        feature_masks: dict[str, torch.Tensor],
        image_mask: torch.Tensor,
    ) -> dict[str, Any]:
        """Input projections, transformer, and the per-frame mask features [T, C/32, h8, w8]."""
        return self.encode_decode_levels(*self.project_levels(features, feature_masks, image_mask))

    def project_levels(
        self,
        features: dict[str, torch.Tensor],
        feature_masks: dict[str, torch.Tensor],
        image_mask: torch.Tensor,
    ) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
        """Projected levels, their masks and positions, each per level [B=1, T, ...]."""
        detr = self.detr
        t = image_mask.shape[0]
        srcs, masks, poses = [], [], []
        levels = list(features.values())
        level_masks = [feature_masks[name] for name in features]
        for lvl in range(detr.num_feature_levels):
            if lvl < len(levels):
                src = detr.project_input(lvl, levels[lvl])
                mask = level_masks[lvl]
            else:
                # extra levels: stride-2 conv on the raw last backbone level, then on the previous
                prev = levels[-1] if lvl == len(levels) else srcs[-1].flatten(0, 1)
                src = detr.project_input(lvl, prev)
                mask = resize_mask(image_mask, src.shape[-2:])
            pos = detr.position_embedding(mask).to(src.dtype)
            srcs.append(src.unflatten(0, (1, t)))  # [B=1, T, C, h, w]
            masks.append(mask.unflatten(0, (1, t)))
            poses.append(pos.unflatten(0, (1, t)))
        return srcs, masks, poses

    def encode_decode_levels(
        self, srcs: list[torch.Tensor], masks: list[torch.Tensor], poses: list[torch.Tensor]
    ) -> dict[str, Any]:
        """Transformer and mask features of `project_levels`' output."""
        transformer = self.detr.transformer
        flat = transformer.flatten_levels(srcs, masks, poses)
        memory = transformer.encode(flat)
        return self.decode_clip(memory, flat, self.mask_features(memory, flat))

    def mask_features(self, memory: torch.Tensor, flat: dict[str, torch.Tensor]) -> torch.Tensor:
        """Mask features of every frame [T, C/32, h8, w8] from the encoder memory [1, T, S, C]
        at strides 8, 16, 32 (frame by frame)."""
        shapes = [tuple(s) for s in flat["spatial_shapes"].tolist()]
        starts = flat["level_start_index"].tolist()
        maps = [
            memory[0, :, start : start + h * w].transpose(1, 2).unflatten(2, (h, w))
            for (h, w), start in zip(shapes[:3], starts[:3], strict=True)
        ]  # each [T, C, h, w]
        return self.mask_head(*maps)

    def decode_clip(
        self,
        memory: torch.Tensor,
        flat: dict[str, torch.Tensor],
        mask_feats: torch.Tensor,
        values: list[torch.Tensor] | None = None,
    ) -> dict[str, Any]:
        """The decoder over a clip's memory (and its layers' values, when computed per frame);
        its outputs with the mask features."""
        out = self.detr.transformer.decode(memory, flat, self.detr.query_embed.weight, values)
        out["mask_feats"] = mask_feats  # [T, C/32, h8, w8]
        return out

    def layer_heads(
        self, out: dict[str, Any], lvl: int, orig_size: tuple[int, int]
    ) -> dict[str, torch.Tensor]:
        """Class logits, boxes, dynamic mask parameters and mask reference points of a layer.

        orig_size (w, h): the unpadded input size relative coordinates are measured in.
        """
        detr = self.detr
        hs, hs_box = out["hs"], out["hs_box"]  # [Ld, B, Nq, C], [Ld, B, T, Nq, C]
        reference = out["init_reference"] if lvl == 0 else out["inter_references"][lvl - 1]
        reference = inverse_sigmoid(reference)  # [B, T, Nq, 2|4]
        delta = detr.bbox_embed[lvl](hs_box[lvl])  # [B, T, Nq, 4]
        if reference.shape[-1] == 4:
            boxes = (delta + reference).sigmoid()
        else:
            boxes = torch.cat([delta[..., :2] + reference, delta[..., 2:]], -1).sigmoid()
        scale = torch.tensor(orig_size, dtype=hs.dtype, device=hs.device)  # (w, h)
        return {
            "pred_logits": detr.class_embed[lvl](hs[lvl]),  # [B, Nq, K]
            "pred_boxes": boxes,
            "dynamic_params": self.controller(hs[lvl]),  # [B, Nq, P]
            # the layer's *input* reference centre, in pixels of the unpadded input
            "mask_reference_points_px": self.reference_pixels(reference, scale),  # [B,T,Nq,2]
        }

    def query_masks(
        self, mask_feats: torch.Tensor, reference_px: torch.Tensor, params: torch.Tensor
    ) -> torch.Tensor:
        """Mask logits [n, T, H/4, W/4] of n queries from their reference points [T, n, 2] and
        generated parameters [n, P] (all queries at inference, the matched ones in training)."""
        frames = [
            dynamic_mask_logits(
                mask_feats[f],
                reference_px[f] if self.rel_coord else None,
                params,
                self.weight_nums,
                self.bias_nums,
                self.mask_feat_stride,
                self.mask_out_stride,
            )
            for f in range(mask_feats.shape[0])
        ]
        return torch.stack(frames, dim=1)


def _stacked_levels(frames: list[dict[str, Any]], part: int) -> list[torch.Tensor]:
    """Part `part` (0 sources, 1 masks, 2 positions) of `frame_features`' levels, per level
    [1, T, ...] over the frames."""
    count = len(frames[0]["levels"][part])
    return [stack_frames([f["levels"][part][lvl] for f in frames])[None] for lvl in range(count)]


def build(cfg: SeqFormerConfig | dict[str, Any] | None = None) -> SeqFormer:
    """The SeqFormer model for `cfg` (defaults: the published R50), in eval mode."""
    if not isinstance(cfg, SeqFormerConfig):
        cfg = SeqFormerConfig.from_dict(cfg)
    backbone = None
    channels = list(cfg.backbone_channels)
    position = PositionEmbeddingSine(cfg.hidden_dim // 2, normalize=True)
    if cfg.backbone is not None:
        tiny = cfg.backbone == TINY_BACKBONE
        body = Backbone(body=TinyResNet()) if tiny else build_backbone(cfg.backbone)
        backbone = Joiner(body, position)
        channels = list(body.num_channels)
    transformer = DeformableTransformer(
        d_model=cfg.hidden_dim,
        nhead=cfg.nheads,
        num_encoder_layers=cfg.enc_layers,
        num_decoder_layers=cfg.dec_layers,
        dim_feedforward=cfg.dim_feedforward,
        dropout=cfg.dropout,
        num_feature_levels=cfg.num_feature_levels,
        dec_n_points=cfg.dec_n_points,
        enc_n_points=cfg.enc_n_points,
    )
    detr = DeformableDETR(
        backbone,
        transformer,
        num_classes=cfg.num_classes,
        num_queries=cfg.num_queries,
        num_feature_levels=cfg.num_feature_levels,
        backbone_channels=channels,
    )
    model = SeqFormer(detr, rel_coord=cfg.rel_coord, mask_out_stride=cfg.mask_out_stride)
    return model.eval()
