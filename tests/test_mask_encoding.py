"""Final masks through the compiled resize-and-encode equal PyTorch's resize, threshold and RLE.

`resize_encode` must give, bit for bit, the RLE of `F.interpolate(..., bilinear,
align_corners=False) > cut` for any float32 masks: random logits at many sizes (upsampling and
downsampling, odd ratios, one-row and one-column masks), values clustered at the cut, exact
zeros, tiny values, NaN and infinity, on one to many threads. SeqFormer's `sigmoid(x) > 0.5` is
`x > sigmoid_cut(0.5)` in every lane of PyTorch's vectorised sigmoid. The runner's sink gives
the same results.json entries with and without the compiled pass.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.helpers.rle_kernel import require_rle_kernel
from vis_bench.api.output import TrackSummary, default_masks_to_video, sigmoid_cut
from vis_bench.engine.finalise import EncodedFrames
from vis_bench.eval.rle.resize_encode import SMALL_OUTPUT, resize_encode
from vis_bench.formats.rle import encode


@pytest.fixture(autouse=True)
def _kernel():
    require_rle_kernel()


def _reference(masks: np.ndarray, height: int, width: int, cut: float) -> list[tuple[str, bool]]:
    resized = F.interpolate(
        torch.from_numpy(masks)[:, None], size=(height, width), mode="bilinear", align_corners=False
    )[:, 0]
    binary = (resized > cut).to(torch.uint8).numpy()
    return [(encode(b)["counts"], bool(b.any())) for b in binary]


def _masks(rng: np.random.Generator, kind: int, n: int, h: int, w: int, cut: float) -> np.ndarray:
    if kind == 0:  # smooth blobs plus noise: long runs and boundaries
        yy, xx = np.mgrid[0:h, 0:w]
        centre = rng.uniform(0, [h, w], (n, 2))
        radius = rng.uniform(1, max(h, w) / 2, (n, 1, 1))
        distance = np.hypot(yy - centre[:, :1, None], xx - centre[:, 1:, None])
        return (radius - distance + rng.standard_normal((n, h, w)) * 0.3).astype(np.float32)
    if kind == 1:  # everything within a few ulps of the cut
        base = np.full((n, h, w), cut, np.float32)
        steps = rng.integers(-3, 4, (n, h, w))
        return np.nextafter(base, np.where(steps > 0, np.inf, -np.inf).astype(np.float32)) * (
            steps != 0
        ) + base * (steps == 0)
    values = np.array([0.0, -0.0, 1e-7, -1e-7, 1e-38, 1e-45, cut, 3.0, -3.0], np.float32)
    return rng.choice(values, (n, h, w)).astype(np.float32)  # kind 2: exact values


@pytest.mark.parametrize("cut", [0.0, 0.5, "sigmoid"])
def test_resize_encode_equals_interpolate_threshold_and_rle(cut):
    cut = sigmoid_cut(0.5) if cut == "sigmoid" else cut
    rng = np.random.default_rng(0)
    sizes = [(90, 160, 720, 1280), (45, 80, 360, 640), (36, 64, 240, 427), (1, 7, 50, 90)]
    sizes += [
        (7, 1, 100, 40),
        (50, 60, 31, 133),
        (64, 64, 64, 80),
        (60, 70, 60, 70),
        (30, 40, 29, 300),
    ]
    for _ in range(24):
        h, w = (int(v) for v in rng.integers(1, 50, 2))
        height, width = (int(v) for v in rng.integers(1, 220, 2))
        sizes.append((h, w, height, width + max(0, SMALL_OUTPUT + 1 - height - width)))
    for index, (h, w, height, width) in enumerate(sizes):
        masks = _masks(rng, index % 3, 3, h, w, cut)
        expected = _reference(masks, height, width, cut)
        for threads in (1, 2):
            got = resize_encode(masks, height, width, cut, threads)
            assert got == expected, (h, w, height, width, index % 3, threads)


@pytest.mark.parametrize("count", [0, 1, 2, 5, 17])
def test_resize_encode_shares_its_masks_over_any_number_of_threads(count):
    """The masks are split into one consecutive share per thread (more threads than masks:
    one mask each); the strings come back in order whatever the split."""
    require_rle_kernel()
    rng = np.random.default_rng(count)
    masks = rng.normal(0, 2, (count, 23, 41)).astype(np.float32)
    expected = _reference(masks, 180, 320, 0.0) if count else []
    for threads in (1, 2, 3, 4, 16, 200):
        assert resize_encode(masks, 180, 320, 0.0, threads) == expected, threads


def test_non_finite_values_follow_pytorch():
    rng = np.random.default_rng(1)
    masks = rng.standard_normal((4, 20, 30)).astype(np.float32)
    masks[0, 5, 5] = np.nan
    masks[1, 0, :] = np.inf
    masks[2, :, 3] = -np.inf
    masks[3] = np.nan
    assert resize_encode(masks, 100, 150, 0.0) == _reference(masks, 100, 150, 0.0)


def test_small_outputs_are_left_to_pytorch():
    masks = np.zeros((2, 10, 10), np.float32)
    assert resize_encode(masks, 64, 64, 0.0) is None  # H + W <= 128: PyTorch's other kernel
    assert resize_encode(masks, 65, 64, 0.0) is not None
    assert resize_encode(np.zeros((0, 10, 10), np.float32), 100, 100, 0.0) == []


def test_sigmoid_cut_is_the_sigmoid_threshold_in_every_lane():
    cut = np.float32(sigmoid_cut(0.5))
    assert 0 < cut < 1e-6
    bits = cut.view(np.int32) + np.arange(-(1 << 14), 1 << 14, dtype=np.int32)
    x = np.concatenate([bits.view(np.float32), -bits.view(np.float32), [0.0, -0.0, 1.0, -1.0]])
    for offset in range(3):  # the values in other vector lanes and in the scalar tail
        shifted = torch.from_numpy(np.roll(x, offset).astype(np.float32))
        assert torch.equal(torch.sigmoid(shifted) > 0.5, shifted > float(cut))


def _sink_results(masks_to_video, mask_cut, frames, on_device=None, size=(180, 320)):
    sink = EncodedFrames(*size, masks_to_video, mask_cut=mask_cut, on_device=on_device)
    for frame, masks in enumerate(frames):
        sink.frame_final(frame, masks, 0.0)
    tracks = [TrackSummary(track_id, 1, 0.9, 0.0) for track_id in range(3)]
    return sink.results(tracks, 1, len(frames))


def _seqformer_masks_to_video(masks, height, width, threshold):
    resized = F.interpolate(
        masks.float()[:, None], size=(height, width), mode="bilinear", align_corners=False
    )[:, 0]
    return (resized.sigmoid_() > 0.5).to(torch.uint8).numpy()


def test_the_sink_gives_the_same_results_with_the_compiled_pass():
    rng = np.random.default_rng(2)
    frames = []
    for _ in range(3):
        logits = torch.from_numpy(_masks(rng, 0, 3, 45, 80, 0.0))
        logits[1] *= 1e-7  # values where sigmoid > 0.5 and > 0 disagree
        frames.append({track_id: logits[track_id] for track_id in range(3)})
    cut = sigmoid_cut(0.5)
    for masks_to_video, mask_cut in [
        (default_masks_to_video, lambda t: t),
        (_seqformer_masks_to_video, lambda t: cut),
    ]:
        plain = _sink_results(masks_to_video, None, frames)
        assert _sink_results(masks_to_video, mask_cut, frames) == plain


@pytest.mark.parametrize("size", [(180, 320), (720, 1280), (40, 50)])
@pytest.mark.parametrize("chunk", [2, 64])
def test_the_device_path_gives_the_same_results(size, chunk, monkeypatch):
    """Resized, thresholded and counted in runs with torch operations where the masks are (CPU
    tensors here), the strings written in a background thread: the same results.json entries
    as the compiled pass and as PyTorch's resize with pycocotools' RLE; batches of `chunk`
    masks span frames."""
    monkeypatch.setattr("vis_bench.engine.finalise.DEVICE_CHUNK", chunk)
    rng = np.random.default_rng(3)
    frames = []
    for _ in range(3):
        logits = torch.from_numpy(_masks(rng, 0, 3, 45, 80, 0.0))
        logits[1] *= 1e-7
        logits[2] = -1.0 if len(frames) == 1 else logits[2]  # an empty mask
        frames.append({track_id: logits[track_id] for track_id in range(3)})
    cut = sigmoid_cut(0.5)
    for masks_to_video, mask_cut in [
        (default_masks_to_video, lambda t: t),
        (_seqformer_masks_to_video, lambda t: cut),
    ]:
        plain = _sink_results(masks_to_video, None, frames, size=size)
        on_device = _sink_results(masks_to_video, mask_cut, frames, True, size)
        assert on_device == plain
        assert _sink_results(masks_to_video, mask_cut, frames, False, size) == plain


def test_a_plugin_with_its_own_masks_to_video_keeps_it():
    from tests.helpers.toy_method import ToyPlugin
    from vis_bench.api.output import output_hooks
    from vis_bench.api.registration import get_method

    class Own(ToyPlugin):
        def masks_to_video(self, masks, height, width, threshold):
            return default_masks_to_video(masks, height, width, threshold)

    def cut(plugin, threshold):
        return output_hooks(plugin)[2](threshold)

    assert cut(Own.build({}), 0.0) is None
    assert cut(ToyPlugin.build({}), 0.5) == 0.5
    seqformer = get_method("seqformer").build({"backbone": "tiny", "hidden_dim": 32, "nheads": 4})
    assert cut(seqformer, 0.0) == sigmoid_cut(0.5)
