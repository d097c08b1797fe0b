"""SAM 3's detection scores: the dot product of each decoder query with the pooled prompt, and
the joint score with the presence token that the video model uses. Names follow the checkpoint
below `detector.dot_prod_scoring.`."""

from __future__ import annotations

import math

import torch
from torch import nn

#: the authors' clamp of the class logits, and of the joint logits (sam3_image.py)
CLASS_LOGIT_CLAMP = 12.0
JOINT_LOGIT_CLAMP = 10.0


class _PromptMlp(nn.Module):
    """Two linear layers with a ReLU, a residual, then LayerNorm."""

    def __init__(self, d_model: int, hidden: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(d_model, hidden), nn.Linear(hidden, d_model)])
        self.out_norm = nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.layers[1](torch.relu(self.layers[0](x)))
        return self.out_norm(x + y)


class DotProductScoring(nn.Module):
    """Queries (..., B, Q, d) and the prompt (B, P, d; `padding` True where padding) -> class
    logits (..., B, Q, 1): the prompt is refined, mean-pooled over its real tokens, projected and
    dotted with the projected queries, scaled by 1/sqrt(d), clamped."""

    def __init__(self, d_model: int = 256, hidden: int = 2048) -> None:
        super().__init__()
        self.prompt_mlp = _PromptMlp(d_model, hidden)
        self.prompt_proj = nn.Linear(d_model, d_model)
        self.hs_proj = nn.Linear(d_model, d_model)
        self.scale = 1.0 / math.sqrt(d_model)

    def forward(
        self, queries: torch.Tensor, prompt: torch.Tensor, padding: torch.Tensor
    ) -> torch.Tensor:
        refined = self.prompt_mlp(prompt)
        real = (~padding).to(refined.dtype).unsqueeze(-1)
        pooled = (refined * real).sum(dim=1) / real.sum(dim=1).clamp(min=1.0)
        text = self.prompt_proj(pooled)  # (B, d)
        logits = torch.einsum("...bqd,bd->...bq", self.hs_proj(queries), text) * self.scale
        return logits.clamp(-CLASS_LOGIT_CLAMP, CLASS_LOGIT_CLAMP).unsqueeze(-1)


def joint_logits(class_logits: torch.Tensor, presence_logits: torch.Tensor) -> torch.Tensor:
    """The video model's detection logits: logit(sigmoid(class) x sigmoid(presence)), clamped.

    `class_logits` (B, Q, 1), `presence_logits` (B, 1)."""
    joint = class_logits.sigmoid() * presence_logits.sigmoid().unsqueeze(1)
    return torch.logit(joint).clamp(-JOINT_LOGIT_CLAMP, JOINT_LOGIT_CLAMP)
