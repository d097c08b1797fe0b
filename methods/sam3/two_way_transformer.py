"""SAM's two-way transformer: prompt tokens and image tokens attend to each other in turn
(tokens to image, image to tokens), then a last token-to-image attention. Names follow the
checkpoint below `tracker.sam_mask_decoder.transformer.`."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ProjectedAttention(nn.Module):
    """Multi-head attention whose q/k/v live in `dim // downsample` channels; keys and values
    may come in `kv_dim` channels."""

    def __init__(
        self, dim: int, heads: int, downsample: int = 1, kv_dim: int | None = None
    ) -> None:
        super().__init__()
        inner = dim // downsample
        kv_dim = kv_dim or dim
        self.heads = heads
        self.q_proj = nn.Linear(dim, inner)
        self.k_proj = nn.Linear(kv_dim, inner)
        self.v_proj = nn.Linear(kv_dim, inner)
        self.out_proj = nn.Linear(inner, dim)

    def split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        return x.reshape(b, n, self.heads, c // self.heads).transpose(1, 2)

    def merge(self, x: torch.Tensor) -> torch.Tensor:
        b, h, n, c = x.shape
        return self.out_proj(x.transpose(1, 2).reshape(b, n, h * c))

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        q, k, v = self.split(self.q_proj(q)), self.split(self.k_proj(k)), self.split(self.v_proj(v))
        return self.merge(F.scaled_dot_product_attention(q, k, v))


class _MlpBlock(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.lin1 = nn.Linear(dim, hidden)
        self.lin2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin2(F.relu(self.lin1(x)))


class _TwoWayBlock(nn.Module):
    def __init__(self, dim: int, heads: int, mlp: int, first: bool) -> None:
        super().__init__()
        self.first = first
        self.self_attn = ProjectedAttention(dim, heads)
        self.norm1 = nn.LayerNorm(dim)
        self.cross_attn_token_to_image = ProjectedAttention(dim, heads, downsample=2)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = _MlpBlock(dim, mlp)
        self.norm3 = nn.LayerNorm(dim)
        self.norm4 = nn.LayerNorm(dim)
        self.cross_attn_image_to_token = ProjectedAttention(dim, heads, downsample=2)

    def forward(
        self,
        queries: torch.Tensor,
        keys: torch.Tensor,
        query_pe: torch.Tensor,
        key_pe: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if self.first:  # the first block replaces the tokens by their self-attention
            queries = self.self_attn(queries, queries, queries)
        else:
            q = queries + query_pe
            queries = queries + self.self_attn(q, q, queries)
        queries = self.norm1(queries)
        q, k = queries + query_pe, keys + key_pe
        queries = self.norm2(queries + self.cross_attn_token_to_image(q, k, keys))
        queries = self.norm3(queries + self.mlp(queries))
        q, k = queries + query_pe, keys + key_pe
        keys = self.norm4(keys + self.cross_attn_image_to_token(k, q, queries))
        return queries, keys


class TwoWayTransformer(nn.Module):
    """Image (B, C, h, w) with positions, tokens (B, T, C) -> (tokens, image tokens (B, hw, C))."""

    def __init__(self, dim: int, depth: int = 2, heads: int = 8, mlp: int = 2048) -> None:
        super().__init__()
        self.layers = nn.ModuleList(_TwoWayBlock(dim, heads, mlp, i == 0) for i in range(depth))
        self.final_attn_token_to_image = ProjectedAttention(dim, heads, downsample=2)
        self.norm_final_attn = nn.LayerNorm(dim)

    def forward(
        self, image: torch.Tensor, image_pe: torch.Tensor, tokens: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        keys = image.flatten(2).transpose(1, 2)
        key_pe = image_pe.flatten(2).transpose(1, 2)
        queries = tokens
        for layer in self.layers:
            queries, keys = layer(queries, keys, tokens, key_pe)
        attended = self.final_attn_token_to_image(queries + tokens, keys + key_pe, keys)
        return self.norm_final_attn(queries + attended), keys
