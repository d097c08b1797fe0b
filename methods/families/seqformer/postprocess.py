"""SeqFormer's test-time post-processing, as the authors' inference.py does it.

The classifier is sigmoid-based (no "no object" logit), so a query can be confident about several
classes: the top-k (query, class) pairs over the flattened [Nq, K] scores are kept, grouped by query
in order of first appearance. A query whose binarised masks are empty in every frame is dropped
with all its classes; a pair scoring below 0.001 keeps its entry but gets `None` segmentations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from vis_bench.api.output import encode_rle as encode

TOP_K = 10
MIN_SCORE_FOR_MASKS = 0.001
MASK_THRESHOLD = 0.5
VIDEO_NAME_LEN = 10


@dataclass
class TopPairs:
    """Top-k (query, class) pairs grouped by query, in order of first appearance."""

    queries: list[int]  # distinct queries, first-appearance order
    classes: dict[int, list[int]]  # query -> its classes, in score order
    scores: torch.Tensor  # [Nq, K] sigmoid scores


def top_query_classes(pred_logits: torch.Tensor, top_k: int = TOP_K) -> TopPairs:
    """pred_logits [Nq, K] -> the top_k pairs of the flattened sigmoid scores."""
    scores = pred_logits.sigmoid()
    num_classes = scores.shape[-1]
    _, indices = torch.topk(scores.flatten(), k=min(top_k, scores.numel()))
    classes: dict[int, list[int]] = {}
    for idx in indices.tolist():
        classes.setdefault(idx // num_classes, []).append(idx % num_classes)
    return TopPairs(list(classes), classes, scores)


def video_results(
    pred_logits: torch.Tensor,
    pred_masks: torch.Tensor,
    video: Mapping[str, Any],
    top_k: int = TOP_K,
) -> list[dict[str, Any]]:
    """One whole-video forward -> the results.json entries inference.py writes for it.

    pred_logits [Nq, K]; pred_masks [Nq, T, h, w] logits (stride 4); video: the annotation
    file's `videos` record (id, width, height, file_names). Masks are resized straight from the
    stride-4 logits to the original frame size (bilinear, float32: the cheapest dtype whose
    thresholded masks stay exact, benchmarks/bench_mask_resize.py), then thresholded at
    sigmoid 0.5.
    """
    height, width = int(video["height"]), int(video["width"])
    pairs = top_query_classes(pred_logits, top_k)
    results = []
    for query in pairs.queries:
        logits = F.interpolate(
            pred_masks[query][:, None].float(),
            (height, width),
            mode="bilinear",
            align_corners=False,
        )
        # in place: the resized logits are a temporary, and a second frame-size float tensor
        # would cost more in page faults than the sigmoid itself
        binary = (logits.sigmoid_() > MASK_THRESHOLD)[:, 0].to(torch.uint8).cpu().numpy()
        if binary.max() == 0:
            continue  # empty in every frame: no entry for any of its classes
        for category in pairs.classes[query]:
            score = float(pairs.scores[query, category])
            if score < MIN_SCORE_FOR_MASKS:
                segmentations: list[Any] = [None] * binary.shape[0]
            else:
                segmentations = [encode(frame) for frame in binary]
            results.append(
                {
                    "video_id": video["id"],
                    "video_name": video["file_names"][0][:VIDEO_NAME_LEN],
                    "score": score,
                    "category_id": int(category),
                    "segmentations": segmentations,
                }
            )
    return results


@dataclass
class ClipInstances:
    """The per-clip form of the same selection, for the harness (masks stay at stride 4)."""

    scores: torch.Tensor  # [N]
    labels: torch.Tensor  # [N] class indices (= YouTube-VIS category ids)
    masks: torch.Tensor  # [N, T, h, w] mask probabilities
    mask_logits: torch.Tensor  # [N, T, h, w]
    queries: torch.Tensor  # [N] query index of each instance
    null_segmentations: torch.Tensor  # [N] bool: score below 0.001 (None segmentations)


def top_queries(pred_logits: torch.Tensor, top_k: int = TOP_K) -> torch.Tensor:
    """The distinct queries of the top-k (query, class) pairs (all `clip_instances` reads)."""
    return torch.tensor(top_query_classes(pred_logits, top_k).queries, dtype=torch.long)


def clip_instances(
    pred_logits: torch.Tensor,
    pred_masks: torch.Tensor,
    top_k: int = TOP_K,
    drop_empty: bool = True,
    mask_queries: torch.Tensor | None = None,
) -> ClipInstances:
    """pred_logits [Nq, K], pred_masks [Nq, T, h, w] -> one instance per kept (query, class) pair.

    With `drop_empty` the empty-mask rule is applied here at the mask resolution, which can
    differ from inference.py's (at the frame size) for masks of a few pixels; the harness turns
    it off and drops empty tracks after resizing instead. `mask_queries`: when the model
    computed masks only for these queries (`top_queries`), pred_masks holds their rows in
    that order.
    """
    pairs = top_query_classes(pred_logits, top_k)
    row = {q: q for q in pairs.queries}
    if mask_queries is not None:
        position = {int(q): i for i, q in enumerate(mask_queries.tolist())}
        missing = [q for q in pairs.queries if q not in position]
        if missing:
            raise ValueError(f"no masks were computed for the kept queries {missing}")
        row = {q: position[q] for q in pairs.queries}
    scores, labels, queries = [], [], []
    probs = {}
    for query in pairs.queries:
        p = pred_masks[row[query]].float().sigmoid()  # [T, h, w]
        if drop_empty and not bool((p > MASK_THRESHOLD).any()):
            continue
        probs[query] = p
        for category in pairs.classes[query]:
            scores.append(pairs.scores[query, category])
            labels.append(category)
            queries.append(query)
    t, h, w = pred_masks.shape[1:]
    if not queries:
        empty = torch.zeros(0, dtype=torch.long)
        no_masks = pred_masks.new_zeros(0, t, h, w)
        return ClipInstances(
            pred_logits.new_zeros(0), empty, no_masks, no_masks, empty, empty.bool()
        )
    score_t = torch.stack(scores).float()
    return ClipInstances(
        scores=score_t,
        labels=torch.tensor(labels, dtype=torch.long),
        masks=torch.stack([probs[q] for q in queries]),
        mask_logits=torch.stack([pred_masks[row[q]].float() for q in queries]),
        queries=torch.tensor(queries, dtype=torch.long),
        null_segmentations=score_t < MIN_SCORE_FOR_MASKS,
    )
