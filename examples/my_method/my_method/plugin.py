"""`my-method`: a small convolutional network that segments one object per clip.

It implements only the core of vis_bench.api (build, infer a clip; the default strict checkpoint
loading) and imports nothing else of vis-bench. The harness does everything around it: frames
decoded and resized by the declared preprocessing, overlapping clips stitched into video tracks,
masks resized to the video and encoded, the metric, timing, FLOPs and memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vis_bench.api import ClipResult, MethodPlugin, MethodSpec, Preprocessing, register_method


@dataclass
class MyOptions:
    """What a config's `options:` may set (unknown keys and wrong types are refused)."""

    channels: int = 8
    num_classes: int = 1


class MyNetwork(nn.Module):
    """Per-pixel foreground logits and per-frame class logits."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(),
        )
        self.mask = nn.Conv2d(channels, 1, 1)
        self.classes = nn.Linear(channels, num_classes)

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.features(frames)
        return self.mask(x)[:, 0], self.classes(x.mean((2, 3)))


@register_method("my-method")
class MyMethod(MethodPlugin):
    """One instance per clip: the foreground its network sees, with the clip's likeliest class."""

    spec = MethodSpec(
        name="my-method",
        summary="example: a small network that segments one object per clip",
        options=MyOptions,
        preprocessing=Preprocessing(shorter_side=64),
        reference="examples/my_method of the vis-bench repository",
    )

    def __init__(self, options: MyOptions) -> None:
        self.options = options
        self.model = MyNetwork(options.channels, options.num_classes).eval()

    @classmethod
    def create(cls, options: MyOptions) -> MyMethod:
        return cls(options)

    def infer_clip(self, frames: torch.Tensor) -> ClipResult:
        mask_logits, class_logits = self.model(frames)  # [T, h, w], [T, K]
        score, label = class_logits.softmax(-1).mean(0).max(0)
        return ClipResult(
            scores=score[None],
            labels=label[None] + 1,  # dataset category ids start at 1
            masks=mask_logits.sigmoid()[None],
            mask_logits=mask_logits[None],
        )
