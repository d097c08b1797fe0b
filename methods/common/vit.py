"""A plain DINOv2 Vision Transformer, under the module names timm and the official DINOv2 share.

The released VidEoMT checkpoints hold timm's `vit_{small,base,large}_patch14_reg4_dinov2` under
timm's key names (`cls_token`, `reg_token`, `pos_embed`, `patch_embed.proj`, `blocks.N.{norm1,
attn.qkv, attn.proj, ls1.gamma, norm2, mlp.fc1, mlp.fc2, ls2.gamma}`, `norm`), so these names are
kept and a checkpoint loads strictly without timm. DVIS++'s ViT-Adapter (vit_adapter.py) holds
the official DINOv2 model under the same block names; it differs in three places the
configuration selects, so both load strictly into this one class: no registers
(`num_registers=0` registers no `reg_token`), the masked-modelling `mask_token` [1, C]
(`mask_token=True`; never read at inference) and the position embedding's layout
(`pos_embed_layout="dinov2"`, below). What decides parity with timm
(tests/fixtures/golden/videomt/README.md):

* the patch size is a parameter: VidEoMT builds its "patch14" models with 16 x 16 patches;
* the absolute position embedding is stored for the training grid, has no entries for the cls
  and register tokens, and is resampled to each input's token grid by bicubic interpolation
  with antialiasing in float32 (timm's `resample_abs_pos_embed`), unchanged only when the new
  grid is square and has as many tokens; it is added to the patch tokens only, and the token
  order is `[cls, registers, patches]`;
* pre-norm blocks with LayerScale on both residual branches, LayerNorm eps 1e-6, exact GELU,
  and attention `softmax((q k^T) * scale) v` through PyTorch's fused
  `scaled_dot_product_attention` (timm's `fused_attn` path). The authors' README runs timm with
  `TIMM_FUSED_ATTN=0` (the products by hand); the fixture set measured the two paths apart by
  float noise far inside the parity tolerances, and the fused kernel never materialises the
  N x N attention matrix, so it is the faster one on every device.

The "dinov2" layout (the official `DinoVisionTransformer.interpolate_pos_encoding`, as DVIS++
builds it: `backbones_vitAdapter/backbones.py:179-203` of zhang-tao-whu/DVIS_Plus@c0eb2495):
the stored embedding has a leading entry for the cls token ([1, 1 + h*w, C]) that is added to
it; the patch part is resampled in float32 by bicubic interpolation without antialiasing, and
the output grid is given as a scale factor ((H + 0.1) / h, (W + 0.1) / w), which (not the
size) sets where the output samples fall; unchanged for an equal square grid.

A model that puts its own tokens in front of the sequence before the last blocks (VidEoMT's
queries) runs the blocks in two phases with `run_blocks`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.methods.common.fast_paths import active_paths
from vis_bench.methods.common.packed_linear import packed_linear

LAYER_NORM_EPS = 1e-6


@dataclass(frozen=True)
class ViTConfig:
    """Width, depth and heads of the ViT, its patch size and its stored position grid."""

    embed_dim: int
    depth: int
    num_heads: int
    mlp_ratio: float = 4.0
    patch_size: int = 16
    #: the input size the position embedding is stored for (grid = img_size // patch_size)
    img_size: int = 640
    #: register tokens after the cls token (0: no `reg_token` parameter)
    num_registers: int = 4
    #: LayerScale's initial value (timm's DINOv2 definitions: 1e-5)
    init_values: float = 1e-5
    #: "timm" (patch grid only, antialiased resampling to a size) or "dinov2" (a leading cls
    #: entry, resampling by a scale factor without antialiasing); see the module docstring
    pos_embed_layout: str = "timm"
    #: DINOv2's masked-modelling token `mask_token` [1, C], kept so checkpoints holding it load
    mask_token: bool = False

    def __post_init__(self) -> None:
        if self.pos_embed_layout not in POS_EMBED_LAYOUTS:
            raise ValueError(
                f"pos_embed_layout must be one of {POS_EMBED_LAYOUTS}, "
                f"got {self.pos_embed_layout!r}"
            )

    @property
    def grid(self) -> tuple[int, int]:
        side = self.img_size // self.patch_size
        return side, side

    @property
    def pos_embed_tokens(self) -> int:
        """Entries of the stored position embedding: the grid, plus the cls entry in "dinov2"."""
        height, width = self.grid
        return height * width + (self.pos_embed_layout == "dinov2")


#: where the position embedding lives and how it is resampled (module docstring)
POS_EMBED_LAYOUTS = ("timm", "dinov2")
#: what the official DINOv2 adds to the target grid before making it a scale factor
DINOV2_INTERPOLATE_OFFSET = 0.1

#: timm's vit_{small,base,large}_patch14_reg4_dinov2: (embed_dim, depth, num_heads)
VIT_SIZES = {"vit_s": (384, 12, 6), "vit_b": (768, 12, 12), "vit_l": (1024, 24, 16)}


def vit_config(size: str, **overrides: int | float | str | bool) -> ViTConfig:
    """The DINOv2 ViT of a named size (`vit_s`, `vit_b`, `vit_l`) with optional overrides."""
    embed_dim, depth, num_heads = VIT_SIZES[size]
    values = {"embed_dim": embed_dim, "depth": depth, "num_heads": num_heads, **overrides}
    return ViTConfig(**values)


def resample_position_embedding(
    pos_embed: torch.Tensor, new_size: tuple[int, int], old_size: tuple[int, int]
) -> torch.Tensor:
    """[1, h*w, C] stored for grid `old_size` -> [1, H*W, C] for grid `new_size`.

    Bicubic with antialiasing in float32, back to the stored dtype; returned as it is when the
    new grid is square and has as many tokens (timm's rule, which a non-square grid of equal
    count does not meet).
    """
    height, width = new_size
    if height * width == pos_embed.shape[1] and height == width:
        return pos_embed
    dim = pos_embed.shape[-1]
    grid = pos_embed.float().reshape(1, old_size[0], old_size[1], dim).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(height, width), mode="bicubic", antialias=True)
    return grid.permute(0, 2, 3, 1).reshape(1, height * width, dim).to(pos_embed.dtype)


def resample_position_embedding_dinov2(
    pos_embed: torch.Tensor, new_size: tuple[int, int], old_size: tuple[int, int]
) -> torch.Tensor:
    """[1, 1 + h*w, C] (cls entry first) stored for grid `old_size` -> [1, 1 + H*W, C].

    The official DINOv2 rule: returned as it is for an equal square grid; otherwise the patch
    entries are resampled in float32, bicubic without antialiasing, with the output grid asked
    for as the scale factor ((H + 0.1) / h, (W + 0.1) / w): the kernel then maps output to input
    coordinates by that factor, not by h / H, so asking for the size instead would move every
    sample. The result is cast back to the stored dtype.
    """
    height, width = new_size
    if height * width == pos_embed.shape[1] - 1 and height == width:
        return pos_embed
    dim = pos_embed.shape[-1]
    stored = pos_embed.float()
    grid = stored[:, 1:].reshape(1, old_size[0], old_size[1], dim).permute(0, 3, 1, 2)
    scale = (
        (height + DINOV2_INTERPOLATE_OFFSET) / old_size[0],
        (width + DINOV2_INTERPOLATE_OFFSET) / old_size[1],
    )
    grid = F.interpolate(grid, scale_factor=scale, mode="bicubic")
    if tuple(grid.shape[-2:]) != (height, width):
        raise ValueError(f"resampled grid {tuple(grid.shape[-2:])} is not {new_size}")
    patches = grid.permute(0, 2, 3, 1).reshape(1, height * width, dim)
    return torch.cat([stored[:, :1], patches], dim=1).to(pos_embed.dtype)


class PositionResample(nn.Module):
    """The resampled position embedding as a module's output (so hooks can read it)."""

    def __init__(self, old_size: tuple[int, int], layout: str = "timm") -> None:
        super().__init__()
        self.old_size = old_size
        self.layout = layout

    def forward(self, pos_embed: torch.Tensor, new_size: tuple[int, int]) -> torch.Tensor:
        if self.layout == "dinov2":
            return resample_position_embedding_dinov2(pos_embed, new_size, self.old_size)
        return resample_position_embedding(pos_embed, new_size, self.old_size)


