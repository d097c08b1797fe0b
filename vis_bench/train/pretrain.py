"""Backbone pretraining on a training split: the tiny models' stand-in for ImageNet / COCO weights.

The published models start from ImageNet classifiers (and some train jointly on COCO instance
masks). The tiny models cannot download either, so their backbone is first trained on
what there is, with one of two tasks (`task:`):

- `crops`: classify square crops around the annotated objects, one label per crop (its
  category), as ImageNet pretrains ResNets; the head is global average pooling + a linear layer.
- `segmentation`: label every pixel of whole frames with its object's category (0 for the
  background) from all three feature levels, as a dense (COCO-like) pretraining does; the head
  is a 1x1 convolution per level, summed at stride 8.

The head is thrown away; the backbone's weights are written in the project format and a `train`
config starts from them with `backbone_init`.
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

from vis_bench.api.options import build_dataclass
from vis_bench.api.training import backbone_module
from vis_bench.config import DATASET_PATH_KEYS, DatasetConfig
from vis_bench.config_overrides import read_yaml_config
from vis_bench.config_paths import expand_fields
from vis_bench.data.dataset import VideoDataset
from vis_bench.errors import InputError
from vis_bench.formats.checkpoints import resolve_checkpoint, save_project_checkpoint
from vis_bench.train.clips import check_trainable, recoloured
from vis_bench.train.config import require_keys
from vis_bench.train.distill import FeatureTeacher
from vis_bench.train.trainer import method_class

#: crops reach this far around an object's box (relative to its longer side)
CONTEXT = 1.25
#: the pretraining tasks (see the module docstring)
TASKS = ("crops", "segmentation")


@dataclass
class PretrainConfig:
    name: str
    #: whose backbone: the method and the options that select it (e.g. backbone: tiny); a
    #: registered name or, as in a training config, a plugin's import path `module:Class`
    method: str
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    options: dict[str, Any] = field(default_factory=dict)
    #: "crops" (object-crop classification) or "segmentation" (per-pixel category of frames)
    task: str = "crops"
    #: crops: side of the square crops; segmentation: side of the square frame crops
    crop_size: int = 64
    batch: int = 16
    iterations: int = 1500
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int | None = None
    output: str = "results/checkpoints/backbone.pth"
    half_weights: bool = False
    #: remap each training example's colours at random (RGB channels permuted, each channel
    #: inverted with probability 1/2): the synthetic objects' colours are drawn per instance and
    #: say nothing of the category, yet a network can learn the training split's instances by
    #: their colours instead of their shape and texture
    recolour: bool = False
    #: videos none of the training examples come from (e.g. the synthetic set's validation
    #: seed): the accuracy on them says whether the backbone learnt the categories or only the
    #: training split's instances; the held-out draws of the training videos cannot tell
    validation: DatasetConfig | None = None
    #: segmentation: each feature level also labels the pixels on its own (its 1x1 convolution's
    #: loss added to the summed head's), so no level leaves the category to another; e.g. the
    #: tokens a ViT's query blocks read, which the summed head can leave to the last block
    level_losses: bool = False
    #: a pretrained backbone file (`run_bench.py pretrain`'s output) whose features, on the same
    #: examples, each level learns to predict beside the task (vis_bench/train/distill.py): a
    #: convolutional teacher lends a ViT trained on little data its bias towards shape and texture
    teacher: str | None = None
    #: the weight of the teacher's loss against the task's
    teacher_weight: float = 1.0
    source: str = ""


def load_pretrain_config(path: str | Path, overrides: list[str] | None = None) -> PretrainConfig:
    """Read, override and validate a pretraining YAML file (errors name key and file)."""
    path = Path(path)
    data = read_yaml_config(path, overrides, "pretraining config")
    source = str(path)
    require_keys(data, ("method", "dataset"), source)
    data = {**data, "name": data.get("name", path.stem)}
    dataset = build_dataclass(DatasetConfig, data.pop("dataset"), "dataset", source)
    validation = data.pop("validation", None)
    if validation is not None:
        validation = build_dataclass(DatasetConfig, validation, "validation", source)
    config = build_dataclass(PretrainConfig, data, "pretrain", source)
    config = dataclasses.replace(config, dataset=dataset, validation=validation, source=source)
    expand_fields(config.dataset, DATASET_PATH_KEYS, "dataset", source)
    if config.validation is not None:
        expand_fields(config.validation, DATASET_PATH_KEYS, "validation", source)
    expand_fields(config, ("output", "teacher"), "", source)
    if config.crop_size < 32 or config.batch < 1 or config.iterations < 1:
        raise InputError("need crop_size >= 32, batch >= 1, iterations >= 1", path=source)
    if config.task not in TASKS:
        raise InputError(
            f"unknown pretraining task {config.task!r}; use one of {', '.join(TASKS)}",
            path=source,
            field="task",
        )
    if config.teacher_weight <= 0:
        raise InputError(
            f"teacher_weight must be above 0, got {config.teacher_weight}: drop `teacher` to "
            "pretrain without one",
            path=source,
            field="teacher_weight",
        )
    if config.level_losses and config.task != "segmentation":
        raise InputError(
            "level_losses labels pixels: it needs task: segmentation (or drop level_losses)",
            path=source,
            field="level_losses",
        )
    return config


class _Sampler:
    """What both pretraining samplers share: the split, the output size, a seeded generator,
    category ids in label order, frames as float tensors [3, H, W], and drawing a batch of
    examples from `self.items` (each subclass fills it and says how one item becomes one
    example)."""

    def __init__(self, dataset: VideoDataset, crop_size: int, seed: int, recolour: bool = False):
        self.dataset = dataset
        self.crop_size = crop_size
        self.rng = np.random.default_rng(seed)
        self.categories = sorted(c.id for c in dataset.categories)
        self.recolour = recolour

    def draw(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """`n` random examples (images, labels), stacked."""
        images, labels = [], []
        for i in self.rng.choice(len(self.items), n):
            image, label = self._example(self.items[int(i)])
            if self.recolour:
                image = recoloured(image, self.rng)
            images.append(image)
            labels.append(label)
        return torch.stack(images), torch.stack(labels)

    def _example(self, item: Any) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def _frame(self, video: Any, t: int) -> torch.Tensor:
        return torch.from_numpy(self.dataset.frames(video, [t])[0]).permute(2, 0, 1).float()


class CropSampler(_Sampler):
    """Random object crops (uint8 [N, 3, s, s]) and their category indices, reproducibly."""

    def __init__(self, dataset: VideoDataset, crop_size: int, seed: int, recolour: bool = False):
        super().__init__(dataset, crop_size, seed, recolour)
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

    def _example(self, item: Any) -> tuple[torch.Tensor, torch.Tensor]:
        video, t, ann = item
        crop = self._crop(video, t, ann.bboxes[t])
        return crop, torch.tensor(self.categories.index(ann.category_id))

    def _crop(self, video: Any, t: int, bbox: list[float]) -> torch.Tensor:
        x, y, w, h = bbox
        side = max(w, h) * CONTEXT * float(self.rng.uniform(0.9, 1.1))
        cx = x + w / 2 + float(self.rng.uniform(-0.1, 0.1)) * side
        cy = y + h / 2 + float(self.rng.uniform(-0.1, 0.1)) * side
        frame = self._frame(video, t)
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


class FrameSampler(_Sampler):
    """Random square crops of whole frames (uint8 [N, 3, s, s]) and their per-pixel category maps
    (int64 [N, s, s]: 0 background, i + 1 for the i-th category), reproducibly."""

    def __init__(self, dataset: VideoDataset, crop_size: int, seed: int, recolour: bool = False):
        super().__init__(dataset, crop_size, seed, recolour)
        # every frame in which at least one object is visible, drawn uniformly
        self.items = [
            (video, t)
            for video in dataset.videos
            for t in range(video.length)
            if any(a.visible(t) and not a.iscrowd for a in video.annotations)
        ]
        if not self.items:
            raise InputError(
                "no frame shows an annotated object", path=str(dataset.annotation_file)
            )

    def _example(self, item: Any) -> tuple[torch.Tensor, torch.Tensor]:
        return self._crop(*item)

    def label_map(self, video: Any, t: int) -> np.ndarray:
        """Category index + 1 of the object covering each pixel of frame t (0: background)."""
        label = np.zeros((video.height, video.width), dtype=np.int64)
        for ann in video.annotations:
            mask = None if ann.iscrowd else ann.mask(t)
            if mask is not None:
                label[mask.astype(bool)] = self.categories.index(ann.category_id) + 1
        return label

    def _crop(self, video: Any, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        side = self.crop_size
        scale = side * float(self.rng.uniform(1.0, 1.3)) / min(video.height, video.width)
        size = (max(side, round(video.height * scale)), max(side, round(video.width * scale)))
        frame = self._frame(video, t)
        frame = F.interpolate(
            frame[None], size=size, mode="bilinear", antialias=True, align_corners=False
        )[0]
        label = torch.from_numpy(self.label_map(video, t))[None, None].float()
        label = F.interpolate(label, size=size, mode="nearest")[0, 0].long()
        y0 = int(self.rng.integers(size[0] - side + 1))
        x0 = int(self.rng.integers(size[1] - side + 1))
        frame, label = (
            frame[:, y0 : y0 + side, x0 : x0 + side],
            label[y0 : y0 + side, x0 : x0 + side],
        )
        if self.rng.random() < 0.5:
            frame, label = frame.flip(-1), label.flip(-1)
        return frame.round().clamp(0, 255).to(torch.uint8), label


class ClassifierHead(nn.Module):
    """Global average pooling of the last level + a linear layer (ImageNet's head)."""

    def __init__(self, channels: list[int], classes: int):
        super().__init__()
        self.linear = nn.Linear(channels[-1], classes)

    def forward(self, features: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
        return self.linear(features[-1].mean((2, 3)))


class DenseHead(nn.Module):
    """A 1x1 convolution per level, summed at the finest level's stride, upsampled to `size`:
    every level has to carry where each category is."""

    def __init__(self, channels: list[int], classes: int):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(c, classes, 1) for c in channels)

    def forward(self, features: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
        return self.combine(self.level_logits(features), size)

    def level_logits(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        """Each level's own 1x1 convolution, at its own stride."""
        return [conv(f) for conv, f in zip(self.convs, features, strict=True)]

    def combine(self, levels: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
        """The levels' logits summed at the finest stride, upsampled to `size`."""
        finest = levels[0].shape[-2:]
        logits = sum(
            F.interpolate(level, size=finest, mode="bilinear", align_corners=False)
            for level in levels
        )
        return F.interpolate(logits, size=size, mode="bilinear", align_corners=False)

    def level_loss(self, levels: list[torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
        """The summed cross-entropy of each level's own labelling of the pixels."""
        size = labels.shape[-2:]
        return sum(
            F.cross_entropy(
                F.interpolate(level, size=size, mode="bilinear", align_corners=False), labels
            )
            for level in levels
        )


def accuracy_of(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Crops: the share classified right. Frames: the share of object pixels labelled right."""
    right = logits.argmax(1) == labels
    if labels.dim() == 1:
        return float(right.float().mean())
    return float(right[labels > 0].float().mean())


def pretrain_backbone(
    config: PretrainConfig, progress: bool = True, log: Callable[[str], None] = print
) -> dict[str, float]:
    """Train the backbone on the config's task; write its weights; return the held-out accuracy
    (and the unseen videos' when `validation` is given)."""
    from vis_bench.inference.sources import open_source

    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    plugin = method_class(config.method, config.source).build(dict(config.options))
    backbone = backbone_module(plugin)
    source = open_source(config.dataset, config.source)
    check_trainable(source.dataset, str(source.dataset.annotation_file))
    dense = config.task == "segmentation"
    sampler_type = FrameSampler if dense else CropSampler
    sampler = sampler_type(source.dataset, config.crop_size, config.seed, config.recolour)
    examples = 64 if dense else 256
    held_out = sampler_type(source.dataset, config.crop_size, config.seed + 1).draw(examples)
    unseen = unseen_examples(config, sampler, examples)

    def features_of(images: torch.Tensor) -> list[torch.Tensor]:
        return list(backbone(plugin.preprocess(images, config.crop_size)).values())

    def logits_of(images: torch.Tensor) -> torch.Tensor:
        return head(features_of(images), images.shape[-2:])

    with torch.no_grad():
        channels = feature_channels(backbone, plugin, config.crop_size)
    classes = len(sampler.categories) + (1 if dense else 0)
    head = (DenseHead if dense else ClassifierHead)(channels, classes)
    teacher = None
    if config.teacher:
        teacher = FeatureTeacher(resolve_teacher(config), channels, config.crop_size)
    loss_of = task_loss(config, features_of, head, teacher)
    swaps = thaw_batchnorm(backbone)
    trained = [backbone, head] if teacher is None else [backbone, head, teacher]
    optimizer = _optimizer(config, trained)
    backbone.train()
    began = time.perf_counter()
    run_steps(config, optimizer, sampler, loss_of, progress)
    backbone.eval()
    refreeze_batchnorm(swaps)
    with torch.no_grad():
        accuracy = accuracy_of(logits_of(held_out[0]), held_out[1])
        unseen_accuracy = None if unseen is None else accuracy_of(logits_of(unseen[0]), unseen[1])
    seconds = time.perf_counter() - began
    task = "per-pixel object category" if dense else "object-crop classification"
    save_project_checkpoint(
        backbone.state_dict(),
        config.output,
        "backbone",
        {"method": config.method, "options": config.options},
        {
            "task": task,
            "iterations": config.iterations,
            "seconds": round(seconds, 1),
            "accuracy": accuracy,
            **({} if unseen_accuracy is None else {"unseen_accuracy": unseen_accuracy}),
            "categories": sampler.categories,
            "config": {k: v for k, v in dataclasses.asdict(config).items() if k != "source"},
        },
        config.half_weights,
    )
    log(_written_line(config, dense, accuracy, unseen_accuracy, seconds))
    result = {"accuracy": accuracy, "seconds": seconds}
    return result if unseen_accuracy is None else {**result, "unseen_accuracy": unseen_accuracy}


def _written_line(
    config: PretrainConfig, dense: bool, accuracy: float, unseen: float | None, seconds: float
) -> str:
    """What a finished pre-training says: the file, the held-out (and unseen) accuracy."""
    measure = "object-pixel accuracy" if dense else "crop accuracy"
    unseen_part = "" if unseen is None else f", {unseen:.3f} on unseen videos"
    return (
        f"wrote {config.output}: {measure} {accuracy:.3f} on other draws of the training "
        f"videos{unseen_part} after {config.iterations} steps ({seconds / 60:.1f} min)"
    )


def _optimizer(config: PretrainConfig, modules: list[torch.nn.Module]) -> torch.optim.Optimizer:
    """AdamW over every parameter of `modules` (the backbone, the head and a teacher's
    projection), each made trainable."""
    params = [p for module in modules for p in module.parameters()]
    for p in params:
        p.requires_grad_(True)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


def task_loss(
    config: PretrainConfig,
    features_of: Callable[[torch.Tensor], list[torch.Tensor]],
    head: DenseHead | ClassifierHead,
    teacher: FeatureTeacher | None,
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The loss of one batch: the task's (with each level's own when `level_losses`) plus the
    teacher's, weighted, when there is one."""

    def loss_of(images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        features = features_of(images)
        if config.level_losses:
            levels = head.level_logits(features)
            loss = F.cross_entropy(head.combine(levels, images.shape[-2:]), labels)
            loss = loss + head.level_loss(levels, labels)
        else:
            loss = F.cross_entropy(head(features, images.shape[-2:]), labels)
        if teacher is not None:
            loss = loss + config.teacher_weight * teacher.loss(features, images)
        return loss

    return loss_of


def resolve_teacher(config: PretrainConfig) -> str:
    """The teacher file's path (a shipped file by its `results/checkpoints/...` name from any
    directory); a missing one is an error naming the field and the fix."""
    path = resolve_checkpoint(str(config.teacher))
    if not path.is_file():
        raise InputError(
            f"teacher backbone {path} not found: give a file written by `run_bench.py pretrain` "
            "(e.g. results/checkpoints/tiny_backbone.pth) or drop `teacher`",
            path=config.source,
            field="teacher",
        )
    return str(path)


def run_steps(
    config: PretrainConfig,
    optimizer: torch.optim.Optimizer,
    sampler: FrameSampler | CropSampler,
    loss_of: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    progress: bool,
) -> None:
    """The optimisation: `config.iterations` batches, the rate decayed on a cosine."""
    bar = tqdm(
        range(config.iterations), desc=f"pretrain {config.name}", unit="step", disable=not progress
    )
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = config.lr * 0.5 * (1 + np.cos(np.pi * step / config.iterations))
        images, labels = sampler.draw(config.batch)
        loss = loss_of(images, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")


def unseen_examples(
    config: PretrainConfig, sampler: FrameSampler | CropSampler, count: int
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """`count` examples of the config's `validation` videos, labelled as `sampler` labels (None
    when it names none)."""
    from vis_bench.inference.sources import open_source

    if config.validation is None:
        return None
    other = open_source(config.validation, config.source).dataset
    unseen = type(sampler)(other, config.crop_size, config.seed + 1)
    if unseen.categories != sampler.categories:
        raise InputError(
            f"the validation videos' categories {unseen.categories} differ from the training "
            f"split's {sampler.categories}: give videos of the same categories",
            path=config.source,
            field="validation",
        )
    return unseen.draw(count)


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


def feature_channels(backbone: torch.nn.Module, plugin: Any, crop_size: int) -> list[int]:
    """Channels of each of the backbone's outputs, finest first (what the heads read)."""
    probe = torch.zeros((1, 3, crop_size, crop_size), dtype=torch.uint8)
    features = backbone(plugin.preprocess(probe, crop_size))
    return [int(f.shape[1]) for f in features.values()]
