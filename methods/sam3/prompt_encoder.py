"""SAM's prompt encoder as SAM 3's tracker uses it: points (a padding "not a point" when there
are none) become sparse tokens, a mask prompt becomes a dense map (a learned "no mask" vector
otherwise); random Fourier positions give the image's dense positional encoding. Names follow
the checkpoint below `tracker.sam_prompt_encoder.`."""

from __future__ import annotations

import math

import torch
from torch import nn

from vis_bench.methods.sam3.layer_norm_2d import LayerNorm2d

#: point labels: negative, positive, box corners; -1 pads
PAD_LABEL = -1


class RandomFourierPositions(nn.Module):
    """Coordinates in [0, 1] -> sin/cos of their projection on a fixed Gaussian matrix."""

    def __init__(self, feats: int) -> None:
        super().__init__()
        self.register_buffer("positional_encoding_gaussian_matrix", torch.randn(2, feats))

    def encode(self, coords: torch.Tensor) -> torch.Tensor:
        projected = (2 * coords - 1) @ self.positional_encoding_gaussian_matrix
        projected = 2 * math.pi * projected
        return torch.cat([projected.sin(), projected.cos()], dim=-1)

    def grid(self, h: int, w: int) -> torch.Tensor:
        """(C, h, w) encoding of every cell's centre."""
        device = self.positional_encoding_gaussian_matrix.device
        ones = torch.ones(h, w, device=device)
        y = (ones.cumsum(0) - 0.5) / h
        x = (ones.cumsum(1) - 0.5) / w
        return self.encode(torch.stack([x, y], dim=-1)).permute(2, 0, 1)


class PromptEncoder(nn.Module):
    """Points and an optional mask prompt -> (sparse (B, P, d), dense (B, d, h, w))."""

    def __init__(self, d_model: int, grid: int, image: int, mask_channels: int = 16) -> None:
        super().__init__()
        self.d_model, self.grid, self.image = d_model, grid, image
        self.pe_layer = RandomFourierPositions(d_model // 2)
        self.point_embeddings = nn.ModuleList(nn.Embedding(1, d_model) for _ in range(4))
        self.not_a_point_embed = nn.Embedding(1, d_model)
        quarter = mask_channels // 4
        self.mask_downscaling = nn.Sequential(
            nn.Conv2d(1, quarter, 2, stride=2),
            LayerNorm2d(quarter),
            nn.GELU(),
            nn.Conv2d(quarter, mask_channels, 2, stride=2),
            LayerNorm2d(mask_channels),
            nn.GELU(),
            nn.Conv2d(mask_channels, d_model, 1),
        )
        self.no_mask_embed = nn.Embedding(1, d_model)

    @property
    def mask_input_size(self) -> tuple[int, int]:
        return (4 * self.grid, 4 * self.grid)

    def dense_positions(self) -> torch.Tensor:
        """(1, d, grid, grid) positions of the image embedding."""
        return self.pe_layer.grid(self.grid, self.grid)[None]

    def _embed_points(self, coords: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Pixel coordinates (B, P, 2) and labels (B, P); one padding point is appended."""
        coords = coords + 0.5
        coords = torch.cat([coords, coords.new_zeros(coords.shape[0], 1, 2)], dim=1)
        labels = torch.cat([labels, labels.new_full((labels.shape[0], 1), PAD_LABEL)], dim=1)
        embedded = self.pe_layer.encode(coords / self.image)
        pad = (labels == PAD_LABEL)[..., None]
        embedded = torch.where(pad, self.not_a_point_embed.weight.expand_as(embedded), embedded)
        for label, table in enumerate(self.point_embeddings):
            embedded = torch.where((labels == label)[..., None], embedded + table.weight, embedded)
        return embedded

    def forward(
        self,
        coords: torch.Tensor,
        labels: torch.Tensor,
        masks: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        sparse = self._embed_points(coords, labels)
        if masks is not None:
            dense = self.mask_downscaling(masks)
        else:
            dense = self.no_mask_embed.weight.reshape(1, -1, 1, 1).expand(
                coords.shape[0], -1, self.grid, self.grid
            )
        return sparse, dense

    def empty_points(self, batch: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """The tracker's prompt when it has no clicks: one padding point per object."""
        coords = torch.zeros(batch, 1, 2, device=device)
        labels = torch.full((batch, 1), PAD_LABEL, dtype=torch.int32, device=device)
        return coords, labels
