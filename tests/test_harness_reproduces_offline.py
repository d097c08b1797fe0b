"""The harness's generic clip loop reproduces a method's own video inference.

IFC's authors' loop (backbone once per video, the authors' soft-IoU arithmetic, logit averaging,
multi-class expansion) must give the same predictions as the harness driving
`IFCPlugin.infer_clip` with the shared schedule and stitcher, offline and near-online.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.helpers.memory_source import MemoryVideo
from vis_bench.inference.runner import run_method
from vis_bench.methods.ifc.authors_loop import authors_loop_results
from vis_bench.methods.ifc.plugin import IFCPlugin


class _OneVideo:
    def __init__(self, frames: np.ndarray):
        self.frames = frames
        self.video = MemoryVideo(7, frames.shape[1], frames.shape[2], frames.shape[0])

    def videos(self):
        return [self.video]

    def read_frames(self, video, indices):
        return self.frames[indices]


def _smooth_video(length: int, height: int, width: int) -> np.ndarray:
    """Blobs drifting over a gradient: predictions of random weights vary smoothly in time."""
    yy, xx = np.mgrid[0:height, 0:width]
    frames = []
    for t in range(length):
        blob = np.exp(-(((xx - 10 - 3 * t) / 8.0) ** 2 + ((yy - height / 2) / 6.0) ** 2))
        image = np.stack([blob * 200 + 20, xx / width * 120 + 40, yy / height * 90 + 30], -1)
        frames.append(image.astype(np.uint8))
    return np.stack(frames)


@pytest.fixture(scope="module")
def ifc():
    torch.manual_seed(0)
    return IFCPlugin.build(
        {
            "hidden_dim": 32,
            "dim_feedforward": 64,
            "enc_layers": 1,
            "dec_layers": 1,
            "num_queries": 12,
            "num_classes": 5,
            "nheads": 4,
            "num_memory_bus": 2,
        }
    )


@pytest.mark.slow
@pytest.mark.parametrize("window, stride", [("all", None), (3, 1), (4, 2)])
def test_ifc_harness_loop_equals_authors_loop(ifc, window, stride):
    frames = _smooth_video(7, 48, 64)
    source = _OneVideo(frames)
    outcome = run_method(ifc, source, clip_length=window, stride=stride, resolution=48)
    clip = torch.from_numpy(frames).permute(0, 3, 1, 2)
    with torch.inference_mode():
        expected = authors_loop_results(
            ifc,
            ifc.preprocess(clip, 48),
            7,
            orig_size=(48, 64),
            window=7 if window == "all" else window,
            stride=1 if stride is None else stride,
        )
    got = outcome.results
    assert len(expected) > 0
    assert [(r["category_id"]) for r in got] == [r["category_id"] for r in expected]
    np.testing.assert_allclose(
        [r["score"] for r in got], [r["score"] for r in expected], rtol=0, atol=1e-6
    )
    assert [r["segmentations"] for r in got] == [r["segmentations"] for r in expected]


@pytest.fixture(scope="module")
def seqformer():
    from vis_bench.methods.seqformer.plugin import SeqFormerPlugin

    torch.manual_seed(0)
    return SeqFormerPlugin.build(
        {
            "hidden_dim": 32,
            "dim_feedforward": 64,
            "enc_layers": 1,
            "dec_layers": 1,
            "num_queries": 12,
        }
    )


@pytest.mark.slow
def test_seqformer_whole_video_through_the_harness_equals_inference_py(seqformer):
    from vis_bench.methods.families.seqformer.postprocess import video_results

    frames = _smooth_video(5, 48, 64)
    outcome = run_method(
        seqformer,
        _OneVideo(frames),
        clip_length="all",
        stride=None,
        resolution=48,
    )
    clip = seqformer.preprocess(torch.from_numpy(frames).permute(0, 3, 1, 2), 48)
    with torch.inference_mode():
        out = seqformer.model(clip, orig_size=(64, 48))
    video = {"id": 7, "height": 48, "width": 64, "file_names": ["v/00000.jpg"]}
    expected = video_results(out["pred_logits"][0], out["pred_masks"][0], video)
    for entry in expected:
        entry.pop("video_name")
    assert len(expected) > 0
    got = outcome.results
    assert [r["category_id"] for r in got] == [r["category_id"] for r in expected]
    np.testing.assert_allclose(
        [r["score"] for r in got], [r["score"] for r in expected], rtol=0, atol=1e-6
    )
    assert [r["segmentations"] for r in got] == [r["segmentations"] for r in expected]
