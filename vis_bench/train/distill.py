"""Feature distillation for backbone pretraining: a frozen, already pretrained backbone (the
teacher) labels every position of the same frames with its features, and the backbone being
pretrained learns to predict them through a 1x1 convolution per level.

Why: a ViT trained from scratch on a few hundred synthetic videos learns the training split's
instances (by colour) rather than the categories (shape and texture), where a small CNN on the
same frames learns the categories. DeiT's answer to a ViT with little data is a convolutional
teacher; here the teacher is the tiny ResNet the other tiny models start from, and the ViT
learns what its features say on every crop, beside the per-pixel category loss.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.api.training import backbone_module
from vis_bench.errors import InputError
from vis_bench.formats.checkpoints import read_project_checkpoint
from vis_bench.train.trainer import method_class


class FeatureTeacher(nn.Module):
    """The teacher's frozen backbone and the student's trainable 1x1 projections onto its
    features (one per student level); `loss` is what the student adds to its task loss."""

    def __init__(self, path: str | Path, student_channels: list[int], crop_size: int):
        super().__init__()
        contents = read_project_checkpoint(path)
        method = dict(contents.config).get("method")
        if contents.method != "backbone" or not method:
            raise InputError(
                "is not a pretrained backbone file: give the output of `run_bench.py pretrain`",
                path=str(path),
                field="teacher",
            )
        plugin = method_class(str(method), str(path)).build(
            dict(contents.config.get("options") or {})
        )
        backbone = backbone_module(plugin)
        backbone.load_state_dict(contents.state_dict, strict=True)
        backbone.eval()
        for p in backbone.parameters():
            p.requires_grad_(False)
        # kept out of the module tree: neither trained nor saved with the student
        self._frozen = (plugin, backbone)
        self.crop_size = crop_size
        with torch.no_grad():
            probe = torch.zeros((1, 3, crop_size, crop_size), dtype=torch.uint8)
            width = sum(int(f.shape[1]) for f in self._teacher_levels(probe))
        self.projections = nn.ModuleList(nn.Conv2d(c, width, 1) for c in student_channels)

    def _teacher_levels(self, images: torch.Tensor) -> list[torch.Tensor]:
        plugin, backbone = self._frozen
        return list(backbone(plugin.preprocess(images, self.crop_size)).values())

    def targets(self, images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """The teacher's levels at `size`, each normalised per position (so no level's scale
        outweighs another's), concatenated along channels."""
        with torch.no_grad():
            return _resampled(self._teacher_levels(images), size)

    def loss(self, features: list[torch.Tensor], images: torch.Tensor) -> torch.Tensor:
        """Mean squared error of each student level's projection against the teacher's
        features at that level's resolution, summed over the levels (the teacher runs once)."""
        with torch.no_grad():
            levels = self._teacher_levels(images)
        total = torch.zeros(())
        for projection, feature in zip(self.projections, features, strict=True):
            size = (int(feature.shape[-2]), int(feature.shape[-1]))
            total = total + F.mse_loss(projection(feature), _resampled(levels, size))
        return total


def _resampled(levels: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
    """`levels` resampled to `size`, each layer-normed over its channels, concatenated."""
    return torch.cat(
        [
            F.layer_norm(
                F.interpolate(level, size=size, mode="bilinear", align_corners=False)
                .permute(0, 2, 3, 1)
                .contiguous(),
                (level.shape[1],),
            ).permute(0, 3, 1, 2)
            for level in levels
        ],
        dim=1,
    )
