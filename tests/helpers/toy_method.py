"""A tiny deterministic method plugin for harness tests: no weights, instant inference.

It "segments" bright pixels: one instance per clip covering pixels brighter than the clip's
mean, labelled with category `label`. Options make it misbehave the ways real cells do: fail to
build, raise, exit, be killed, allocate far too much, or hang; VIS_BENCH_TOY_SLEEP slows it down
without changing its cells' keys, and VIS_BENCH_TOY_FAIL_ON_RANK=r fails its build on torchrun
rank r. It is defined entirely here, as a fourth method would be.
"""

from __future__ import annotations

import os
import random
import signal
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from vis_bench.api import ClipResult, MethodPlugin, MethodSpec, Preprocessing, register_method
from vis_bench.api.checkpoints import LoadReport, checkpoint_contents, load_state_dict_strict
from vis_bench.api.training import TrainingRecipe


@dataclass
class ToyOptions:
    label: int = 1
    fail_build: bool = False
    #: misbehave in infer_clip: "raise", "exit", "kill", "allocate", "hang", or "unstable" (a
    #: score that differs from pass to pass, as a timed pass doing other work than the scored one)
    misbehave: str | None = None
    #: megabytes the model holds (to make one cell much bigger than another)
    ballast_mb: int = 0


def _consecutive_frames(
    rng: np.random.Generator, length: int, num_frames: int, reference: int
) -> list[int]:
    start = max(0, min(reference, length - num_frames))
    return [min(length - 1, start + i) for i in range(num_frames)]


class ToyModel(torch.nn.Module):
    def __init__(self, ballast_mb: int) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 1, 1)
        self.register_buffer("ballast", torch.ones(ballast_mb * 262144))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.conv(frames)


@register_method("toy")
class ToyPlugin(MethodPlugin):
    spec = MethodSpec(
        name="toy",
        summary="test-only toy method: bright pixels are the instance",
        options=ToyOptions,
        preprocessing=Preprocessing(shorter_side=24),
        notes="test-only toy method",
        training=TrainingRecipe(
            lr=1e-3,
            weight_decay=0.0,
            clip_max_norm=0.0,
            lr_drops=(),
            frame_sampler=_consecutive_frames,
        ),
    )

    def __init__(self, options: ToyOptions):
        self.options = options
        self.model = ToyModel(options.ballast_mb)

    @classmethod
    def create(cls, options: ToyOptions) -> ToyPlugin:
        if options.fail_build:
            raise RuntimeError("toy method asked to fail")
        rank = os.environ.get("RANK")
        if rank is not None and os.environ.get("VIS_BENCH_TOY_FAIL_ON_RANK") == rank:
            raise RuntimeError(f"rank {rank} exploded")  # a rank-local error (a broken GPU)
        return cls(options)

    def load_checkpoint(self, checkpoint: Any, strict: bool = True) -> LoadReport:
        """The shared strict loader every method uses (a file with the model's keys)."""
        contents = checkpoint_contents(checkpoint)
        contents.check_method(self.name)
        return load_state_dict_strict(self.model, contents, self.spec, strict=strict)

    def preprocess(self, frames: torch.Tensor, shorter_side: int | None = None) -> torch.Tensor:
        frames = frames.float() / 255
        if shorter_side:
            h, w = frames.shape[-2:]
            scale = shorter_side / min(h, w)
            frames = F.interpolate(frames, scale_factor=scale, mode="bilinear", align_corners=False)
        return frames

    def _misbehave(self) -> None:
        what = self.options.misbehave
        if what == "raise":
            raise RuntimeError("toy method broke mid-clip")
        if what == "exit":
            os._exit(3)
        if what == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if what == "allocate":
            torch.empty(1 << 50, dtype=torch.uint8)  # a petabyte: the allocator refuses
        if what == "hang":
            time.sleep(3600)

    def infer_clip(self, frames: torch.Tensor) -> ClipResult:
        # an environment variable, not an option, so a slowed-down run has the same cell keys
        sleep = float(os.environ.get("VIS_BENCH_TOY_SLEEP", "0"))
        if sleep:
            time.sleep(sleep)
        self._misbehave()
        gray = frames.mean(1)  # [T, h, w]
        masks = (gray > gray.mean()).float()[None]
        self.model(frames[:1])  # something for the FLOP counter
        score = 0.9 if self.options.misbehave != "unstable" else 0.5 + 0.4 * random.random()
        return ClipResult(
            scores=torch.tensor([score]),
            labels=torch.tensor([int(self.options.label)]),
            masks=masks,
        )

    def training_losses(
        self, frames: torch.Tensor, targets: Any, num_instances: float, num_clips: int = 1
    ) -> dict[str, torch.Tensor]:
        """Mean squared error between the conv's sigmoid and the union of target masks."""
        target = (targets.masks.sum(0) > 0).float()[:, None]  # [T, 1, H, W]
        prediction = self.model(frames).sigmoid()
        return {"loss_mask": F.mse_loss(prediction, target) / num_clips}
