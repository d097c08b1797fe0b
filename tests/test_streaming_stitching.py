"""Streaming stitching: frames finalised as soon as no later clip covers them give exactly the
results of post-processing whole tracks at the end, and the stitcher's float state does not grow
with the video's length under a near-online schedule."""

from __future__ import annotations

import pytest
import torch

from tests.helpers.whole_track_results import whole_track_results
from vis_bench.api.plugin import ClipResult
from vis_bench.engine.finalise import RESIZE_CHUNK, EncodedFrames, TrackPostprocessing
from vis_bench.engine.schedule import clip_windows
from vis_bench.engine.stitching import ClipStitcher
from vis_bench.methods.ifc.plugin import IFCOptions, IFCPlugin
from vis_bench.methods.seqformer.plugin import SeqFormerPlugin

MASK_H, MASK_W = 6, 8  # the clips' working resolution
VIDEO_H, VIDEO_W = 23, 31  # the video size the masks are resized to
NUM_CLASSES = 4


def _disc(cy: float, cx: float, radius: float) -> torch.Tensor:
    yy, xx = torch.meshgrid(
        torch.arange(MASK_H, dtype=torch.float32),
        torch.arange(MASK_W, dtype=torch.float32),
        indexing="ij",
    )
    return radius - torch.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)  # > 0 inside


