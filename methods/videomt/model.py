"""VidEoMT's network: a DINOv2 ViT whose last blocks also carry object queries.

The authors' `VidEoMT_CLASS` (tue-mps/videomt `videomt/modeling/backbone/videomt.py`): every
frame runs the ViT's first blocks alone; then Q queries are put in front of `[cls, registers,
patches]` and the query blocks (the last 3 or 4) run on the longer sequence. The ViT's final norm
feeds the heads: class logits from the queries, mask logits as the dot product of each query's
mask embedding (three Linear layers with GELU between them) with the patch tokens upscaled to
stride 4 (ConvTranspose2d k2 s2 -> GELU -> depthwise 3x3 -> LayerNorm2d, twice for 16-pixel
patches). Identity is carried by the queries: frame 0 uses the learnt `q.weight`, frame t the
RAW (un-normed) last-block queries of frame t-1 through `query_updater`, plus `q.weight`.

The heads and upscale blocks are the `eomt` family's (`methods/families/eomt/heads.py`); the
queries' propagation is VidEoMT's own. Module names equal the authors' (`backbone.encoder.backbone.*` is timm's ViT), so a released
checkpoint's `"model"` dict loads strictly, `attn_mask_probs` and `criterion.empty_weight`
included.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.methods.common.losses import NoObjectWeight
from vis_bench.methods.common.vit import VisionTransformer, ViTConfig
from vis_bench.methods.families.eomt.heads import mask_embedding, query_predictions, upscale_blocks

#: the weight of the no-object class in the classification loss (Mask2Former's eos_coef)
NO_OBJECT_WEIGHT = 0.1


@dataclass(frozen=True)
class VidEoMTConfig:
    """The network's shape: its ViT, classes, queries and the blocks that see them.

    `query_blocks` is the authors' SEGMENTER_BLOCKS: the queries join before block
    `query_blocks[0]` and blocks up to `query_blocks[-1]` run on them (only the first and last
    entries are read; `attn_mask_probs` has one entry per listed block).
    """

    vit: ViTConfig
    num_classes: int = 40
    num_queries: int = 200
    query_blocks: tuple[int, ...] = (9, 10, 11)

    def __post_init__(self) -> None:
        blocks = self.query_blocks
        if not blocks or not 0 <= blocks[0] <= blocks[-1] < self.vit.depth:
            raise ValueError(
                f"query_blocks must be ascending block indices in 0..{self.vit.depth - 1} "
                f"(the ViT's depth is {self.vit.depth}), got {list(blocks)}"
            )

    @property
    def first_query_block(self) -> int:
        return self.query_blocks[0]

    @property
    def query_blocks_stop(self) -> int:
        return self.query_blocks[-1] + 1


class Encoder(nn.Module):
    """The authors' ViT wrapper: only its `backbone` (the timm model) holds weights."""

    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        self.backbone = VisionTransformer(config)


@dataclass
class FrameOutput:
    """One frame's predictions: class logits [B, Q, K+1], mask logits [B, Q, 4Hg, 4Wg], and the
    queries for the next frame [B, Q, C]."""

    class_logits: torch.Tensor
    mask_logits: torch.Tensor
    next_queries: torch.Tensor


