"""The contrastive terms of DVIS++'s training (the IDOL losses its code calls `loss_reid`).

Each item is an anchor embedding, candidates whose first `positives` rows are the same object
and the rest others. `loss_reid` is, per item, log(1 + sum over (positive p, negative n) of
exp(n.a - p.a)) with dot products; `loss_aux_reid` the mean squared gap between each candidate's
cosine similarity to the anchor and its label (1 same object, 0 other); both averaged over the
items (`utils.py:loss_reid` of the authors). Which embeddings make the items depends on the stage:
the segmenter's ReID embeddings frame to frame (CTVIS), the tracker's references to the
previous and next frame, the refiner's outputs across the clip.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class ContrastiveItem:
    """anchor [C]; candidates [n, C], the first `positives` rows of the anchor's object."""

    anchor: torch.Tensor
    candidates: torch.Tensor
    positives: int = 1


def contrastive_losses(
    items: list[ContrastiveItem], reference: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss_reid, loss_aux_reid) of the items; zeros tied to `reference`'s graph when there
    are none (as the authors return `sum() * 0`)."""
    if not items:
        zero = reference.sum() * 0.0
        return zero, zero.clone()
    reid = reference.new_zeros(())
    aux = reference.new_zeros(())
    for item in items:
        dots = item.candidates @ item.anchor  # [n]
        pos, neg = dots[: item.positives], dots[item.positives :]
        gaps = (neg[None, :] - pos[:, None]).flatten()
        reid = reid + torch.logsumexp(F.pad(gaps, (0, 1)), dim=0)
        label = torch.zeros_like(dots)
        label[: item.positives] = 1.0
        cosine = F.normalize(item.candidates, dim=1) @ F.normalize(item.anchor, dim=0)
        aux = aux + ((cosine - label) ** 2).mean()
    return reid / len(items), aux / len(items)


def others(embeds: torch.Tensor, keep: int) -> torch.Tensor:
    """Every row of embeds [Q, C] except row `keep` (-1: all rows)."""
    if keep < 0:
        return embeds
    return torch.cat([embeds[:keep], embeds[keep + 1 :]])


def segmenter_items(embeds: torch.Tensor, queries: torch.Tensor) -> list[ContrastiveItem]:
    """CTVIS's items over a clip: embeds [T, Q, C] (ReID), queries [T, N] (the query matched to
    each instance in each frame, -1 where it is absent). For each instance in each frame after
    the first: the anchor is its query, the positive its latest query before (or, if none, its
    first after), the negatives every other query of the frame before. The authors' memory
    also draws, half of the time, a similarity-weighted mean of the earlier queries as the
    positive; this uses the latest one."""
    items = []
    frames, instances = queries.shape
    for f in range(1, frames):
        for n in range(instances):
            q = int(queries[f, n])
            if q < 0:
                continue
            before = [g for g in range(f) if queries[g, n] >= 0]
            after = [g for g in range(f + 1, frames) if queries[g, n] >= 0]
            if not before and not after:
                continue
            g = before[-1] if before else after[0]
            positive = embeds[g, int(queries[g, n])][None]
            negatives = others(embeds[f - 1], int(queries[f - 1, n]))
            items.append(ContrastiveItem(embeds[f, q], torch.cat([positive, negatives])))
    return items


def reference_items(references: torch.Tensor, tracks: list[int]) -> list[ContrastiveItem]:
    """The tracker's items (`get_cl_loss_ref`): references [T, Q, C]; for each matched track in
    each frame after the first, the anchor is its reference, the positive its reference in the
    frame before (and, in another item, after), the negatives the other tracks' there."""
    items = []
    frames = references.shape[0]
    for f in range(1, frames):
        for q in tracks:
            for g in (f - 1, f + 1):
                if g < frames:
                    candidates = torch.cat([references[g, q][None], others(references[g], q)])
                    items.append(ContrastiveItem(references[f, q], candidates))
    return items


def refiner_items(normed: torch.Tensor, tracks: list[int]) -> list[ContrastiveItem]:
    """The refiner's items (`get_cl_loss_with_memory` without its memory of other videos'
    objects): normed [T, Q, C]; for each matched track in each frame, the anchor is its output
    there, the positives its outputs in every frame, the negatives the other tracks' in that
    frame."""
    items = []
    for f in range(normed.shape[0]):
        for q in tracks:
            candidates = torch.cat([normed[:, q], others(normed[f], q)])
            items.append(ContrastiveItem(normed[f, q], candidates, positives=normed.shape[0]))
    return items
