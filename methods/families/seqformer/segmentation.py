"""SeqFormer's mask branch: a small FPN-like conv head and the dynamic (per-query) mask head.

The conv head turns the encoder memory of one frame (strides 8, 16, 32) into a few mask-feature
channels at stride 8. Each instance query generates the weights of its own tiny 3-layer 1x1-conv
network (CondInst-style), applied at every pixel to the mask features concatenated with the
pixel's offset from the query's reference point (in raw input pixels), then upsampled to stride 4.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.methods.common.fast_paths import active_paths
from vis_bench.methods.common.fused_ops import conv_block


class MaskHeadSmallConv(nn.Module):
    """Fuses memory levels top-down: m32 -> +m16 -> +m8, then reduces to dim/32 channels.

    Keys follow the official code (`dcn` is a plain 3x3 conv despite its name).
    """

    def __init__(self, dim: int, context_dim: int) -> None:
        super().__init__()
        self.lay1 = nn.Conv2d(dim, dim // 4, 3, padding=1)
        self.lay2 = nn.Conv2d(dim // 4, dim // 32, 3, padding=1)
        self.lay3 = nn.Conv2d(context_dim, context_dim, 3, padding=1)
        self.lay4 = nn.Conv2d(context_dim, context_dim, 3, padding=1)
        self.dcn = nn.Conv2d(context_dim, context_dim, 3, padding=1)
        self.dim = dim
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_uniform_(m.weight, a=1)
                nn.init.constant_(m.bias, 0)

    def forward(self, m8: torch.Tensor, m16: torch.Tensor, m32: torch.Tensor) -> torch.Tensor:
        """Memory maps [N, C, h, w] at strides 8/16/32 -> mask features [N, dim/32, h8, w8]."""
        paths = active_paths(self)
        x = conv_block(m32, self.lay3, paths, relu=True)
        x = conv_block(m16 + F.interpolate(x, size=m16.shape[-2:]), self.lay4, paths, relu=True)
        x = conv_block(m8 + F.interpolate(x, size=m8.shape[-2:]), self.dcn, paths, relu=True)
        x = conv_block(x, self.lay1, paths, relu=True)
        return conv_block(x, self.lay2, paths, relu=True)


def dynamic_param_sizes(
    in_channels: int, channels: int = 8, num_layers: int = 3, rel_coord: bool = True
) -> tuple[list[int], list[int]]:
    """Weight and bias counts of each generated layer (169 for 8 input channels + coords)."""
    weight_nums, bias_nums = [], []
    for layer in range(num_layers):
        if layer == 0:
            weight_nums.append((in_channels + (2 if rel_coord else 0)) * channels)
            bias_nums.append(channels)
        elif layer == num_layers - 1:
            weight_nums.append(channels)
            bias_nums.append(1)
        else:
            weight_nums.append(channels * channels)
            bias_nums.append(channels)
    return weight_nums, bias_nums


def parse_dynamic_params(
    params: torch.Tensor, weight_nums: list[int], bias_nums: list[int]
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """[..., P] -> weights [..., out, in] and biases [..., out] per layer.

    The vector holds all weights first, then all biases (official order).
    """
    splits = torch.split(params, weight_nums + bias_nums, dim=-1)
    num_layers = len(weight_nums)
    weights, biases = [], []
    for layer in range(num_layers):
        out_ch = bias_nums[layer]
        w = splits[layer]
        weights.append(w.reshape(*w.shape[:-1], out_ch, w.shape[-1] // out_ch))
        biases.append(splits[num_layers + layer])
    return weights, biases


def compute_locations(
    h: int, w: int, stride: int, device: torch.device | None = None
) -> torch.Tensor:
    """Input-pixel (x, y) of every feature-map cell centre -> [h*w, 2], row-major."""
    shifts_x = torch.arange(0, w * stride, step=stride, dtype=torch.float32, device=device)
    shifts_y = torch.arange(0, h * stride, step=stride, dtype=torch.float32, device=device)
    shift_y, shift_x = torch.meshgrid(shifts_y, shifts_x, indexing="ij")
    return torch.stack((shift_x.reshape(-1), shift_y.reshape(-1)), dim=1) + stride // 2


def aligned_bilinear(tensor: torch.Tensor, factor: int) -> torch.Tensor:
    """Upsample [N, C, h, w] by an integer factor keeping pixel centres aligned (CondInst)."""
    if factor == 1:
        return tensor
    h, w = tensor.shape[-2:]
    tensor = F.pad(tensor, pad=(0, 1, 0, 1), mode="replicate")
    oh, ow = factor * h + 1, factor * w + 1
    tensor = F.interpolate(tensor, size=(oh, ow), mode="bilinear", align_corners=True)
    tensor = F.pad(tensor, pad=(factor // 2, 0, factor // 2, 0), mode="replicate")
    return tensor[:, :, : oh - 1, : ow - 1]


def dynamic_mask_logits(
    mask_feats: torch.Tensor,
    reference_points: torch.Tensor | None,
    params: torch.Tensor,
    weight_nums: list[int],
    bias_nums: list[int],
    feat_stride: int = 8,
    out_stride: int = 4,
) -> torch.Tensor:
    """Run every query's generated network on one frame's mask features.

    mask_feats [c, h, w]; reference_points [Nq, 2] (x, y) in input pixels, or None without
    relative coordinates; params [Nq, P] -> mask logits [Nq, h * s, w * s], s = feat_stride/out_stride.
    """
    c, h, w = mask_feats.shape
    feats = mask_feats.reshape(c, h * w)
    weights, biases = parse_dynamic_params(params, weight_nums, bias_nums)
    w0, b0 = weights[0], biases[0]  # [Nq, ch, (2 +) c]
    # first layer, split so the shared features are not copied once per query:
    # W0 @ concat(rel, f) = W0[:, :, :2] @ rel + W0[:, :, 2:] @ f
    x = torch.matmul(w0[..., -c:], feats)  # [Nq, ch, h*w]
    if reference_points is not None:
        locations = compute_locations(h, w, feat_stride, device=mask_feats.device)  # [h*w, 2]
        rel = reference_points[:, :, None] - locations.t()[None]  # [Nq, 2, h*w], x then y
        x = x + torch.matmul(w0[..., :2], rel)
    x = x + b0[..., None]
    for layer in range(1, len(weights)):
        x = F.relu(x)
        x = torch.matmul(weights[layer], x) + biases[layer][..., None]
    logits = x.view(-1, 1, h, w)  # [Nq, 1, h, w]
    logits = aligned_bilinear(logits, feat_stride // out_stride)
    return logits[:, 0]
