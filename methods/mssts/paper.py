"""MS-STS as the paper describes it, reconstructed (mssts.md section 7; no reference code exists).

Built on SeqFormer's model by composition: each encoder layer gains an intra-scale and an
inter-scale temporal attention block between its deformable self-attention and its FFN, and
each decoder layer a temporal attention block over the frame-level box queries (applied to the
box FFN's output, before the temporal aggregation). Every block is a pre-norm residual
`x + Wo·MHA(LN(x))` whose output projection Wo starts at zero, so a freshly built model computes
exactly what SeqFormer computes with the same weights.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.methods.families.seqformer.model import SeqFormer, SeqFormerConfig, build
from vis_bench.methods.families.seqformer.transformer import (
    DeformableTransformerDecoderLayer,
    DeformableTransformerEncoderLayer,
)


def short_sequence_attention(
    attn: nn.MultiheadAttention, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor
) -> torch.Tensor:
    """`attn(query, key, value)[0]` (seq-first [L, N, C]) computed with its own weights.

    The temporal blocks attend over a few frames for thousands of sequences at once; PyTorch's
    fused CPU attention kernel handles that shape poorly (it dominated an MS-STS training step),
    while two batched matrix products over [N * heads, L, C / heads] do not.
    """
    length, n, c = query.shape
    heads = attn.num_heads
    w_q, w_k, w_v = attn.in_proj_weight.chunk(3)
    b_q, b_k, b_v = attn.in_proj_bias.chunk(3)

    def split(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        # [L, N, C] -> [N * heads, L, C / heads]
        return F.linear(x, w, b).reshape(x.shape[0], n * heads, c // heads).transpose(0, 1)

    q = split(query, w_q, b_q) * (c // heads) ** -0.5
    weights = torch.softmax(torch.bmm(q, split(key, w_k, b_k).transpose(1, 2)), dim=-1)
    out = torch.bmm(weights, split(value, w_v, b_v))  # [N * heads, L, C / heads]
    return attn.out_proj(out.transpose(0, 1).reshape(length, n, c))


class TemporalAttentionBlock(nn.Module):
    """Pre-norm residual multi-head attention over sequences; zero-initialised output."""

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.attn = nn.MultiheadAttention(d_model, n_heads)
        nn.init.zeros_(self.attn.out_proj.weight)
        nn.init.zeros_(self.attn.out_proj.bias)

    def forward(
        self,
        x: torch.Tensor,
        pos: torch.Tensor | None,
        memory: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """x [L, N, C] sequences (seq-first); memory: normalised keys/values [L', N, C] (else x)."""
        q = self.norm(x)
        kv = q if memory is None else memory
        qp = q if pos is None else q + pos
        kp = kv if pos is None else kv + pos
        return x + short_sequence_attention(self.attn, qp, kp, kv)


class MSSTSEncoderLayer(DeformableTransformerEncoderLayer):
    """SeqFormer's encoder layer with the two temporal blocks before its FFN."""

    def __init__(
        self, d_model: int, d_ffn: int, dropout: float, n_levels: int, n_heads: int, n_points: int
    ) -> None:
        super().__init__(d_model, d_ffn, dropout, n_levels, n_heads, n_points)
        self.intra_scale = TemporalAttentionBlock(d_model, n_heads)
        self.inter_scale = TemporalAttentionBlock(d_model, n_heads)

    def mix_frames(
        self,
        src: torch.Tensor,
        pos: torch.Tensor,
        num_frames: int,
        spatial_shapes: torch.Tensor,
        level_start_index: torch.Tensor,
    ) -> torch.Tensor:
        """The intra-scale, then the inter-scale temporal block (src, pos: [N, S, C] with N =
        B*T frames)."""
        src = self._intra_scale(src, pos, num_frames)
        return self._inter_scale(src, pos, num_frames, spatial_shapes, level_start_index)

    def _intra_scale(self, x: torch.Tensor, pos: torch.Tensor, t: int) -> torch.Tensor:
        """Each token attends to the same position of the same level in all T frames."""
        n, s, c = x.shape
        seq = x.view(n // t, t, s, c).permute(1, 0, 2, 3).reshape(t, -1, c)  # [T, B*S, C]
        seq_pos = pos.view(n // t, t, s, c).permute(1, 0, 2, 3).reshape(t, -1, c)
        out = self.intra_scale(seq, seq_pos)
        return out.view(t, n // t, s, c).permute(1, 0, 2, 3).reshape(n, s, c)

    def _inter_scale(
        self,
        x: torch.Tensor,
        pos: torch.Tensor,
        t: int,
        shapes: torch.Tensor,
        starts: torch.Tensor,
    ) -> torch.Tensor:
        """Tokens of level l attend, over the T frames, to the adjacent level resampled to l."""
        n, s, c = x.shape
        b = n // t
        levels = [(int(h), int(w)) for h, w in shapes.tolist()]
        offsets = [int(v) for v in starts.tolist()]
        normed = self.inter_scale.norm(x)
        outputs = []
        for lvl, ((h, w), start) in enumerate(zip(levels, offsets, strict=True)):
            other = lvl + 1 if lvl + 1 < len(levels) else lvl - 1
            if other < 0:  # a single level: nothing to attend to across scales
                outputs.append(x[:, start : start + h * w])
                continue
            (oh, ow), ostart = levels[other], offsets[other]
            grid = normed[:, ostart : ostart + oh * ow].transpose(1, 2).reshape(n, c, oh, ow)
            resampled = F.interpolate(grid, size=(h, w), mode="bilinear", align_corners=False)
            memory = resampled.flatten(2).transpose(1, 2)  # [N, h*w, C]

            def seq(v: torch.Tensor, hw: int = h * w) -> torch.Tensor:
                return v.reshape(b, t, hw, c).permute(1, 0, 2, 3).reshape(t, b * hw, c)

            tokens = x[:, start : start + h * w]
            out = self.inter_scale(
                seq(tokens), seq(pos[:, start : start + h * w]), memory=seq(memory)
            )
            outputs.append(out.view(t, b, h * w, c).permute(1, 0, 2, 3).reshape(n, h * w, c))
        return torch.cat(outputs, 1)


class MSSTSDecoderLayer(DeformableTransformerDecoderLayer):
    """SeqFormer's decoder layer with a temporal block over the frames' box queries.

    The block mixes each query's T box queries after the box FFN, before the frame weights of
    the instance update are computed from them.
    """

    def __init__(
        self,
        d_model: int,
        d_ffn: int,
        dropout: float,
        n_levels: int,
        n_heads: int,
        n_points: int,
        temporal: TemporalAttentionBlock,
    ) -> None:
        # the block is built by the caller, so its random draws keep their place in the order
        # in which `build_mssts` initialises the model (the SeqFormer parts are loaded, not drawn)
        super().__init__(d_model, d_ffn, dropout, n_levels, n_heads, n_points)
        self.temporal = temporal

    def mix_frames(self, tgt_box: torch.Tensor, query_pos: torch.Tensor) -> torch.Tensor:
        """The temporal block after `update_box`: each query's box queries [B, T, Nq, C]
        attend over the T frames."""
        b, t, nq, c = tgt_box.shape
        seq = tgt_box.permute(1, 0, 2, 3).reshape(t, b * nq, c)
        pos = query_pos.reshape(1, b * nq, c).expand(t, -1, -1)
        mixed = self.temporal(seq, pos)
        return mixed.view(t, b, nq, c).permute(1, 0, 2, 3)


def _decoder_layer(
    seqformer_layer: DeformableTransformerDecoderLayer, config: SeqFormerConfig
) -> MSSTSDecoderLayer:
    """`seqformer_layer` with its weights, extended by a fresh temporal block."""
    temporal = TemporalAttentionBlock(config.hidden_dim, config.nheads)
    # SeqFormer's weights are copied in below: drawing them again would shift every later draw
    with torch.random.fork_rng(devices=[]):
        layer = MSSTSDecoderLayer(
            config.hidden_dim,
            config.dim_feedforward,
            config.dropout,
            config.num_feature_levels,
            config.nheads,
            config.dec_n_points,
            temporal,
        )
    layer.load_state_dict(seqformer_layer.state_dict(), strict=False)
    return layer


def build_mssts(config: SeqFormerConfig) -> SeqFormer:
    """SeqFormer for `config` with the paper's temporal blocks; SeqFormer's init is kept."""
    model = build(config)
    transformer = model.detr.transformer
    layer = MSSTSEncoderLayer(
        config.hidden_dim,
        config.dim_feedforward,
        config.dropout,
        config.num_feature_levels,
        config.nheads,
        config.enc_n_points,
    )
    layers = []
    for seqformer_layer in transformer.encoder.layers:
        mssts_layer = copy.deepcopy(layer)
        mssts_layer.load_state_dict(seqformer_layer.state_dict(), strict=False)
        layers.append(mssts_layer)
    transformer.encoder.layers = nn.ModuleList(layers)
    decoder = transformer.decoder
    decoder.layers = nn.ModuleList(_decoder_layer(layer, config) for layer in decoder.layers)
    return model.eval()
