"""SAM's mask decoder inside SAM 3's tracker: an object-score token, an IoU token and four mask
tokens run through the two-way transformer with the prompt tokens; the image tokens are
upsampled 4x with the two finer backbone levels added, and each mask token's hypernetwork MLP
gives a mask. Names follow the checkpoint below `tracker.sam_mask_decoder.`."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vis_bench.methods.common.mlp import MLP
from vis_bench.methods.sam3.layer_norm_2d import LayerNorm2d
from vis_bench.methods.sam3.two_way_transformer import TwoWayTransformer

#: the release's dynamic single/multi-mask choice
STABILITY_DELTA = 0.05
STABILITY_THRESHOLD = 0.98


@dataclass(frozen=True)
class DecodedMasks:
    """Per object: mask logits (B, M, 4h, 4w), IoU estimates (B, M), the output token of each
    mask (B, M, C) and the object-score logit (B, 1); M = 3 (multimask) or 1."""

    masks: torch.Tensor
    ious: torch.Tensor
    tokens: torch.Tensor
    object_score_logits: torch.Tensor


def stability_scores(mask_logits: torch.Tensor, delta: float = STABILITY_DELTA) -> torch.Tensor:
    """Area above +delta over area above -delta (1 where both are empty)."""
    flat = mask_logits.flatten(-2)
    inner = (flat > delta).sum(-1).float()
    outer = (flat > -delta).sum(-1).float()
    return torch.where(outer > 0, inner / outer, torch.ones_like(inner))


class MaskDecoder(nn.Module):
    """Image embedding (B, C, h, w), its positions (1, C, h, w), prompt tokens and the dense
    prompt, and the two finer levels (B, C/8, 4h, 4w), (B, C/4, 2h, 2w) -> `DecodedMasks`."""

    def __init__(
        self, dim: int, multimask: int = 3, iou_hidden: int = 256, mlp: int = 2048
    ) -> None:
        super().__init__()
        self.transformer = TwoWayTransformer(dim, depth=2, heads=8, mlp=mlp)
        self.num_mask_tokens = multimask + 1
        self.iou_token = nn.Embedding(1, dim)
        self.mask_tokens = nn.Embedding(self.num_mask_tokens, dim)
        self.obj_score_token = nn.Embedding(1, dim)
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose2d(dim, dim // 4, 2, stride=2),
            LayerNorm2d(dim // 4),
            nn.GELU(),
            nn.ConvTranspose2d(dim // 4, dim // 8, 2, stride=2),
            nn.GELU(),
        )
        self.conv_s0 = nn.Conv2d(dim, dim // 8, 1)
        self.conv_s1 = nn.Conv2d(dim, dim // 4, 1)
        self.output_hypernetworks_mlps = nn.ModuleList(
            MLP(dim, dim, dim // 8, 3) for _ in range(self.num_mask_tokens)
        )
        self.iou_prediction_head = MLP(dim, iou_hidden, self.num_mask_tokens, 3)
        self.pred_obj_score_head = MLP(dim, dim, 1, 3)

    def forward(
        self,
        image: torch.Tensor,
        image_pe: torch.Tensor,
        sparse: torch.Tensor,
        dense: torch.Tensor,
        high_res: list[torch.Tensor],
        multimask: bool,
    ) -> DecodedMasks:
        """Every mask token's mask, IoU prediction and token, and the object score; with
        `multimask` the three multimask outputs, else the single one."""
        b = sparse.shape[0]
        output = torch.cat(
            [self.obj_score_token.weight, self.iou_token.weight, self.mask_tokens.weight]
        )
        tokens = torch.cat([output[None].expand(b, -1, -1), sparse], dim=1)
        src = image + dense
        hs, src = self.transformer(src, image_pe.expand(b, -1, -1, -1), tokens)
        mask_tokens = hs[:, 2 : 2 + self.num_mask_tokens]
        c, h, w = image.shape[1:]
        src = src.transpose(1, 2).reshape(b, c, h, w)
        up1, norm, act1, up2, act2 = self.output_upscaling
        fine, mid = high_res
        upscaled = act2(up2(act1(norm(up1(src) + mid))) + fine)
        hyper = torch.stack(
            [mlp(mask_tokens[:, i]) for i, mlp in enumerate(self.output_hypernetworks_mlps)], dim=1
        )
        b, c, h, w = upscaled.shape
        masks = (hyper @ upscaled.view(b, c, h * w)).view(b, -1, h, w)
        ious = torch.sigmoid(self.iou_prediction_head(hs[:, 1]))
        every = DecodedMasks(masks, ious, mask_tokens, self.pred_obj_score_head(hs[:, 0]))
        return _multimask(every) if multimask else _single_mask(every)


def _multimask(every: DecodedMasks) -> DecodedMasks:
    """The three multimask outputs (tokens 1..3)."""
    return DecodedMasks(
        every.masks[:, 1:], every.ious[:, 1:], every.tokens[:, 1:], every.object_score_logits
    )


def _single_mask(every: DecodedMasks) -> DecodedMasks:
    """Token 0's output unless its mask is unstable, then the best multimask output."""
    multi_ious = every.ious[:, 1:]
    best = multi_ious.argmax(-1)
    rows = torch.arange(best.shape[0], device=best.device)
    stable = stability_scores(every.masks[:, 0:1]) >= STABILITY_THRESHOLD
    masks = torch.where(
        stable[..., None, None], every.masks[:, 0:1], every.masks[:, 1:][rows, best][:, None]
    )
    ious = torch.where(stable, every.ious[:, 0:1], multi_ious[rows, best][:, None])
    return DecodedMasks(masks, ious, every.tokens[:, 0:1], every.object_score_logits)
