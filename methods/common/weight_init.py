"""Initialisations the DETR-style modules share (the authors' `_reset_parameters`)."""

from __future__ import annotations

from torch import nn


def xavier_uniform_matrices(module: nn.Module) -> None:
    """Xavier-uniform every parameter of `module` with more than one dimension (weights, not
    biases or norms), in `parameters()` order, so the random draws come as the authors'."""
    for p in module.parameters():
        if p.dim() > 1:
            nn.init.xavier_uniform_(p)
