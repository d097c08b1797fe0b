"""The backbones of the authors' released checkpoints, by the names methods' options use.

| name | module | what the authors build |
|---|---|---|
| resnet50, resnet101 | backbone.ResNet | torchvision `resnet50/101` |
| resnext101_32x8d | backbone.ResNet (groups 32, width 8) | torchvision's, what SeqFormer's `x101` configs pass |
| resnext101_64x4d | backbone.ResNet (groups 64, width 4) | SeqFormer's `models/x101_64d.py` |
| swin_l | swin.SwinTransformer (SWIN_L) | `swin_l_p4w12` of SeqFormer / MS-STS |
| vit_adapter_l | vit_adapter.ViTAdapter (VIT_ADAPTER_L) | DVIS++'s `D2VitAdapterDinoV2`: DINOv2 ViT-L + ViT-Adapter |

The ResNet and Swin families are bodies that `build_backbone` wraps as a DETR-style `Backbone`
(`backbone_names()` lists them, the names the SeqFormer family accepts). The ViT-Adapter is a
detectron2-style feature backbone (images -> res2..res5): `build_feature_backbone` builds it and
`feature_channels` gives its channels. It is not VidEoMT's plain `vit_l` (a ViT without adapter,
methods/common/vit.py), hence its own name. `backbone_key_list` gives any entry's `[key, shape]`
list, built on the meta device.

Both ResNeXt variants have the same keys; only the 33 grouped 3x3 convs differ in shape, so
which one a checkpoint holds is read from `layer1.0.conv2.weight` ([width, width / groups, 3, 3]).
`detect_backbone` does that (and the rest) for a state dict, in any of the releases' key layouts:
torchvision's under SeqFormer / MS-STS's `detr.backbone.0.body.`, detectron2's under IFC's
`detr.backbone.0.backbone.`, or detectron2's (ResNet or D2 Swin) at the top level `backbone.` of
the Mask2Former family; DVIS++'s ViT-Adapter under `backbone.` (`backbone.vit_module.*`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from vis_bench.api.parity import ParityReference
from vis_bench.api.registration import Registry, register_backbone_parity
from vis_bench.methods.common.backbone import RESNET_DEPTHS, Backbone, ResNet
from vis_bench.methods.common.swin import SWIN_L, SwinTransformer
from vis_bench.methods.common.vit_adapter import (
    VIT_ADAPTER_L,
    ViTAdapter,
    ViTAdapterConfig,
    adapter_key_list,
)

#: key prefixes of the backbone body in the two checkpoint layouts
TORCHVISION_PREFIX = "detr.backbone.0.body."
DETECTRON2_PREFIX = "detr.backbone.0.backbone."
#: the Mask2Former family's detectron2 meta-architectures keep the backbone at the top level
TOP_LEVEL_PREFIX = "backbone."
#: the ViT inside the ViT-Adapter (DVIS++: `backbone.vit_module.*`)
VIT_ADAPTER_PREFIX = "vit_module."


@dataclass(frozen=True)
class BackboneSpec:
    """One released backbone: which module builds it and with which arguments."""

    name: str
    family: str  # "resnet" (torchvision layout), "swin" or "vit_adapter"
    depth: int = 0
    groups: int = 1
    width_per_group: int = 64
    swin: dict[str, Any] = field(default_factory=dict)
    vit_adapter: ViTAdapterConfig | None = None
    source: str = ""
    #: the module's check against a fixture made with the authors' class (`parity --backbone`)
    parity: ParityReference | None = None


#: every released backbone by the name methods' options use
BACKBONES: Registry[BackboneSpec] = Registry("backbone", base=BackboneSpec, instance=True)
for _spec in (
    BackboneSpec("resnet50", "resnet", depth=50, source="torchvision resnet50"),
    BackboneSpec("resnet101", "resnet", depth=101, source="torchvision resnet101"),
    BackboneSpec(
        "resnext101_32x8d",
        "resnet",
        depth=101,
        groups=32,
        width_per_group=8,
        source="torchvision resnext101_32x8d (configs/x101_seqformer.sh)",
    ),
    BackboneSpec(
        "resnext101_64x4d",
        "resnet",
        depth=101,
        groups=64,
        width_per_group=4,
        source="SeqFormer models/x101_64d.py",
    ),
    BackboneSpec(
        "swin_l",
        "swin",
        swin=SWIN_L,
        source="swin_l_p4w12 (models/swin_transformer.py)",
        parity=ParityReference(
            f"{__package__}.swin_parity:run_parity",
            "the authors' SwinTransformer (SeqFormer models/swin_transformer.py)",
        ),
    ),
    BackboneSpec(
        "vit_adapter_l",
        "vit_adapter",
        vit_adapter=VIT_ADAPTER_L,
        source=(
            "DVIS++ D2VitAdapterDinoV2 (mask2former/modeling/backbones_vitAdapter/adapter.py), "
            "DINOv2 ViT-L with 16x16 patches (backbones.py:get_models)"
        ),
    ),
):
    BACKBONES.register(_spec.name, _spec)
for _spec in BACKBONES.values():
    if _spec.parity is not None:
        # the fixture checks the module family (its meta.json gives the configuration)
        register_backbone_parity(_spec.name, _spec.parity, aliases=(_spec.family,))

#: Swin's first output (stride 4) is computed but unused; levels 1-3 feed the input projections
SWIN_RETURN_LAYERS = {"1": "res3", "2": "res4", "3": "res5"}


#: the families `build_backbone` wraps as a DETR-style `Backbone`
BODY_FAMILIES = ("resnet", "swin")
#: the families `build_feature_backbone` builds (images -> {res2..res5})
FEATURE_FAMILIES = ("vit_adapter",)


def backbone_names(families: tuple[str, ...] = BODY_FAMILIES) -> list[str]:
    """Registered names of `families`, in registration order (default: the bodies)."""
    return [name for name, spec in BACKBONES.items() if spec.family in families]


def _spec_of(name: str, families: tuple[str, ...], builder: str) -> BackboneSpec:
    spec = BACKBONES[name]
    if spec.family not in families:
        raise ValueError(
            f"backbone {name!r} ({spec.family}) is not built by {builder}; "
            f"it builds {backbone_names(families)}"
        )
    return spec


def _body(spec: BackboneSpec) -> nn.Module:
    if spec.family == "swin":
        return SwinTransformer(**spec.swin)
    return ResNet(spec.depth, spec.groups, spec.width_per_group)


def build_backbone(name: str) -> Backbone:
    """`Backbone` wrapping the named body (keys `body.*` as the authors' `backbone.0.body.*`)."""
    spec = _spec_of(name, BODY_FAMILIES, "build_backbone")
    return_layers = SWIN_RETURN_LAYERS if spec.family == "swin" else None
    return Backbone(body=_body(spec), return_layers=return_layers)


def _adapter_config(name: str) -> ViTAdapterConfig:
    spec = _spec_of(name, FEATURE_FAMILIES, "build_feature_backbone")
    if spec.vit_adapter is None:
        raise ValueError(f"backbone {name!r} has no ViT-Adapter configuration")
    return spec.vit_adapter


def build_feature_backbone(name: str) -> ViTAdapter:
    """The named detectron2-style backbone: normalised images [B, 3, H, W] (padded to a
    multiple of `SIZE_DIVISIBILITY`) -> {res2..res5}; keys as under the authors' `backbone.`."""
    return ViTAdapter(_adapter_config(name))


def feature_channels(name: str) -> dict[str, int]:
    """Channels of res2..res5 of the named feature backbone (its `output_shape()`)."""
    return _adapter_config(name).out_channels


def backbone_key_list(name: str) -> list[list[Any]]:
    """`[key, shape]` of the named backbone's state dict in order, built on the meta device:
    the body's own keys (no `body.` prefix) or the feature backbone's (no `backbone.`)."""
    spec = BACKBONES[name]
    if spec.family in FEATURE_FAMILIES:
        return adapter_key_list(_adapter_config(name))
    with torch.device("meta"):
        body = _body(spec)
    return [[key, list(value.shape)] for key, value in body.state_dict().items()]


def unknown_backbone_message(name: str, known: list[str]) -> str:
    """The error text for a backbone option no method knows, with the ResNeXt hint."""
    text = f"backbone {name!r} not supported; use one of {sorted(known)}"
    if name.startswith(("resnext", "x101")):
        text += (
            ". ResNeXt-101 comes in two layouts with the same keys: resnext101_32x8d (what the "
            "released x101 configs pass) and resnext101_64x4d (models/x101_64d.py); "
            "`run_bench.py check-checkpoint FILE --method M` reads which one a checkpoint holds"
        )
    return text


def is_frozen_bn_resnet(name: str | None) -> bool:
    """True for the ResNet family, whose stem and layer1 the releases keep frozen."""
    spec = BACKBONES.get(name or "", None)
    return spec is not None and spec.family == "resnet"


@dataclass
class DetectedBackbone:
    """What a state dict's backbone keys say: a released name (None if no name fits) and why."""

    name: str | None
    layout: str  # "torchvision", "detectron2" or "none"
    evidence: list[str] = field(default_factory=list)

    def describe(self) -> str:
        found = self.name or "not a released backbone"
        return f"{found} ({self.layout} layout): " + "; ".join(self.evidence)


def _block_counts(keys: list[str], pattern: str) -> dict[int, int]:
    """Blocks per stage from keys such as `layer3.22.conv1.weight`."""
    blocks: dict[int, set[int]] = {}
    regex = re.compile(pattern)
    for key in keys:
        if m := regex.match(key):
            blocks.setdefault(int(m.group(1)), set()).add(int(m.group(2)))
    return {stage: len(ids) for stage, ids in sorted(blocks.items())}


def _depth_of(counts: dict[int, int]) -> int | None:
    for depth, blocks in RESNET_DEPTHS.items():
        if tuple(counts.values()) == blocks:
            return depth
    return None


def _detect_resnet(state_dict: Mapping[str, torch.Tensor], prefix: str) -> DetectedBackbone:
    keys = [k[len(prefix) :] for k in state_dict if k.startswith(prefix)]
    counts = _block_counts(keys, r"layer(\d)\.(\d+)\.")
    depth = _depth_of(counts)
    evidence = [f"blocks per stage {list(counts.values())} -> depth {depth or 'unknown'}"]
    conv = f"{prefix}layer1.0.conv2.weight"
    shape = tuple(state_dict[conv].shape) if conv in state_dict else None
    if shape is None or len(shape) != 4:
        return DetectedBackbone(None, "torchvision", [*evidence, f"no 4-d {conv}"])
    width, per_group = shape[0], shape[1]
    groups = width // per_group
    evidence.append(f"groups {groups} = {width} / {per_group} from {conv} {list(shape)}")
    for spec in BACKBONES.values():
        # layer1's grouped conv: width = width_per_group * groups (planes 64)
        if (
            spec.family == "resnet"
            and spec.depth == depth
            and spec.groups == groups
            and spec.width_per_group * spec.groups == width
        ):
            return DetectedBackbone(spec.name, "torchvision", evidence)
    return DetectedBackbone(None, "torchvision", evidence)


def _detect_swin(
    state_dict: Mapping[str, torch.Tensor], prefix: str, layout: str = "torchvision"
) -> DetectedBackbone:
    keys = [k[len(prefix) :] for k in state_dict if k.startswith(prefix)]
    embed_dim = int(state_dict[f"{prefix}patch_embed.proj.weight"].shape[0])
    depths = tuple(_block_counts(keys, r"layers\.(\d+)\.blocks\.(\d+)\.").values())
    heads, window = [], None
    for stage in range(len(depths)):
        table = state_dict.get(f"{prefix}layers.{stage}.blocks.0.attn.relative_position_bias_table")
        if table is not None:
            heads.append(int(table.shape[1]))
            window = (math.isqrt(int(table.shape[0])) + 1) // 2
    evidence = [f"embed_dim {embed_dim}, depths {list(depths)}, heads {heads}, window {window}"]
    for spec in BACKBONES.values():
        swin = spec.swin
        if (
            spec.family == "swin"
            and swin["embed_dim"] == embed_dim
            and tuple(swin["depths"]) == depths
            and list(swin["num_heads"]) == heads
            and swin["window_size"] == window
        ):
            return DetectedBackbone(spec.name, layout, evidence)
    return DetectedBackbone(None, layout, evidence)


def _detect_detectron2(state_dict: Mapping[str, torch.Tensor], prefix: str) -> DetectedBackbone:
    keys = [k[len(prefix) :] for k in state_dict if k.startswith(prefix)]
    counts = _block_counts(keys, r"res(\d)\.(\d+)\.")
    if not counts:
        return DetectedBackbone(None, "detectron2", ["no res2..res5 stages"])
    depth = _depth_of(counts)
    evidence = [f"blocks per stage {list(counts.values())} -> depth {depth or 'unknown'}"]
    conv = f"{prefix}res2.0.conv2.weight"
    if conv in state_dict:
        width, per_group = state_dict[conv].shape[:2]
        evidence.append(f"groups {width // per_group} from {conv}")
        if width != per_group:
            return DetectedBackbone(None, "detectron2", evidence)
    name = f"resnet{depth}" if depth else None
    return DetectedBackbone(name, "detectron2", evidence)


def _children(state_dict: Mapping[str, torch.Tensor], prefix: str) -> int:
    """How many numbered children `prefix.N.` the keys have."""
    return len({k[len(prefix) :].split(".")[0] for k in state_dict if k.startswith(prefix)})


def _detect_vit_adapter(state_dict: Mapping[str, torch.Tensor], prefix: str) -> DetectedBackbone:
    vit = f"{prefix}{VIT_ADAPTER_PREFIX}"
    embed_dim = int(state_dict[f"{vit}patch_embed.proj.weight"].shape[0])
    depth = _children(state_dict, f"{vit}blocks.")
    interactions = _children(state_dict, f"{prefix}interactions.")
    evidence = [f"ViT embed_dim {embed_dim}, depth {depth}; {interactions} interactions"]
    layout = "detectron2 (D2VitAdapterDinoV2)"
    for spec in BACKBONES.values():
        config = spec.vit_adapter
        if (
            config is not None
            and config.vit.embed_dim == embed_dim
            and config.vit.depth == depth
            and len(config.interaction_indexes) == interactions
        ):
            return DetectedBackbone(spec.name, layout, evidence)
    return DetectedBackbone(None, layout, evidence)


def detect_backbone(state_dict: Mapping[str, torch.Tensor]) -> DetectedBackbone:
    """Which released backbone a full-model state dict holds, read from key names and shapes."""
    if f"{TORCHVISION_PREFIX}patch_embed.proj.weight" in state_dict:
        return _detect_swin(state_dict, TORCHVISION_PREFIX)
    if any(k.startswith(TORCHVISION_PREFIX) for k in state_dict):
        return _detect_resnet(state_dict, TORCHVISION_PREFIX)
    if any(k.startswith(DETECTRON2_PREFIX) for k in state_dict):
        return _detect_detectron2(state_dict, DETECTRON2_PREFIX)
    if f"{TOP_LEVEL_PREFIX}patch_embed.proj.weight" in state_dict:
        return _detect_swin(state_dict, TOP_LEVEL_PREFIX, "detectron2 (D2SwinTransformer)")
    if any(k.startswith(f"{TOP_LEVEL_PREFIX}res2.") for k in state_dict):
        return _detect_detectron2(state_dict, TOP_LEVEL_PREFIX)
    if f"{TOP_LEVEL_PREFIX}{VIT_ADAPTER_PREFIX}patch_embed.proj.weight" in state_dict:
        return _detect_vit_adapter(state_dict, TOP_LEVEL_PREFIX)
    return DetectedBackbone(None, "none", ["no backbone keys"])
