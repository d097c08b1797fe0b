"""VidEoMT's options: the released configs' values, and how they become the network's shape.

The released DINOv2 configs (`configs/ytvis19/videomt/dinov2/vit-{small,base,large}/`): timm's
`vit_{small,base,large}_patch14_reg4_dinov2` built with 16 x 16 patches and `IMG_SIZE 640` (a
stored 40 x 40 position grid), 200 queries, 40 classes (YouTube-VIS 2019), the queries in the last
3 blocks (`SEGMENTER_BLOCKS [9, 10, 11]`, ViT-S and ViT-B) or the last 4 (`[20, 21, 22, 23]`,
ViT-L), `MIN_SIZE_TEST 448` (544 in the OVIS configs).
"""

from __future__ import annotations

from dataclasses import dataclass

from vis_bench.api import InputError
from vis_bench.methods.common.vit import VIT_SIZES, vit_config
from vis_bench.methods.videomt.model import VidEoMTConfig

#: the class targets `absent_last_frame` can choose for an instance missing from a clip's end
ABSENT_LAST_FRAME = ("release", "own_category")
#: `SEGMENTER_BLOCKS` of the released configs, as "the last n blocks"
RELEASE_QUERY_BLOCKS = {"vit_s": 3, "vit_b": 3, "vit_l": 4}


@dataclass
class VidEoMTOptions:
    """The ViT-L YouTube-VIS 2019 release by default; the ViT's width, depth and heads can be
    set apart from its named size (reduced models)."""

    backbone: str = "vit_l"
    num_classes: int = 40
    num_queries: int = 200
    #: the authors' SEGMENTER_BLOCKS: the queries join at its first entry and the blocks up to
    #: its last entry see them; None: the backbone's release (the last 3 or 4 blocks)
    query_blocks: list[int] | None = None
    #: the input size the position embedding is stored for (IMG_SIZE)
    img_size: int = 640
    patch_size: int = 16
    embed_dim: int | None = None
    depth: int | None = None
    num_heads: int | None = None
    #: LayerScale's initial value (DINOv2's 1e-5; a checkpoint overwrites it, so it matters only
    #: to a ViT trained from scratch)
    layer_scale_init: float | None = None
    #: the test resize's shorter side (MIN_SIZE_TEST: 448, 544 for OVIS)
    min_size_test: int = 448
    #: results per video (`inference_video_vis`'s MAX_NUM)
    top_k: int = 10
    #: training only: the class target of an instance absent from the clip's last frame.
    #: "release": the authors' loader gives it a dummy category, which their matcher reads as
    #: "no object" and their loss as the last class; "own_category": its own category (see
    #: docs/methods/videomt.md, The tiny model)
    absent_last_frame: str = "release"
    #: training only: masked attention in the query blocks, each block's mask dropped per query
    #: with a probability that rises from 0 to 1 (poly 0.9) over that block's [start, end]
    #: fractions of the training steps, as EoMT trains the image segmenter the release starts
    #: from; None: none (the release reads no annealing setting)
    attn_mask_annealing: list[list[float]] | None = None

    def check(self, where: str, source: str) -> None:
        """Reject a backbone name or query-block list the network cannot be built with."""
        prefix = f"{where}." if where else ""
        if self.backbone not in VIT_SIZES:
            raise InputError(
                f"unknown backbone {self.backbone!r}; one of {sorted(VIT_SIZES)}",
                path=source,
                field=f"{prefix}backbone",
            )
        if self.absent_last_frame not in ABSENT_LAST_FRAME:
            raise InputError(
                f"unknown value {self.absent_last_frame!r}; one of {', '.join(ABSENT_LAST_FRAME)}",
                path=source,
                field=f"{prefix}absent_last_frame",
            )
        try:
            network = self.network()
        except ValueError as err:
            raise InputError(str(err), path=source, field=f"{prefix}query_blocks") from err
        windows = self.attn_mask_annealing
        if windows is not None and (
            len(windows) != len(network.query_blocks)
            or any(len(w) != 2 or not 0 <= w[0] < w[1] <= 1 for w in windows)
        ):
            raise InputError(
                f"one [start, end] pair per query block ({len(network.query_blocks)}), "
                f"fractions of the steps with 0 <= start < end <= 1, got {windows}",
                path=source,
                field=f"{prefix}attn_mask_annealing",
            )

    def network(self) -> VidEoMTConfig:
        """The network these options build."""
        overrides = {
            name: value
            for name in ("embed_dim", "depth", "num_heads")
            if (value := getattr(self, name)) is not None
        }
        if self.layer_scale_init is not None:
            overrides["init_values"] = self.layer_scale_init
        vit = vit_config(
            self.backbone, img_size=self.img_size, patch_size=self.patch_size, **overrides
        )
        blocks = self.query_blocks
        if blocks is None:
            last = RELEASE_QUERY_BLOCKS.get(self.backbone, 3)
            blocks = list(range(max(0, vit.depth - last), vit.depth))
        return VidEoMTConfig(
            vit=vit,
            num_classes=self.num_classes,
            num_queries=self.num_queries,
            query_blocks=tuple(int(b) for b in blocks),
        )
