"""IFC transformer: encoder variants (`comm`), clip decoder, attention with DETR's key names.

All tensors are sequence-first (`[S, B, C]`) like the authors' code, so reshapes read the same.
Attention is written out with `bmm` (not `nn.MultiheadAttention`) so that the FLOP counter sees
every product and so that meta tensors work; parameter names equal `nn.MultiheadAttention`'s.

Encoder variants (`comm`), all with the same DETR post-norm layer:
- `ifc`: Encode-Receive (per frame, N frame + M memory tokens) then Gather-Communicate
  (memory token j of all T frames) per block; the decoder also sees the T*M memory tokens.
- `none`: per-frame layers only (no inter-frame communication).
- `full_thw`: one sequence of all T*N tokens per layer.
- `decompose`: spatial (per frame) and temporal (per location, across T) layers alternating
  S-T-S-T-S, i.e. 3 spatial + 2 temporal full layers for 3 encoder layers (ifc_flops.md).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.methods.common.fast_paths import active_paths
from vis_bench.methods.common.fused_ops import add_residual, residual_ffn
from vis_bench.methods.common.weight_init import xavier_uniform_matrices

COMM_VARIANTS = ("ifc", "none", "full_thw", "decompose")


class MultiheadAttention(nn.Module):
    """Packed q/k/v projection + `bmm` attention; state-dict compatible with nn.MultiheadAttention."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"hidden dim {dim} is not divisible by {heads} heads")
        self.dim, self.heads = dim, heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        key_padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        # query [Lq, B, C], key/value [Lk, B, C], key_padding_mask [B, Lk] (True = ignore);
        # the result is a fresh tensor, so a layer may add its residual in place
        lq, b, c = query.shape
        lk = key.shape[0]
        h, dh = self.heads, c // self.heads
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        b_q, b_k, b_v = self.in_proj_bias.chunk(3)
        q = F.linear(query, w_q, b_q)
        k = F.linear(key, w_k, b_k)
        v = F.linear(value, w_v, b_v)
        q = q.reshape(lq, b * h, dh).transpose(0, 1) * (1.0 / math.sqrt(dh))  # [BH, Lq, dh]
        k = k.reshape(lk, b * h, dh).transpose(0, 1)
        v = v.reshape(lk, b * h, dh).transpose(0, 1)
        attn = torch.bmm(q, k.transpose(1, 2))  # [BH, Lq, Lk]
        if key_padding_mask is not None and key_padding_mask.any():
            mask = key_padding_mask.view(b, 1, 1, lk).expand(b, h, 1, lk).reshape(b * h, 1, lk)
            attn = attn.masked_fill(mask, float("-inf"))
        attn = attn.softmax(dim=-1)
        out = torch.bmm(attn, v)  # [BH, Lq, dh]
        return self.out_proj(out.transpose(0, 1).reshape(lq, b, c))


def _with_pos(x: torch.Tensor, pos: torch.Tensor | None) -> torch.Tensor:
    return x if pos is None else x + pos


