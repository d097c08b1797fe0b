"""Multi-scale deformable attention (Deformable DETR), split so methods can reuse the parts.

Each query predicts, per head, level and point, an offset around its reference point and an
attention weight; the output is the weighted sum of the value maps bilinearly sampled there.
`sample` returns that sum before `output_proj`, because SeqFormer feeds it to two projections.
Parameter names and initialisation are those of the reference implementation, so its
checkpoints load as they are. At inference (fast_paths.py) the two projections of the query run
as one product (`lean_linear`), and the padding mask and sampling locations take the cheap route
(`lean_attention`); both give the same numbers up to float rounding. The helpers that choose
(`_query_projections`, `_zero_padded`, `sampling_locations`) take the switch as an argument, so
each method of the module reads top to bottom on one path.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.methods.common.fast_paths import active_paths, cached_derived
from vis_bench.methods.common.ms_deform_attn_core import ms_deform_attn_core
from vis_bench.methods.common.weight_init import xavier_uniform_matrices


class MSDeformAttn(nn.Module):
    def __init__(
        self, d_model: int = 256, n_levels: int = 4, n_heads: int = 8, n_points: int = 4
    ) -> None:
        super().__init__()
        if d_model % n_heads != 0:
            raise ValueError(f"d_model {d_model} must be divisible by n_heads {n_heads}")
        self.d_model = d_model
        self.n_levels = n_levels
        self.n_heads = n_heads
        self.n_points = n_points
        self.sampling_offsets = nn.Linear(d_model, n_heads * n_levels * n_points * 2)
        self.attention_weights = nn.Linear(d_model, n_heads * n_levels * n_points)
        self.value_proj = nn.Linear(d_model, d_model)
        self.output_proj = nn.Linear(d_model, d_model)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        # offsets start on a ring: head m looks along angle 2*pi*m/M, point p at distance p+1
        nn.init.constant_(self.sampling_offsets.weight, 0.0)
        thetas = torch.arange(self.n_heads, dtype=torch.float32) * (2.0 * math.pi / self.n_heads)
        grid = torch.stack([thetas.cos(), thetas.sin()], -1)
        grid = grid / grid.abs().max(-1, keepdim=True)[0]
        grid = grid.view(self.n_heads, 1, 1, 2).repeat(1, self.n_levels, self.n_points, 1)
        grid = grid * torch.arange(1, self.n_points + 1, dtype=torch.float32).view(1, 1, -1, 1)
        with torch.no_grad():
            self.sampling_offsets.bias.copy_(grid.view(-1))
        nn.init.constant_(self.attention_weights.weight, 0.0)
        nn.init.constant_(self.attention_weights.bias, 0.0)
        nn.init.xavier_uniform_(self.value_proj.weight)
        nn.init.constant_(self.value_proj.bias, 0.0)
        nn.init.xavier_uniform_(self.output_proj.weight)
        nn.init.constant_(self.output_proj.bias, 0.0)

    def project_value(
        self, input_flatten: torch.Tensor, padding_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """[N, S, C] (+ mask [N, S], True = padded) -> per-head values [N, S, M, C/M]."""
        value = self.value_proj(input_flatten)
        if padding_mask is not None:
            value = _zero_padded(value, padding_mask, active_paths(self).lean_attention)
        n, s, _ = value.shape
        return value.view(n, s, self.n_heads, self.d_model // self.n_heads)

    def sample(
        self,
        query: torch.Tensor,
        reference_points: torch.Tensor,
        value: torch.Tensor,
        spatial_shapes: torch.Tensor,
        level_start_index: torch.Tensor,
    ) -> torch.Tensor:
        """Attention output before `output_proj`.

        query [N, Lq, C]; reference_points [N, Lq, L, 2] (x, y) or [N, Lq, L, 4] (cx, cy, w, h),
        normalised to each level; value [N, S, M, C/M] from `project_value` -> [N, Lq, C].
        """
        n, lq, _ = query.shape
        m, lvl, p = self.n_heads, self.n_levels, self.n_points
        paths = active_paths(self)
        offsets, weights = self._query_projections(query, merged=paths.lean_linear)
        offsets = offsets.view(n, lq, m, lvl, p, 2)
        weights = F.softmax(weights.reshape(n, lq, m, lvl * p), -1).view(n, lq, m, lvl, p)
        locations = sampling_locations(
            reference_points, offsets, spatial_shapes, rows=paths.lean_attention
        )
        return ms_deform_attn_core(value, spatial_shapes, level_start_index, locations, weights)

    def _query_projections(
        self, query: torch.Tensor, merged: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sampling offsets and attention logits of `query`.

        `merged` (the `lean_linear` path) computes both from one product of the two layers'
        weights concatenated (cached), which reads the query once.
        """
        offsets, weights = self.sampling_offsets, self.attention_weights
        if not merged:
            return offsets(query), weights(query)

        def merge() -> tuple[torch.Tensor, torch.Tensor]:
            return (
                torch.cat([offsets.weight, weights.weight]),
                torch.cat([offsets.bias, weights.bias]),
            )

        sources = (offsets.weight, offsets.bias, weights.weight, weights.bias)
        weight, bias = cached_derived(self, "_merged_query_projection", sources, merge)
        both = F.linear(query, weight, bias)
        return both.split([offsets.out_features, weights.out_features], dim=-1)

    def forward(
        self,
        query: torch.Tensor,
        reference_points: torch.Tensor,
        input_flatten: torch.Tensor,
        spatial_shapes: torch.Tensor,
        level_start_index: torch.Tensor,
        padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Standard Deformable-DETR attention: [N, Lq, C] queries over [N, S, C] inputs.

        The result is a fresh tensor, so a layer may add its residual in place
        (`fused_ops.add_residual`).
        """
        value = self.project_value(input_flatten, padding_mask)
        out = self.sample(query, reference_points, value, spatial_shapes, level_start_index)
        return self.output_proj(out)


def reset_deformable_parameters(module: nn.Module) -> None:
    """Deformable DETR's init of a transformer: Xavier on every weight matrix, then each
    deformable attention's own init (offsets on a grid, zero attention logits)."""
    xavier_uniform_matrices(module)
    for m in module.modules():
        if isinstance(m, MSDeformAttn):
            m._reset_parameters()


def _zero_padded(value: torch.Tensor, padding_mask: torch.Tensor, lean: bool) -> torch.Tensor:
    """`value` [N, S, ...] with the padded tokens' rows zeroed.

    `lean` (the `lean_attention` path, inference) zeroes in place, and not at all when no token
    is padded (one mask reduction instead of a full-size masked copy).
    """
    if not lean:
        return value.masked_fill(padding_mask[..., None], 0.0)
    # traced (torch.compile), the fill is unconditional: reading the reduction back would break
    # the graph at every attention layer, and filling no row gives the same values
    if torch.compiler.is_compiling() or bool(padding_mask.any()):
        value.masked_fill_(padding_mask[..., None], 0.0)
    return value


def sampling_locations(
    reference_points: torch.Tensor,
    offsets: torch.Tensor,
    spatial_shapes: torch.Tensor,
    rows: bool = False,
) -> torch.Tensor:
    """Where each head, level and point samples: [N, Lq, M, L, P, 2], normalised to each level.

    reference_points [N, Lq, L, 2] (offsets in pixels of each level) or [N, Lq, L, 4] (offsets
    in units of half the box size, spread over the P points). `rows` (the `lean_attention`
    path) forms the 2-d case from contiguous rows (`_pixel_offset_locations`, bit-identical).
    """
    if reference_points.shape[-1] == 2 and rows:
        return _pixel_offset_locations(reference_points, offsets, spatial_shapes)
    if reference_points.shape[-1] == 2:
        # one fused op (the same arithmetic as reference + offsets / normalizer), which saves a
        # full-size temporary and its grad
        normalizer = torch.stack([spatial_shapes[..., 1], spatial_shapes[..., 0]], -1)
        return torch.addcdiv(
            reference_points[:, :, None, :, None, :],
            offsets,
            normalizer[None, None, None, :, None, :].to(offsets.dtype),
        )
    if reference_points.shape[-1] == 4:
        p = offsets.shape[4]
        return (
            reference_points[:, :, None, :, None, :2]
            + offsets / p * reference_points[:, :, None, :, None, 2:] * 0.5
        )
    raise ValueError(
        f"last dim of reference_points must be 2 or 4, got {reference_points.shape[-1]}"
    )


def _pixel_offset_locations(
    reference_points: torch.Tensor, offsets: torch.Tensor, spatial_shapes: torch.Tensor
) -> torch.Tensor:
    """reference [N, Lq, L, 2] + offsets [N, Lq, M, L, P, 2] / (w_l, h_l), in contiguous rows.

    The same arithmetic as one broadcasting `addcdiv` (bit for bit), but the reference points
    are first gathered into rows shaped like the offsets, so every operand is read with unit
    stride: about 3x faster at the encoder's sizes than broadcasting an innermost dimension of 2.
    """
    n, lq, m, lvl, p, _ = offsets.shape
    level = torch.arange(lvl, device=offsets.device).view(1, lvl, 1, 1)
    coord = torch.arange(2, device=offsets.device).view(1, 1, 1, 2)
    index = (level * 2 + coord).expand(m, lvl, p, 2).reshape(-1)  # row slot -> (l, x|y)
    normalizer = torch.stack([spatial_shapes[..., 1], spatial_shapes[..., 0]], -1)
    normalizer = normalizer.to(offsets.dtype).reshape(-1)[index]  # [M * L * P * 2]
    rows = reference_points.reshape(n * lq, lvl * 2).index_select(1, index)
    rows.addcdiv_(offsets.reshape(n * lq, -1), normalizer)
    return rows.view(n, lq, m, lvl, p, 2)


def encoder_reference_points(
    spatial_shapes: torch.Tensor, valid_ratios: torch.Tensor, device: torch.device
) -> torch.Tensor:
    """A deformable encoder's reference points: the pixel centres of every token of every level,
    normalised to the valid region, seen from each level -> [B, S, L, 2] (x, y)."""
    points = []
    for lvl, (h, w) in enumerate(spatial_shapes.tolist()):
        ref_y, ref_x = torch.meshgrid(
            torch.linspace(0.5, h - 0.5, h, dtype=torch.float32, device=device),
            torch.linspace(0.5, w - 0.5, w, dtype=torch.float32, device=device),
            indexing="ij",
        )
        ref_y = ref_y.reshape(-1)[None] / (valid_ratios[:, None, lvl, 1] * h)
        ref_x = ref_x.reshape(-1)[None] / (valid_ratios[:, None, lvl, 0] * w)
        points.append(torch.stack((ref_x, ref_y), -1))  # [B, h*w, 2]
    reference_points = torch.cat(points, 1)  # [B, S, 2]
    return reference_points[:, :, None] * valid_ratios[:, None]  # [B, S, L, 2]
