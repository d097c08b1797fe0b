"""The shipped tiny VidEoMT through the harness: one frame per clip (the released window) and the
whole video as one clip give the same results on the default run's synthetic videos, at its
resolution: the same (query, label) pairs, scores within 1e-5, masks within a few pixels."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vis_bench.config import load_config
from vis_bench.inference.sources import open_source
from vis_bench.methods.videomt.harness_path import harness_results
from vis_bench.parity import ParityReport, compare_results
from vis_bench.sweep.methods import resolve_methods
from vis_bench.sweep.worker import build_plugin

REPO = Path(__file__).resolve().parents[1]
RESOLUTION = 144  # the default run's

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny_and_source():
    config = load_config(
        REPO / "configs" / "default.yaml",
        ["dataset.videos=3", f"dataset.cache_dir={REPO / '.cache' / 'vis_bench'}"],
    )
    entry = next(e for e in resolve_methods(config) if e.name == "videomt")
    plugin, _ = build_plugin(entry)
    return plugin, open_source(config.dataset, config.source)


@pytest.mark.slow
def test_one_frame_at_a_time_and_the_whole_video_give_the_same_results(tiny_and_source):
    plugin, source = tiny_and_source
    assert plugin.load_report is not None and not plugin.load_report.partial
    report = ParityReport(method="videomt", fixture="tiny checkpoint")
    for video in source.videos():
        length = int(video.length)
        frames = torch.from_numpy(source.read_frames(video, list(range(length))))
        clip = plugin.preprocess(frames.permute(0, 3, 1, 2).contiguous(), RESOLUTION)
        size = (int(video.height), int(video.width))
        per_frame = harness_results(plugin, clip, size, 1, 1)
        whole = harness_results(plugin, clip, size, "all", None)
        # confident above chance (1 / 9 over 8 classes and "no object"): real detections to compare
        assert len(per_frame["pred_scores"]) == 10 and float(per_frame["pred_scores"].max()) > 0.2
        compare_results(report, f"video {video.id} T=all", whole, per_frame, ordered=True)
    failed = [check for check in report.checks if not check.passed]
    assert report.checks and not failed, report.format()
