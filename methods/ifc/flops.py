"""Encoder FLOPs of the IFC comm variants, measured on the real modules with meta tensors.

Reproduces the paper's encoder table (ifc_flops.md): tokens per frame come from running the
detectron2 ResNet-50 on a meta input of the given size (every stride-2 step is ceil(x/2)),
then the encoder of the chosen `comm` variant runs on meta tokens under the FLOP counter.
Only the encoder stack is counted (no backbone, input projection, decoder or heads).
"""

from __future__ import annotations

import torch

from vis_bench.api.measurements import FlopReport, count_flops
from vis_bench.methods.common.detectron2_resnet import ResNetD2
from vis_bench.methods.ifc.transformer import IFCEncoder


def res5_size(height: int, width: int, depth: int = 50) -> tuple[int, int]:
    """Spatial size of res5 for an input, from the real backbone's conv arithmetic (meta)."""
    with torch.device("meta"):
        backbone = ResNetD2(depth)
        out = backbone(torch.empty(1, 3, height, width))
    return tuple(out["res5"].shape[-2:])


def encoder_flops(
    comm: str,
    height: int,
    width: int,
    frames: int,
    hidden_dim: int = 256,
    nheads: int = 8,
    dim_feedforward: int = 2048,
    enc_layers: int = 3,
    num_memory_bus: int = 8,
) -> tuple[FlopReport, int]:
    """(FLOPs of the encoder for one clip of `frames` frames, tokens per frame)."""
    h, w = res5_size(height, width)
    n = h * w
    with torch.device("meta"):
        encoder = IFCEncoder(comm, hidden_dim, nheads, dim_feedforward, enc_layers).eval()
        src = torch.empty(n, frames, hidden_dim)
        pos = torch.empty(n, frames, hidden_dim)
        bus = torch.empty(num_memory_bus, hidden_dim) if comm == "ifc" else None
        bus_pos = torch.empty(num_memory_bus, hidden_dim) if comm == "ifc" else None
    modules = [name for name, _ in encoder.named_children()]
    report = count_flops(encoder, (src, pos, None, bus, bus_pos), modules=modules)
    return report, n
