"""IFC network (`detr.*` names) and the full model wrapper whose state dict equals the authors'.

Structure (ifc.md §3-7): detectron2 ResNet -> 1x1 input projection of res5 -> IFC transformer
(encoder with memory tokens, clip decoder) -> class MLP and an FPN-like spatial decoder whose
per-pixel features are dotted with a per-query dynamic weight (a 1x1 conv without bias).
The forward after the backbone has two stages: `forward_frame_maps`, what each frame gives alone
(the 1x1 projection of res5, its position encoding, the mask head's 1x1 lateral maps of res4 and
res3), and `forward_clip`, everything that mixes the clip's frames. A runner that keeps frames
across overlapping clips computes the first once per frame.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.methods.common.detectron2_resnet import ResNetD2
from vis_bench.methods.common.fast_paths import active_paths
from vis_bench.methods.common.fused_ops import conv_block
from vis_bench.methods.common.losses import NoObjectWeight
from vis_bench.methods.common.mlp import MLP
from vis_bench.methods.common.tiny_backbone import TinyResNet, stage_channels
from vis_bench.methods.ifc.transformer import COMM_VARIANTS, IFCTransformer

#: the released backbones (detectron2 ResNet): depth and STRIDE_IN_1X1 of configs/base_ytvis.yaml
#: (torchvision-initialised R-50) and configs/R101_ytvis.yaml (MSRA-initialised R-101)
RESNET_RELEASES = {"resnet50": (50, False), "resnet101": (101, True)}
#: "resnet": a detectron2 ResNet of `depth` (default 50) with `stride_in_1x1` (default False)
BACKBONES = (*RESNET_RELEASES, "resnet", "tiny")


@dataclass
class IFCConfig:
    """Network hyper-parameters; defaults = configs/base_ytvis.yaml (R-50, YTVIS-2019)."""

    num_classes: int = 40
    hidden_dim: int = 256
    nheads: int = 8
    dim_feedforward: int = 2048
    enc_layers: int = 3
    dec_layers: int = 3
    num_memory_bus: int = 8
    num_queries: int = 100
    dropout: float = 0.1
    comm: str = "ifc"
    #: a released backbone (resnet50, resnet101: depth and stride placement follow its config),
    #: "resnet" (detectron2 ResNet of `depth`) or "tiny" (methods/common/tiny_backbone.py)
    backbone: str = "resnet50"
    depth: int | None = None  # None: the backbone's own (50 for "resnet")
    stride_in_1x1: bool | None = None  # None: the backbone's own (False for "resnet")
    no_object_weight: float = 0.1

    def __post_init__(self) -> None:
        if self.comm not in COMM_VARIANTS:
            raise ValueError(f"comm must be one of {COMM_VARIANTS}, got {self.comm!r}")
        if self.backbone not in BACKBONES:
            raise ValueError(
                f"backbone must be one of {BACKBONES}, got {self.backbone!r} "
                "(IFC was released with ResNet-50 and ResNet-101 only)"
            )
        depth, stride_in_1x1 = RESNET_RELEASES.get(self.backbone, (50, False))
        if self.backbone in RESNET_RELEASES and self.depth not in (None, depth):
            raise ValueError(f"backbone {self.backbone} has depth {depth}, not {self.depth}")
        self.depth = depth if self.depth is None else self.depth
        self.stride_in_1x1 = stride_in_1x1 if self.stride_in_1x1 is None else self.stride_in_1x1

    def backbone_channels(self) -> dict[str, int]:
        """Channels of res3, res4, res5 (what the input projection and mask head read)."""
        if self.backbone == "tiny":
            return dict(zip(("res3", "res4", "res5"), stage_channels(), strict=True))
        return {k: ResNetD2.channels[k] for k in ("res3", "res4", "res5")}


class PositionEmbeddingSine(nn.Module):
    """DETR sine encoding, per frame and 2-D only (IFC has no temporal encoding)."""

    def __init__(self, num_pos_feats: int, temperature: float = 10000.0) -> None:
        super().__init__()
        self.num_pos_feats = num_pos_feats
        self.temperature = temperature
        self.scale = 2 * math.pi

    def forward(self, mask: torch.Tensor) -> torch.Tensor:
        """mask `[T, h, w]` (True = padding) -> pos `[T, 2F, h, w]`."""
        not_mask = ~mask
        y = not_mask.cumsum(1, dtype=torch.float32)
        x = not_mask.cumsum(2, dtype=torch.float32)
        eps = 1e-6
        y = y / (y[:, -1:, :] + eps) * self.scale
        x = x / (x[:, :, -1:] + eps) * self.scale
        dim_t = torch.arange(self.num_pos_feats, dtype=torch.float32, device=mask.device)
        dim_t = self.temperature ** (
            2 * torch.div(dim_t, 2, rounding_mode="floor") / self.num_pos_feats
        )
        px = x[..., None] / dim_t
        py = y[..., None] / dim_t
        px = torch.stack((px[..., 0::2].sin(), px[..., 1::2].cos()), dim=4).flatten(3)
        py = torch.stack((py[..., 0::2].sin(), py[..., 1::2].cos()), dim=4).flatten(3)
        return torch.cat((py, px), dim=3).permute(0, 3, 1, 2)


class MaskedBackbone(nn.Module):
    """Holds the ResNet as `.backbone` (the checkpoint prefix `detr.backbone.0.backbone.`)."""

    def __init__(self, cfg: IFCConfig) -> None:
        super().__init__()
        if cfg.backbone == "tiny":
            self.backbone: nn.Module = TinyResNet()
        else:
            self.backbone = ResNetD2(cfg.depth, cfg.stride_in_1x1)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.backbone(images)


class DepthwiseSeparableConv2d(nn.Module):
    """detectron2 block: depthwise kxk (+bias) -> ReLU -> pointwise 1x1 (+bias) -> ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int, padding: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, kernel, padding=padding, groups=cin)
        self.pointwise = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        paths = active_paths(self)
        x = conv_block(x, self.depthwise, paths, relu=True)
        return conv_block(x, self.pointwise, paths, relu=True)


