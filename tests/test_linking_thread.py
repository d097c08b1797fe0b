"""The linking stage on its own thread: the next window's model runs while a window is linked,
with the same predictions in the same order, one window in flight at most, and a linking error
raised on the main thread with its own message."""

from __future__ import annotations

import functools
import threading

import pytest
import torch

import tests.helpers.toy_refining_method  # noqa: F401  (registers "toy-refining")
import tests.helpers.toy_stateful_method  # noqa: F401  (registers "toy-stateful")
from tests.helpers.memory_source import MemorySource
from tests.helpers.pass_hooks import StopAfterFrames
from tests.helpers.tiny import tiny_options
from tests.helpers.toy_method import ToyPlugin
from vis_bench.api import ClipResult
from vis_bench.api.registration import get_method
from vis_bench.inference import runner
from vis_bench.inference.linking_stream import tensors_in
from vis_bench.inference.linking_thread import (
    THREAD_PREFIX,
    LinkingThread,
    resolve_linking_thread,
    waits_between_videos,
)
from vis_bench.inference.runner import run_method

pytestmark = pytest.mark.usefixtures("one_thread")


def _run(plugin, source, own_thread: bool, clip_length, stride):
    return run_method(
        plugin,
        source,
        clip_length=clip_length,
        stride=stride,
        resolution=None,
        linking_thread=own_thread,
        input_workers=0,
    )


def _linking_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)]


@pytest.mark.parametrize(
    ("method", "clip_length", "stride"),
    [
        ("toy", "all", None),
        ("toy", 4, 2),
        ("toy-stateful", 3, 1),
        ("toy-refining", 3, 2),
    ],
)
def test_the_same_predictions_in_the_same_order_with_the_thread_and_without(
    method, clip_length, stride
) -> None:
    """Stitched clips, a state carried from clip to clip, a whole-video refinement: one path."""
    source = MemorySource(lengths=(7, 4, 6), size=(24, 32))
    outcomes = [
        _run(get_method(method).build({}), source, own, clip_length, stride)
        for own in (False, True)
    ]
    inline, threaded = outcomes
    assert threaded.results and threaded.results == inline.results
    assert [r["video_id"] for r in threaded.results] == sorted(
        r["video_id"] for r in threaded.results
    )

    def clips(outcome):
        return [(length, [c.frames for c in cs]) for length, cs in outcome.clip_timings]

    assert clips(threaded) == clips(inline)
    assert threaded.harness.as_record(1.0, 17)["linking_thread"] is True
    assert inline.harness.as_record(1.0, 17)["linking_thread"] is False
    assert all(c.seconds > 0 for _, cs in threaded.clip_timings for c in cs)
    assert not _linking_threads()  # joined at the end of the pass


def test_the_next_videos_model_runs_while_a_video_is_linked(monkeypatch) -> None:
    """The first video's linking cannot end before the second video's model call has begun:
    a pass that linked on the main thread would find the call never made."""
    second_call = threading.Event()
    seen: list[bool] = []
    add = runner.VideoRun.add

    def add_waiting(self, window, result):
        if int(self.video.id) == 1:
            seen.append(second_call.wait(timeout=30))
        return add(self, window, result)

    class _Signalling(ToyPlugin):
        def infer_clip(self, frames):
            if int(frames.shape[0]) == 4:  # the second video's one clip
                second_call.set()
            return super().infer_clip(frames)

    monkeypatch.setattr(runner.VideoRun, "add", add_waiting)
    plugin = _Signalling(ToyPlugin.parse_options({}))
    source = MemorySource(lengths=(6, 4), size=(24, 32))
    outcome = _run(plugin, source, True, "all", None)
    assert seen == [True]
    reference = _run(ToyPlugin(ToyPlugin.parse_options({})), source, False, "all", None)
    assert outcome.results == reference.results


def test_an_error_in_linking_is_raised_on_the_main_thread(monkeypatch) -> None:
    def broken(self, window, result):
        raise ValueError(f"the linker refused video {int(self.video.id)}")

    monkeypatch.setattr(runner.VideoRun, "add", broken)
    plugin = ToyPlugin(ToyPlugin.parse_options({}))
    with pytest.raises(ValueError, match="the linker refused video 1"):
        _run(plugin, MemorySource(lengths=(4, 4), size=(24, 32)), True, "all", None)
    assert not _linking_threads()


def test_an_error_of_the_model_ends_the_linking_thread_too() -> None:
    class _Failing(ToyPlugin):
        calls = 0

        def infer_clip(self, frames):
            type(self).calls += 1
            if type(self).calls == 3:  # the warm-up, video 1, then video 2 fails
                raise RuntimeError("the model failed on video 2")
            return super().infer_clip(frames)

    with pytest.raises(RuntimeError, match="the model failed on video 2"):
        _run(
            _Failing(ToyPlugin.parse_options({})),
            MemorySource(lengths=(4, 4), size=(24, 32)),
            True,
            "all",
            None,
        )
    assert not _linking_threads()


