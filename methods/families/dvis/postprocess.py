"""DVIS++'s video post-processing (`inference_video_vis` of `DVIS_Plus_online` / `_offline`).

Scores: the softmax of each track's time-mean class logits, no-object dropped; the offline model
also has the online tracker's time-mean logits and takes, per (track, class), the larger of the
two softmaxes. Then the top 10 of all Q x K (track, class) pairs by `topk(sorted=False)`: not in
score order, a track may appear under two classes. Masks: stride-4 logits resized bilinearly to
the padded input, cropped to the valid input, resized to the video, `> 0`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vis_bench.methods.families.mask2former.postprocess import (
    TopPredictions,
    padded_logits_to_output,
)

#: results per video: the released configs' TEST.MAX_NUM
TOP_K = 10


def class_scores(logits: torch.Tensor, aux_logits: torch.Tensor | None = None) -> torch.Tensor:
    """Time-mean logits [Q, K+1] (and the online tracker's, offline) -> scores [Q, K]."""
    scores = F.softmax(logits.float(), dim=-1)[:, :-1]
    if aux_logits is not None:
        scores = torch.maximum(scores, F.softmax(aux_logits.float(), dim=-1)[:, :-1])
    return scores


def top_pairs(scores: torch.Tensor, top_k: int = TOP_K) -> TopPredictions:
    """The top-k (track, class) pairs of scores [Q, K] in `topk(sorted=False)` order (k at most
    Q x K: a small model with few pairs keeps them all)."""
    num_classes = scores.shape[1]
    kept, index = scores.flatten().topk(min(top_k, scores.numel()), sorted=False)
    return TopPredictions(kept, index % num_classes, index // num_classes)


def video_predictions(
    logits: torch.Tensor, aux_logits: torch.Tensor | None = None, top_k: int = TOP_K
) -> list[tuple[int, int, float]]:
    """(track, dataset category id = label + 1, score) of the video's top-k pairs."""
    top = top_pairs(class_scores(logits, aux_logits), top_k)
    return [
        (int(q), int(label) + 1, float(score))
        for q, label, score in zip(top.queries, top.labels, top.scores, strict=True)
    ]


def inference_video_vis(
    pred_cls: torch.Tensor,
    pred_masks: torch.Tensor,
    image_size: tuple[int, int],
    output_size: tuple[int, int],
    padded_size: tuple[int, int],
    aux_pred_cls: torch.Tensor | None = None,
    top_k: int = TOP_K,
) -> dict[str, torch.Tensor]:
    """The authors' whole-video post-processing: pred_cls [Q, K+1], mask logits [Q, T, h, w]
    -> scores [k], labels [k] (0-based), ids [k] (tracks), masks bool [k, T, H0, W0]."""
    top = top_pairs(class_scores(pred_cls, aux_pred_cls), top_k)
    kept = F.interpolate(
        pred_masks[top.queries], size=tuple(padded_size), mode="bilinear", align_corners=False
    )
    masks = padded_logits_to_output(kept, image_size, output_size) > 0
    return {
        "pred_scores": top.scores,
        "pred_labels": top.labels,
        "pred_ids": top.queries,
        "pred_masks": masks,
    }
