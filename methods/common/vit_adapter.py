"""DVIS++'s ViT-L backbone: the DINOv2 ViT of vit.py with a ViT-Adapter, res2..res5 out.

What the authors build (zhang-tao-whu/DVIS_Plus@c0eb2495, `DVIS_Plus/mask2former/modeling/
backbones_vitAdapter/`; file:line): `D2VitAdapterDinoV2` (adapter.py:586-652) =
`DinoV2ViTAdapter` (adapter.py:416-583) with `get_adapter_args("vitl")` (adapter.py:367-414) on
the DINOv2 ViT-L that `backbones.py:get_models` (403-420) makes with 16 x 16 patches, a 592 px
position grid (37 x 37 + a cls entry = 1370) and LayerScale 1e-5, and on the interaction block
`InteractionBlockWithCls_Efficient` (adapter.py:245-302), the one the adapter instantiates.
Its forward (adapter.py:523-583), which `forward` below follows step by step:

1. the spatial prior module gives c1 (stride 4) and the stride 8/16/32 tokens; each of the
   three gets its `level_embed` row and they are concatenated into c;
2. the ViT embeds the image (`prepare_tokens_with_masks`: patches, cls token, the position
   embedding resampled as vit.py's "dinov2" layout says; the adapter's own `_get_pos_embed`,
   adapter.py:506-511, is never called);
3. for each of the four interactions, the ViT blocks of its index range run on [cls, patches]
   (blocks 0-5, 6-11, 12-17, 18-23), then the extractor (and, in the last one, two extra
   extractors) update c from the patch tokens; the patch tokens after each range are kept as a
   [B, C, H/16, W/16] map. The block has no injector: the ViT never reads the adapter, so the
   checkpoints hold no injector weights, and deform_ratio (0.5) is ignored by the authors'
   MSDeformAttn (value_proj stays C x C);
4. c is split back into its three maps; c1 = up(c2) + c1 (a 2 x 2 transposed conv);
5. the four kept ViT maps, bilinearly resized by 4, 2, 1 and 0.5 (align_corners False), are
   added to c1..c4, and each goes through its BatchNorm (`norm1..4`) -> res2..res5, all with the
   ViT's width (`output_shape()`: C channels, strides 4/8/16/32).

With FREEZE_VIT (every released config) the ViT's weights are frozen and it runs without
autograd. The authors' BatchNorms are SyncBatchNorm, whose state dict is BatchNorm2d's; a
data-parallel training run converts them (`nn.SyncBatchNorm.convert_sync_batchnorm`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.methods.common.ms_deform_attn import MSDeformAttn
from vis_bench.methods.common.vit import VisionTransformer, ViTConfig, vit_config
from vis_bench.methods.common.vit_adapter_parts import (
    TOKEN_STRIDES,
    VIT_STRIDE,
    Extractor,
    ExtractorInputs,
    SpatialPriorModule,
    extractor_inputs,
    tokens_to_maps,
)

#: output names and strides, as `D2VitAdapterDinoV2._out_feature_strides`
OUT_STRIDES = {"res2": 4, "res3": 8, "res4": 16, "res5": 32}
#: inputs must be padded to a multiple of this (`size_divisibility`)
SIZE_DIVISIBILITY = 32
#: how many ViT maps are added to the four outputs (one per interaction)
NUM_INTERACTIONS = len(OUT_STRIDES)
#: resize factors of the kept ViT maps (stride 16) to strides 4, 8, 16, 32
VIT_FEATURE_SCALES = (4.0, 2.0, 1.0, 0.5)


@dataclass(frozen=True)
class ViTAdapterConfig:
    """The ViT and the adapter's sizes, named after `get_adapter_args`' keys."""

    vit: ViTConfig
    #: inclusive [first, last] ViT block index of each interaction
    interaction_indexes: tuple[tuple[int, int], ...]
    conv_inplane: int = 64
    n_points: int = 4
    deform_num_heads: int = 16
    cffn_ratio: float = 0.25
    #: add the ViT's maps to the outputs (step 5 of the module docstring)
    add_vit_feature: bool = True
    #: two more extractors in the last interaction
    use_extra_extractor: bool = True
    #: FREEZE_VIT: the ViT's weights stay as loaded and it runs without autograd
    freeze_vit: bool = True
    #: WITH_CP: the extractors recompute their activations in the backward pass
    with_cp: bool = True

    @property
    def out_channels(self) -> dict[str, int]:
        """Channels of res2..res5 (the authors' `output_shape()`): the ViT's width for all."""
        return {name: self.vit.embed_dim for name in OUT_STRIDES}

    def __post_init__(self) -> None:
        if self.vit.patch_size != VIT_STRIDE:
            raise ValueError(f"the adapter needs {VIT_STRIDE}x{VIT_STRIDE} patches")
        if len(self.interaction_indexes) != NUM_INTERACTIONS:
            raise ValueError(f"the adapter has {NUM_INTERACTIONS} interactions")
        for first, last in self.interaction_indexes:
            if not 0 <= first <= last < self.vit.depth:
                raise ValueError(
                    f"interaction range [{first}, {last}] is not within the ViT's "
                    f"{self.vit.depth} blocks"
                )


#: the DINOv2 ViT-L as DVIS++ builds it (backbones.py:403-420) and `get_adapter_args("vitl")`
VIT_ADAPTER_L = ViTAdapterConfig(
    vit=vit_config(
        "vit_l",
        img_size=592,
        num_registers=0,
        pos_embed_layout="dinov2",
        mask_token=True,
    ),
    interaction_indexes=((0, 5), (6, 11), (12, 17), (18, 23)),
    deform_num_heads=16,
)


class InteractionBlock(nn.Module):
    """The extractor(s) after one range of ViT blocks (the authors'
    `InteractionBlockWithCls_Efficient` without the blocks themselves, which the adapter runs)."""

    def __init__(self, config: ViTAdapterConfig, extra_extractors: bool) -> None:
        super().__init__()
        dim = config.vit.embed_dim

        def extractor() -> Extractor:
            return Extractor(
                dim, config.deform_num_heads, config.n_points, config.cffn_ratio, config.with_cp
            )

        self.extractor = extractor()
        self.extra_extractors = (
            nn.Sequential(extractor(), extractor()) if extra_extractors else None
        )

    def forward(
        self, c: torch.Tensor, patches: torch.Tensor, inputs: ExtractorInputs
    ) -> torch.Tensor:
        c = self.extractor(c, patches, inputs)
        for extractor in self.extra_extractors or ():
            c = extractor(c, patches, inputs)
        return c


class ViTAdapter(nn.Module):
    """Normalised images [B, 3, H, W] (H, W multiples of 32) -> {res2..res5: [B, C, H/s, W/s]}.

    Parameters in the checkpoints' order: `level_embed`, `spm`, `interactions`, `up`,
    `norm1..4`, then the ViT as `vit_module` (registered last, as the authors do).
    """

    def __init__(self, config: ViTAdapterConfig = VIT_ADAPTER_L) -> None:
        super().__init__()
        self.config = config
        dim = config.vit.embed_dim
        self.level_embed = nn.Parameter(torch.zeros(len(TOKEN_STRIDES), dim))
        self.spm = SpatialPriorModule(config.conv_inplane, dim)
        last = len(config.interaction_indexes) - 1
        self.interactions = nn.Sequential(
            *(
                InteractionBlock(config, extra_extractors=config.use_extra_extractor and i == last)
                for i in range(len(config.interaction_indexes))
            )
        )
        self.up = nn.ConvTranspose2d(dim, dim, kernel_size=2, stride=2)
        self.norm1 = nn.BatchNorm2d(dim)
        self.norm2 = nn.BatchNorm2d(dim)
        self.norm3 = nn.BatchNorm2d(dim)
        self.norm4 = nn.BatchNorm2d(dim)
        self.vit_module = VisionTransformer(config.vit)
        self.reset_parameters()
        if config.freeze_vit:
            self.vit_module.requires_grad_(False)

    @property
    def out_channels(self) -> dict[str, int]:
        """Channels of res2..res5 (the authors' `output_shape()`)."""
        return self.config.out_channels

    def reset_parameters(self) -> None:
        """The authors' initialisation of the adapter (adapter.py:467-471, 491-504); the ViT
        keeps its own. A checkpoint overwrites all of it."""
        if self.level_embed.is_meta:
            return
        for part in (self.up, self.spm, self.interactions):
            part.apply(_init_adapter_layer)
        for module in self.modules():
            if isinstance(module, MSDeformAttn):
                module._reset_parameters()
        nn.init.normal_(self.level_embed)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        batch, _, height, width = images.shape
        if height % SIZE_DIVISIBILITY or width % SIZE_DIVISIBILITY:
            raise ValueError(
                f"ViT-Adapter input {height}x{width} is not padded to a multiple of "
                f"{SIZE_DIVISIBILITY} (pad bottom/right as detectron2's ImageList does)"
            )
        inputs = extractor_inputs(height, width, batch, images.device)
        c1, levels = self.spm(images)
        c = torch.cat([lvl + self.level_embed[i] for i, lvl in enumerate(levels)], dim=1)
        vit = self.vit_module
        vit_grad = torch.is_grad_enabled() and not self.config.freeze_vit
        with torch.set_grad_enabled(vit_grad):
            tokens, grid = vit.embed(images)
        vit_maps = []
        for (first, last), interaction in zip(
            self.config.interaction_indexes, self.interactions, strict=True
        ):
            with torch.set_grad_enabled(vit_grad):
                tokens = vit.run_blocks(tokens, first, last + 1)
            patches = tokens[:, vit.num_prefix_tokens :]
            c = interaction(c, patches, inputs)
            vit_maps.append(tokens_to_maps(patches, [grid])[0])
        c2, c3, c4 = tokens_to_maps(c, inputs.token_sizes)
        maps = [self.up(c2) + c1, c2, c3, c4]
        if self.config.add_vit_feature:
            maps = [
                m + _resize(v, s)
                for m, v, s in zip(maps, vit_maps, VIT_FEATURE_SCALES, strict=True)
            ]
        norms = (self.norm1, self.norm2, self.norm3, self.norm4)
        return {name: norm(m) for name, norm, m in zip(OUT_STRIDES, norms, maps, strict=True)}


def _resize(feature: torch.Tensor, scale: float) -> torch.Tensor:
    """Bilinear resize by a scale factor, as the authors call it (none for 1)."""
    if scale == 1.0:
        return feature
    return F.interpolate(feature, scale_factor=scale, mode="bilinear", align_corners=False)


def _init_adapter_layer(module: nn.Module) -> None:
    """Linear: truncated normal (std 0.02), zero bias; LayerNorm / BatchNorm: 1 and 0; conv and
    transposed conv: normal with std sqrt(2 / fan_out), zero bias."""
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.LayerNorm, nn.BatchNorm2d)):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels
        fan_out //= module.groups
        nn.init.normal_(module.weight, 0.0, math.sqrt(2.0 / fan_out))
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def adapter_key_list(config: ViTAdapterConfig = VIT_ADAPTER_L) -> list[list[Any]]:
    """`[key, shape]` of every state-dict entry, in order, built on the meta device (no
    weights): the format of the authors' key lists, without their `backbone.` prefix."""
    with torch.device("meta"):
        model = ViTAdapter(config)
    return [[key, list(value.shape)] for key, value in model.state_dict().items()]
