"""DVIS++'s referring tracker (`ReferringTracker_noiser`, `tracker.py` of the authors).

Frame by frame, each of the Q tracks of the video is carried from the previous frame: the
frame's segmenter queries are matched to the tracks (noiser.py), and the matched queries are
refined by L layers of: a *referring* cross-attention whose query is a reference of the track
(`ref_proj` of the previous frame's last-layer output) and whose keys and values are the
frame's un-normed segmenter queries, added to the layer's input (not to the reference); then
self-attention among the tracks and an FFN, all post-norm, in 2C channels.

What the authors' code does and the paper does not say:
- the frame's keys and values are the **un-normed** 2C queries (`frame_key`), the matching the
  **normed** ones; the tracks' initial queries are the un-normed ones in track order;
- on a video's first frame there is no previous output: layer 0's reference is
  `ref_proj(frame_key)` (the frame's queries in their raw order), layer j > 0's is
  `ref_proj(output of layer j-1)`; the reference the class head reads on that frame is
  `ref_proj(frame_key)`;
- the class head reads the reference and the normed output side by side (4C channels);
- masks are dotted with `mask_feature_proj(mask_features)`, a 1x1 conv (the refiner uses the
  raw mask features).

The state after a frame (`TrackerState`: every layer's output and the frame's normed embeddings
in track order) is all the next frame needs, so a video can be tracked clip by clip.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vis_bench.methods.common.mlp import MLP
from vis_bench.methods.families.dvis.noiser import EmbeddingMatcher, Noiser
from vis_bench.methods.families.mask2former.masked_decoder import CrossAttentionLayer, LayerStacks


class ReferringCrossAttentionLayer(CrossAttentionLayer):
    """norm(identity + attention(query=reference, key, value)), post-norm: Mask2Former's
    cross-attention layer (the same parameters) with the residual taken from `identity`."""

    def forward(  # type: ignore[override]
        self,
        identity: torch.Tensor,
        reference: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
    ) -> torch.Tensor:
        out = self.multihead_attn(reference, key, value, need_weights=False)[0]
        return self.norm(identity + out)


@dataclass
class TrackerState:
    """A video's tracks after a frame: outputs [1+L, Q, 1, 2C] (the matched initial queries and
    every layer's output) and frame_embeds [Q, 1, 2C] (that frame's normed segmenter embeddings
    in track order, which the next frame is matched to)."""

    outputs: torch.Tensor
    frame_embeds: torch.Tensor


@dataclass
class TrackedFrame:
    """One frame: outputs [L, Q, 1, 2C] (each layer's, before `decoder_norm`), reference
    [Q, 1, 2C] (what the class head reads), indices [Q] (the query continuing each track)."""

    outputs: torch.Tensor
    reference: torch.Tensor
    indices: torch.Tensor


class ReferringTracker(LayerStacks):
    """`tracker.*` of the released checkpoints (module names are the authors')."""

    def __init__(
        self,
        hidden_dim: int,
        dim_feedforward: int,
        n_heads: int,
        num_layers: int,
        mask_dim: int,
        num_classes: int,
    ) -> None:
        super().__init__(
            hidden_dim, n_heads, dim_feedforward, num_layers, ReferringCrossAttentionLayer
        )
        self.class_embed = nn.Linear(2 * hidden_dim, num_classes + 1)
        self.mask_embed = MLP(hidden_dim, hidden_dim, mask_dim, 3)
        self.ref_proj = MLP(hidden_dim, hidden_dim, hidden_dim, 3)
        for layer in self.ref_proj.layers:
            nn.init.kaiming_uniform_(layer.weight, a=1)  # detectron2's c2_xavier_fill
            nn.init.constant_(layer.bias, 0)
        self.mask_feature_proj = nn.Conv2d(mask_dim, mask_dim, kernel_size=1)
        self.matcher = EmbeddingMatcher()

    def layer(
        self,
        j: int,
        identity: torch.Tensor,
        reference: torch.Tensor,
        key: torch.Tensor,
    ) -> torch.Tensor:
        """Layer j: referring cross-attention to the frame's queries, self-attention, FFN."""
        out = self.transformer_cross_attention_layers[j](identity, reference, key, key)
        out = self.transformer_self_attention_layers[j](out)
        return self.transformer_ffn_layers[j](out)

    def step(
        self,
        embeds: torch.Tensor,
        embeds_no_norm: torch.Tensor,
        state: TrackerState | None,
        noise: Noiser | None = None,
    ) -> tuple[TrackedFrame, TrackerState]:
        """One frame's queries [Q, 1, 2C] (normed, un-normed) from the state after the previous
        frame (None: the video's first frame). `noise` (training) may replace the matched
        start of a frame after the first by a noised one."""
        key = embeds_no_norm
        first = state is None
        previous = embeds if first else state.frame_embeds
        matched = self.matcher(previous[:, 0], embeds[:, 0]).indices
        indices, start = matched, key[matched]
        if noise is not None and not first:
            indices, start = noise.initial(matched, key)
        reference = self.ref_proj(key if first else state.outputs[-1])
        outputs = []
        identity = start
        for j in range(self.num_layers):
            query = self.ref_proj(identity) if first and j > 0 else reference
            identity = self.layer(j, identity, query, key)
            outputs.append(identity)
        stacked = torch.stack(outputs)
        new_state = TrackerState(torch.cat([key[indices][None], stacked]), embeds[indices])
        return TrackedFrame(stacked, reference, indices), new_state

    def predict(
        self, outputs: torch.Tensor, references: torch.Tensor, mask_features: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """outputs [T, L', Q, 2C] and references [T, Q, 2C] of T frames, their mask features
        [T, C, h, w] -> logits [L', T, Q, K+1] and mask logits [L', T, Q, h, w]."""
        normed = self.decoder_norm(outputs).transpose(0, 1)  # [L', T, Q, 2C]
        refs = references[None].expand(normed.shape[0], -1, -1, -1)
        logits = self.class_embed(torch.cat([refs, normed], dim=-1))
        projected = self.mask_feature_proj(mask_features)
        masks = torch.einsum("ltqc,tchw->ltqhw", self.mask_embed(normed), projected)
        return logits, masks
