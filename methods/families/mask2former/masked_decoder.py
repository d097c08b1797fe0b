"""Mask2Former's masked-attention transformer decoder, for whole clips or single frames.

Learnable queries (`query_feat`, with the positional `query_embed`) are refined by `num_layers`
layers of: cross-attention to one feature level (round-robin over strides 32, 16, 8), masked by
the previous prediction (a key is hidden from a query where that query's mask, resized to the
level, has sigmoid < 0.5; a query that would see nothing sees everything), then self-attention
among the queries, then an FFN, all post-norm. After the learnable queries and after every layer
the heads predict: `decoder_norm`, a class layer (K + 1 logits, the last "no object") and a
3-layer MLP whose output is dotted with the per-pixel mask features.

Mask2Former-VIS runs it over a clip: a query attends to the tokens of all T frames at once (the
3-D sine encoding tells frames apart) and predicts one mask per frame from that frame's mask
features. The frame-level family (MinVIS and its successors) runs it on every frame alone with
the 2-D encoding: a clip of T frames is then T videos of one frame. `temporal` chooses.

Names are the authors' (`transformer_{self,cross}_attention_layers`, `transformer_ffn_layers`,
`decoder_norm`, `query_feat`, `query_embed`, `level_embed`, `class_embed`, `mask_embed`), so
release checkpoints load under `sem_seg_head.predictor.`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.methods.common.mlp import MLP
from vis_bench.methods.common.position_encoding import (
    PositionEmbeddingSine,
    PositionEmbeddingSine3D,
)
from vis_bench.methods.common.weight_init import xavier_uniform_matrices

#: the decoder always reads three levels of the pixel decoder
NUM_LEVELS = 3


@dataclass
class DecoderOutput:
    """Predictions per video of the batch.

    logits [B, Q, K+1]; masks [B, Q, T, H/4, W/4] (mask logits); embeddings [B, Q, C] (the final
    `decoder_norm(queries)`, which frame-level methods match across frames); aux: the earlier
    predictions (learnable queries, then layers 0..L-2) as (logits, masks), kept when asked for;
    queries [B, Q, C]: the last layer's output before `decoder_norm` (what a learnt tracker on
    the segmenter reads, e.g. DVIS++'s).
    """

    logits: torch.Tensor
    masks: torch.Tensor
    embeddings: torch.Tensor
    aux: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list)
    queries: torch.Tensor | None = None


class SelfAttentionLayer(nn.Module):
    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, n_heads, dropout=0.0)
        self.norm = nn.LayerNorm(d_model)
        xavier_uniform_matrices(self)

    def forward(self, tgt: torch.Tensor, query_pos: torch.Tensor | None = None) -> torch.Tensor:
        q = k = tgt if query_pos is None else tgt + query_pos
        out = self.self_attn(q, k, value=tgt, need_weights=False)[0]
        return self.norm(tgt + out)


class CrossAttentionLayer(nn.Module):
    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.multihead_attn = nn.MultiheadAttention(d_model, n_heads, dropout=0.0)
        self.norm = nn.LayerNorm(d_model)
        xavier_uniform_matrices(self)

    def forward(
        self,
        tgt: torch.Tensor,
        memory: torch.Tensor,
        attn_mask: torch.Tensor | None = None,
        pos: torch.Tensor | None = None,
        query_pos: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Post-norm cross-attention; no encoding is added where `pos` / `query_pos` is None."""
        out = self.multihead_attn(
            query=tgt if query_pos is None else tgt + query_pos,
            key=memory if pos is None else memory + pos,
            value=memory,
            attn_mask=attn_mask,
            need_weights=False,
        )[0]
        return self.norm(tgt + out)


class FFNLayer(nn.Module):
    def __init__(self, d_model: int, dim_feedforward: int) -> None:
        super().__init__()
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm = nn.LayerNorm(d_model)
        xavier_uniform_matrices(self)

    def forward(self, tgt: torch.Tensor) -> torch.Tensor:
        return self.norm(tgt + self.linear2(F.relu(self.linear1(tgt))))


class LayerStacks(nn.Module):
    """The authors' per-layer stacks of a query decoder, in their order: self-attention,
    cross-attention (`cross`, Mask2Former's by default), FFN, then `decoder_norm`."""

    def __init__(
        self,
        hidden_dim: int,
        n_heads: int,
        dim_feedforward: int,
        num_layers: int,
        cross: type[nn.Module] = CrossAttentionLayer,
    ) -> None:
        super().__init__()
        self.num_layers = num_layers
        self.transformer_self_attention_layers = nn.ModuleList(
            SelfAttentionLayer(hidden_dim, n_heads) for _ in range(num_layers)
        )
        self.transformer_cross_attention_layers = nn.ModuleList(
            cross(hidden_dim, n_heads) for _ in range(num_layers)
        )
        self.transformer_ffn_layers = nn.ModuleList(
            FFNLayer(hidden_dim, dim_feedforward) for _ in range(num_layers)
        )
        self.decoder_norm = nn.LayerNorm(hidden_dim)


