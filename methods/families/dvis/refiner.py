"""DVIS++'s temporal refiner (`TemporalRefiner`, `refiner.py` of the authors): every frame of a
video's tracks at once.

Input: the tracker's last-layer outputs of every frame [T, Q, 2C] (before `decoder_norm`, in
track order) and the segmenter's un-normed 2C queries of every frame (in their raw order). Each
of L layers: self-attention over time for each track (long-range), a short temporal convolution
(kernel 5, ReLU, kernel 3, replicate padding) added back and layer-normed (`local_attention`:
always in DVIS++; DVIS-DAQ's refiner has it only where USE_LOCAL_ATTN is on, and is otherwise the
same module in C channels), self-attention among
the tracks within each frame, cross-attention from each frame's tracks to that frame's
segmenter queries, FFN; post-norm throughout.

Heads: the class of a track is one per video, from an activation-weighted mean over time of its
normed outputs (`activation_proj`, a softmax over the frames), repeated for every frame; masks
are the normed outputs' mask embeddings dotted with the **raw** mask features of each frame
(not the tracker's projection). The authors make masks in windows of TEST.WINDOW_SIZE frames to
save memory; a frame's mask needs only that frame's features and outputs, which is what lets the
harness make them in a second pass over the frames (docs/methods/dvis_plus.md).
"""

from __future__ import annotations

import torch
from torch import nn

from vis_bench.methods.common.mlp import MLP
from vis_bench.methods.families.dvis.frame_rows import FrameRows, as_rows
from vis_bench.methods.families.mask2former.masked_decoder import (
    CrossAttentionLayer,
    FFNLayer,
    SelfAttentionLayer,
)

#: (frame, track) rows a chunk of `TemporalRefiner.last_output` covers: its FFN's widest
#: temporary is rows x DIM_FEEDFORWARD floats (8 MiB at the R50 configs' 2048). 4096 rows held
#: about 150 MiB of temporaries at the R50 width (a refiner call's peak over its inputs), 1024
#: about 55 MiB, in the same CPU time and with the same outputs
CHUNK_ROWS = 1024
#: the fewest rows a chunk has (`_chunks`)
MIN_CHUNK_ROWS = 256


def short_aggregation(channels: int) -> nn.Sequential:
    """Conv1d k5 -> ReLU -> Conv1d k3 over time, 'same' length with replicate padding."""
    return nn.Sequential(
        nn.Conv1d(channels, channels, 5, padding="same", padding_mode="replicate"),
        nn.ReLU(inplace=True),
        nn.Conv1d(channels, channels, 3, padding="same", padding_mode="replicate"),
    )


