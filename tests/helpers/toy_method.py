"""A tiny deterministic method plugin for harness tests: no weights, instant inference.

It "segments" bright pixels: one instance per clip covering pixels brighter than the clip's
mean, labelled with category `label`. Option `fail_build` makes it fail; VIS_BENCH_TOY_SLEEP slows it down.
"""

from __future__ import annotations

import os
import time
from typing import Any

import torch
import torch.nn.functional as F

from vis_bench.plugin import ClipResult, MethodPlugin
from vis_bench.registry import register_method


@register_method("toy")
class ToyPlugin(MethodPlugin):
    name = "toy"
    notes = "test-only toy method"

    def __init__(self, cfg: dict[str, Any]):
        self.cfg = cfg
        self.model = torch.nn.Conv2d(3, 1, 1)

    @classmethod
    def build(cls, cfg: dict[str, Any] | None = None) -> ToyPlugin:
        cfg = dict(cfg or {})
        if cfg.get("fail_build"):
            raise RuntimeError("toy method asked to fail")
        return cls(cfg)

    def load_checkpoint(self, path: str) -> None:
        self.model.load_state_dict(torch.load(path, weights_only=True))

    def preprocess(self, frames: torch.Tensor, shorter_side: int | None = None) -> torch.Tensor:
        frames = frames.float() / 255
        if shorter_side:
            h, w = frames.shape[-2:]
            scale = shorter_side / min(h, w)
            frames = F.interpolate(frames, scale_factor=scale, mode="bilinear", align_corners=False)
        return frames

    def infer_clip(self, frames: torch.Tensor) -> ClipResult:
        # an environment variable, not an option, so a slowed-down run has the same cell keys
        sleep = float(os.environ.get("VIS_BENCH_TOY_SLEEP", "0"))
        if sleep:
            time.sleep(sleep)
        gray = frames.mean(1)  # [T, h, w]
        masks = (gray > gray.mean()).float()[None]
        self.model(frames[:1])  # something for the FLOP counter
        return ClipResult(
            scores=torch.tensor([0.9]),
            labels=torch.tensor([int(self.cfg.get("label", 1))]),
            masks=masks,
        )