class _Scene:
    """Objects entering late, leaving early, one never visible (all-negative logits), near-zero
    logits on the edges, scores on both sides of SeqFormer's 0.001 rule and class distributions
    with several classes above IFC's 0.01 threshold."""

    def __init__(self, length: int, seed: int):
        g = torch.Generator().manual_seed(seed)
        self.g = g
        self.objects = []
        for k in range(4):
            start = int(torch.randint(0, max(1, length // 3), (1,), generator=g))
            stop = length - int(torch.randint(0, max(1, length // 3), (1,), generator=g))
            y, x = (torch.rand(2, generator=g) * torch.tensor([MASK_H, MASK_W])).tolist()
            self.objects.append((k % 2 + 1, start, stop, y, x, 0.3 * (k - 1.5)))

    def clip(self, window: range, kind: str) -> ClipResult:
        logits, labels, scores = [], [], []
        for label, start, stop, y, x, vx in self.objects:
            if not any(start <= f < stop for f in window):
                continue
            frames = [
                _disc(y, x + vx * f, 2.0)
                if start <= f < stop
                else torch.full((MASK_H, MASK_W), -4.0)
                for f in window
            ]
            logits.append(
                torch.stack(frames)
                + 0.05 * torch.randn(len(window), MASK_H, MASK_W, generator=self.g)
            )
            labels.append(label)
            low = label == 2 and start == self.objects[1][1]  # below SeqFormer's 0.001
            scores.append(0.0005 if low else float(torch.rand(1, generator=self.g)) * 0.9 + 0.05)
        logits.append(torch.full((len(window), MASK_H, MASK_W), -3.0))  # never visible
        labels.append(1)
        scores.append(0.5)
        stacked = torch.stack(logits)
        probs = torch.softmax(torch.randn(len(labels), NUM_CLASSES + 1, generator=self.g) * 2, -1)
        return ClipResult(
            scores=torch.tensor(scores),
            labels=torch.tensor(labels),
            masks=stacked.sigmoid(),
            mask_logits=None if kind == "default-probs" else stacked,
            class_probs=probs if kind == "ifc" else None,
        )


def _postprocessing(kind: str) -> TrackPostprocessing:
    if kind == "seqformer":
        return TrackPostprocessing.of(SeqFormerPlugin.__new__(SeqFormerPlugin))
    if kind == "ifc":
        ifc = IFCPlugin.__new__(IFCPlugin)
        ifc.options = IFCOptions()
        return TrackPostprocessing.of(ifc)
    return TrackPostprocessing()


SCHEDULES = [(13, "all", None), (13, 5, 1), (13, 4, 2), (13, 3, 3), (9, 6, 4), (5, 8, None)]
KINDS = ["default-probs", "default-logits", "seqformer", "ifc"]


class _Recorder:
    """A sink noting, per final frame, how many clips had been added by then."""

    def __init__(self, stitcher_clips):
        self.clips_before = {}
        self._clips = stitcher_clips

    def frame_final(self, frame, masks, threshold):
        self.clips_before[frame] = self._clips()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("length, clip_length, stride", SCHEDULES)
def test_streaming_results_equal_whole_track_postprocessing(kind, length, clip_length, stride):
    windows = clip_windows(length, clip_length, stride)
    scene = _Scene(length, seed=length * 7 + len(windows))
    clips = [scene.clip(w, kind) for w in windows]
    aware = kind != "ifc"
    post = _postprocessing(kind)

    reference = ClipStitcher(length, history=len(windows[0]), class_aware=aware)
    for window, clip in zip(windows, clips, strict=True):
        reference.add_clip(window, clip)
    expected = whole_track_results(reference.tracks(), 3, VIDEO_H, VIDEO_W, post)

    encoded = EncodedFrames(VIDEO_H, VIDEO_W, post.masks_to_video)
    added = []
    recorder = _Recorder(lambda: len(added))
    streaming = ClipStitcher.for_schedule(windows, class_aware=aware, sinks=[encoded, recorder])
    for window, clip in zip(windows, clips, strict=True):
        streaming.add_clip(window, clip)
        added.append(window)
    got = encoded.results(streaming.finish(), 3, length, post)

    assert expected and got == expected
    # every frame was finalised while adding the last clip that covers it, not at the end
    last_cover = {f: i + 1 for i, w in enumerate(windows) for f in w}
    assert recorder.clips_before == {f: last_cover[f] - 1 for f in range(length)}
    if kind == "seqformer":  # the rules that need whole tracks were exercised
        assert any(r["segmentations"][0] is None for r in got)  # score below 0.001
        assert len(got) < reference.num_tracks  # never-visible tracks dropped
    if kind == "ifc":  # multi-class expansion: several predictions share one track's masks
        assert len(got) > len({id(r["segmentations"]) for r in got})


def _stitcher_peak(length: int, streaming: bool) -> tuple[int, int]:
    """Three objects moving through a video of `length` frames under T=5 S=1."""
    windows = clip_windows(length, 5, 1)

    def clip(window: range) -> ClipResult:
        masks = torch.stack(
            [
                torch.stack([_disc(2 + k, 1 + 2 * k + 0.01 * f, 1.5) for f in window]).sigmoid()
                for k in range(3)
            ]
        )
        return ClipResult(torch.full((3,), 0.8), torch.tensor([1, 2, 3]), masks)

    if streaming:
        encoded = EncodedFrames(VIDEO_H, VIDEO_W)
        stitcher = ClipStitcher.for_schedule(windows, sinks=[encoded])
    else:
        stitcher = ClipStitcher(length, history=5)
    for window in windows:
        stitcher.add_clip(window, clip(window))
    assert stitcher.num_tracks == 3  # the objects keep their tracks
    return stitcher.peak_tensors, stitcher.peak_bytes


@pytest.mark.slow
def test_stitcher_memory_is_constant_in_video_length_under_t5_s1():
    peaks = {length: _stitcher_peak(length, streaming=True) for length in (12, 48, 192)}
    assert len(set(peaks.values())) == 1, peaks
    tensors, nbytes = peaks[12]
    # the last 5 clips' masks and, per track, the running sums of the 5 frames still open
    assert tensors == 5 + 3 * 5
    assert nbytes == 5 * (3 * 5 * MASK_H * MASK_W * 4) + 3 * 5 * (MASK_H * MASK_W * 4)
    # keeping every frame until the end (no schedule) grows with the length
    kept = [_stitcher_peak(length, streaming=False)[1] for length in (12, 48)]
    assert kept[1] - kept[0] == 3 * (48 - 12) * MASK_H * MASK_W * 4


def test_a_clip_out_of_schedule_order_is_refused():
    windows = clip_windows(8, 4, 2)
    stitcher = ClipStitcher.for_schedule(windows, sinks=[EncodedFrames(VIDEO_H, VIDEO_W)])
    masks = torch.zeros(1, 4, MASK_H, MASK_W)
    with pytest.raises(ValueError, match="the schedule says"):
        stitcher.add_clip(windows[1], ClipResult(torch.ones(1), torch.ones(1), masks))


def test_more_tracks_than_one_resize_chunk_give_the_same_results():
    windows = clip_windows(4, 2, 1)
    g = torch.Generator().manual_seed(1)
    count = RESIZE_CHUNK * 2 + 3
    logits = torch.randn(count, 4, MASK_H, MASK_W, generator=g) * 3
    clips = [
        ClipResult(
            torch.full((count,), 0.5), torch.ones(count), logits[:, w].sigmoid(), logits[:, w]
        )
        for w in windows
    ]
    reference = ClipStitcher(4, history=2, class_aware=False)
    encoded = EncodedFrames(VIDEO_H, VIDEO_W)
    streaming = ClipStitcher.for_schedule(windows, class_aware=False, sinks=[encoded])
    for window, clip in zip(windows, clips, strict=True):
        reference.add_clip(window, clip)
        streaming.add_clip(window, clip)
    post = TrackPostprocessing()
    expected = whole_track_results(reference.tracks(), 1, VIDEO_H, VIDEO_W, post)
    assert len(expected) >= count
    assert encoded.results(streaming.finish(), 1, 4, post) == expected
