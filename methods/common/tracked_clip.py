"""The result of a clip whose queries are tracks carried from clip to clip (DVIS++ online,
VidEoMT): every query reported, with scores for the tables."""

from __future__ import annotations

from typing import Any

import torch

from vis_bench.api import ClipResult


def tracked_clip_result(
    frame_logits: torch.Tensor,
    mask_logits: torch.Tensor,
    frame_embeddings: torch.Tensor,
    state: Any,
) -> ClipResult:
    """Every query as a track: per-frame class logits [T, Q, K+1], embeddings [T, Q, C] and
    mask logits [Q, T, h, w], the state the next clip starts from; scores and (1-based) labels
    of each query's clip-mean class probabilities, the no-object class left out."""
    probs = torch.softmax(frame_logits.float().mean(0), dim=-1)[:, :-1]
    scores, labels = probs.max(-1)
    return ClipResult(
        scores=scores,
        labels=labels + 1,
        mask_logits=mask_logits,
        frame_logits=frame_logits,
        frame_embeddings=frame_embeddings,
        state=state,
    )
