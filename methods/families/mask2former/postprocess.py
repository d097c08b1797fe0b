"""The Mask2Former family's video post-processing (`inference_video` of the authors' models).

Scores: softmax over the K + 1 logits of each query, no-object dropped, then the top 10 of all
Q x K (query, class) pairs, taken with `topk(sorted=False)`: results are not in score order, a
query may appear under several classes, and a video always gets exactly 10 results. Masks: the
stride-4 mask logits are resized bilinearly to the padded input size, cropped to the valid
input, resized bilinearly to the video's size, and thresholded at logit > 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

#: results per video (`inference_video`'s `topk(10)`)
TOP_K = 10


@dataclass
class TopPredictions:
    """The kept (query, class) pairs: scores [k], labels [k] (0-based), queries [k]."""

    scores: torch.Tensor
    labels: torch.Tensor
    queries: torch.Tensor


def top_predictions(logits: torch.Tensor, top_k: int = TOP_K) -> TopPredictions:
    """logits [Q, K+1] -> the top-k (query, class) pairs over softmax scores without no-object.

    k is at most Q x K (the authors' code would fail on fewer pairs than 10; a small model with
    few classes and queries keeps them all).
    """
    scores = F.softmax(logits.float(), dim=-1)[:, :-1]
    num_classes = scores.shape[1]
    kept, index = scores.flatten().topk(min(top_k, scores.numel()), sorted=False)
    return TopPredictions(kept, index % num_classes, index // num_classes)


def masks_to_output(
    mask_logits: torch.Tensor,
    image_size: tuple[int, int],
    output_size: tuple[int, int],
    padded_size: tuple[int, int] | None = None,
) -> torch.Tensor:
    """Mask logits [n, T, h, w] at stride 4 of the padded input -> bool [n, T, H0, W0].

    `padded_size` (default: 4 h x 4 w) is the padded input the logits are first resized to;
    `image_size` its valid (unpadded) part; `output_size` the video's size.
    """
    padded = padded_size or (4 * mask_logits.shape[-2], 4 * mask_logits.shape[-1])
    resized = mask_logits
    if tuple(mask_logits.shape[-2:]) != tuple(padded):
        resized = F.interpolate(mask_logits, size=padded, mode="bilinear", align_corners=False)
    return padded_logits_to_output(resized, image_size, output_size) > 0


def padded_logits_to_output(
    padded_logits: torch.Tensor, image_size: tuple[int, int], output_size: tuple[int, int]
) -> torch.Tensor:
    """Logits [n, T, Hp, Wp] at the padded input size -> logits [n, T, H0, W0] at the video's."""
    h, w = image_size
    cropped = padded_logits[:, :, :h, :w]
    return F.interpolate(cropped, size=tuple(output_size), mode="bilinear", align_corners=False)


def inference_video(
    pred_cls: torch.Tensor,
    padded_masks: torch.Tensor,
    image_size: tuple[int, int],
    output_size: tuple[int, int],
    top_k: int = TOP_K,
) -> dict[str, torch.Tensor]:
    """The authors' `inference_video`: pred_cls [Q, K+1], mask logits at the padded size
    [Q, T, Hp, Wp] -> scores [k], labels [k] (0-based), masks bool [k, T, H0, W0]."""
    top = top_predictions(pred_cls, top_k)
    logits = padded_logits_to_output(padded_masks[top.queries], image_size, output_size)
    return {"pred_scores": top.scores, "pred_labels": top.labels, "pred_masks": logits > 0}


def frame_logits_to_video(
    logits: torch.Tensor,
    image_size: tuple[int, int] | None,
    height: int,
    width: int,
    threshold: float = 0.0,
) -> np.ndarray:
    """One frame's stride-4 logits of the padded input [n, h, w] -> uint8 [n, H, W] the same way
    (the harness's per-frame route): padded size, crop to `image_size` (None: nothing padded),
    video size, `> threshold`."""
    padded = (4 * logits.shape[-2], 4 * logits.shape[-1])
    resized = F.interpolate(
        logits.float()[:, None], size=padded, mode="bilinear", align_corners=False
    )
    out = padded_logits_to_output(resized, image_size or padded, (height, width))[:, 0]
    return (out > threshold).to(torch.uint8).numpy()
