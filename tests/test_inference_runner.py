"""The runner: one-time costs of the first clip stay out of the end-to-end time, and the first
video is decoded once."""

from __future__ import annotations

import pytest
import torch

from tests.helpers.memory_source import MemorySource
from tests.helpers.toy_method import ToyPlugin
from vis_bench.inference.pass_hooks import NO_WARM_UP, PassHooks, UntimedCalls
from vis_bench.inference.runner import run_method


class _CountingToy(ToyPlugin):
    """The toy method counting its clip calls."""

    def __init__(self, options):
        super().__init__(options)
        self.calls = 0
        self.lengths: list[int] = []

    def infer_clip(self, frames: torch.Tensor):
        self.calls += 1
        self.lengths.append(int(frames.shape[0]))
        return super().infer_clip(frames)


class _CountingSource(MemorySource):
    """A memory source counting how often each frame of each video is decoded."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.reads: dict[tuple[int, int], int] = {}

    def read_frames(self, video, indices):
        for frame in indices:
            self.reads[video.id, frame] = self.reads.get((video.id, frame), 0) + 1
        return super().read_frames(video, indices)


class _Noted(PassHooks):
    """Notes each moment of the pass with the method's clip calls so far."""

    def __init__(self, plugin: _CountingToy, moments: list) -> None:
        self.plugin, self.moments = plugin, moments

    def warm_up(self, first_clip, call):
        self.moments.append(("warm_up", self.plugin.calls))
        call()
        return int(first_clip.shape[0])

    def before_timed(self) -> None:
        self.moments.append(("start", self.plugin.calls))

    def after_timed(self) -> None:
        self.moments.append(("end", self.plugin.calls))

    def video_done(self) -> None:
        self.moments.append(("video", self.plugin.calls))


def _run(plugin, source, warmup: int, moments: list, hooks: type[_Noted] = _Noted):
    return run_method(
        plugin,
        source,
        clip_length=4,
        stride=None,
        resolution=None,
        untimed=UntimedCalls(warmup=warmup, repeats=1),
        hooks=hooks(plugin, moments),
    )


@pytest.mark.parametrize("warmup", [0, 1])
def test_the_first_clip_runs_untimed_only_with_warmup(warmup: int) -> None:
    """Which calls fall inside the timed region, not how long they took (no wall clock)."""
    plugin = _CountingToy(ToyPlugin.parse_options({}))
    regions: list = []
    outcome = _run(plugin, MemorySource(lengths=(6, 4), size=(16, 24)), warmup, regions)
    (start, calls_before), (end, calls_after) = [m for m in regions if m[0] in ("start", "end")]
    assert (start, end) == ("start", "end")
    assert calls_before == warmup  # the warm-up clip ran before the timer started
    assert calls_after - calls_before == 3  # 2 clips of the 6-frame video, 1 of the 4-frame one
    reference = _run(
        _CountingToy(ToyPlugin.parse_options({})),
        MemorySource(lengths=(6, 4), size=(16, 24)),
        0,
        [],
    )
    assert outcome.results == reference.results  # the untimed clip changes no prediction


def test_the_hooks_are_called_at_the_passs_moments_in_order() -> None:
    """The warm-up first (its answer kept), the timer's start, each video done, the timer's
    end; without a warm-up, no warm-up moment."""
    moments: list = []
    outcome = _run(
        _CountingToy(ToyPlugin.parse_options({})), MemorySource(lengths=(6, 4)), 1, moments
    )
    # the warm-up clip, then the 6-frame video's 2 clips and the 4-frame video's 1 (T=4 S=2)
    assert moments == [("warm_up", 0), ("start", 1), ("video", 3), ("video", 4), ("end", 4)]
    assert outcome.warmup_probe == 4  # what the warm-up hook returned: the first clip's frames
    moments.clear()
    _run(_CountingToy(ToyPlugin.parse_options({})), MemorySource(lengths=(6, 4)), 0, moments)
    assert [name for name, _ in moments] == ["start", "video", "video", "end"]


class _StopAtFirstVideo(_Noted):
    def should_stop(self, frames: int, seconds: float) -> bool:
        self.moments.append(("stop?", frames))
        return True


def test_a_pass_asked_to_stop_ends_after_that_video_and_still_ends_its_timer() -> None:
    moments: list = []
    plugin = _CountingToy(ToyPlugin.parse_options({}))
    outcome = _run(plugin, MemorySource(lengths=(6, 4)), 1, moments, _StopAtFirstVideo)
    assert moments[-3:] == [("video", 3), ("stop?", 6), ("end", 3)]
    assert outcome.num_videos == 1 and outcome.video_ids == [1]


def test_a_rounds_warm_up_runs_the_first_frames_only() -> None:
    """A timed round warms up on the first clip's first frames (a whole video at T = all would
    cost it a third of its timed pass again); the timed clips stay whole and unchanged."""

    def run(warmup_frames):
        plugin = _CountingToy(ToyPlugin.parse_options({}))
        outcome = run_method(
            plugin,
            MemorySource(lengths=(9, 4), size=(16, 24)),
            clip_length="all",
            stride=None,
            resolution=None,
            untimed=UntimedCalls(warmup_frames=warmup_frames),
        )
        return plugin.lengths, outcome.results

    short, results = run(5)
    whole, reference = run(None)
    assert short == [5, 9, 4] and whole == [9, 9, 4]
    assert results == reference


def test_every_frame_is_decoded_once_and_the_first_clip_reused():
    """Overlapping windows (T=4 S=2 on 6 frames) reuse decoded frames; the warm-up clip too."""
    plugin = _CountingToy(ToyPlugin.parse_options({}))
    source = _CountingSource(lengths=(6, 4), size=(16, 24))
    outcome = _run(plugin, source, 1, [])
    assert source.reads == {(1, f): 1 for f in range(6)} | {(2, f): 1 for f in range(4)}
    assert outcome.first_clip is not None and outcome.first_clip.shape[0] == 4


def test_a_videos_strings_are_collected_after_the_next_video_runs(monkeypatch) -> None:
    """The encoding of one video overlaps the model of the next: the runner links a video's last
    frames at its end but asks for its results (waiting for the strings) only when the next
    video has ended, and the last video's at the end of the pass; the results keep video order."""
    from vis_bench.inference import runner

    events: list[tuple[str, int]] = []
    results = runner.VideoRun.results

    def noted(self):
        events.append(("results", int(self.video.id)))
        return results(self)

    class _Noting(_CountingToy):
        def infer_clip(self, frames):
            events.append(("clip", len(events)))
            return super().infer_clip(frames)

    monkeypatch.setattr(runner.VideoRun, "results", noted)
    source = MemorySource(lengths=(4, 4, 4), size=(16, 24))
    outcome = run_method(
        _Noting(ToyPlugin.parse_options({})), source, clip_length="all", stride=None,
        resolution=None, untimed=NO_WARM_UP,
    )  # fmt: skip
    kinds = [kind if kind == "clip" else f"results {video}" for kind, video in events]
    assert kinds == ["clip", "clip", "results 1", "clip", "results 2", "results 3"]
    assert [r["video_id"] for r in outcome.results] == sorted(
        r["video_id"] for r in outcome.results
    )
    assert {r["video_id"] for r in outcome.results} == {1, 2, 3}
