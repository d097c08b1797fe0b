"""SeqFormer's deformable transformer: a per-frame encoder and a decoder with two kinds of query.

The encoder is Deformable DETR's, run on every frame independently (frames never interact in it).
The decoder keeps one *instance query* per object for the whole clip and one *box query* per object
and frame. Box queries choose where to sample each frame's memory; the sampled features update the
box queries and, weighted over frames by a softmax computed from the updated box queries, the
instance query. That weighted sum over frames is the only temporal operation in the model.

Module names follow the official code so its checkpoints load without a key map.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.methods.common.box_ops import inverse_sigmoid
from vis_bench.methods.common.fast_paths import active_paths
from vis_bench.methods.common.fused_ops import add_residual, residual_ffn
from vis_bench.methods.common.ms_deform_attn import (
    MSDeformAttn,
    encoder_reference_points,
    reset_deformable_parameters,
)


class SeqFormerDeformAttn(MSDeformAttn):
    """Deformable attention with a second output projection for the box queries.

    `output_proj_box` exists in every instance (also in the encoder, where it is unused) because
    the official checkpoints hold it there.
    """

    def __init__(
        self, d_model: int = 256, n_levels: int = 4, n_heads: int = 8, n_points: int = 4
    ) -> None:
        super().__init__(d_model, n_levels, n_heads, n_points)
        self.output_proj_box = nn.Linear(d_model, d_model)


class DeformableTransformerEncoderLayer(nn.Module):
    """Post-norm layer: deformable self-attention over all levels of one frame, then an FFN."""

    def __init__(
        self, d_model: int, d_ffn: int, dropout: float, n_levels: int, n_heads: int, n_points: int
    ) -> None:
        super().__init__()
        self.self_attn = SeqFormerDeformAttn(d_model, n_levels, n_heads, n_points)
        self.dropout1 = nn.Dropout(dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.linear1 = nn.Linear(d_model, d_ffn)
        self.dropout2 = nn.Dropout(dropout)
        self.linear2 = nn.Linear(d_ffn, d_model)
        self.dropout3 = nn.Dropout(dropout)
        self.norm2 = nn.LayerNorm(d_model)

    def forward(
        self,
        src: torch.Tensor,
        pos: torch.Tensor,
        reference_points: torch.Tensor,
        spatial_shapes: torch.Tensor,
        level_start_index: torch.Tensor,
        padding_mask: torch.Tensor,
        num_frames: int = 1,
    ) -> torch.Tensor:
        # src, pos: [N, S, C] with N = B*T frames; reference_points: [N, S, L, 2]
        src = self.attend(
            src, pos, reference_points, spatial_shapes, level_start_index, padding_mask
        )
        src = self.mix_frames(src, pos, num_frames, spatial_shapes, level_start_index)
        return self.ffn(src)

    def mix_frames(
        self,
        src: torch.Tensor,
        pos: torch.Tensor,
        num_frames: int,
        spatial_shapes: torch.Tensor,
        level_start_index: torch.Tensor,
    ) -> torch.Tensor:
        """What a layer mixing the T = `num_frames` frames does between its attention and its
        FFN (MS-STS's temporal blocks); SeqFormer encodes frames independently."""
        return src

    def attend(
        self,
        src: torch.Tensor,
        pos: torch.Tensor,
        reference_points: torch.Tensor,
        spatial_shapes: torch.Tensor,
        level_start_index: torch.Tensor,
        padding_mask: torch.Tensor,
    ) -> torch.Tensor:
        """Deformable self-attention, residual and norm1."""
        args = (src + pos, reference_points, src, spatial_shapes, level_start_index, padding_mask)
        attn = self.self_attn(*args)
        return self.norm1(add_residual(src, attn, active_paths(self), self.dropout1))

    def ffn(self, src: torch.Tensor) -> torch.Tensor:
        """FFN, residual and norm2."""
        paths = active_paths(self)
        return self.norm2(
            residual_ffn(src, self.linear1, self.linear2, paths, self.dropout2, self.dropout3)
        )


class DeformableTransformerEncoder(nn.Module):
    def __init__(self, encoder_layer: DeformableTransformerEncoderLayer, num_layers: int) -> None:
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers = num_layers

    @staticmethod
    def get_reference_points(
        spatial_shapes: torch.Tensor, valid_ratios: torch.Tensor, device: torch.device
    ) -> torch.Tensor:
        """Pixel centres of every token, normalised to the valid region -> [B, S, L, 2]."""
        return encoder_reference_points(spatial_shapes, valid_ratios, device)

    def forward(
        self,
        src: torch.Tensor,
        spatial_shapes: torch.Tensor,
        level_start_index: torch.Tensor,
        valid_ratios: torch.Tensor,
        pos: torch.Tensor,
        padding_mask: torch.Tensor,
    ) -> torch.Tensor:
        """src, pos [B, T, S, C], padding_mask [B, T, S] -> memory [B, T, S, C]."""
        b, t, s, c = src.shape
        reference_points = self.get_reference_points(spatial_shapes, valid_ratios, src.device)
        # frames are independent: fold them into the batch, sharing the references of frame 0
        reference_points = reference_points[:, None].expand(-1, t, -1, -1, -1).flatten(0, 1)
        output = src.flatten(0, 1)
        pos = pos.flatten(0, 1)
        padding_mask = padding_mask.flatten(0, 1)
        for layer in self.layers:
            output = layer(
                output, pos, reference_points, spatial_shapes, level_start_index, padding_mask, t
            )
        return output.view(b, t, s, c)


class DeformableTransformerDecoderLayer(nn.Module):
    """One decoder layer updating the instance queries [B, Nq, C] and box queries [B, T, Nq, C]."""

    def __init__(
        self, d_model: int, d_ffn: int, dropout: float, n_levels: int, n_heads: int, n_points: int
    ) -> None:
        super().__init__()
        # per-frame deformable cross attention, driven by the box queries
        self.cross_attn = SeqFormerDeformAttn(d_model, n_levels, n_heads, n_points)
        self.dropout1 = nn.Dropout(dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.dropout1_box = nn.Dropout(dropout)
        self.norm1_box = nn.LayerNorm(d_model)
        # self attention among instance queries, and among the box queries of one frame
        self.self_attn = nn.MultiheadAttention(d_model, n_heads, dropout=dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.norm2 = nn.LayerNorm(d_model)
        self.self_attn_box = nn.MultiheadAttention(d_model, n_heads, dropout=dropout)
        self.dropout2_box = nn.Dropout(dropout)
        self.norm2_box = nn.LayerNorm(d_model)
        # FFN of the instance queries
        self.linear1 = nn.Linear(d_model, d_ffn)
        self.dropout3 = nn.Dropout(dropout)
        self.linear2 = nn.Linear(d_ffn, d_model)
        self.dropout4 = nn.Dropout(dropout)
        self.norm3 = nn.LayerNorm(d_model)
        # FFN of the box queries
        self.linear1_box = nn.Linear(d_model, d_ffn)
        self.dropout3_box = nn.Dropout(dropout)
        self.linear2_box = nn.Linear(d_ffn, d_model)
        self.dropout4_box = nn.Dropout(dropout)
        self.norm3_box = nn.LayerNorm(d_model)
        # one scalar per (frame, query): the weight of that frame in the instance update
        self.time_attention_weights = nn.Linear(d_model, 1)

    @staticmethod
    def _self_attention(
        attn: nn.MultiheadAttention, x: torch.Tensor, pos: torch.Tensor
    ) -> torch.Tensor:
        # x, pos: [N, Nq, C]; nn.MultiheadAttention here is sequence-first
        q = k = (x + pos).transpose(0, 1)
        return attn(q, k, x.transpose(0, 1), need_weights=False)[0].transpose(0, 1)

    def forward(
        self,
        tgt: torch.Tensor,
        tgt_box: torch.Tensor,
        query_pos: torch.Tensor,
        reference_points: torch.Tensor,
        memory: torch.Tensor,
        spatial_shapes: torch.Tensor,
        level_start_index: torch.Tensor,
        padding_mask: torch.Tensor,
        value: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """tgt [B, Nq, C]; tgt_box [B, Nq, C] (first layer, shared by frames) or [B, T, Nq, C];
        query_pos [B, Nq, C]; reference_points [B, T, Nq, L, 2|4]; memory [B, T, S, C];
        padding_mask [B, T, S] -> (tgt [B, Nq, C], tgt_box [B, T, Nq, C]). `value`: this
        layer's `project_value` of the memory when computed before (per frame), else None."""
        tgt, tgt_box = self.self_attend(tgt, tgt_box, query_pos, memory.shape[1])
        sampled = self.cross_sample(
            tgt_box,
            query_pos,
            reference_points,
            memory,
            spatial_shapes,
            level_start_index,
            padding_mask,
            value,
        )
        tgt_box = self.mix_frames(self.update_box(tgt_box, sampled), query_pos)
        return self.update_instance(tgt, tgt_box, sampled), tgt_box

    def mix_frames(self, tgt_box: torch.Tensor, query_pos: torch.Tensor) -> torch.Tensor:
        """What a layer mixing the frames' box queries [B, T, Nq, C] does before the instance
        update (MS-STS's temporal block); SeqFormer's only temporal step is that update."""
        return tgt_box

    def self_attend(
        self, tgt: torch.Tensor, tgt_box: torch.Tensor, query_pos: torch.Tensor, t: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Self-attention among the instance queries, and among each frame's box queries.

        -> tgt [B, Nq, C], tgt_box [B, T, Nq, C] (the first layer's shared box query attends
        once, then each of the T frames gets a copy).
        """
        tgt = self.norm2(tgt + self.dropout2(self._self_attention(self.self_attn, tgt, query_pos)))
        if tgt_box.dim() == 3:
            tgt_box = self.norm2_box(
                tgt_box
                + self.dropout2_box(self._self_attention(self.self_attn_box, tgt_box, query_pos))
            )
            b, nq, c = tgt_box.shape
            return tgt, tgt_box[:, None].expand(b, t, nq, c)
        b, _, nq, c = tgt_box.shape
        box = tgt_box.flatten(0, 1)  # [B*T, Nq, C]
        box_pos = query_pos.repeat_interleave(t, dim=0)
        box = self.norm2_box(
            box + self.dropout2_box(self._self_attention(self.self_attn_box, box, box_pos))
        )
        return tgt, box.view(b, t, nq, c)

    def cross_sample(
        self,
        tgt_box: torch.Tensor,
        query_pos: torch.Tensor,
        reference_points: torch.Tensor,
        memory: torch.Tensor,
        spatial_shapes: torch.Tensor,
        level_start_index: torch.Tensor,
        padding_mask: torch.Tensor,
        value: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Deformable attention in every frame, located by that frame's box query and reference.

        `value` [B*T, S, M, C/M]: the memory's projection when computed before. -> the sampled
        features [B, T, Nq, C] before either output projection.
        """
        b, t, nq, c = tgt_box.shape
        if value is None:
            value = self.project_memory(memory, padding_mask)
        return self.cross_attn.sample(
            (tgt_box + query_pos[:, None]).flatten(0, 1),
            reference_points.flatten(0, 1),
            value,
            spatial_shapes,
            level_start_index,
        ).view(b, t, nq, c)

    def project_memory(self, memory: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
        """The cross-attention's values of memory [B, T, S, C]: [B*T, S, M, C/M]. Each token's
        value depends on that token alone, so a frame's values may be computed with the frame."""
        return self.cross_attn.project_value(memory.flatten(0, 1), padding_mask.flatten(0, 1))

    def update_box(self, tgt_box: torch.Tensor, sampled: torch.Tensor) -> torch.Tensor:
        """The box queries [B, T, Nq, C]: their projection of the sampled features, then the FFN."""
        paths = active_paths(self)
        attn = self.cross_attn.output_proj_box(sampled)
        tgt_box = self.norm1_box(add_residual(tgt_box, attn, paths, self.dropout1_box))
        ffn = residual_ffn(
            tgt_box,
            self.linear1_box,
            self.linear2_box,
            paths,
            self.dropout3_box,
            self.dropout4_box,
        )
        return self.norm3_box(ffn)

    def update_instance(
        self, tgt: torch.Tensor, tgt_box: torch.Tensor, sampled: torch.Tensor
    ) -> torch.Tensor:
        """The instance queries [B, Nq, C]: the sampled features averaged over frames, then the FFN.

        The frame weights are a softmax over T of one scalar per updated box query.
        """
        paths = active_paths(self)
        time_weight = F.softmax(self.time_attention_weights(tgt_box), dim=1)  # [B, T, Nq, 1]
        tgt2 = (self.cross_attn.output_proj(sampled) * time_weight).sum(1)  # [B, Nq, C]
        tgt = self.norm1(add_residual(tgt, tgt2, paths, self.dropout1))
        ffn = residual_ffn(tgt, self.linear1, self.linear2, paths, self.dropout3, self.dropout4)
        return self.norm3(ffn)


class DeformableTransformerDecoder(nn.Module):
    """Decoder layers with iterative box refinement by `bbox_embed` (shared with the DETR heads)."""

    def __init__(self, decoder_layer: DeformableTransformerDecoderLayer, num_layers: int) -> None:
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        # set by the model to its own box heads; registered here too, hence the alias state-dict keys
        self.bbox_embed: nn.ModuleList | None = None

    def forward(
        self,
        tgt: torch.Tensor,
        reference_points: torch.Tensor,
        memory: torch.Tensor,
        spatial_shapes: torch.Tensor,
        level_start_index: torch.Tensor,
        valid_ratios: torch.Tensor,
        query_pos: torch.Tensor,
        padding_mask: torch.Tensor,
        values: list[torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """tgt, query_pos [B, Nq, C]; reference_points [B, T, Nq, 2]; valid_ratios [B, L, 2]
        -> hs [Ld, B, Nq, C], hs_box [Ld, B, T, Nq, C], inter_references [Ld, B, T, Nq, 4].
        `values`: each layer's projection of the memory (`project_values`), when computed
        before."""
        if self.bbox_embed is None:
            raise RuntimeError("SeqFormer's decoder needs box refinement (bbox_embed is not set)")
        output, output_box = tgt, tgt
        hs, hs_box, references = [], [], []
        for lid, layer in enumerate(self.layers):
            if reference_points.shape[-1] == 4:
                ratios = torch.cat([valid_ratios, valid_ratios], -1)
            else:
                ratios = valid_ratios
            reference_input = reference_points[:, :, :, None] * ratios[:, None, None]
            # reference_input: [B, T, Nq, L, 2|4]
            output, output_box = layer(
                output,
                output_box,
                query_pos,
                reference_input,
                memory,
                spatial_shapes,
                level_start_index,
                padding_mask,
                None if values is None else values[lid],
            )
            delta = self.bbox_embed[lid](output_box)  # [B, T, Nq, 4]
            if reference_points.shape[-1] == 4:
                new_reference = (delta + inverse_sigmoid(reference_points)).sigmoid()
            else:
                new_reference = torch.cat(
                    [delta[..., :2] + inverse_sigmoid(reference_points), delta[..., 2:]], -1
                ).sigmoid()
            reference_points = new_reference.detach()
            hs.append(output)
            hs_box.append(output_box)
            references.append(reference_points)
        return torch.stack(hs), torch.stack(hs_box), torch.stack(references)

    def project_values(
        self, memory: torch.Tensor, padding_mask: torch.Tensor
    ) -> list[torch.Tensor]:
        """Every layer's cross-attention values of memory [B, T, S, C] (mask [B, T, S])."""
        return [layer.project_memory(memory, padding_mask) for layer in self.layers]


class DeformableTransformer(nn.Module):
    """Flattens the multi-scale clip features, encodes each frame and decodes the queries."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        num_encoder_layers: int,
        num_decoder_layers: int,
        dim_feedforward: int,
        dropout: float,
        num_feature_levels: int,
        dec_n_points: int,
        enc_n_points: int,
    ) -> None:
        super().__init__()
        self.d_model = d_model
        self.nhead = nhead
        self.num_feature_levels = num_feature_levels
        encoder_layer = DeformableTransformerEncoderLayer(
            d_model, dim_feedforward, dropout, num_feature_levels, nhead, enc_n_points
        )
        self.encoder = DeformableTransformerEncoder(encoder_layer, num_encoder_layers)
        decoder_layer = DeformableTransformerDecoderLayer(
            d_model, dim_feedforward, dropout, num_feature_levels, nhead, dec_n_points
        )
        self.decoder = DeformableTransformerDecoder(decoder_layer, num_decoder_layers)
        self.level_embed = nn.Parameter(torch.empty(num_feature_levels, d_model))
        self.reference_points = nn.Linear(d_model, 2)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        reset_deformable_parameters(self)
        nn.init.xavier_uniform_(self.reference_points.weight, gain=1.0)
        nn.init.constant_(self.reference_points.bias, 0.0)
        nn.init.normal_(self.level_embed)

    @staticmethod
    def get_valid_ratio(mask: torch.Tensor) -> torch.Tensor:
        """Padding mask [B, h, w] -> fraction of valid columns and rows [B, 2] (x first)."""
        _, h, w = mask.shape
        valid_h = torch.sum(~mask[:, :, 0], 1)
        valid_w = torch.sum(~mask[:, 0, :], 1)
        return torch.stack([valid_w.float() / w, valid_h.float() / h], -1)

    def forward(
        self,
        srcs: list[torch.Tensor],
        masks: list[torch.Tensor],
        pos_embeds: list[torch.Tensor],
        query_embed: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """srcs, pos_embeds: per level [B, T, C, h, w]; masks: per level [B, T, h, w];
        query_embed [Nq, 2C] (positional half first)."""
        flat = self.flatten_levels(srcs, masks, pos_embeds)
        memory = self.encode(flat)
        return self.decode(memory, flat, query_embed)

    def flatten_levels(
        self, srcs: list[torch.Tensor], masks: list[torch.Tensor], pos_embeds: list[torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """The levels as one token sequence per frame: src, pos [B, T, S, C], mask [B, T, S],
        spatial_shapes [L, 2], level_start_index [L], valid_ratios [B, L, 2]."""
        src_flatten, mask_flatten, lvl_pos_flatten, shapes = [], [], [], []
        for lvl, (src, mask, pos) in enumerate(zip(srcs, masks, pos_embeds, strict=True)):
            shapes.append(src.shape[-2:])
            src_flatten.append(src.flatten(3).transpose(2, 3))  # [B, T, h*w, C]
            mask_flatten.append(mask.flatten(2))  # [B, T, h*w]
            pos = pos.flatten(3).transpose(2, 3) + self.level_embed[lvl].view(1, 1, 1, -1)
            lvl_pos_flatten.append(pos)
        device = srcs[0].device
        spatial_shapes = torch.as_tensor(shapes, dtype=torch.long, device=device)  # [L, 2]
        return {
            "src": torch.cat(src_flatten, 2),  # [B, T, S, C]
            "mask": torch.cat(mask_flatten, 2),  # [B, T, S]
            "pos": torch.cat(lvl_pos_flatten, 2),  # [B, T, S, C]
            "spatial_shapes": spatial_shapes,
            "level_start_index": torch.cat(
                (spatial_shapes.new_zeros((1,)), spatial_shapes.prod(1).cumsum(0)[:-1])
            ),
            # from frame 0 only, used for every frame (as the official code does)
            "valid_ratios": torch.stack([self.get_valid_ratio(m[:, 0]) for m in masks], 1),
        }

    def encode(self, flat: dict[str, torch.Tensor]) -> torch.Tensor:
        """The encoder over `flatten_levels`' tokens -> memory [B, T, S, C]."""
        return self.encoder(
            flat["src"],
            flat["spatial_shapes"],
            flat["level_start_index"],
            flat["valid_ratios"],
            flat["pos"],
            flat["mask"],
        )

    def decode(
        self,
        memory: torch.Tensor,
        flat: dict[str, torch.Tensor],
        query_embed: torch.Tensor,
        values: list[torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor]:
        """The decoder over the memory [B, T, S, C] of a clip; `flat` gives its token layout
        (mask, spatial_shapes, level_start_index, valid_ratios); `values` the decoder layers'
        projections of the memory when computed before (`decoder.project_values`)."""
        b, t, _, c = memory.shape
        query_pos, tgt = torch.split(query_embed, c, dim=1)
        query_pos = query_pos[None].expand(b, -1, -1)  # [B, Nq, C]
        tgt = tgt[None].expand(b, -1, -1)
        init_reference = self.reference_points(query_pos).sigmoid()
        init_reference = init_reference[:, None].repeat(1, t, 1, 1)  # [B, T, Nq, 2]

        hs, hs_box, inter_references = self.decoder(
            tgt,
            init_reference,
            memory,
            flat["spatial_shapes"],
            flat["level_start_index"],
            flat["valid_ratios"],
            query_pos,
            flat["mask"],
            values,
        )
        return {
            "hs": hs,
            "hs_box": hs_box,
            "memory": memory,
            "init_reference": init_reference,
            "inter_references": inter_references,
            "valid_ratios": flat["valid_ratios"],
            "spatial_shapes": flat["spatial_shapes"],
            "level_start_index": flat["level_start_index"],
        }


def _clones(module: nn.Module, n: int) -> nn.ModuleList:
    return nn.ModuleList(copy.deepcopy(module) for _ in range(n))
