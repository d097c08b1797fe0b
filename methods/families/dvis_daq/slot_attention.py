"""DVIS-DAQ's slot cross-attention (`dvis_daq/slot_attention.py` of the authors).

A layer attends from its slots to the frame's segmenter queries (a plain multi-head
cross-attention), then one round of slot attention over those attention outputs: the softmax
runs over the *slots* for each input (inputs compete for slots), a small epsilon is added and
each slot's weights are renormalised over the inputs before the weighted mean. The inputs the
keys are made from are the layer's residual sum, the values are the attention outputs alone,
and the queries are the slots' own "slot queries" (a track's fused position embedding, or a
background slot). Post-norm; the authors' one iteration, no GRU, no value projection.
"""

from __future__ import annotations

import torch
from torch import nn

from vis_bench.methods.common.weight_init import xavier_uniform_matrices

#: added to every attention weight before the renormalisation over inputs (the authors' eps)
EPS = 1e-6


class SlotAttention(nn.Module):
    """Keys `norm_inputs`, `project_q` (LayerNorm then a bias-free Linear), `project_k`."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.scale = dim**-0.5
        self.norm_inputs = nn.LayerNorm(dim)
        self.project_q = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim, bias=False))
        self.project_k = nn.Linear(dim, dim, bias=False)

    def forward(
        self, values: torch.Tensor, key_inputs: torch.Tensor, slots: torch.Tensor
    ) -> torch.Tensor:
        """values, key_inputs [n, 1, C]; slots [m, 1, C] -> updates [m, 1, C]."""
        k = self.project_k(self.norm_inputs(key_inputs[:, 0]))  # [n, C]
        q = self.project_q(slots[:, 0])  # [m, C]
        attn = torch.softmax(self.scale * (k @ q.t()), dim=-1) + EPS  # [n, m], over slots
        attn = attn / attn.sum(dim=0, keepdim=True)  # over inputs
        return (attn.t() @ values[:, 0])[:, None]


class SlotCrossAttentionLayer(nn.Module):
    """norm(slots + slot_attention(attention(slots + query_pos -> memory))), post-norm."""

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.multihead_attn = nn.MultiheadAttention(d_model, n_heads, dropout=0.0)
        self.norm = nn.LayerNorm(d_model)
        self.slot_attn = SlotAttention(d_model)
        xavier_uniform_matrices(self)

    def forward(
        self,
        slots: torch.Tensor,
        memory: torch.Tensor,
        query_pos: torch.Tensor,
        slot_query: torch.Tensor,
        memory_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """slots [m, 1, C] (this layer's input), memory [Q, 1, C] (no position added),
        query_pos and slot_query [m, 1, C] -> [m, 1, C]. `memory_mask` [m, Q], True where a slot
        may not look (training hides an object's queries so its track learns to vanish)."""
        attended = self.multihead_attn(
            slots + query_pos, memory, memory, attn_mask=memory_mask, need_weights=False
        )[0]
        update = self.slot_attn(attended, slots + attended, slot_query)
        return self.norm(slots + update)
