"""DVIS-DAQ's tracker with dynamic anchor queries (`VideoInstanceCutter`, `track_module.py`).

Per frame, in C channels (the segmenter's normed query embeddings; the ReID branch is unused):
- a video's first frame: the segmenter's Q embeddings are the queries, refined by L layers of
  cross-attention to the same embeddings, self-attention and FFN, no positions anywhere;
- every later frame: the current tracks' last outputs, then Q *anchor* queries, all copies of
  the one learned `new_ins_embeds`; each anchor's query position is `pos_embed` of the mean of
  the raw mask features under segmenter query k's mask (`sigmoid > 0.5`), a track's is its
  fused position embedding; the keys are the segmenter embeddings plus the same Q positions;
  self-attention without positions;
- slot attention (`slot_*` layers): the tracks and `bg_slots` background slots, each started
  from the segmenter `query_feat` row it matches best by cosine (a Hungarian assignment, rows it
  leaves unassigned keep their argmin), attend to the frame; its foreground score decides, with
  OVIS's test setting, whether a track is kept;
- predictions from `decoder_norm`: class logits, and masks dotted with `mask_feature_proj` of the
  mask features (positions are pooled from the raw ones).

The decisions and what they do to a video's sequences are in decisions.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from scipy.optimize import linear_sum_assignment
from torch import nn

from vis_bench.methods.common.mlp import MLP
from vis_bench.methods.families.dvis_daq.slot_attention import SlotCrossAttentionLayer
from vis_bench.methods.families.mask2former.masked_decoder import (
    CrossAttentionLayer,
    FFNLayer,
    SelfAttentionLayer,
)

#: the divisor's guard of the mask pooling and of the slot matching's norms (the authors')
POOL_EPS = 1e-8
MATCH_EPS = 1e-6


@dataclass
class SlotMatching:
    """cost [nt + S, Q] (1 - cosine to `query_feat`), and the `query_feat` row of each slot."""

    cost: torch.Tensor
    indices: torch.Tensor


@dataclass
class SlotOutputs:
    """The slot branch's last layer [nt + S, 1, C], how its slots were started, and every
    layer's output [L, nt + S, 1, C] (training supervises each)."""

    outputs: torch.Tensor
    matching: SlotMatching
    layers: torch.Tensor | None = None


