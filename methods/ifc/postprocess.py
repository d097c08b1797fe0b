"""IFC's own post-processing rules: which queries of a clip are instances (`inference_clip`) and
which predictions a track gives (`inference_video`'s multi-class expansion).

Everything between them (clip schedule, soft-IoU matching, averaging over clips, resizing and
encoding the masks) is the harness's (vis_bench/inference), shared with every method.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from vis_bench.api import ClipResult


@dataclass
class ClipInstances:
    """Queries of one clip whose argmax over all K+1 probabilities is a real class."""

    frame_idx: list[int]
    query_idx: torch.Tensor  # [N]
    scores: torch.Tensor  # [N]
    labels: torch.Tensor  # [N] contiguous 0..K-1
    cls_probs: torch.Tensor  # [N, K+1]
    mask_logits: torch.Tensor  # [N, T, h, w]

    @property
    def mask_probs(self) -> torch.Tensor:
        return self.mask_logits.sigmoid()

    def __len__(self) -> int:
        return int(self.query_idx.numel())

    def clip_result(self) -> ClipResult:
        """The instances as the harness's stitcher takes them (category ids = label + 1)."""
        return ClipResult(
            scores=self.scores,
            labels=self.labels + 1,
            masks=self.mask_probs,
            mask_logits=self.mask_logits,
            class_probs=self.cls_probs,
        )


def object_queries(pred_logits: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Indices (ascending) of the queries `filter_clip` keeps, from pred_logits [1, Q, K+1]."""
    probs = F.softmax(pred_logits[0], dim=-1)[:, : num_classes + 1]
    _, labels = probs.max(-1)  # the same reduction as filter_clip, so ties break alike
    return torch.nonzero(labels < num_classes).flatten()


def filter_clip(
    pred_logits: torch.Tensor,
    pred_masks: torch.Tensor,
    frame_idx: list[int],
    num_classes: int,
    mask_queries: torch.Tensor | None = None,
) -> ClipInstances:
    """`inference_clip`: softmax over K+1, keep queries whose argmax is not "no object".

    pred_masks [1, Q, T, h, w], or [1, n, T, h, w] for the n queries of `mask_queries` only
    (which must include every kept query: the model computed masks for `object_queries`).
    """
    probs = F.softmax(pred_logits[0], dim=-1)[:, : num_classes + 1]
    scores, labels = probs.max(-1)
    keep = labels < num_classes
    kept = torch.nonzero(keep).flatten()
    if mask_queries is None:
        masks = pred_masks[0][keep]
    else:
        row_of = torch.full((probs.shape[0],), -1, dtype=torch.long, device=kept.device)
        row_of[mask_queries] = torch.arange(len(mask_queries), device=kept.device)
        rows = row_of[kept]
        if bool((rows < 0).any()):
            raise ValueError("masks were computed for fewer queries than the clip keeps")
        masks = pred_masks[0][rows]
    return ClipInstances(list(frame_idx), kept, scores[keep], labels[keep], probs[keep], masks)


def class_predictions(
    class_probs: torch.Tensor, multi_cls: bool = True, apply_cls_thres: float = 0.01
) -> list[tuple[int, float]]:
    """`inference_video`: (category id, score) of every class whose track-averaged probability
    exceeds `apply_cls_thres` (class id ascending), or of the argmax class with MULTI_CLS_ON off.
    The last entry of `class_probs` is "no object"; category ids are label + 1."""
    probs = class_probs[:-1]
    if multi_cls:
        keep = torch.nonzero(probs > float(apply_cls_thres)).flatten()
        return [(int(c) + 1, float(probs[c])) for c in keep]
    score, label = probs.max(-1)
    return [(int(label) + 1, float(score))]