class MaskedAttentionDecoder(LayerStacks):
    """Multi-scale features and mask features of B videos x T frames -> `DecoderOutput`."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        hidden_dim: int,
        num_queries: int,
        n_heads: int,
        dim_feedforward: int,
        num_layers: int,
        mask_dim: int,
        temporal: bool,
    ) -> None:
        super().__init__(hidden_dim, n_heads, dim_feedforward, num_layers)
        self.temporal = temporal
        self.num_heads = n_heads
        self.pe_layer: nn.Module = (
            PositionEmbeddingSine3D(hidden_dim // 2, normalize=True)
            if temporal
            else PositionEmbeddingSine(hidden_dim // 2, normalize=True, offset=0.0)
        )
        self.query_feat = nn.Embedding(num_queries, hidden_dim)
        self.query_embed = nn.Embedding(num_queries, hidden_dim)
        self.level_embed = nn.Embedding(NUM_LEVELS, hidden_dim)
        # ENFORCE_INPUT_PROJ False: a projection only where the widths differ
        self.input_proj = nn.ModuleList(
            _input_projection(in_channels, hidden_dim) for _ in range(NUM_LEVELS)
        )
        self.class_embed = nn.Linear(hidden_dim, num_classes + 1)
        self.mask_embed = MLP(hidden_dim, hidden_dim, mask_dim, 3)

    @property
    def num_queries(self) -> int:
        return self.query_feat.num_embeddings

    def memory(
        self, features: list[torch.Tensor], frames: int
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Per level: tokens and encodings [T*h*w, B, C] (frame-major, as the authors flatten)."""
        src, pos = [], []
        for i, x in enumerate(features):
            n, _, h, w = x.shape
            videos = n // frames
            no_padding = torch.zeros(videos, frames, h, w, dtype=torch.bool, device=x.device)
            if self.temporal:
                code = self.pe_layer(no_padding).flatten(3)  # [B, T, C, hw]
            else:
                code = self.pe_layer(no_padding.flatten(0, 1)).flatten(2)[:, None]
            tokens = self.input_proj[i](x).flatten(2) + self.level_embed.weight[i][None, :, None]
            c = tokens.shape[1]
            src.append(tokens.view(videos, frames, c, h * w).permute(1, 3, 0, 2).flatten(0, 1))
            pos.append(code.view(videos, frames, c, h * w).permute(1, 3, 0, 2).flatten(0, 1))
        return src, pos

    def forward(
        self, features: list[torch.Tensor], mask_features: torch.Tensor, keep_aux: bool = False
    ) -> DecoderOutput:
        """features: 3 levels [B*T, C, h, w] (strides 32, 16, 8); mask_features [B*T, D, H, W].

        With `temporal` B*T frames form one video (B = 1, as the authors' inference does); a
        training batch passes its clips through `forward_videos`.
        """
        frames = mask_features.shape[0] if self.temporal else 1
        return self.forward_videos(features, mask_features, frames, keep_aux)

    def forward_videos(
        self,
        features: list[torch.Tensor],
        mask_features: torch.Tensor,
        frames: int,
        keep_aux: bool = False,
    ) -> DecoderOutput:
        """As `forward`, with `frames` consecutive entries of the batch forming each video."""
        src, pos = self.memory(features, frames)
        videos = src[0].shape[1]
        sizes = [tuple(x.shape[-2:]) for x in features]
        mask_features = mask_features.view(videos, frames, *mask_features.shape[1:])
        query_pos = self.query_embed.weight.unsqueeze(1).repeat(1, videos, 1)
        output = self.query_feat.weight.unsqueeze(1).repeat(1, videos, 1)
        aux: list[tuple[torch.Tensor, torch.Tensor]] = []
        logits, masks, attn_mask = self.predict(output, mask_features, sizes[0])
        for i in range(self.num_layers):
            if keep_aux:
                aux.append((logits, masks))
            level = i % NUM_LEVELS
            # a query whose mask hides every key attends to all of them
            attn_mask[attn_mask.all(-1)] = False
            output = self.transformer_cross_attention_layers[i](
                output, src[level], attn_mask, pos[level], query_pos
            )
            output = self.transformer_self_attention_layers[i](output, query_pos)
            output = self.transformer_ffn_layers[i](output)
            last = i == self.num_layers - 1
            logits, masks, attn_mask = self.predict(
                output, mask_features, sizes[(i + 1) % NUM_LEVELS], attention=not last
            )
        embeddings = self.decoder_norm(output).transpose(0, 1)
        return DecoderOutput(logits, masks, embeddings, aux, output.transpose(0, 1))

    def predict(
        self,
        output: torch.Tensor,
        mask_features: torch.Tensor,
        size: tuple[int, int],
        attention: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Class logits [B, Q, K+1], mask logits [B, Q, T, H, W] and, with `attention`, the next
        layer's attention mask [B*heads, Q, T*h*w] (True = hidden) at the level size `size`."""
        decoded = self.decoder_norm(output).transpose(0, 1)
        logits = self.class_embed(decoded)
        masks = torch.einsum("bqc,btchw->bqthw", self.mask_embed(decoded), mask_features)
        if not attention:
            return logits, masks, None
        b, q, t = masks.shape[:3]
        resized = F.interpolate(
            masks.flatten(0, 1), size=size, mode="bilinear", align_corners=False
        )
        hidden = resized.view(b, q, t, *size).sigmoid().flatten(2) < 0.5
        attn_mask = hidden.unsqueeze(1).repeat(1, self.num_heads, 1, 1).flatten(0, 1)
        return logits, masks, attn_mask.detach()


def _input_projection(in_channels: int, hidden_dim: int) -> nn.Module:
    if in_channels == hidden_dim:
        return nn.Sequential()
    proj = nn.Conv2d(in_channels, hidden_dim, 1)
    nn.init.kaiming_uniform_(proj.weight, a=1)
    nn.init.constant_(proj.bias, 0)
    return proj
