"""The clip-inference interface every method implements (see ARCHITECTURE.md).

The harness talks to a method only through this class: it builds the model from the method's
own config, loads a checkpoint, preprocesses frames the method's way, and calls `infer_clip`
on clips it forms itself. Everything around the call (clip schedule, stitching, resizing, RLE,
metric, timing) is the harness's, identical for every method.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class ClipResult:
    """Instances found in one clip.

    scores: [N] confidence in [0, 1]; labels: [N] dataset category ids;
    masks: [N, T, h, w] per-frame mask probabilities at the clip's working resolution
    (the valid, unpadded region of the preprocessed frames); extra: whatever the method
    needs for stitching (e.g. query embeddings).
    """

    scores: torch.Tensor
    labels: torch.Tensor
    masks: torch.Tensor
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.scores.shape[0])


class MethodPlugin(ABC):
    """One registered VIS method. Subclasses declare everything a user needs in one place.

    Subclasses keep their `torch.nn.Module` in `self.model` (in eval mode); `flops_modules()`
    names sub-modules of it (dotted paths) for the per-module FLOPs breakdown.
    """

    #: registry name, e.g. "seqformer"
    name: str = ""
    #: short human-readable notes carried into every table and record row (e.g. reconstructions)
    notes: str = ""

    @classmethod
    @abstractmethod
    def build(cls, cfg: dict[str, Any] | None = None) -> MethodPlugin:
        """Build the method from its own config (missing keys take the published defaults)."""

    @abstractmethod
    def load_checkpoint(self, path: str) -> None:
        """Load the authors' released format or the project's own; report key mismatches clearly."""

    @abstractmethod
    def preprocess(self, frames: torch.Tensor, shorter_side: int | None = None) -> torch.Tensor:
        """uint8 RGB frames [T, 3, H, W] -> the method's normalised, resized input [T, 3, h, w].

        `shorter_side` overrides the method's own test resolution (the sweep's resolution axis);
        None keeps the published one.
        """

    @abstractmethod
    def infer_clip(self, frames: torch.Tensor) -> ClipResult:
        """Preprocessed frames of one clip -> instances, with the method's own post-processing."""

    def to(self, device: str | torch.device) -> MethodPlugin:
        """Move the model to `device` (the harness moves clips itself)."""
        module = getattr(self, "model", None)
        if isinstance(module, torch.nn.Module):
            module.to(device)
        return self

    def flops_modules(self) -> list[str]:
        """Names of sub-modules FLOPs are broken down by (backbone, encoder, decoder, heads)."""
        return []