class MaskHead(nn.Module):
    """Spatial decoder over encoded res5 tokens + res4 + res3, then the dynamic 1x1 mask conv."""

    def __init__(self, dim: int, fpn_dims: tuple[int, int] = (1024, 512)) -> None:
        # fpn_dims: channels of res4 and res3
        super().__init__()
        self.lay1 = nn.Conv2d(dim, dim, 3, padding=1)
        self.gn1 = nn.GroupNorm(32, dim)
        self.lay2 = nn.Conv2d(dim, dim, 3, padding=1)
        self.gn2 = nn.GroupNorm(32, dim)
        self.lay3 = nn.Conv2d(dim, dim, 3, padding=1)
        self.gn3 = nn.GroupNorm(32, dim)
        self.out_lay = DepthwiseSeparableConv2d(dim, dim, 5, padding=2)
        self.adapter1 = nn.Conv2d(fpn_dims[0], dim, 1)
        self.adapter2 = nn.Conv2d(fpn_dims[1], dim, 1)
        self.convert_to_weight = MLP(dim, dim, dim, 3)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_uniform_(m.weight, a=1)
                nn.init.constant_(m.bias, 0)

    def laterals(self, res4: torch.Tensor, res3: torch.Tensor) -> dict[str, torch.Tensor]:
        """The FPN's lateral 1x1 maps of res4 and res3 `[T, C, h, w]`: each frame's own, so a
        clip may take them from frames computed before it."""
        paths = active_paths(self)
        return {
            "lateral4": conv_block(res4, self.adapter1, paths),
            "lateral3": conv_block(res3, self.adapter2, paths),
        }

    def pixel_features(
        self, x: torch.Tensor, lateral4: torch.Tensor, lateral3: torch.Tensor
    ) -> torch.Tensor:
        """Encoded maps `[T, C, h32, w32]` -> non-negative per-pixel features `[T, C, h8, w8]`.

        The FPN sums are the authors' `adapter(res) + x` with the adapter's output computed
        before (`laterals`); the sum takes the lateral map's layout, as the fused convolution
        that added `x` gave it (the next convolution's kernel, and its rounding, follow it).
        """
        paths = active_paths(self)
        x = self.gn1(conv_block(x, self.lay1, paths))
        x = lateral4 + F.interpolate(x, size=lateral4.shape[-2:], mode="nearest")
        x = self.gn2(conv_block(x, self.lay2, paths))
        x = lateral3 + F.interpolate(x, size=lateral3.shape[-2:], mode="nearest")
        x = F.relu(self.gn3(conv_block(x, self.lay3, paths)), inplace=paths.fuse_conv)
        return self.out_lay(x)

    def forward(
        self,
        encoded: torch.Tensor,
        lateral4: torch.Tensor,
        lateral3: torch.Tensor,
        hs: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Mask logits `[L, 1, Q, T, h8, w8]` (+ pixel features and dynamic weights for tracing).

        hs `[L, 1, Q, C]`: the same per-query weights serve every frame of the clip.
        """
        feats = self.pixel_features(encoded, lateral4, lateral3)
        weights = self.convert_to_weight(hs)
        masks = torch.einsum("lqc,tchw->lqthw", weights[:, 0], feats).unsqueeze(1)
        return masks, feats, weights


class IFCNet(nn.Module):
    """The authors' `IFC` module (stored under `detr.` in checkpoints)."""

    def __init__(self, cfg: IFCConfig, with_backbone: bool = True) -> None:
        super().__init__()
        self.cfg = cfg
        c = cfg.hidden_dim
        self.transformer = IFCTransformer(
            cfg.comm,
            c,
            cfg.nheads,
            cfg.dim_feedforward,
            cfg.enc_layers,
            cfg.dec_layers,
            cfg.num_memory_bus,
            cfg.dropout,
        )
        self.class_embed = MLP(c, c, cfg.num_classes + 1, 2)
        self.query_embed = nn.Embedding(cfg.num_queries, c)
        channels = cfg.backbone_channels()
        self.input_proj = nn.Conv2d(channels["res5"], c, kernel_size=1)
        if with_backbone:
            self.backbone = nn.Sequential(MaskedBackbone(cfg))
        self.position = PositionEmbeddingSine(c // 2)
        self.mask_head = MaskHead(c, (channels["res4"], channels["res3"]))

    def forward_pre_backbone(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Normalised frames `[L, 3, H, W]` -> res3/res4/res5 (run once per video)."""
        return self.backbone[0](images)

    def forward_post_backbone(
        self,
        features: dict[str, torch.Tensor],
        mask: torch.Tensor | None = None,
        return_aux: bool = False,
        mask_queries: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> dict[str, object]:
        """One clip (batch 1): features `[T, C_l, h_l, w_l]` -> raw outputs as in the authors' code.

        `return_aux` follows the training code path (deep supervision outputs, `is_train=True`).
        `mask_queries(pred_logits [1, Q, K+1])` -> query indices: masks are computed only for
        those queries (`pred_masks` [1, n, T, h, w], the indices under "mask_queries").
        """
        maps = self.forward_frame_maps(features, mask)
        return self.forward_clip(maps, return_aux=return_aux, mask_queries=mask_queries)

    def forward_frame_maps(
        self, features: dict[str, torch.Tensor], mask: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """What each frame gives alone, from res3/res4/res5 `[T, C_l, h_l, w_l]` and the res5
        padding mask `[T, h32, w32]` (None: no padding): the projected res5 (`src`), its
        position encoding (`pos`), the mask and the mask head's lateral maps, all `C` wide."""
        res5 = features["res5"]
        t, _, h, w = res5.shape
        if mask is None:
            mask = torch.zeros((t, h, w), dtype=torch.bool, device=res5.device)
        return {
            "src": conv_block(res5, self.input_proj, active_paths(self)),
            "pos": self.position(mask).to(res5.dtype),
            "mask": mask,
            **self.mask_head.laterals(features["res4"], features["res3"]),
        }

    def forward_clip(
        self,
        maps: dict[str, torch.Tensor],
        return_aux: bool = False,
        mask_queries: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> dict[str, object]:
        """The clip's frame maps (`forward_frame_maps`, `[T, ...]`) -> the raw outputs of
        `forward_post_backbone`: the transformer, the class MLP and the mask head."""
        hs, encoded = self.transformer(
            maps["src"],
            maps["mask"],
            self.query_embed.weight,
            maps["pos"],
            return_intermediate=return_aux,
        )
        hs = hs.transpose(1, 2)  # [L, 1, Q, C]
        logits = self.class_embed(hs)  # [L, 1, Q, K+1]
        kept = None if mask_queries is None else mask_queries(logits[-1])
        hs_masks = hs if kept is None else hs[:, :, kept]
        masks, _, _ = self.mask_head(encoded, maps["lateral4"], maps["lateral3"], hs_masks)
        out: dict[str, object] = {"pred_logits": logits[-1], "pred_masks": masks[-1]}
        if kept is not None:
            out["mask_queries"] = kept
        out["aux_outputs"] = [
            {"pred_logits": a, "pred_masks": b}
            for a, b in zip(logits[:-1], masks[:-1], strict=True)
        ]
        return out


class IFCModel(nn.Module):
    """Root module: `detr` + `criterion`, i.e. exactly the authors' `Ifc` state-dict layout."""

    def __init__(self, cfg: IFCConfig | None = None, with_backbone: bool = True) -> None:
        super().__init__()
        cfg = cfg or IFCConfig()
        self.cfg = cfg
        self.detr = IFCNet(cfg, with_backbone)
        self.criterion = NoObjectWeight(cfg.num_classes, cfg.no_object_weight)
