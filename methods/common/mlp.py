"""The DETR-style MLP head (keys `layers.{i}.weight/bias`, ReLU between layers).

One path for training and inference: every layer is a module call (so forward hooks see it)
and the ReLU runs in place on that layer's fresh output, which is what the former `lean_linear`
branch saved (a temporary per layer); the values are the same bit for bit.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MLP(nn.Module):
    """`num_layers` Linear layers in_dim -> hidden ... -> out_dim with ReLU between them."""

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int, num_layers: int) -> None:
        super().__init__()
        dims_in = [in_dim] + [hidden_dim] * (num_layers - 1)
        dims_out = [hidden_dim] * (num_layers - 1) + [out_dim]
        self.num_layers = num_layers
        self.layers = nn.ModuleList(nn.Linear(i, o) for i, o in zip(dims_in, dims_out, strict=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # in place is safe under autograd too: a linear layer's backward never reads its output
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < last:
                x = F.relu(x, inplace=True)
        return x
