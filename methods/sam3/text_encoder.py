"""SAM 3's text encoder: the CLIP-style causal transformer over BPE tokens, then the resizer
to the detector's width. Parameter names follow the authors' checkpoint below
`detector.backbone.language_backbone.`, so their weights load strictly by name."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class TextEncoderSizes:
    """Sizes of the text side, from the options (`detector_sizes_of`; `Sam3Options`' defaults are the released model's)."""

    width: int
    heads: int
    layers: int
    context: int
    d_model: int
    vocab: int = 49408
    #: the CLIP pooled projection's width: in the checkpoint, unused by SAM 3
    projection: int = 512


@dataclass(frozen=True)
class TextFeatures:
    """The encoded prompts, in the authors' sequence-first layout."""

    #: (prompts, context), True where the token is padding (token id 0)
    padding_mask: torch.Tensor
    #: (context, prompts, d_model): what the detector's encoder, decoder and scoring read
    features: torch.Tensor
    #: (context, prompts, width): the token embeddings before the transformer
    embeds: torch.Tensor

    def select(self, prompts: range) -> TextFeatures:
        """The features of some prompts only."""
        rows = slice(prompts.start, prompts.stop)
        return TextFeatures(self.padding_mask[rows], self.features[:, rows], self.embeds[:, rows])


class _Mlp(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.c_fc = nn.Linear(width, 4 * width)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(self.gelu(self.c_fc(x)))


class _ResidualBlock(nn.Module):
    """Pre-norm block: causal self-attention, then the MLP."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = _Mlp(width)

    def forward(self, x: torch.Tensor, causal: torch.Tensor) -> torch.Tensor:
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, attn_mask=causal, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class _Transformer(nn.Module):
    def __init__(self, sizes: TextEncoderSizes) -> None:
        super().__init__()
        self.resblocks = nn.ModuleList(
            _ResidualBlock(sizes.width, sizes.heads) for _ in range(sizes.layers)
        )


class _ClipText(nn.Module):
    """The authors' `VETextEncoder.encoder` (no padding mask: the causal mask alone)."""

    def __init__(self, sizes: TextEncoderSizes) -> None:
        super().__init__()
        self.token_embedding = nn.Embedding(sizes.vocab, sizes.width)
        self.positional_embedding = nn.Parameter(torch.zeros(sizes.context, sizes.width))
        self.transformer = _Transformer(sizes)
        self.ln_final = nn.LayerNorm(sizes.width)
        self.text_projection = nn.Parameter(torch.zeros(sizes.width, sizes.projection))


class TextEncoder(nn.Module):
    """Token ids (prompts, context) -> `TextFeatures`; token id 0 is padding."""

    def __init__(self, sizes: TextEncoderSizes) -> None:
        super().__init__()
        self.sizes = sizes
        self.encoder = _ClipText(self.sizes)
        self.resizer = nn.Linear(self.sizes.width, self.sizes.d_model)

    def forward(self, tokens: torch.Tensor) -> TextFeatures:
        context = tokens.shape[1]
        if context != self.sizes.context:
            raise ValueError(
                f"tokens have length {context}, the encoder takes {self.sizes.context}"
            )
        embeds = self.encoder.token_embedding(tokens)
        x = embeds + self.encoder.positional_embedding
        causal = torch.full((context, context), float("-inf"), device=x.device).triu(1)
        for block in self.encoder.transformer.resblocks:
            x = block(x, causal.to(x.dtype))
        x = self.encoder.ln_final(x)
        features = self.resizer(x)
        return TextFeatures(
            padding_mask=tokens == 0,
            features=features.transpose(0, 1),
            embeds=embeds.transpose(0, 1),
        )
