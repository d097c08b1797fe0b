"""SAM 3's DETR decoder: a presence token and learned queries with reference boxes, refined per
layer (self-attention, cross-attention to the prompt, then to the image with a box-relative
position bias, ReLU FFN; post-norm). Names follow the checkpoint below
`detector.transformer.decoder.`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from vis_bench.methods.sam3.fusion import FusionSizes

#: the box-relative position bias's log scale (the authors' "log" boxRPB)
_RPB_SCALE = 8.0


class _Mlp(nn.Module):
    """Linear layers with ReLU between them (`layers.i`, as the checkpoint names them)."""

    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:], strict=True)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x) if i == len(self.layers) - 1 else torch.relu(layer(x))
        return x


def inverse_sigmoid(x: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    x = x.clamp(min=0, max=1)
    return torch.log(x.clamp(min=eps) / (1 - x).clamp(min=eps))


def box_cxcywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], dim=-1)


def box_sine_embedding(
    boxes: torch.Tensor, feats: int, temperature: float = 10000.0
) -> torch.Tensor:
    """(..., 4) cxcywh in [0, 1] -> (..., 4 * feats): sine codes of y, x, w, h in that order."""
    dim_t = torch.arange(feats, device=boxes.device).to(boxes.dtype)
    dim_t = temperature ** (2 * torch.div(dim_t, 2, rounding_mode="floor") / feats)
    codes = []
    for coord in (1, 0, 2, 3):
        pos = boxes[..., coord, None] * (2 * math.pi) / dim_t
        codes.append(torch.stack((pos[..., 0::2].sin(), pos[..., 1::2].cos()), dim=-1).flatten(-2))
    return torch.cat(codes, dim=-1)


@dataclass(frozen=True)
class DecoderOutput:
    #: (layers, B, Q, d): every layer's queries after the final LayerNorm
    states: torch.Tensor
    #: (layers, B, Q, 4) cxcywh: the reference boxes each layer started from
    reference_boxes: torch.Tensor
    #: (layers, B, Q, 4) cxcywh: the boxes each layer predicts
    boxes: torch.Tensor
    #: (layers, B, 1): the presence logits (not clamped: the authors' clamp is a no-op)
    presence_logits: torch.Tensor


class _DecoderLayer(nn.Module):
    def __init__(self, sizes: FusionSizes) -> None:
        super().__init__()
        d = sizes.d_model
        self.cross_attn = nn.MultiheadAttention(d, sizes.heads, batch_first=True)
        self.norm1 = nn.LayerNorm(d)
        self.ca_text = nn.MultiheadAttention(d, sizes.heads, batch_first=True)
        self.catext_norm = nn.LayerNorm(d)
        self.self_attn = nn.MultiheadAttention(d, sizes.heads, batch_first=True)
        self.norm2 = nn.LayerNorm(d)
        self.linear1 = nn.Linear(d, sizes.ffn)
        self.linear2 = nn.Linear(sizes.ffn, d)
        self.norm3 = nn.LayerNorm(d)

    def forward(
        self,
        x: torch.Tensor,
        query_pos: torch.Tensor,
        prompt: torch.Tensor,
        prompt_padding: torch.Tensor,
        image: torch.Tensor,
        image_key: torch.Tensor,
        image_bias: torch.Tensor,
    ) -> torch.Tensor:
        q = x + query_pos
        x = self.norm2(x + self.self_attn(q, q, x, need_weights=False)[0])
        q = x + query_pos
        attended = self.ca_text(
            q, prompt, prompt, key_padding_mask=prompt_padding, need_weights=False
        )[0]
        x = self.catext_norm(x + attended)
        q = x + query_pos
        attended = self.cross_attn(q, image_key, image, attn_mask=image_bias, need_weights=False)[0]
        x = self.norm1(x + attended)
        return self.norm3(x + self.linear2(torch.relu(self.linear1(x))))


class DetrDecoder(nn.Module):
    """Encoder memory (B, HW, d) of an h x w map with positions, and the prompt (B, P, d;
    `prompt_padding` True where padding) -> `DecoderOutput`."""

    def __init__(self, sizes: FusionSizes, queries: int, layers: int) -> None:
        super().__init__()
        d = sizes.d_model
        self.heads = sizes.heads
        self.layers = nn.ModuleList(_DecoderLayer(sizes) for _ in range(layers))
        self.norm = nn.LayerNorm(d)
        self.bbox_embed = _Mlp([d, d, d, 4])
        self.query_embed = nn.Embedding(queries, d)
        self.reference_points = nn.Embedding(queries, 4)
        self.boxRPB_embed_x = _Mlp([2, d, sizes.heads])
        self.boxRPB_embed_y = _Mlp([2, d, sizes.heads])
        self.presence_token = nn.Embedding(1, d)
        self.presence_token_head = _Mlp([d, d, d, 1])
        self.presence_token_out_norm = nn.LayerNorm(d)
        self.ref_point_head = _Mlp([2 * d, d, d])

    def box_bias(self, boxes: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """(B, heads, Q, h*w): each head's bias from the log-scaled offsets of every grid cell
        to each box's edges."""
        xyxy = box_cxcywh_to_xyxy(boxes)
        ys = torch.arange(h, device=boxes.device, dtype=boxes.dtype) / h
        xs = torch.arange(w, device=boxes.device, dtype=boxes.dtype) / w
        dy = ys[None, None, :, None] - xyxy[:, :, None, 1::2]  # (B, Q, h, 2)
        dx = xs[None, None, :, None] - xyxy[:, :, None, 0::2]  # (B, Q, w, 2)

        def log_scale(delta: torch.Tensor) -> torch.Tensor:
            delta = delta * _RPB_SCALE
            return torch.sign(delta) * torch.log2(delta.abs() + 1.0) / math.log2(_RPB_SCALE)

        by = self.boxRPB_embed_y(log_scale(dy))  # (B, Q, h, heads)
        bx = self.boxRPB_embed_x(log_scale(dx))  # (B, Q, w, heads)
        bias = by[:, :, :, None] + bx[:, :, None, :]
        return bias.flatten(2, 3).permute(0, 3, 1, 2)

    def forward(
        self,
        memory: torch.Tensor,
        memory_pos: torch.Tensor,
        spatial: tuple[int, int],
        prompt: torch.Tensor,
        prompt_padding: torch.Tensor,
    ) -> DecoderOutput:
        b = memory.shape[0]
        d = memory.shape[-1]
        x = torch.cat([self.presence_token.weight, self.query_embed.weight])[None].expand(b, -1, -1)
        boxes = self.reference_points.weight.sigmoid()[None].expand(b, -1, -1)
        image_key = memory + memory_pos
        states, refs, preds, presence = [], [], [], []
        for layer in self.layers:
            query_pos = self.ref_point_head(box_sine_embedding(boxes, d // 2))
            query_pos = nn.functional.pad(query_pos, (0, 0, 1, 0))  # none for the presence token
            bias = nn.functional.pad(self.box_bias(boxes, *spatial), (0, 0, 1, 0))
            bias = bias.reshape(b * self.heads, *bias.shape[2:])
            x = layer(x, query_pos, prompt, prompt_padding, memory, image_key, bias)
            normed = self.norm(x[:, 1:])
            new_boxes = (inverse_sigmoid(boxes) + self.bbox_embed(normed)).sigmoid()
            states.append(normed)
            refs.append(boxes)
            preds.append(new_boxes)
            head = self.presence_token_head(self.presence_token_out_norm(x[:, :1]))
            presence.append(head.squeeze(-1))
            boxes = new_boxes.detach()
        return DecoderOutput(
            states=torch.stack(states),
            reference_boxes=torch.stack(refs),
            boxes=torch.stack(preds),
            presence_logits=torch.stack(presence),
        )