class PrefixTokens(nn.Module):
    """`[cls, registers, patches + position]`: the embedded sequence the blocks read."""

    def forward(
        self, patches: torch.Tensor, cls_token: torch.Tensor, reg_token: torch.Tensor | None
    ) -> torch.Tensor:
        batch = patches.shape[0]
        prefix = [cls_token.expand(batch, -1, -1)]
        if reg_token is not None:
            prefix.append(reg_token.expand(batch, -1, -1))
        return torch.cat([*prefix, patches], dim=1)


class PatchEmbed(nn.Module):
    """Non-overlapping patches -> tokens laid out NHWC [B, Hg, Wg, C] (timm's dynamic size)."""

    def __init__(self, patch_size: int, embed_dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).permute(0, 2, 3, 1)


class Attention(nn.Module):
    """Multi-head self-attention from one fused qkv projection."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim**-0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        """`attn_mask`: boolean [B, 1, N, N], True where a token may attend (training's masked
        attention; None at inference)."""
        batch, tokens, dim = x.shape
        qkv = packed_linear(x, self.qkv, active_paths(self).lean_linear)
        qkv = qkv.reshape(batch, tokens, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each [B, heads, N, head_dim]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, scale=self.scale)
        return self.proj(out.transpose(1, 2).reshape(batch, tokens, dim))


class LayerScale(nn.Module):
    """A learnt per-channel gain on a residual branch."""

    def __init__(self, dim: int, init_values: float) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((dim,), float(init_values)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class Mlp(nn.Module):
    """fc1 -> exact GELU -> fc2; with `lean_linear` fc1's weight packed once
    (packed_linear.py) and the GELU in place on its fresh output (the same values, no second
    hidden-sized block)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(gelu_hidden(x, self, active_paths(self).lean_linear))