class AnchorTracker(nn.Module):
    """`tracker.*` of the released checkpoints (module names and order are the authors')."""

    def __init__(
        self,
        hidden_dim: int,
        feedforward_dim: int,
        num_heads: int,
        num_layers: int,
        mask_dim: int,
        num_classes: int,
        num_slots: int,
    ) -> None:
        super().__init__()
        self.num_layers = num_layers
        self.hidden_dim = hidden_dim
        self.transformer_self_attention_layers = nn.ModuleList()
        self.transformer_cross_attention_layers = nn.ModuleList()
        self.transformer_ffn_layers = nn.ModuleList()
        self.slot_cross_attention_layers = nn.ModuleList()
        self.slot_ffn_layers = nn.ModuleList()
        for _ in range(num_layers):
            self.transformer_self_attention_layers.append(SelfAttentionLayer(hidden_dim, num_heads))
            self.transformer_cross_attention_layers.append(
                CrossAttentionLayer(hidden_dim, num_heads)
            )
            self.transformer_ffn_layers.append(FFNLayer(hidden_dim, feedforward_dim))
            self.slot_cross_attention_layers.append(SlotCrossAttentionLayer(hidden_dim, num_heads))
            self.slot_ffn_layers.append(FFNLayer(hidden_dim, feedforward_dim))
        self.decoder_norm = nn.LayerNorm(hidden_dim)
        self.class_embed = nn.Linear(hidden_dim, num_classes + 1)
        self.pos_embed = MLP(mask_dim, hidden_dim, hidden_dim, 3)
        self.mask_embed = MLP(hidden_dim, hidden_dim, mask_dim, 3)
        self.mask_feature_proj = nn.Conv2d(mask_dim, mask_dim, kernel_size=1)
        self.new_ins_embeds = nn.Embedding(1, hidden_dim)
        self.bg_slots = nn.Embedding(num_slots, hidden_dim)

    def project(self, mask_features: torch.Tensor) -> torch.Tensor:
        """Raw mask features [T, C, h, w] -> what the mask head is dotted with."""
        return self.mask_feature_proj(mask_features)

    def classify(self, outputs: torch.Tensor) -> torch.Tensor:
        """Outputs [..., C] -> class logits [..., K+1]."""
        return self.class_embed(self.decoder_norm(outputs))

    def masks(self, outputs: torch.Tensor, projected: torch.Tensor) -> torch.Tensor:
        """Outputs [n, C], one frame's projected mask features [C, h, w] -> [n, h, w]."""
        embed = self.mask_embed(self.decoder_norm(outputs))
        return torch.einsum("nc,chw->nhw", embed, projected)

    def mask_positions(self, mask_logits: torch.Tensor, raw_features: torch.Tensor) -> torch.Tensor:
        """`pos_embed` of the mean raw mask feature under each mask [n, h, w] -> [n, 1, C]."""
        inside = (mask_logits.sigmoid() > 0.5).to(raw_features.dtype)
        pooled = torch.einsum("nhw,chw->nc", inside, raw_features)
        pooled = pooled / (inside.flatten(1).sum(-1, keepdim=True) + POOL_EPS)
        return self.pos_embed(pooled)[:, None]

    def refine(
        self,
        queries: torch.Tensor,
        memory: torch.Tensor,
        query_pos: torch.Tensor | None = None,
        pos: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """L layers over queries [n, 1, C] -> [1 + L, n, 1, C] (the input, then each layer)."""
        outputs = [queries]
        for j in range(self.num_layers):
            queries = self.transformer_cross_attention_layers[j](
                queries, memory, pos=pos, query_pos=query_pos
            )
            queries = self.transformer_self_attention_layers[j](queries)
            queries = self.transformer_ffn_layers[j](queries)
            outputs.append(queries)
        return torch.stack(outputs)

    def anchors(self, count: int) -> torch.Tensor:
        """`count` anchor queries [count, 1, C], all the learned `new_ins_embeds`."""
        return self.new_ins_embeds.weight[:, None].expand(count, 1, self.hidden_dim)

    def slots(
        self,
        track_queries: torch.Tensor,
        track_positions: torch.Tensor,
        memory: torch.Tensor,
        query_feat: torch.Tensor,
        memory_mask: torch.Tensor | None = None,
    ) -> SlotOutputs:
        """The slot branch: tracks [nt, 1, C] then the background slots, started from the
        segmenter's `query_feat` [Q, C] rows they match -> the last layer [nt + S, 1, C];
        `memory_mask` [nt + S, Q] hides frame queries from every slot (training)."""
        background = self.bg_slots.weight[:, None]
        slot_pos = torch.cat([track_queries, background])
        matching = match_slots(slot_pos[:, 0], query_feat)
        slot_query = torch.cat([track_positions, background])
        feats = query_feat[matching.indices][:, None]
        layers = []
        for j in range(self.num_layers):
            feats = self.slot_cross_attention_layers[j](
                feats, memory, slot_pos, slot_query, memory_mask
            )
            feats = self.slot_ffn_layers[j](feats)
            layers.append(feats)
        return SlotOutputs(feats, matching, torch.stack(layers))


def match_slots(slots: torch.Tensor, query_feat: torch.Tensor) -> SlotMatching:
    """Each slot [m, C]'s `query_feat` [Q, C] row: the Hungarian assignment on 1 - cosine (norms
    + 1e-6), rows it leaves out (more slots than queries) their cheapest row."""
    slots = slots.detach()
    rows = query_feat.detach()
    slots = slots / (slots.norm(dim=1)[:, None] + MATCH_EPS)
    rows = rows / (rows.norm(dim=1)[:, None] + MATCH_EPS)
    cost = 1 - slots @ rows.t()
    indices = cost.argmin(dim=1)
    assigned, columns = linear_sum_assignment(cost.cpu().numpy())
    indices[torch.as_tensor(assigned, dtype=torch.long, device=indices.device)] = torch.as_tensor(
        columns, dtype=torch.long, device=indices.device
    )
    return SlotMatching(cost, indices)
