"""Per-frame features reused across overlapping clips give the predictions of recomputing them.

Every method with per-frame stages (the registry's; today SeqFormer and the MS-STS release:
backbone to encoder and mask features; the MS-STS reconstruction: backbone and input
projections, its encoder mixes frames; IFC: backbone, input projection, position encoding and
mask-head laterals, its encoder's memory tokens mix frames; Mask2Former-VIS, MinVIS and DVIS++:
backbone and pixel decoder; VidEoMT: the ViT blocks before its queries) runs the same video with
`feature_reuse` on and off, under T=5 S=1 and T=10 S=5: the results must be equal bit for bit
where the CPU's kernels round a frame alike in batches of any size, and within the parity
tolerances where they do not (`assert_same_predictions`), with each frame's per-frame stages
computed once (a method the runner gives each frame once,
MinVIS, DVIS++ and VidEoMT, has nothing to reuse: no cache is made). Random-weight models at each method's tiny
size on a synthetic video, the published R50 models on a small one, and the default run's tiny
trained models on its own synthetic data at 144 px; at two threads, as a sweep runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers.memory_source import MemoryVideo
from tests.helpers.tiny import tiny_options
from vis_bench.api.linking import gives_each_frame_once
from vis_bench.api.per_frame import has_per_frame_stages
from vis_bench.api.registration import discovered_methods, get_method
from vis_bench.config import load_config
from vis_bench.engine.schedule import clip_windows
from vis_bench.formats.rle import decode
from vis_bench.inference.feature_reuse import FrameFeatureCache
from vis_bench.inference.runner import run_method
from vis_bench.inference.sources import open_source
from vis_bench.parity.compare import FLIPPED_PIXELS, SCORE_TOLERANCE
from vis_bench.sweep.methods import resolve_methods
from vis_bench.sweep.worker import build_plugin

REPO = Path(__file__).resolve().parents[1]
SCHEDULES = [(5, 1), (10, 5)]
#: every method with per-frame stages, from the registry (built with its tiny options)
PER_FRAME = [name for name in discovered_methods() if has_per_frame_stages(get_method(name))]


class _OneVideo:
    def __init__(self, frames: np.ndarray):
        self.frames = frames
        self.video = MemoryVideo(3, frames.shape[1], frames.shape[2], frames.shape[0])

    def videos(self):
        return [self.video]

    def read_frames(self, video, indices):
        return self.frames[indices]


def _video(length: int = 12, height: int = 64, width: int = 96) -> np.ndarray:
    """Blobs drifting over a gradient, so that clips find objects to stitch."""
    yy, xx = np.mgrid[0:height, 0:width]
    frames = []
    for t in range(length):
        blob = np.exp(-(((xx - 8 - 3 * t) / 7.0) ** 2 + ((yy - height / 2) / 6.0) ** 2))
        image = np.stack([blob * 200 + 20, xx / width * 120 + 40, yy / height * 90 + 30], -1)
        frames.append(image.astype(np.uint8))
    return np.stack(frames)


def assert_same_predictions(on: list[dict], off: list[dict], name: str = "") -> None:
    """Reuse computes a clip's new frames in a smaller batch than recomputing does. Where the
    CPU's kernels round with the batch's size (seen on an Intel Xeon), a frame's features
    then differ by float rounding: the same predictions in the same order, scores within
    `SCORE_TOLERANCE` and masks at most `FLIPPED_PIXELS` apart, the parity tolerances."""
    if on == off:
        return
    assert [(r["video_id"], r["category_id"]) for r in on] == [
        (r["video_id"], r["category_id"]) for r in off
    ], name
    for mine, theirs in zip(on, off, strict=True):
        assert abs(mine["score"] - theirs["score"]) <= SCORE_TOLERANCE, name
        flipped = sum(
            int((decode(a).astype(bool) != decode(b).astype(bool)).sum())
            for a, b in zip(mine["segmentations"], theirs["segmentations"], strict=True)
            if a is not None and b is not None
        )
        assert [a is None for a in mine["segmentations"]] == [
            b is None for b in theirs["segmentations"]
        ], name
        assert flipped <= FLIPPED_PIXELS, name


@pytest.fixture
def two_threads():
    """Two threads, as a sweep on the 2-core VM runs: a kernel that splits its sums over
    threads by batch size (channels-last GroupNorm did) shows only with more than one."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


def _both(plugin, source, clip_length, stride, resolution):
    runs = {}
    for reuse in (True, False):
        runs[reuse] = run_method(
            plugin,
            source,
            clip_length=clip_length,
            stride=stride,
            resolution=resolution,
            feature_reuse=reuse,
        )
    return runs[True], runs[False]


