"""The MS-STS release as its code builds it: SeqFormer at depth 3+3 plus an inert decoder module.

The released repository (OmkarThawakar/MSSTS-VIS @ 82b2c1b) renames SeqFormer's classes and adds
to every decoder layer a `temp_attn_box` (a TimeSformer-style attention over 300 channels) that
is constructed but never called, and could not run (3 * 8 * 37 != 900). Its parameters exist
only so that the release's checkpoints load strictly; nothing reads them.
"""

from __future__ import annotations

import re

import torch
from torch import nn

from vis_bench.methods.families.seqformer.model import SeqFormer, SeqFormerConfig, build

#: the release hard-codes Temporal_Attention(dim=300), whatever the number of queries
TEMP_ATTN_DIM = 300
RELEASE_DEPTH = 3  # main.py's default; inference.py's own default is 6 (see docs/methods/mssts.md)


class InertTemporalAttention(nn.Module):
    """Parameters of the release's unused `Temporal_Attention(dim=300)`; never called."""

    def __init__(self, dim: int = TEMP_ATTN_DIM):
        super().__init__()
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.proj = nn.Linear(dim, dim)

    def forward(self, *args: object) -> torch.Tensor:
        raise RuntimeError(
            "temp_attn_box is inert in the MS-STS release (its reshape cannot succeed); "
            "it exists only so that release checkpoints load"
        )


def build_release(config: SeqFormerConfig) -> SeqFormer:
    """SeqFormer with the release's extra (unused) module appended to every decoder layer."""
    model = build(config)
    for layer in model.detr.transformer.decoder.layers:
        layer.add_module("temp_attn_box", InertTemporalAttention())
    return model


def depth_of(state_dict: dict[str, torch.Tensor]) -> tuple[int, int]:
    """(encoder layers, decoder layers) of a checkpoint, read from its keys."""
    depths = []
    for part in ("encoder", "decoder"):
        pattern = re.compile(rf"detr\.transformer\.{part}\.layers\.(\d+)\.")
        indices = {int(m.group(1)) for key in state_dict if (m := pattern.match(key))}
        depths.append(max(indices) + 1 if indices else 0)
    return depths[0], depths[1]
