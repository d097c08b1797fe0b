"""The DETR-style MLP head (keys `layers.{i}.weight/bias`, ReLU between layers).

At inference with `lean_linear` (fast_paths.py) each layer's bias and ReLU run inside its product.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.methods.common.fast_paths import active_paths
from vis_bench.methods.common.fused_ops import linear


class MLP(nn.Module):
    """`num_layers` Linear layers in_dim -> hidden ... -> out_dim with ReLU between them."""

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int, num_layers: int) -> None:
        super().__init__()
        dims_in = [in_dim] + [hidden_dim] * (num_layers - 1)
        dims_out = [hidden_dim] * (num_layers - 1) + [out_dim]
        self.num_layers = num_layers
        self.layers = nn.ModuleList(nn.Linear(i, o) for i, o in zip(dims_in, dims_out, strict=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if active_paths(self).lean_linear:
            last = len(self.layers) - 1
            for i, layer in enumerate(self.layers):
                x = linear(x, layer, relu=i < last)
            return x
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < self.num_layers - 1:
                x = F.relu(x)
        return x
