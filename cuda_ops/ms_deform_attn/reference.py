"""Pure-PyTorch multi-scale deformable attention: the oracle and fallback for the compiled kernels.

Forward uses F.grid_sample (bilinear, zeros padding, align_corners=False), exactly the semantics of
Deformable-DETR's `ms_deform_attn_core_pytorch`. The backward is written out with
`aten.grid_sampler_2d_backward` instead of autograd so that it can run inside a custom op's
backward, where autograd is not available.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _level_sizes(spatial_shapes: torch.Tensor) -> list[tuple[int, int]]:
    return [(int(h), int(w)) for h, w in spatial_shapes.tolist()]


def _level_views(
    value: torch.Tensor, spatial_shapes: torch.Tensor, sampling_locations: torch.Tensor
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per level: value as [B*M, D, H, W] and the grid_sample grid [B*M, Q, P, 2] in [-1, 1]."""
    B, _, M, D = value.shape
    sizes = _level_sizes(spatial_shapes)
    values = value.split([h * w for h, w in sizes], dim=1)
    grids = 2 * sampling_locations - 1
    views = []
    for level, (h, w) in enumerate(sizes):
        v = values[level].permute(0, 2, 3, 1).reshape(B * M, D, h, w)
        g = grids[:, :, :, level].transpose(1, 2).flatten(0, 1)
        views.append((v, g))
    return views


def ms_deform_attn_reference(
    value: torch.Tensor,
    spatial_shapes: torch.Tensor,
    level_start_index: torch.Tensor,
    sampling_locations: torch.Tensor,
    attention_weights: torch.Tensor,
) -> torch.Tensor:
    """value [B,S,M,D], locations [B,Q,M,L,P,2], weights [B,Q,M,L,P] -> output [B,Q,M*D].

    Differentiable through autograd; `level_start_index` is implied by `spatial_shapes` here.
    """
    del level_start_index
    B, _, M, D = value.shape
    Q, L, P = sampling_locations.shape[1], sampling_locations.shape[3], sampling_locations.shape[4]
    samples = [
        F.grid_sample(v, g, mode="bilinear", padding_mode="zeros", align_corners=False)
        for v, g in _level_views(value, spatial_shapes, sampling_locations)
    ]  # each [B*M, D, Q, P]
    weights = attention_weights.transpose(1, 2).reshape(B * M, 1, Q, L * P)
    out = (torch.stack(samples, dim=-2).flatten(-2) * weights).sum(-1)
    return out.view(B, M * D, Q).transpose(1, 2).contiguous()


def ms_deform_attn_reference_backward(
    grad_output: torch.Tensor,
    value: torch.Tensor,
    spatial_shapes: torch.Tensor,
    level_start_index: torch.Tensor,
    sampling_locations: torch.Tensor,
    attention_weights: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gradients (value, sampling_locations, attention_weights) without autograd."""
    del level_start_index
    B, _, M, D = value.shape
    Q, P = sampling_locations.shape[1], sampling_locations.shape[4]
    g = grad_output.reshape(B, Q, M, D).permute(0, 2, 3, 1).reshape(B * M, D, Q, 1)
    grad_values, grad_grids, grad_weights = [], [], []
    for level, (v, grid) in enumerate(_level_views(value, spatial_shapes, sampling_locations)):
        sample = F.grid_sample(v, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        grad_weights.append((g * sample).sum(1).view(B, M, Q, P).transpose(1, 2))
        w = attention_weights[:, :, :, level].transpose(1, 2).reshape(B * M, 1, Q, P)
        grad_v, grad_grid = torch.ops.aten.grid_sampler_2d_backward(
            (g * w).contiguous(), v, grid, 0, 0, False, [True, True]
        )
        h, wd = v.shape[-2:]
        grad_values.append(grad_v.reshape(B, M, D, h * wd).permute(0, 3, 1, 2))
        grad_grids.append(grad_grid.view(B, M, Q, P, 2).transpose(1, 2))
    grad_value = torch.cat(grad_values, dim=1).contiguous()
    grad_loc = (2 * torch.stack(grad_grids, dim=3)).contiguous()
    grad_attn = torch.stack(grad_weights, dim=3).contiguous()
    return grad_value, grad_loc, grad_attn