def test_one_job_in_flight_and_each_done_in_order() -> None:
    """A job is handed over only once the one before it has finished: the frames and masks of
    at most one window wait to be linked."""
    done: list[int] = []
    running = threading.Lock()
    linking = LinkingThread(True)
    try:
        for k in range(5):

            def job(k=k):
                assert running.acquire(blocking=False)  # never two at once
                running.release()
                return k

            linking.submit(job, lambda value, seconds: done.append(value))
            assert done == list(range(k))  # the one before is done when this one starts
        linking.wait()
        assert done == list(range(5))
    finally:
        linking.close()


def test_a_video_waits_for_the_one_before_where_the_resize_reads_the_last_call() -> None:
    """A method's own `masks_to_video` without a `mask_cut` may read what its latest call set
    (Mask2Former's valid input size): the next video's call waits for the resizes before it.
    The first resize gives the next call time to come in between, were it not held back."""
    second_call = threading.Event()
    resized: list[tuple] = []

    class _OwnResize(ToyPlugin):
        def infer_clip(self, frames):
            self.input_size = tuple(frames.shape[-2:])
            if self.input_size == (32, 48):
                second_call.set()
            return super().infer_clip(frames)

        def masks_to_video(self, masks, height, width, threshold):
            if not resized:
                second_call.wait(timeout=1)
            resized.append((self.input_size, (height, width)))
            out = torch.nn.functional.interpolate(masks.float()[:, None], size=(height, width))
            return (out[:, 0] > threshold).to(torch.uint8).numpy()

    plugin = _OwnResize(ToyPlugin.parse_options({}))
    assert waits_between_videos(plugin)
    assert not waits_between_videos(ToyPlugin(ToyPlugin.parse_options({})))
    source = MemorySource(lengths=(4, 3), size=(24, 32))
    source.videos()[1].height, source.videos()[1].width = 32, 48
    _run(plugin, source, True, "all", None)
    assert {size for size, _ in resized} == {(24, 32), (32, 48)}
    assert all(size == video for size, video in resized)  # each read its own video's call


def test_auto_links_on_its_own_thread_where_the_model_is_on_a_gpu_timed_by_events() -> None:
    assert resolve_linking_thread("auto", "cuda:0", timed_by_events=True)
    assert not resolve_linking_thread("auto", "cuda:0", timed_by_events=False)  # compiling
    assert not resolve_linking_thread("auto", "cpu", timed_by_events=False)
    assert resolve_linking_thread(True, "cpu", False)
    assert not resolve_linking_thread(False, "cuda", True)
    with pytest.raises(ValueError, match="linking_thread"):
        resolve_linking_thread("yes", "cpu", False)


def test_the_tensors_a_job_hands_over_are_found_for_the_linking_stream() -> None:
    """On a GPU every tensor of a handed-over window is marked as used by the linking stream
    (linking_stream.py): those of a clip's result inside the partials the runner hands over."""
    result = ClipResult(
        scores=torch.ones(2), labels=torch.ones(2, dtype=torch.long), masks=torch.zeros(2, 3, 4, 4)
    )
    result.state = {"memory": [torch.zeros(2)]}

    def link(frames, clip_result):
        return None

    job = functools.partial(functools.partial, link, range(3), result)
    found = {id(t) for t in tensors_in(job)}
    assert {id(result.scores), id(result.labels), id(result.masks)} <= found
    assert id(result.state["memory"][0]) in found


@pytest.mark.parametrize(
    ("method", "clip_length", "stride"),
    [("videomt", 2, 1), ("mask2former-vis", 3, 2), ("dvis-plus-online", 2, 1), ("seqformer", 3, 2)],
)
def test_a_small_real_method_predicts_the_same_with_the_thread(method, clip_length, stride) -> None:
    """Own mask resizes reading the last call's input size (VideoMT, Mask2Former-VIS, DVIS++),
    a carried state (VideoMT, DVIS++), stitched clips with a `mask_cut` (SeqFormer), on two
    videos of different sizes."""
    source = MemorySource(lengths=(5, 4), size=(48, 64))
    source.videos()[1].height, source.videos()[1].width = 64, 96
    outcomes = []
    for own in (False, True):
        torch.manual_seed(0)
        plugin = get_method(method).build(tiny_options(method))
        outcomes.append(
            run_method(
                plugin,
                source,
                clip_length=clip_length,
                stride=stride,
                resolution=48,
                linking_thread=own,
            )
        )
    inline, threaded = outcomes
    assert threaded.results and threaded.results == inline.results


def test_a_pass_stopped_after_a_video_has_every_linked_videos_results() -> None:
    """A timed round ends after the video that covers its frames: the last video's linking
    and results still land inside the pass, in order, as without the thread."""
    source = MemorySource(lengths=(4, 5, 6), size=(24, 32))

    def run(own: bool):
        return run_method(
            ToyPlugin(ToyPlugin.parse_options({})),
            source,
            clip_length=3,
            stride=2,
            resolution=None,
            linking_thread=own,
            hooks=StopAfterFrames(9),
        )

    inline, threaded = run(False), run(True)
    assert threaded.num_videos == inline.num_videos == 2
    assert threaded.results and threaded.results == inline.results
    assert {r["video_id"] for r in threaded.results} == {1, 2}
    assert not _linking_threads()