class VidEoMTNetwork(nn.Module):
    """`VidEoMT_CLASS` at inference: per-frame tokens, then the query blocks and the heads."""

    def __init__(self, config: VidEoMTConfig) -> None:
        super().__init__()
        self.config = config
        dim = config.vit.embed_dim
        # unused at inference (the annealing of masked attention in training); in checkpoints
        self.register_buffer("attn_mask_probs", torch.ones(len(config.query_blocks)))
        self.encoder = Encoder(config.vit)
        self.q = nn.Embedding(config.num_queries, dim)
        self.query_updater = nn.Linear(dim, dim)
        self.class_head = nn.Linear(dim, config.num_classes + 1)
        self.mask_head = mask_embedding(dim)
        self.upscale = upscale_blocks(dim, config.vit.patch_size)

    @property
    def vit(self) -> VisionTransformer:
        return self.encoder.backbone

    def frame_tokens(self, image: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """One padded, normalised frame [1, 3, H, W] -> its tokens after the blocks before the
        query blocks [1, P + Hg*Wg, C] and its token grid."""
        tokens, grid = self.vit.embed(image)
        return self.vit.run_blocks(tokens, 0, self.config.first_query_block), grid

    def initial_queries(self, batch: int = 1) -> torch.Tensor:
        """The queries of a video's first frame: the learnt `q.weight` [B, Q, C]."""
        return self.q.weight[None].expand(batch, -1, -1)

    def propagate(self, raw_queries: torch.Tensor) -> torch.Tensor:
        """The next frame's queries from this frame's raw last-block queries."""
        return self.query_updater(raw_queries) + self.q.weight[None]

    def frame(
        self, tokens: torch.Tensor, grid: tuple[int, int], queries: torch.Tensor
    ) -> FrameOutput:
        """The query blocks on `[queries, tokens]`, the heads on the final norm, and the
        propagated queries."""
        num_queries = queries.shape[1]
        x = torch.cat([queries, tokens], dim=1)
        x = self.vit.run_blocks(x, self.config.first_query_block, self.config.query_blocks_stop)
        class_logits, mask_logits = self.predict(self.vit.norm(x), grid, num_queries)
        return FrameOutput(class_logits, mask_logits, self.propagate(x[:, :num_queries]))

    def predict(
        self, x: torch.Tensor, grid: tuple[int, int], num_queries: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Normed `[queries, prefix, patches]` -> class logits and stride-4 mask logits."""
        return query_predictions(
            x,
            grid,
            num_queries,
            self.vit.num_prefix_tokens,
            self.class_head,
            self.mask_head,
            self.upscale,
        )


class PatchFeatureMaps(nn.Module):
    """The ViT seen as an image backbone (`MethodPlugin.backbone_module`): all its blocks and the
    final norm on the image alone. Two maps [B, C, Hg, Wg] of patch tokens: "query_input", the
    tokens the first query block reads (layer-normed without weights), and "patches", the final
    norm's. A dense pretraining (`run_bench.py pretrain`) supervises both: the queries only ever
    read blocks before the last, so the category has to be there, not formed in the last block
    alone. `backbone_init` fills the ViT under its own key names behind `vit.`."""

    def __init__(self, vit: VisionTransformer, first_query_block: int) -> None:
        super().__init__()
        self.vit = vit
        self.first_query_block = first_query_block

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        tokens, grid = self.vit.embed(images)
        tap = self.vit.run_blocks(tokens, 0, self.first_query_block)
        x = self.vit.norm(self.vit.run_blocks(tap, self.first_query_block))
        tap = F.layer_norm(tap, tap.shape[-1:])
        start = self.vit.num_prefix_tokens
        return {
            name: t[:, start:].transpose(1, 2).reshape(t.shape[0], -1, *grid)
            for name, t in (("query_input", tap), ("patches", x))
        }


class VidEoMTModel(nn.Module):
    """The whole model as checkpoints store it: `backbone` (the network) and `criterion`."""

    def __init__(self, config: VidEoMTConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = VidEoMTNetwork(config)
        self.criterion = NoObjectWeight(config.num_classes, NO_OBJECT_WEIGHT)

    def forward(
        self, frames: torch.Tensor, queries: torch.Tensor | None = None
    ) -> tuple[list[FrameOutput], torch.Tensor]:
        """Padded frames [T, 3, H, W], one at a time (the released window of 1), from
        `queries` (None: a video's first frame) -> the frames' outputs and the queries for the
        frame after the last."""
        net = self.backbone
        queries = net.initial_queries() if queries is None else queries
        outputs = []
        for image in frames.split(1):
            tokens, grid = net.frame_tokens(image)
            out = net.frame(tokens, grid, queries)
            outputs.append(out)
            queries = out.next_queries
        return outputs, queries
