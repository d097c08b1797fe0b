"""inference.py's post-processing rules: top-k pairs, skipped empty queries, None segmentations."""

from __future__ import annotations

import pytest
import torch

from vis_bench.formats.rle import decode
from vis_bench.methods.families.seqformer.postprocess import (
    clip_instances,
    top_queries,
    top_query_classes,
    video_results,
)

VIDEO = {"id": 7, "width": 12, "height": 8, "file_names": ["abcdefghijklmno/00000.jpg"] * 2}


def _outputs():
    logits = torch.full((4, 5), -12.0)
    logits[2, 1] = 3.0  # best pair
    logits[0, 3] = 2.0
    logits[2, 4] = 1.0  # the same query again, with another class
    logits[3, 2] = 0.5  # its masks are empty -> skipped with all its classes
    logits[1, 0] = -8.0  # score 3.4e-4 < 0.001 -> None segmentations
    masks = torch.full((4, 2, 4, 6), -10.0)  # [Nq, T, h, w] logits at stride 4
    masks[2, :, 1:3, 2:5] = 10.0
    masks[0, 0, 0:2, 0:2] = 10.0  # frame 1 of query 0 is empty but the query is kept
    masks[1, 1, 2:, 3:] = 10.0
    return logits, masks


def test_top_pairs_grouped_by_query_in_first_appearance_order():
    logits, _ = _outputs()
    pairs = top_query_classes(logits, top_k=5)
    assert pairs.queries == [2, 0, 3, 1]
    assert pairs.classes == {2: [1, 4], 0: [3], 3: [2], 1: [0]}


def test_video_results_follow_inference_py():
    logits, masks = _outputs()
    results = video_results(logits, masks, VIDEO, top_k=5)
    assert [(r["category_id"], round(r["score"], 4)) for r in results] == [
        (1, round(torch.sigmoid(torch.tensor(3.0)).item(), 4)),
        (4, round(torch.sigmoid(torch.tensor(1.0)).item(), 4)),
        (3, round(torch.sigmoid(torch.tensor(2.0)).item(), 4)),
        (0, round(torch.sigmoid(torch.tensor(-8.0)).item(), 4)),
    ]
    assert all(r["video_id"] == 7 and r["video_name"] == "abcdefghij" for r in results)
    assert all(isinstance(r["score"], float) for r in results)
    # both classes of query 2 carry identical masks
    assert results[0]["segmentations"] == results[1]["segmentations"]
    # a score below 0.001 keeps the entry but has no masks
    assert results[3]["segmentations"] == [None, None]
    # masks are at the original size; an empty frame is an empty RLE, not None
    frame0, frame1 = (decode(s) for s in results[2]["segmentations"])
    assert frame0.shape == (8, 12) and frame0.sum() > 0
    assert frame1.sum() == 0
    # query 2's box covers rows 1..2, cols 2..4 of the stride-4 grid -> about x2 in pixels
    ys, xs = decode(results[0]["segmentations"][0]).nonzero()
    assert 1 <= ys.min() <= 3 and 4 <= ys.max() <= 6
    assert 3 <= xs.min() <= 5 and 8 <= xs.max() <= 10


def test_video_results_with_nothing_visible():
    logits, masks = _outputs()
    assert video_results(logits, torch.full_like(masks, -5.0), VIDEO) == []


def test_clip_instances_match_the_video_selection():
    logits, masks = _outputs()
    inst = clip_instances(logits, masks, top_k=5)
    assert inst.queries.tolist() == [2, 2, 0, 1]
    assert inst.labels.tolist() == [1, 4, 3, 0]
    assert inst.null_segmentations.tolist() == [False, False, False, True]
    assert inst.masks.shape == (4, 2, 4, 6)
    assert torch.equal(inst.masks[0], masks[2].sigmoid())
    assert inst.scores[0] > inst.scores[1] and inst.scores[2] > inst.scores[1]
    empty = clip_instances(logits, torch.full_like(masks, -5.0))
    assert len(empty.scores) == 0 and empty.masks.shape == (0, 2, 4, 6)


def test_top_k_larger_than_the_number_of_pairs():
    pairs = top_query_classes(torch.zeros(2, 3), top_k=10)
    assert sum(len(c) for c in pairs.classes.values()) == 6


def test_masks_of_the_top_queries_only_give_the_same_instances():
    logits, masks = _outputs()
    full = clip_instances(logits, masks, top_k=5, drop_empty=False)
    kept = top_queries(logits, top_k=5)
    assert kept.tolist() == [2, 0, 3, 1]
    only = clip_instances(logits, masks[kept], top_k=5, drop_empty=False, mask_queries=kept)
    assert torch.equal(only.queries, full.queries)
    assert torch.equal(only.mask_logits, full.mask_logits)
    assert torch.equal(only.masks, full.masks)
    with pytest.raises(ValueError, match="no masks"):
        clip_instances(logits, masks[:1], top_k=5, mask_queries=kept[:1])