def gelu_hidden(x: torch.Tensor, mlp: Mlp, lean: bool) -> torch.Tensor:
    """GELU(fc1(x)); `lean` (the `lean_linear` path): fc1 packed, the GELU in place."""
    if lean:
        return torch.ops.aten.gelu_(packed_linear(x, mlp.fc1))
    return mlp.act(mlp.fc1(x))


class Block(nn.Module):
    """Pre-norm transformer block with LayerScale on both branches."""

    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        dim = config.embed_dim
        self.norm1 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.attn = Attention(dim, config.num_heads)
        self.ls1 = LayerScale(dim, config.init_values)
        self.norm2 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.mlp = Mlp(dim, int(dim * config.mlp_ratio))
        self.ls2 = LayerScale(dim, config.init_values)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        lean = active_paths(self).lean_linear
        x = scaled_residual(x, self.attn(self.norm1(x), attn_mask), self.ls1, lean)
        return scaled_residual(x, self.mlp(self.norm2(x)), self.ls2, lean)


def scaled_residual(
    x: torch.Tensor, branch: torch.Tensor, scale: LayerScale, lean: bool
) -> torch.Tensor:
    """x + gamma * branch. `lean` (the `lean_linear` path, inference only): in place on the
    branch's fresh output, so the sum allocates nothing; the same values (the same product,
    and addition commutes)."""
    if lean:
        return branch.mul_(scale.gamma).add_(x)
    return x + scale(branch)


class VisionTransformer(nn.Module):
    """DINOv2 ViT (with or without registers): `embed`, then `run_blocks` (in one or more
    phases), `norm`."""

    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        self.config = config
        dim = config.embed_dim
        self.num_prefix_tokens = 1 + config.num_registers
        # parameters in the checkpoints' order: cls, registers, position, mask token
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.reg_token: nn.Parameter | None = None
        if config.num_registers:
            self.reg_token = nn.Parameter(torch.zeros(1, config.num_registers, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, config.pos_embed_tokens, dim))
        self.mask_token: nn.Parameter | None = None
        if config.mask_token:
            self.mask_token = nn.Parameter(torch.zeros(1, dim))
        self.patch_embed = PatchEmbed(config.patch_size, dim)
        self.pos_resample = PositionResample(config.grid, config.pos_embed_layout)
        self.prefix = PrefixTokens()
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.depth))
        self.norm = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """timm's initialisation of the tokens and the position embedding (the blocks keep
        PyTorch's defaults, as a checkpoint or training overwrites them)."""
        if self.pos_embed.is_meta:
            return
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.cls_token, std=1e-6)
        if self.reg_token is not None:
            nn.init.normal_(self.reg_token, std=1e-6)

    def embed(self, images: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """Images [B, 3, H, W] (H, W multiples of the patch) -> tokens [B, P + Hg*Wg, C] and
        the token grid (Hg, Wg)."""
        patches = self.patch_embed(images)  # [B, Hg, Wg, C]
        batch, height, width, dim = patches.shape
        pos = self.pos_resample(self.pos_embed, (height, width))
        cls_token = self.cls_token
        if self.config.pos_embed_layout == "dinov2":
            cls_token, pos = cls_token + pos[:, :1], pos[:, 1:]
        patches = patches.reshape(batch, height * width, dim) + pos
        return self.prefix(patches, cls_token, self.reg_token), (height, width)

    def run_blocks(
        self, tokens: torch.Tensor, start: int = 0, stop: int | None = None
    ) -> torch.Tensor:
        """Blocks `start` .. `stop - 1` on a token sequence of any length."""
        for block in self.blocks[start:stop]:
            tokens = block(tokens)
        return tokens

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """All blocks and the final norm: [B, P + Hg*Wg, C]."""
        tokens, _ = self.embed(images)
        return self.norm(self.run_blocks(tokens))
