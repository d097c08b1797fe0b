"""Training, an optional capability: the authors' recipe, which frames a training clip takes, and
the ground truth of one clip in the one layout every method's criterion reads.

A method trains when it implements `training_losses` (the `Trainable` protocol) and declares its
recipe in its spec (`MethodSpec.training`); registration refuses one without the other. The
harness's training loop (vis_bench/train/) builds `ClipTargets` from the dataset, asks the method
for its losses and steps the optimiser with the recipe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

#: boxes of frames where an instance is absent: the authors' loaders zero them, then clamp at 1e-6
ABSENT_BOX = 1e-6


@dataclass
class ClipTargets:
    """Ground truth of one training clip, at the size of its (augmented) frames.

    labels: int64 [N] dataset category ids; masks: float32 [N, T, H, W] in {0, 1};
    boxes: float32 [N, T, 4] normalised (cx, cy, w, h), `ABSENT_BOX` where the instance is not
    visible; valid: bool [N, T] where it is visible. Instances visible in no frame are dropped.
    """

    labels: torch.Tensor
    masks: torch.Tensor
    boxes: torch.Tensor
    valid: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the frames the targets belong to."""
        return int(self.masks.shape[-2]), int(self.masks.shape[-1])


class FrameSampler(Protocol):
    """Which frames one training clip takes: sorted indices (repeats allowed) of a video of
    `length` frames around the `reference` frame."""

    def __call__(
        self, rng: np.random.Generator, length: int, num_frames: int, reference: int
    ) -> list[int]: ...


@dataclass(frozen=True)
class TrainingRecipe:
    """A method's published optimisation recipe; `train` uses it unless a config overrides it.

    lr_drops: fractions of the schedule where the learning rate is multiplied by `lr_drop_factor`
    (the authors' step schedules, e.g. drops at epochs 4 and 10 of 12, or at 4k of 6k steps).
    clip_max_norm: gradient clipping on the total L2 norm of every trainable parameter.
    backbone_lr_mult: the backbone's learning rate relative to `lr` (pretrained backbones).
    frame_sampler: how a training clip picks its frames (the authors' loader).
    videos_by_length: draw videos in proportion to their length (a dataset of frames, as some
    authors' loaders are) rather than uniformly (a dataset of videos, as detectron2's).
    poly_power: > 0 replaces the step drops by a polynomial decay, the rate times
    (1 - t / T) ** poly_power after warm-up (t and T counted from the end of the warm-up).
    backbone_warmup_iters: > 0 holds the parameter groups marked `"backbone": True` at rate 0
    while the others warm up (`warmup_iters`), then warms them up over this many steps (a
    two-stage warm-up: a pretrained ViT waits until the new heads give sensible gradients).
    layer_decay: layer-wise rate decay; a group marked `"layer_decay_exponent": n` (its distance
    from a ViT's top block) trains at `layer_decay ** n` times its rate.
    """

    lr: float
    weight_decay: float
    clip_max_norm: float
    lr_drops: tuple[float, ...]
    frame_sampler: FrameSampler
    videos_by_length: bool = False
    lr_drop_factor: float = 0.1
    backbone_lr_mult: float = 0.1
    warmup_iters: int = 0
    poly_power: float = 0.0
    backbone_warmup_iters: int = 0
    layer_decay: float = 1.0


class Trainable(Protocol):
    """What a method that trains implements: `training_losses` (required with a recipe); the
    others are optional, with the defaults the functions of the same names below apply."""

    def training_losses(
        self, frames: torch.Tensor, targets: ClipTargets, num_instances: float, num_clips: int = 1
    ) -> dict[str, torch.Tensor]:
        """Weighted losses of one preprocessed training clip [T, 3, H, W] of a batch, `targets`
        at the size of `frames`. The batch has `num_clips` clips and `num_instances`
        ground-truth instances; losses are normalised over the whole batch (the authors divide
        by the batch's instance count), so the trainer's sum over the clips' values is the
        batch loss."""
        ...

    def parameter_groups(self, lr: float, backbone_lr_mult: float) -> list[dict[str, Any]]:
        """Optimiser parameter groups with the authors' per-module learning rates."""
        ...

    def start_training_from(self, checkpoint: Any) -> Any:
        """A training run's starting weights (`init_checkpoint`): a method trained in stages
        starts a stage from the previous stage's file, naming what may be missing."""
        ...

    def training_step(self, iteration: int, iterations: int) -> None:
        """Told before each optimiser step where the schedule is (an objective that changes
        during training)."""
        ...

    def backbone_module(self) -> torch.nn.Module:
        """The image backbone (what a pretrained initialisation such as ImageNet weights fills)."""
        ...

    def trained_state_dict(self) -> dict[str, torch.Tensor]:
        """The weights a training run's output file holds: a stage leaves out the parts a later
        stage trains from scratch (they are freshly initialised here, never trained)."""
        ...


#: the optional hooks of `Trainable`
OPTIONAL_HOOKS = ("parameter_groups", "start_training_from", "training_step", "trained_state_dict")


def parameter_groups(plugin: Any, lr: float, backbone_lr_mult: float) -> list[dict[str, Any]]:
    """The method's `parameter_groups`; without one, every trainable parameter at `lr`."""
    hook = getattr(plugin, "parameter_groups", None)
    if hook is not None:
        return hook(lr, backbone_lr_mult)
    return [{"params": [p for p in plugin.model.parameters() if p.requires_grad], "lr": lr}]


def start_training_from(plugin: Any, checkpoint: Any) -> Any:
    """The method's `start_training_from`; without one, its strict `load_checkpoint`."""
    hook = getattr(plugin, "start_training_from", None)
    return plugin.load_checkpoint(checkpoint) if hook is None else hook(checkpoint)


def trained_state_dict(plugin: Any) -> dict[str, torch.Tensor]:
    """The method's `trained_state_dict`; without one, the whole model's state dict."""
    hook = getattr(plugin, "trained_state_dict", None)
    return plugin.model.state_dict() if hook is None else hook()


def training_step(plugin: Any, iteration: int, iterations: int) -> None:
    """The method's `training_step`, where it has one."""
    hook = getattr(plugin, "training_step", None)
    if hook is not None:
        hook(iteration, iterations)


def backbone_module(plugin: Any) -> torch.nn.Module:
    """The method's image backbone (`backbone_module`); an error naming the method without one."""
    hook = getattr(plugin, "backbone_module", None)
    if hook is None:
        raise NotImplementedError(
            f"method {plugin.spec.name!r} does not expose its backbone (backbone_module)"
        )
    return hook()