class TemporalRefiner(nn.Module):
    """`refiner.*` of the released offline checkpoints (module names are the authors')."""

    def __init__(
        self,
        hidden_dim: int,
        dim_feedforward: int,
        n_heads: int,
        num_layers: int,
        mask_dim: int,
        num_classes: int,
        local_attention: bool = True,
    ) -> None:
        super().__init__()
        self.num_layers = num_layers
        layers = range(num_layers)
        self.transformer_obj_self_attention_layers = nn.ModuleList(
            SelfAttentionLayer(hidden_dim, n_heads) for _ in layers
        )
        self.transformer_time_self_attention_layers = nn.ModuleList(
            SelfAttentionLayer(hidden_dim, n_heads) for _ in layers
        )
        self.transformer_cross_attention_layers = nn.ModuleList(
            CrossAttentionLayer(hidden_dim, n_heads) for _ in layers
        )
        self.transformer_ffn_layers = nn.ModuleList(
            FFNLayer(hidden_dim, dim_feedforward) for _ in layers
        )
        local = layers if local_attention else range(0)
        self.conv_short_aggregate_layers = nn.ModuleList(
            short_aggregation(hidden_dim) for _ in local
        )
        self.conv_norms = nn.ModuleList(nn.LayerNorm(hidden_dim) for _ in local)
        self.decoder_norm = nn.LayerNorm(hidden_dim)
        self.class_embed = nn.Linear(hidden_dim, num_classes + 1)
        self.mask_embed = MLP(hidden_dim, hidden_dim, mask_dim, 3)
        self.activation_proj = nn.Linear(hidden_dim, 1)

    def layer(self, i: int, output: torch.Tensor, frame_embeds: torch.Tensor) -> torch.Tensor:
        """Layer i on tracks [T, Q, 2C] with the frames' segmenter queries [T, Q', 2C]."""
        return self.frame_part(i, self.time_part(i, output), frame_embeds)

    def forward(self, instance_embeds: torch.Tensor, frame_embeds: torch.Tensor) -> torch.Tensor:
        """Tracks [T, Q, 2C] and segmenter queries [T, Q', 2C] of a whole video -> each layer's
        output [L, T, Q, 2C] (before `decoder_norm`)."""
        outputs = []
        output = instance_embeds
        for i in range(self.num_layers):
            output = self.layer(i, output, frame_embeds)
            outputs.append(output)
        return torch.stack(outputs)

    def last_output(
        self,
        instance_embeds: torch.Tensor | FrameRows,
        frame_embeds: torch.Tensor | FrameRows,
        rows: int = CHUNK_ROWS,
        overwrite: bool = False,
    ) -> torch.Tensor | FrameRows:
        """`forward(...)[-1]` [T, Q, 2C] (what inference reads) with memory bounded whatever the
        video's length: the layers run in one buffer of the inputs' size, in chunks of about
        `rows` (frame, track) rows: attention over time and the temporal convolution (each track
        alone) a few tracks at a time, the rest of the layer (each frame alone) a few frames at
        a time, each chunk written back over its own rows. Every chunk computes what the whole
        layer computes for its tracks or frames, so the output is the same; the temporaries (the
        FFN's 4x-wide activations, the attention's projections) are those of a chunk, not of
        T x Q rows. The inputs are stacked tensors or `FrameRows` (a video gathered in chunks,
        refined where it lies; the output is of the same kind). `overwrite` uses
        `instance_embeds` itself as the buffer (a caller done with it saves a T x Q x 2C copy)."""
        if torch.is_tensor(instance_embeds):
            buffer = instance_embeds if overwrite else instance_embeds.clone()
            output = FrameRows.of(buffer)
        else:
            output = (
                instance_embeds if overwrite else instance_embeds.copy_first(len(instance_embeds))
            )
        queries = as_rows(frame_embeds)
        frames, tracks = len(output), int(output.shape[1])
        for i in range(self.num_layers):
            for picked in _chunks(tracks, rows // max(frames, 1), frames):
                output.put_tracks(picked, self.time_part(i, output.tracks(picked)))
            for picked in _chunks(frames, rows // max(tracks, 1), tracks):
                output.put(picked, self.frame_part(i, output.take(picked), queries.take(picked)))
        return buffer if torch.is_tensor(instance_embeds) else output

    def normed_in_place(
        self, output: torch.Tensor | FrameRows, rows: int = CHUNK_ROWS
    ) -> torch.Tensor | FrameRows:
        """`decoder_norm(output)` written over `output` [T, Q, 2C], a few frames at a time (the
        norm is per row, so the result is the same)."""
        frames = as_rows(output)
        tracks = int(frames.shape[1])
        for picked in _chunks(len(frames), rows // max(tracks, 1), tracks):
            frames.put(picked, self.decoder_norm(frames.take(picked)))
        return output

    def video_class_logits(
        self, normed: torch.Tensor | FrameRows, rows: int = CHUNK_ROWS
    ) -> torch.Tensor:
        """`class_logits(normed[None])[0]` [Q, K+1] for normed outputs [T, Q, 2C], a few tracks
        at a time: the weighted mean over the frames is per track, and its T x Q x 2C product
        is then a chunk's."""
        frames = as_rows(normed)
        count = len(frames)
        parts = [
            self.class_logits(frames.tracks(picked)[None])[0]
            for picked in _chunks(int(frames.shape[1]), rows // max(count, 1), count)
        ]
        return torch.cat(parts)

    def time_part(self, i: int, output: torch.Tensor) -> torch.Tensor:
        """Layer i's attention over time, temporal convolution and its norm, each track alone:
        tracks [T, q, 2C] -> [T, q, 2C]."""
        time_major = self.transformer_time_self_attention_layers[i](output)  # over T per track
        if not len(self.conv_short_aggregate_layers):
            return time_major
        channels = time_major.permute(1, 2, 0)  # [q, 2C, T]
        mixed = self.conv_short_aggregate_layers[i](channels) + channels
        return self.conv_norms[i](mixed.transpose(1, 2)).transpose(0, 1)

    def frame_part(self, i: int, output: torch.Tensor, frame_embeds: torch.Tensor) -> torch.Tensor:
        """The rest of layer i, each frame alone: attention among its tracks, cross-attention to
        its segmenter queries, FFN: tracks [t, Q, 2C], queries [t, Q', 2C] -> [t, Q, 2C]."""
        objects = self.transformer_obj_self_attention_layers[i](output.transpose(0, 1))
        attended = self.transformer_cross_attention_layers[i](objects, frame_embeds.transpose(0, 1))
        return self.transformer_ffn_layers[i](attended).transpose(0, 1)

    def class_logits(self, normed: torch.Tensor) -> torch.Tensor:
        """Normed outputs [L', T, Q, 2C] -> one logit vector per track [L', Q, K+1]: the
        activation-weighted mean over the frames (`pred_class`)."""
        activation = self.activation_proj(normed).softmax(dim=1)  # [L', T, Q, 1]
        return self.class_embed((normed * activation).sum(dim=1))

    def mask_logits(self, normed: torch.Tensor, mask_features: torch.Tensor) -> torch.Tensor:
        """Normed outputs [..., T, Q, 2C] of some frames, their raw mask features [T, C, h, w]
        -> mask logits [..., T, Q, h, w]."""
        return torch.einsum("...tqc,tchw->...tqhw", self.mask_embed(normed), mask_features)


def _chunks(length: int, size: int, width: int) -> list[slice]:
    """0..length-1 in consecutive slices of `size` elements or a few more, each element `width`
    rows of the chunk's matrix products, no slice under `MIN_CHUNK_ROWS` rows or of a single
    element (unless the whole is): CPU matrix products of a handful of rows (and attention over
    a batch of one) take other kernels than larger ones, whose results can differ from the whole
    tensor's in the last bits; from a few dozen rows on, each row's result is the same."""
    size = max(2, size, -(-MIN_CHUNK_ROWS // max(width, 1)))
    starts = list(range(0, length, size))
    last = length - starts[-1] if starts else 0
    if len(starts) > 1 and (last == 1 or last * width < MIN_CHUNK_ROWS):
        starts.pop()
    return [slice(a, b) for a, b in zip(starts, [*starts[1:], length], strict=True)]
