"""Run lengths computed with torch operations (on the masks' device; CPU tensors here) and the
strings built from them equal pycocotools' RLE of every mask, edge cases included."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils

from vis_bench.engine import device_rle
from vis_bench.engine.device_rle import EncodingThread, rle_strings, run_lengths


def _pycocotools(masks: np.ndarray) -> list[str]:
    """Each mask's compressed string, by pycocotools."""
    return [
        mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))["counts"].decode("ascii")
        for m in masks
    ]


def _check(masks: np.ndarray) -> None:
    expected = _pycocotools(masks)
    height, width = masks.shape[1:]
    for dtype in (torch.bool, torch.uint8):
        counts, bounds, non_empty = run_lengths(torch.from_numpy(masks).to(dtype))
        # the counts, written by pycocotools itself, give its string of the mask
        for k, (a, b) in enumerate(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)):
            rle = {"counts": counts[a:b].tolist(), "size": [height, width]}
            assert mask_utils.frPyObjects(rle, height, width)["counts"].decode() == expected[k]
        assert non_empty.tolist() == [bool(m.any()) for m in masks]
        assert rle_strings(counts, bounds, height, width) == expected


def test_edge_cases_at_720x1280() -> None:
    h, w = 720, 1280
    masks = np.zeros((6, h, w), np.uint8)
    masks[1] = 1  # all one
    masks[2, 0, 0] = 1  # first pixel set
    masks[3, ::2, ::3] = 1  # one-pixel runs
    masks[4, -1, -1] = 1  # last pixel set
    masks[5, 100:300, 200:900] = 1  # a block
    _check(masks)  # masks[0]: all zero


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (5, 1), (3, 4), (37, 61)])
def test_random_masks_of_many_shapes(shape) -> None:
    rng = np.random.default_rng(sum(shape))
    masks = (rng.random((9, *shape)) < rng.random((9, 1, 1))).astype(np.uint8)
    masks[0] = 0
    masks[1] = 1
    _check(masks)


def test_an_empty_batch() -> None:
    counts, bounds, non_empty = run_lengths(torch.zeros(0, 4, 5, dtype=torch.bool))
    assert len(counts) == 0 and bounds.tolist() == [0] and len(non_empty) == 0
    assert rle_strings(counts, bounds, 4, 5) == []


def test_counts_too_large_for_the_vectorised_writer_use_pycocotools(monkeypatch) -> None:
    monkeypatch.setattr(device_rle, "MAX_COMPRESSIBLE", 10)
    masks = np.zeros((3, 4, 6), np.uint8)
    masks[1, 1:3, 2:5] = 1
    masks[2] = 1
    _check(masks)


def test_strings_are_written_in_a_background_thread_in_order() -> None:
    rng = np.random.default_rng(1)
    batches = [(rng.random((4, 30, 50)) < 0.3).astype(np.uint8) for _ in range(5)]
    futures = [
        EncodingThread.submit(rle_strings, *run_lengths(torch.from_numpy(b))[:2], 30, 50)
        for b in batches
    ]
    assert [f.result() for f in futures] == [_pycocotools(b) for b in batches]
    assert any(t.name.startswith("vis-bench-encoding") for t in threading.enumerate())
