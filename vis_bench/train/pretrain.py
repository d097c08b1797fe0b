"""Backbone pretraining: classify object crops of a training split, as ImageNet pretrains ResNets.

The published models start from ImageNet classifiers. The tiny models cannot download one, so
their backbone is first trained the same way on what there is: square crops around the
annotated objects of the training videos, one label per crop (its category). The classifier
head (global average pooling + a linear layer) is thrown away; the backbone's weights are
written in the project format and a `train` config starts from them with `backbone_init`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from vis_bench.checkpoints import save_project_checkpoint
from vis_bench.config import DatasetConfig, build_section, read_yaml_config
from vis_bench.data.dataset import VideoDataset
from vis_bench.errors import InputError
from vis_bench.registry import get_method
from vis_bench.train.clips import check_trainable
from vis_bench.train.config import config_number, require_keys

#: crops reach this far around an object's box (relative to its longer side)
CONTEXT = 1.25


@dataclass
class PretrainConfig:
    name: str
    #: whose backbone: the method and the options that select it (e.g. backbone: tiny)
    method: str
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    options: dict[str, Any] = field(default_factory=dict)
    crop_size: int = 64
    batch: int = 16
    iterations: int = 1500
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int | None = None
    output: str = "results/checkpoints/backbone.pth"
    half_weights: bool = False
    source: str = ""


def load_pretrain_config(path: str | Path, overrides: list[str] | None = None) -> PretrainConfig:
    """Read, override and validate a pretraining YAML file (errors name key and file)."""
    data = read_yaml_config(path, overrides, "pretraining config")
    source = str(path)
    require_keys(data, ("method", "dataset"), source)
    for key in {"lr", "weight_decay"} & set(data):
        data[key] = config_number(data[key], source, key)
    data = {**data, "name": data.get("name", path.stem)}
    dataset = build_section(DatasetConfig, data.pop("dataset"), "dataset", source)
    config = build_section(PretrainConfig, data, "pretrain", source)
    config = dataclasses.replace(config, dataset=dataset, source=source)
    if config.crop_size < 32 or config.batch < 1 or config.iterations < 1:
        raise InputError("need crop_size >= 32, batch >= 1, iterations >= 1", path=source)
    return config


class CropSampler:
    """Random object crops (uint8 [N, 3, s, s]) and their category indices, reproducibly."""

    def __init__(self, dataset: VideoDataset, crop_size: int, seed: int):
        self.dataset = dataset
        self.crop_size = crop_size
        self.rng = np.random.default_rng(seed)
        self.categories = sorted(c.id for c in dataset.categories)
        # every (video, frame, annotation) where the object is visible, drawn uniformly
        self.items = [
            (video, t, ann)
            for video in dataset.videos
            for ann in video.annotations
            if not ann.iscrowd
            for t in range(video.length)
            if ann.visible(t) and ann.bboxes is not None and ann.bboxes[t] is not None
        ]
        if not self.items:
            raise InputError(
                "no visible annotated objects to crop", path=str(dataset.annotation_file)
            )

    def draw(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        crops, labels = [], []
        for i in self.rng.choice(len(self.items), n):
            video, t, ann = self.items[int(i)]
            crops.append(self._crop(video, t, ann.bboxes[t]))
            labels.append(self.categories.index(ann.category_id))
        return torch.stack(crops), torch.tensor(labels)

    def _crop(self, video: Any, t: int, bbox: list[float]) -> torch.Tensor:
        x, y, w, h = bbox
        side = max(w, h) * CONTEXT * float(self.rng.uniform(0.9, 1.1))
        cx = x + w / 2 + float(self.rng.uniform(-0.1, 0.1)) * side
        cy = y + h / 2 + float(self.rng.uniform(-0.1, 0.1)) * side
        frame = torch.from_numpy(self.dataset.frames(video, [t])[0]).permute(2, 0, 1).float()
        # zero-padded so crops at the border keep the object centred
        pad = int(np.ceil(side))
        frame = F.pad(frame, (pad, pad, pad, pad))
        x0, y0 = int(round(cx - side / 2)) + pad, int(round(cy - side / 2)) + pad
        size = max(2, int(round(side)))
        crop = frame[:, y0 : y0 + size, x0 : x0 + size][None]
        crop = F.interpolate(
            crop,
            size=(self.crop_size, self.crop_size),
            mode="bilinear",
            antialias=True,
            align_corners=False,
        )[0]
        if self.rng.random() < 0.5:
            crop = crop.flip(-1)
        return crop.round().clamp(0, 255).to(torch.uint8)


def pretrain_backbone(
    config: PretrainConfig, progress: bool = True, log: Callable[[str], None] = print
) -> dict[str, float]:
    """Train the backbone as a crop classifier; write its weights; return the final accuracy."""
    from vis_bench.inference.sources import open_source

    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    plugin = get_method(config.method).build(dict(config.options))
    backbone = plugin.backbone_module()
    source = open_source(config.dataset, config.source)
    check_trainable(source.dataset, str(source.dataset.annotation_file))
    sampler = CropSampler(source.dataset, config.crop_size, config.seed)
    held_out = CropSampler(source.dataset, config.crop_size, config.seed + 1).draw(256)

    def logits_of(crops: torch.Tensor) -> torch.Tensor:
        features = backbone(plugin.preprocess(crops, config.crop_size))
        return head(features[list(features)[-1]].mean((2, 3)))

    with torch.no_grad():
        width = logits_width(backbone, plugin, config.crop_size)
    head = torch.nn.Linear(width, len(sampler.categories))
    swaps = thaw_batchnorm(backbone)
    params = [*backbone.parameters(), *head.parameters()]
    for p in params:
        p.requires_grad_(True)
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    backbone.train()
    began = time.perf_counter()
    bar = tqdm(
        range(config.iterations), desc=f"pretrain {config.name}", unit="step", disable=not progress
    )
    for step in bar:
        # cosine decay of the rate over the run
        for group in optimizer.param_groups:
            group["lr"] = config.lr * 0.5 * (1 + np.cos(np.pi * step / config.iterations))
        crops, labels = sampler.draw(config.batch)
        loss = F.cross_entropy(logits_of(crops), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    backbone.eval()
    refreeze_batchnorm(swaps)
    with torch.no_grad():
        accuracy = float((logits_of(held_out[0]).argmax(1) == held_out[1]).float().mean())
    seconds = time.perf_counter() - began
    save_project_checkpoint(
        backbone.state_dict(),
        config.output,
        "backbone",
        {"method": config.method, "options": config.options},
        {
            "task": "object-crop classification",
            "iterations": config.iterations,
            "seconds": round(seconds, 1),
            "accuracy": accuracy,
            "categories": sampler.categories,
            "config": {k: v for k, v in dataclasses.asdict(config).items() if k != "source"},
        },
        config.half_weights,
    )
    log(
        f"wrote {config.output}: crop accuracy {accuracy:.3f} after {config.iterations} steps ({seconds / 60:.1f} min)"
    )
    return {"accuracy": accuracy, "seconds": seconds}


def _is_frozen_batchnorm(module: nn.Module) -> bool:
    """A FrozenBatchNorm2d of any codebase: affine and statistics as buffers, no parameters."""
    buffers = dict(module.named_buffers(recurse=False))
    return (
        {"weight", "bias", "running_mean", "running_var"} <= set(buffers)
        and not list(module.parameters(recurse=False))
        and buffers["weight"].dim() == 1
    )


def thaw_batchnorm(module: nn.Module) -> list[tuple[nn.Module, str, nn.Module]]:
    """Replace every frozen BatchNorm in `module` by a trainable one with the same values (the
    backbone is pretrained with live statistics, then frozen, as ImageNet models are)."""
    swaps = []
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if _is_frozen_batchnorm(child):
                bn = nn.BatchNorm2d(child.weight.numel(), eps=float(getattr(child, "eps", 1e-5)))
                with torch.no_grad():
                    for key in ("weight", "bias", "running_mean", "running_var"):
                        getattr(bn, key).copy_(getattr(child, key))
                setattr(parent, name, bn)
                swaps.append((parent, name, child))
    return swaps


def refreeze_batchnorm(swaps: list[tuple[nn.Module, str, nn.Module]]) -> None:
    """Copy the trained BatchNorms back into their frozen modules and put those back."""
    for parent, name, frozen in swaps:
        bn = getattr(parent, name)
        with torch.no_grad():
            for key in ("weight", "bias", "running_mean", "running_var"):
                getattr(frozen, key).copy_(getattr(bn, key))
        setattr(parent, name, frozen)


def logits_width(backbone: torch.nn.Module, plugin: Any, crop_size: int) -> int:
    """Channels of the backbone's last output (what the classifier head reads)."""
    probe = torch.zeros((1, 3, crop_size, crop_size), dtype=torch.uint8)
    features = backbone(plugin.preprocess(probe, crop_size))
    return int(features[list(features)[-1]].shape[1])
