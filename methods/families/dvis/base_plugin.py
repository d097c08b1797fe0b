"""What both DVIS++ methods declare alike: options, preprocessing, checkpoints and the
segmenter's per-frame stages; each method adds its inference (online tracking, or tracking and
whole-video refinement).

The released R50 and ViT-L configs test at MIN_SIZE_TEST 480 (the MinVIS base config they
inherit; the YouTube-VIS base's 360 is overridden) with detectron2's test mapper, like the rest
of the Mask2Former family; R50 models have 100 queries, ViT-L ones 200.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from vis_bench.methods.common.backbone_registry import detect_backbone
from vis_bench.methods.families.dvis.config import DVISConfig
from vis_bench.methods.families.dvis.model import DVISModel, build_model
from vis_bench.methods.families.mask2former.base_plugin import Mask2FormerBase, test_preprocessing
from vis_bench.toolkit import (
    CheckpointContents,
    LoadReport,
    Preprocessing,
    checkpoint_contents,
    load_state_dict_strict,
)

MIN_SIZE_TEST = 480
RELEASE_QUERIES = {"vit_l": 200}
DEFAULT_QUERIES = 100
#: keys only DVIS++ checkpoints have (the offline method adds the refiner's)
CHECKPOINT_SIGNATURE = (
    r"^sem_seg_head\.predictor\.reid_embed\.",
    r"^tracker\.ref_proj\.layers\.0\.weight$",
)
#: the stage-1 segmenter (the CTVIS checkpoint DVIS++ starts from): these parts of the model
SEGMENTER_PARTS = ("backbone", "sem_seg_head", "criterion")
VIT_PREFIX = "backbone.vit_backbone."


@dataclass
class DVISOptions(DVISConfig):
    """The network plus the test settings; `num_queries` None follows the backbone's release
    (100 for R50, 200 for ViT-L)."""

    num_queries: int | None = None  # type: ignore[assignment]
    min_size_test: int = MIN_SIZE_TEST
    #: results per video (TEST.MAX_NUM)
    top_k: int = 10

    def __post_init__(self) -> None:
        if self.num_queries is None:
            self.num_queries = RELEASE_QUERIES.get(str(self.backbone), DEFAULT_QUERIES)
        super().__post_init__()

    def network(self) -> DVISConfig:
        fields = DVISConfig.__dataclass_fields__
        return DVISConfig(**{name: getattr(self, name) for name in fields})


class _Segmenter(nn.Module):
    """A view of a model's segmenter parts, for loading a stage-1 segmenter checkpoint."""

    def __init__(self, model: DVISModel) -> None:
        super().__init__()
        for name in SEGMENTER_PARTS:
            if name in model._modules:
                self.add_module(name, model._modules[name])


class DVISBase(Mask2FormerBase):
    """The parts both DVIS++ plugins share (the segmenter is the family's, in frame mode)."""

    temporal = False
    model: DVISModel

    @classmethod
    def refiner_layers(cls, options: Any) -> int | None:
        """The refiner's depth (offline), None for a model without one."""
        return None

    @classmethod
    def create(cls, options: DVISOptions) -> DVISBase:
        return cls(build_model(options.network(), cls.refiner_layers(options)), options)

    @property
    def preprocessing(self) -> Preprocessing:
        return test_preprocessing(int(self.options.min_size_test))

    def load_segmenter(self, checkpoint: str | CheckpointContents) -> LoadReport:
        """A stage-1 segmenter (CTVIS: backbone, sem_seg_head, criterion) into this model's
        segmenter by name, strictly; the tracker (and refiner) keep their weights."""
        contents = checkpoint_contents(checkpoint)
        return load_state_dict_strict(_Segmenter(self.model), contents, self.spec)

    @classmethod
    def describe_checkpoint(cls, state_dict: Mapping[str, torch.Tensor]) -> list[str]:
        options = checkpoint_options(state_dict)
        backbone = options.get("backbone") or detect_backbone(state_dict).describe()
        rest = [f"{k}: {v}" for k, v in options.items() if k != "backbone"]
        return [f"backbone: {backbone}", *rest]

    @classmethod
    def checkpoint_options(cls, state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        """What the file says, limited to this method's options (an offline file read for the
        online method names no refiner: its refiner keys then show as unexpected)."""
        accepted = cls.spec.options.__dataclass_fields__
        return {k: v for k, v in checkpoint_options(state_dict).items() if k in accepted}

    def flops_modules(self) -> list[str]:
        return [*super().flops_modules(), "tracker"]


def _count(state_dict: Mapping[str, torch.Tensor], prefix: str) -> int:
    """How many numbered children `prefix.N.` the keys have."""
    return len({k[len(prefix) :].split(".")[0] for k in state_dict if k.startswith(prefix)})


def checkpoint_options(state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """Backbone, queries, classes and depths of the model a DVIS++ state dict was saved from."""
    options: dict[str, Any] = {}
    if any(k.startswith(VIT_PREFIX) for k in state_dict):
        options["backbone"] = "vit_l"
    elif detect_backbone(state_dict).name == "resnet50":
        options["backbone"] = "resnet50"
    predictor = "sem_seg_head.predictor."
    for key, name, less in (
        ("query_feat.weight", "num_queries", 0),
        ("class_embed.weight", "num_classes", 1),
    ):
        value = state_dict.get(predictor + key)
        if value is not None:
            options[name] = int(value.shape[0]) - less
    reid = state_dict.get(predictor + "reid_embed.layers.0.weight")
    if reid is not None:
        options["reid_hidden_dim"] = int(reid.shape[0])
        options["reid_layers"] = _count(state_dict, predictor + "reid_embed.layers.")
    for prefix, name in (
        ("tracker.transformer_ffn_layers.", "tracker_layers"),
        ("refiner.transformer_ffn_layers.", "refiner_layers"),
    ):
        if _count(state_dict, prefix):
            options[name] = _count(state_dict, prefix)
    return options
