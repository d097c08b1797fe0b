"""MinVIS's linking of frames: Hungarian matching of query embeddings, frame to frame.

Every frame's queries come from an image model, so query i of one frame need not be the same
object as query i of the next. The authors (`match_from_embds`, `post_processing`) re-order each
frame's queries to the previous frame's *re-ordered* queries (not to frame 0): the cost is
1 - cosine similarity of the decoder's normalised embeddings, solved with scipy's
`linear_sum_assignment` on the transposed cost, so `indices[j]` is the current query that
continues track j. The video's class logits are the mean of the re-ordered per-frame logits
(raw logits, summed in frame order, then divided; the softmax comes after).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from vis_bench.api import ClipResult, EmbeddingAssociation, cosine_cost
from vis_bench.methods.families.mask2former.postprocess import top_predictions

#: the harness's declaration of the same matching, for linking clips (linking.py)
#: MinVIS segments each frame alone (an image model): its frames are independent
ASSOCIATION = EmbeddingAssociation(cost=cosine_cost, independent_frames=True)


def frame_outputs(out: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The decoder's T one-frame videos -> logits [T, Q, K+1], masks [T, Q, h, w], embeds
    [T, Q, C] (what `post_processing` unbinds per frame)."""
    return out.logits, out.masks[:, :, 0], out.embeddings


def match_to_previous(previous: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
    """The current query that continues each previous track: indices [Q] (`match_from_embds`)."""
    return ASSOCIATION.assign(previous, current)


@dataclass
class LinkedVideo:
    """Per-frame predictions re-ordered into tracks.

    logits [Q, K+1] (mean over frames), masks [Q, T, h, w], indices [T-1, Q] (the matching of
    frames 1..T-1), costs [T-1, Q, Q] (rows = current queries, before transposing);
    frame_logits [T, Q, K+1] and embeddings [T, Q, C] re-ordered per frame.
    """

    logits: torch.Tensor
    masks: torch.Tensor
    indices: torch.Tensor
    costs: torch.Tensor
    frame_logits: torch.Tensor
    embeddings: torch.Tensor


def link_frames(logits: torch.Tensor, masks: torch.Tensor, embeds: torch.Tensor) -> LinkedVideo:
    """logits [T, Q, K+1], masks [T, Q, h, w], embeddings [T, Q, C] -> `LinkedVideo`."""
    out_logits, out_masks, out_embeds = [logits[0]], [masks[0]], [embeds[0]]
    indices, costs = [], []
    for t in range(1, logits.shape[0]):
        costs.append(ASSOCIATION.cost(out_embeds[-1], embeds[t]))
        order = match_to_previous(out_embeds[-1], embeds[t])
        indices.append(order)
        out_logits.append(logits[t][order])
        out_masks.append(masks[t][order])
        out_embeds.append(embeds[t][order])
    total = out_logits[0]
    for frame_logits in out_logits[1:]:
        total = total + frame_logits
    q = logits.shape[1]
    return LinkedVideo(
        logits=total / len(out_logits),
        masks=torch.stack(out_masks, dim=1),
        indices=torch.stack(indices) if indices else torch.zeros(0, q, dtype=torch.long),
        costs=torch.stack(costs) if costs else logits.new_zeros(0, q, q),
        frame_logits=torch.stack(out_logits),
        embeddings=torch.stack(out_embeds),
    )


def clip_result(linked: LinkedVideo) -> ClipResult:
    """A clip's linked tracks as the harness's query-track linker reads them: every query with
    its per-frame logits, embeddings and mask logits (scores and labels: its clip-level best
    class, for tables; the video's predictions come from `video_predictions`)."""
    probs = torch.softmax(linked.logits.float(), dim=-1)[:, :-1]
    scores, labels = probs.max(-1)
    logits = linked.masks.float()  # [Q, T, h, w]
    return ClipResult(
        scores=scores,
        labels=labels + 1,
        masks=logits.sigmoid(),
        mask_logits=logits,
        frame_logits=linked.frame_logits,
        frame_embeddings=linked.embeddings,
    )


def video_predictions(mean_logits: torch.Tensor, top_k: int) -> list[tuple[int, int, float]]:
    """`inference_video`'s selection: the top-k (slot, class) pairs of the softmax scores without
    no-object, in `topk(sorted=False)` order; category id = label + 1."""
    top = top_predictions(mean_logits, top_k)
    return [
        (int(q), int(label) + 1, float(score))
        for q, label, score in zip(top.queries, top.labels, top.scores, strict=True)
    ]