@pytest.mark.slow
@pytest.mark.parametrize("name", PER_FRAME)
@pytest.mark.parametrize("clip_length, stride", SCHEDULES)
def test_reuse_equals_recomputing_on_a_small_model(two_threads, name, clip_length, stride):
    torch.manual_seed(0)
    plugin = get_method(name).build(tiny_options(name))
    source = _OneVideo(_video())
    on, off = _both(plugin, source, clip_length, stride, 64)
    assert_same_predictions(on.results, off.results, name)
    assert on.results, "the video should give predictions"
    if gives_each_frame_once(plugin.spec.linking):
        # given each frame once either way: nothing to reuse, no cache, the same batches
        assert not on.feature_reuse and on.reuse.frames_computed == 0
        return
    assert on.feature_reuse and not off.feature_reuse
    windows = clip_windows(12, clip_length, stride)
    assert on.reuse.frames_computed == 12
    assert on.reuse.clip_frames == sum(len(w) for w in windows)
    assert on.reuse.peak_frames_held <= clip_length
    assert off.reuse.frames_computed == 0


@pytest.fixture(scope="module")
def default_run():
    """The default run's methods (their tiny checkpoints) and a video of its synthetic data."""
    config = load_config(
        REPO / "configs" / "default.yaml",
        ["dataset.videos=1", f"dataset.cache_dir={REPO / '.cache' / 'vis_bench'}"],
    )
    return config, resolve_methods(config)


#: the trained cells at the schedule reusing most (stride 1) and at the default run's; every
#: schedule of SCHEDULES runs on each method's small model above
DEFAULT_RUN_SCHEDULES = [SCHEDULES[0], (5, 3)]


@pytest.mark.slow
@pytest.mark.heavy
@pytest.mark.parametrize("clip_length, stride", DEFAULT_RUN_SCHEDULES)
def test_reuse_equals_recomputing_on_the_default_run_cells(
    two_threads, default_run, clip_length, stride
):
    config, entries = default_run
    source = open_source(config.dataset, config.source)
    for entry in entries:
        plugin, _ = build_plugin(entry)
        once = gives_each_frame_once(plugin.spec.linking)
        if once and (clip_length, stride) != SCHEDULES[0]:
            continue  # nothing to reuse at any schedule: the first one checks it
        on, off = _both(plugin, source, clip_length, stride, 144)
        assert on.feature_reuse != once, entry.name
        assert on.results, f"{entry.name}: the video should give predictions"
        assert_same_predictions(on.results, off.results, entry.name)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["seqformer", "ifc"])
def test_reuse_equals_recomputing_on_the_published_r50_models(two_threads, name):
    torch.manual_seed(0)
    plugin = get_method(name).build({})
    source = _OneVideo(_video(7, 96, 160))
    on, off = _both(plugin, source, 5, 1, 96)
    assert_same_predictions(on.results, off.results, name)
    assert on.reuse.frames_computed == 7


def test_the_cache_computes_each_frame_once_and_holds_one_window():
    windows = clip_windows(9, 4, 1)
    cache = FrameFeatureCache(windows)
    asked = []

    def compute(positions, index):
        asked.extend(windows[index][k] for k in positions)
        return [("frame", windows[index][k]) for k in positions]

    for index, window in enumerate(windows):
        features = cache.clip_features(index, lambda p, i=index: compute(p, i))
        assert features == [("frame", f) for f in window]
    assert asked == list(range(9))
    assert cache.counts.peak_frames_held == 4
    assert cache.missing(0) == [0, 1, 2, 3]  # everything dropped after the last clip


def test_a_method_without_per_frame_stages_runs_infer_clip(one_thread):
    from tests.helpers.toy_method import ToyPlugin

    plugin = ToyPlugin.build({})
    source = _OneVideo(_video(6))
    outcome = run_method(plugin, source, clip_length=3, stride=1, resolution=64)
    assert not outcome.feature_reuse and outcome.reuse.frames_computed == 0


def test_stacked_frames_keep_the_layout_of_the_batch():
    from vis_bench.methods.common.frames import stack_frames

    batch = torch.randn(4, 8, 5, 6).contiguous(memory_format=torch.channels_last)
    stacked = stack_frames(list(batch))
    assert torch.equal(stacked, batch) and stacked.stride() == batch.stride()
    plain = torch.randn(4, 8, 5, 6)
    assert stack_frames(list(plain)).stride() == plain.stride()


def test_ifc_clip_from_frames_is_its_batched_forward(two_threads):
    """The split forward computes what the batched one did (the fast paths hand channels-last
    maps on; a clip stacked as NCHW would run other convolution kernels)."""
    from vis_bench.methods.common.fast_paths import ensure_prepared, inference_context
    from vis_bench.methods.ifc.postprocess import filter_clip

    torch.manual_seed(0)
    plugin = get_method("ifc").build({})
    frames = torch.randn(3, 3, 96, 160)
    with torch.inference_mode():
        result = plugin.infer_clip(frames)
        paths = ensure_prepared(plugin.model)
        with inference_context(paths):
            net = plugin.model.detr
            out = net.forward_post_backbone(
                net.forward_pre_backbone(frames), mask_queries=plugin._mask_queries(paths)
            )
            inst = filter_clip(
                out["pred_logits"],
                out["pred_masks"],
                [0, 1, 2],
                plugin.cfg.num_classes,
                out.get("mask_queries"),
            )
    expected = inst.clip_result()
    assert len(result) > 0
    assert torch.equal(result.scores, expected.scores)
    assert torch.equal(result.mask_logits, expected.mask_logits)