class EncoderLayer(nn.Module):
    """DETR post-norm encoder layer (self-attention, add & norm, FFN, add & norm)."""

    def __init__(self, dim: int, heads: int, ffn: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(dim, heads)
        self.linear1 = nn.Linear(dim, ffn)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(ffn, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def forward(
        self,
        src: torch.Tensor,
        pos: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        paths = active_paths(self)
        q = k = _with_pos(src, pos)
        attn = self.self_attn(q, k, src, key_padding_mask)
        src = self.norm1(add_residual(src, attn, paths, self.dropout1))
        ffn = residual_ffn(src, self.linear1, self.linear2, paths, self.dropout, self.dropout2)
        return self.norm2(ffn)


class DecoderLayer(nn.Module):
    """DETR post-norm decoder layer (self-attention, cross-attention, FFN)."""

    def __init__(self, dim: int, heads: int, ffn: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(dim, heads)
        self.multihead_attn = MultiheadAttention(dim, heads)
        self.linear1 = nn.Linear(dim, ffn)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(ffn, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.norm3 = nn.LayerNorm(dim)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)

    def forward(
        self,
        tgt: torch.Tensor,
        memory: torch.Tensor,
        pos: torch.Tensor | None,
        query_pos: torch.Tensor | None,
        memory_key_padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        paths = active_paths(self)
        q = k = _with_pos(tgt, query_pos)
        tgt = self.norm1(add_residual(tgt, self.self_attn(q, k, tgt), paths, self.dropout1))
        attn = self.multihead_attn(
            _with_pos(tgt, query_pos), _with_pos(memory, pos), memory, memory_key_padding_mask
        )
        tgt = self.norm2(add_residual(tgt, attn, paths, self.dropout2))
        ffn = residual_ffn(tgt, self.linear1, self.linear2, paths, self.dropout, self.dropout3)
        return self.norm3(ffn)


class IFCEncoder(nn.Module):
    """Encoder stack for every `comm` variant; returns frame tokens and memory tokens (or None).

    Inputs (batch 1 clip): src/pos `[N, T, C]` frame tokens, key_padding_mask `[T, N]`,
    memory_bus/memory_pos `[M, C]` (ifc only).
    """

    def __init__(
        self, comm: str, dim: int, heads: int, ffn: int, num_layers: int, dropout: float = 0.1
    ) -> None:
        super().__init__()
        if comm not in COMM_VARIANTS:
            raise ValueError(f"unknown encoder comm {comm!r}; choose one of {COMM_VARIANTS}")
        self.comm = comm
        self.num_layers = num_layers

        def layers(n: int) -> nn.ModuleList:
            return nn.ModuleList(EncoderLayer(dim, heads, ffn, dropout) for _ in range(n))

        self.enc_layers = layers(num_layers)
        if comm == "ifc":
            self.bus_layers = layers(num_layers)
        elif comm == "decompose":
            self.temporal_layers = layers(max(num_layers - 1, 0))

    def forward(
        self,
        src: torch.Tensor,
        pos: torch.Tensor,
        key_padding_mask: torch.Tensor | None = None,
        memory_bus: torch.Tensor | None = None,
        memory_pos: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.comm == "ifc":
            return self._forward_ifc(src, pos, key_padding_mask, memory_bus, memory_pos)
        if self.comm == "none":
            for layer in self.enc_layers:
                src = layer(src, pos, key_padding_mask)
            return src, None
        n, t, c = src.shape
        if self.comm == "full_thw":
            # one sequence of all T*N tokens, frame-major like the decoder's memory
            x = src.transpose(0, 1).reshape(t * n, 1, c)
            p = pos.transpose(0, 1).reshape(t * n, 1, c)
            kpm = None if key_padding_mask is None else key_padding_mask.reshape(1, t * n)
            for layer in self.enc_layers:
                x = layer(x, p, kpm)
            return x.reshape(t, n, c).transpose(0, 1), None
        # decompose: S-T-S-T-S
        kpm_t = None if key_padding_mask is None else key_padding_mask.t()  # [N, T]
        for i, layer in enumerate(self.enc_layers):
            src = layer(src, pos, key_padding_mask)
            if i < len(self.temporal_layers):
                # sequence = one location across T frames: [T, N, C]
                x = self.temporal_layers[i](src.transpose(0, 1), pos.transpose(0, 1), kpm_t)
                src = x.transpose(0, 1)
        return src, None

    def _forward_ifc(self, src, pos, key_padding_mask, memory_bus, memory_pos):
        n, t, c = src.shape
        m = memory_bus.shape[0]
        bus = memory_bus[:, None, :].expand(m, t, c)
        pos_cat = torch.cat((pos, memory_pos[:, None, :].expand(m, t, c)))  # [N+M, T, C]
        kpm = None
        if key_padding_mask is not None:
            kpm = torch.cat((key_padding_mask, key_padding_mask.new_zeros(t, m)), dim=1)
        out = src
        for enc, bus_layer in zip(self.enc_layers, self.bus_layers, strict=True):
            z = enc(torch.cat((out, bus)), pos_cat, kpm)  # Encode-Receive, per frame
            out, bus = z[:n], z[n:]
            bus = bus_layer(bus.transpose(0, 1))  # Gather-Communicate: [T, M, C], no pos/mask
            bus = bus.transpose(0, 1)  # [M, T, C]
        return out, bus


class IFCDecoder(nn.Module):
    """Clip decoder: Q queries cross-attend the clip's frame tokens (and memory tokens)."""

    def __init__(self, dim: int, heads: int, ffn: int, num_layers: int, dropout: float = 0.1):
        super().__init__()
        self.layers = nn.ModuleList(
            DecoderLayer(dim, heads, ffn, dropout) for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(dim)

    def forward(
        self,
        tgt: torch.Tensor,
        memory: torch.Tensor,
        pos: torch.Tensor,
        query_pos: torch.Tensor,
        memory_key_padding_mask: torch.Tensor | None = None,
        return_intermediate: bool = False,
    ) -> torch.Tensor:
        """Returns `[L_dec or 1, Q, 1, C]`, each layer passed through the shared final norm."""
        out = tgt
        inter = []
        for layer in self.layers:
            out = layer(out, memory, pos, query_pos, memory_key_padding_mask)
            if return_intermediate:
                inter.append(self.norm(out))
        if return_intermediate:
            return torch.stack(inter)
        return self.norm(out).unsqueeze(0)


class IFCTransformer(nn.Module):
    """Encoder + decoder; owns the M memory tokens and their positions (ifc variant)."""

    def __init__(
        self,
        comm: str,
        dim: int,
        heads: int,
        ffn: int,
        enc_layers: int,
        dec_layers: int,
        num_memory_bus: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.d_model = dim
        self.encoder = IFCEncoder(comm, dim, heads, ffn, enc_layers, dropout)
        self.clip_decoder = IFCDecoder(dim, heads, ffn, dec_layers, dropout)
        xavier_uniform_matrices(self)
        self.uses_memory = comm == "ifc" and num_memory_bus > 0
        if self.uses_memory:
            self.memory_bus = nn.Parameter(torch.empty(num_memory_bus, dim))
            self.memory_pos = nn.Parameter(torch.empty(num_memory_bus, dim))
            nn.init.kaiming_normal_(self.memory_bus, mode="fan_out", nonlinearity="relu")
            nn.init.kaiming_normal_(self.memory_pos, mode="fan_out", nonlinearity="relu")

    def forward(
        self,
        src: torch.Tensor,
        mask: torch.Tensor,
        query_embed: torch.Tensor,
        pos: torch.Tensor,
        return_intermediate: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """src/pos `[T, C, h, w]`, mask `[T, h, w]` -> (hs `[L, Q, 1, C]`, encoded `[T, C, h, w]`)."""
        t, c, h, w = src.shape
        n = h * w
        tokens = src.flatten(2).permute(2, 0, 1)  # [N, T, C]
        frame_pos = pos.flatten(2).permute(2, 0, 1)
        frame_mask = mask.flatten(1)  # [T, N]
        kpm = frame_mask if frame_mask.any() else None
        bus = self.memory_bus if self.uses_memory else None
        bus_pos = self.memory_pos if self.uses_memory else None
        tokens, bus = self.encoder(tokens, frame_pos, kpm, bus, bus_pos)

        # decoder keys: all frame tokens time-major, then the T*M memory tokens time-major
        memory = tokens.transpose(0, 1).reshape(t * n, 1, c)
        mem_pos = frame_pos.transpose(0, 1).reshape(t * n, 1, c)
        mem_mask = frame_mask.reshape(1, t * n)
        if bus is not None:
            m = bus.shape[0]
            memory = torch.cat((memory, bus.transpose(0, 1).reshape(t * m, 1, c)))
            mem_pos = torch.cat((mem_pos, self.memory_pos.repeat(t, 1)[:, None, :]))
            mem_mask = torch.cat((mem_mask, mem_mask.new_zeros(1, t * m)), dim=1)
        query_pos = query_embed[:, None, :]  # [Q, 1, C]
        tgt = torch.zeros_like(query_pos)
        hs = self.clip_decoder(
            tgt,
            memory,
            mem_pos,
            query_pos,
            mem_mask if mem_mask.any() else None,
            return_intermediate,
        )
        encoded = tokens.permute(1, 2, 0).reshape(t, c, h, w)
        return hs, encoded
