"""SAM 3's objects benchmark forces the count it names: disjoint detections on the first frame,
hotstart off, so every frame's step carries exactly that many objects (what its FPS is set
against the authors' chart by)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.helpers.benchmark_scripts import load_benchmark


def _bench():
    return load_benchmark("bench_sam3_objects")


@pytest.mark.parametrize("count", [1, 7, 16])
def test_the_forced_detections_are_disjoint_masks_above_every_threshold(count):
    found = _bench().grid_detections(count, 48, 40, torch.device("cpu"))
    masks = found.masks > 0
    assert masks.shape == (count, 48, 40) and bool(masks.flatten(1).any(1).all())
    assert int(masks.sum(0).max()) == 1  # no pixel in two masks: mask NMS keeps them all
    assert bool((found.scores > 0.5).all())
    assert bool((found.boxes[:, 2:] > found.boxes[:, :2]).all())


def test_every_frame_carries_the_forced_objects():
    bench = _bench()
    model, options = bench.build(tiny=True, device=torch.device("cpu"))
    frames = np.random.default_rng(0).integers(0, 256, (3, 24, 32, 3), dtype=np.uint8)
    images = bench.preprocess_video_frames(frames, options.image)
    from vis_bench.methods.sam3.tokenizer import Tokenizer

    with torch.no_grad():
        words = model.encode_prompts(Tokenizer(options.context)(["object"]))
        run = bench.one_run(model, images, (24, 32), words, 3, torch.device("cpu"))
    assert run["objects_per_frame"] == [3, 3, 3]
    assert run["total_s"] >= run["frame_stage_s"] > 0
