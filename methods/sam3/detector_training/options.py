"""The sizes and prompts of a trainable SAM 3 detector, as one options dataclass (what a
training config's `options:` sets and a checkpoint records). The defaults are the tiny model:
the released detector's modules at a fraction of their sizes, for the synthetic data's frames."""

from __future__ import annotations

from dataclasses import dataclass, field

from vis_bench.api import InputError
from vis_bench.methods.sam3.detector import DetectorSizes
from vis_bench.methods.sam3.options import detector_sizes_of

#: the synthetic dataset's category names (ids 1..8), the tiny model's prompts
SYNTHETIC_PROMPTS = (
    "striped_disc", "dotted_disc", "checker_box", "striped_box",
    "solid_triangle", "dotted_star", "checker_ring", "solid_cross",
)  # fmt: skip


@dataclass
class Sam3DetectorOptions:
    """Network sizes (released model in brackets) and the prompts, one per category."""

    image: int = 144  # square input side (1008)
    patch: int = 8  # (14)
    vit_dim: int = 96  # (1024)
    vit_depth: int = 4  # (32)
    vit_heads: int = 4  # (16)
    vit_mlp_ratio: float = 4.0  # (4.625)
    window: int = 9  # windowed blocks' tile side in tokens (24)
    global_blocks: list[int] = field(default_factory=lambda: [1, 3])  # ([7, 15, 23, 31])
    text_width: int = 32  # (1024)
    text_heads: int = 2  # (16)
    text_layers: int = 2  # (24)
    context: int = 16  # prompt tokens (32)
    d_model: int = 64  # (256)
    heads: int = 4  # (8)
    ffn: int = 256  # (2048)
    geometry_layers: int = 1  # (3)
    encoder_layers: int = 2  # (6)
    decoder_layers: int = 3  # (6)
    queries: int = 20  # (200)
    #: the text prompts, prompt p standing for dataset category `category_ids[p]`
    prompts: list[str] = field(default_factory=lambda: list(SYNTHETIC_PROMPTS))
    category_ids: list[int] = field(default_factory=lambda: list(range(1, 9)))
    #: a detection is kept above this joint probability (the release's 0.5)
    score_threshold: float = 0.5
    #: train the ViT trunk (false: it stays as `backbone_init` filled it, so a tracker trained
    #: on the same pretrained trunk at the same time reads the features it was trained on)
    train_trunk: bool = True
    #: the text encoder's rate relative to the optimiser's `lr` (None: the released share,
    #: 5e-5 / 8e-4, for a pretrained encoder; 1.0 for one trained from scratch)
    text_lr_mult: float | None = None

    def check(self, where: str, source: str) -> None:
        """The sizes must tile: the grid into windows, widths into heads, one id per prompt."""
        prefix = f"{where}." if where else ""
        problems = [
            (self.image % self.patch == 0, "image", "a multiple of patch"),
            ((self.image // self.patch) % self.window == 0, "window", "must divide the grid"),
            (self.vit_dim % (4 * self.vit_heads) == 0, "vit_heads", "vit_dim / heads % 4 == 0"),
            (self.d_model % 8 == 0 and self.d_model % self.heads == 0, "d_model", "x8, x heads"),
            (all(0 <= b < self.vit_depth for b in self.global_blocks), "global_blocks", "< depth"),
            (len(self.prompts) == len(self.category_ids), "category_ids", "one per prompt"),
            (len(self.prompts) > 0, "prompts", "at least one prompt"),
            (self.text_lr_mult is None or self.text_lr_mult > 0, "text_lr_mult", "> 0 or null"),
        ]
        for ok, key, message in problems:
            if not ok:
                raise InputError(message, path=source, field=f"{prefix}{key}")

    def sizes(self) -> DetectorSizes:
        return detector_sizes_of(self, self.image, projection=self.text_width)
