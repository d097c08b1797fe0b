"""How the tracker's queries are initialised on each frame: matched to the previous frame, or
(training only) deliberately wrong.

At inference every frame's segmenter queries are matched to the previous frame's tracked ones
(`noiser.py` of the authors, `Noiser.match_embds`): the cost is 1 - cosine of the **normed**
2C embeddings, each divided by its norm + 1e-6, NaN costs set to 0, solved by scipy's
`linear_sum_assignment` on the cost with rows = previous tracks and columns = current queries;
`indices[j]` is the current query that continues track j. The first frame of a video is matched
to itself (the identity unless two queries are identical).

In training the tracker learns to correct a wrong start: with probability `ratio` a frame's
initial queries are noised instead of matched (DVIS++'s denoising). "wa" (the released configs)
mixes each query with a randomly chosen one by a random weight and calls it that other query's
track where the weight is below 0.5; "rs" shuffles them; "cc" splices channels of a shuffled copy;
"none" never noises. Every draw comes from torch's generator (the authors draw from Python's and
numpy's; the distributions are the same), so a resumed training run draws what it would have.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from scipy.optimize import linear_sum_assignment
from torch import nn

NOISE_MODES = ("none", "rs", "wa", "cc")


@dataclass
class Matching:
    """cost [M, N] handed to the assignment (rows = previous tracks, columns = current queries)
    and indices [M] (the current query continuing each track)."""

    cost: torch.Tensor
    indices: torch.Tensor


def cosine_matching_cost(previous: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
    """1 - cosine, rows = previous [M, D], columns = current [N, D]; norms + 1e-6, NaN -> 0."""
    previous = previous.detach()
    current = current.detach()
    previous = previous / (previous.norm(dim=1)[:, None] + 1e-6)
    current = current / (current.norm(dim=1)[:, None] + 1e-6)
    cost = (1 - torch.mm(current, previous.transpose(0, 1))).cpu()
    cost = torch.where(torch.isnan(cost), torch.zeros_like(cost), cost)
    return cost.transpose(0, 1)


class EmbeddingMatcher(nn.Module):
    """Parameter-free: the matching of one frame (a module, so parity hooks record each call)."""

    def forward(self, previous: torch.Tensor, current: torch.Tensor) -> Matching:
        cost = cosine_matching_cost(previous, current)
        _, columns = linear_sum_assignment(cost.numpy())
        return Matching(cost, torch.as_tensor(columns, dtype=torch.long))


@dataclass(frozen=True)
class Noiser:
    """Training-time noise on a frame's initial queries (see the module docstring)."""

    mode: str = "wa"
    ratio: float = 0.5

    def __post_init__(self) -> None:
        if self.mode not in NOISE_MODES:
            raise ValueError(f"noise mode {self.mode!r}: use one of {NOISE_MODES}")

    def initial(
        self, matched: torch.Tensor, queries: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(indices [Q], initial queries [Q, ..., D]) of a frame whose matching gave `matched`:
        the matched queries, or with probability `ratio` noised ones in the raw order."""
        if self.mode == "none" or float(torch.rand(())) >= self.ratio:
            return matched, queries[matched]
        q = queries.shape[0]
        shuffled = torch.randperm(q)
        if self.mode == "rs":
            return shuffled, queries[shuffled]
        if self.mode == "wa":
            weight = torch.rand(q).to(queries).view(q, *[1] * (queries.dim() - 1))
            mixed = queries * weight + queries[shuffled] * (1.0 - weight)
            indices = torch.where(weight.flatten() < 0.5, shuffled, torch.arange(q))
            return indices, mixed
        width = queries.shape[-1]
        cut = torch.randint(0, width, (q,))
        keep = (torch.arange(width)[None] < cut[:, None]).to(queries)
        keep = keep.view(q, *[1] * (queries.dim() - 2), width)
        spliced = queries * keep + queries[shuffled] * (1 - keep)
        indices = torch.where(cut < width // 2, shuffled, torch.arange(q))
        return indices, spliced
