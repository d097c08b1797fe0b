"""SAM 3's tracker memory attention: the current frame's top-level tokens self-attend and
cross-attend to the memory (spatial memories, then object-pointer tokens), both with axial
rotary positions (none on the pointer tokens), pre-norm, ReLU FFN, a final LayerNorm. Names
follow the checkpoint below `tracker.transformer.encoder.`."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.methods.sam3.two_way_transformer import ProjectedAttention
from vis_bench.methods.sam3.vit import apply_rope, axial_rope

ROPE_THETA = 10000.0
#: the encoder adds this fraction of the positions to its input
INPUT_POSITION_SCALE = 0.1


class RopeAttention(ProjectedAttention):
    """Single-head attention with axial RoPE on the queries (a square grid) and on all keys
    but the last `unrotated` (the keys repeat the grid's rotations, one per memory frame)."""

    def forward_rope(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, unrotated: int = 0
    ) -> torch.Tensor:
        q, k, v = self.split(self.q_proj(q)), self.split(self.k_proj(k)), self.split(self.v_proj(v))
        side = int(round(q.shape[-2] ** 0.5))
        freqs = axial_rope(q.shape[-1], side, 1.0, ROPE_THETA).to(q.device)
        q = apply_rope(q, freqs)
        rotated = k.shape[-2] - unrotated
        if rotated > 0:
            repeats = rotated // q.shape[-2]
            k_rot = apply_rope(k[:, :, :rotated], freqs.repeat(repeats, 1))
            k = torch.cat([k_rot, k[:, :, rotated:]], dim=2)
        return self.merge(F.scaled_dot_product_attention(q, k, v))


class _MemoryAttentionLayer(nn.Module):
    def __init__(self, d_model: int, mem_dim: int, ffn: int) -> None:
        super().__init__()
        self.self_attn = RopeAttention(d_model, 1)
        self.cross_attn_image = RopeAttention(d_model, 1, kv_dim=mem_dim)
        self.linear1 = nn.Linear(d_model, ffn)
        self.linear2 = nn.Linear(ffn, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)

    def forward(
        self, x: torch.Tensor, memory: torch.Tensor, memory_pos: torch.Tensor, pointers: int
    ) -> torch.Tensor:
        y = self.norm1(x)
        x = x + self.self_attn.forward_rope(y, y, y)
        y = self.norm2(x)
        x = x + self.cross_attn_image.forward_rope(y, memory + memory_pos, memory, pointers)
        return x + self.linear2(F.relu(self.linear1(self.norm3(x))))


class MemoryAttention(nn.Module):
    """Frame tokens (B, hw, d) with positions, memory tokens (B, M, mem_dim) with positions, of
    which the last `pointers` are object-pointer tokens -> conditioned tokens (B, hw, d)."""

    def __init__(self, d_model: int, mem_dim: int, layers: int, ffn: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            _MemoryAttentionLayer(d_model, mem_dim, ffn) for _ in range(layers)
        )
        self.norm = nn.LayerNorm(d_model)

    def forward(
        self,
        tokens: torch.Tensor,
        positions: torch.Tensor,
        memory: torch.Tensor,
        memory_pos: torch.Tensor,
        pointers: int,
    ) -> torch.Tensor:
        x = tokens + INPUT_POSITION_SCALE * positions
        for layer in self.layers:
            x = layer(x, memory, memory_pos, pointers)
        return self.norm(x)
