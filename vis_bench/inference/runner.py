"""The runner: one method over one dataset under one clip schedule, to results.json and timings.

The harness owns everything around `infer_clip`, identically for every method: frames are decoded
window by window by a background thread (frame_stream.py; waiting for them is not timed), clips
are formed by the shared schedule, stitched by the shared soft-IoU matcher (or linked as query tracks
where the method declares it, api/linking.py and engine/), and every frame is
resized back to the video size and RLE-encoded as soon as no later clip can change it
(finalise.py), so near-online inference holds neither the video's frames nor its float masks.
Offline inference (T = all) is the method's whole-video forward: its frames and activations
grow with the video's length by design of the method. A method that refines whole videos
(`WholeVideoRefinement`) is refined after its video's last clip and its masks made in a second
pass over the frames, in windows of the clip length (engine/refinement.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from vis_bench.api.execution import no_grad_region
from vis_bench.api.host_memory import freed_memory_kept, reuse_freed_memory_by_default
from vis_bench.api.linking import (
    WholeVideoRefinement,
    carries_state,
    gives_each_frame_once,
    links_query_tracks,
    video_predictions,
)
from vis_bench.api.plugin import MethodPlugin
from vis_bench.api.refinement import VideoRefinement
from vis_bench.engine.finalise import EncodedFrames, TrackPostprocessing
from vis_bench.engine.query_tracks import QueryTrackLinker, selected_track_predictions
from vis_bench.engine.refinement import RefinedVideoLinker, refinement_windows
from vis_bench.engine.schedule import clip_windows
from vis_bench.engine.stitching import ClipStitcher
from vis_bench.inference.autocast import autocast
from vis_bench.inference.feature_reuse import (
    FrameFeatureCache,
    ReuseCounts,
    can_reuse_features,
    reuses_features,
)
from vis_bench.inference.frame_stream import ClipFrames, FrameSource
from vis_bench.inference.input_stage import ToModel, input_stage, splits_resize, waited
from vis_bench.inference.linking_thread import (
    LinkingThread,
    resolve_linking_thread,
    waits_between_videos,
)
from vis_bench.inference.model_events import ModelEvents, uses_events
from vis_bench.inference.overhead import HarnessTimes
from vis_bench.inference.pass_hooks import NO_HOOKS, WARM_UP_ONCE, PassHooks, UntimedCalls
from vis_bench.inference.stopwatch import ClipTiming, Stopwatch, median, synchronize
from vis_bench.inference.untimed_calls import time_single_clip, warm_up

__all__ = [
    "FrameSource",
    "PassHooks",
    "RunOutcome",
    "UntimedCalls",
    "VideoSchedule",
    "predict_video",
    "run_method",
    "splits_resize",
]


@dataclass
class RunOutcome:
    """Predictions and timings of one method over a dataset (or the part a timed round covers).

    `first_clip` is the first clip of the first video as the method takes it (preprocessed, on
    the device): the warm-up, the single-clip timing and the FLOP count all use it, so the first
    video is decoded once. `seconds_end_to_end` is the wall time of the one timed pass, from the
    first timed clip to the last video's results (waiting for decoded frames included, the
    compiler's seconds left out); `harness` holds its stages, timed inside that same pass, so no
    stage can exceed the whole (overhead.py).
    """

    results: list[dict[str, Any]] = field(default_factory=list)
    num_videos: int = 0
    num_frames: int = 0
    seconds_end_to_end: float = 0.0
    #: process CPU seconds (every thread) over the same timed region
    cpu_seconds: float = 0.0
    #: `infer_clip` alone on the first clip, repeated (only when asked: `single_clip`)
    single_clip_times: list[float] = field(default_factory=list)
    single_clip_frames: int = 0
    first_clip: torch.Tensor | None = field(default=None, repr=False)
    harness: HarnessTimes = field(default_factory=HarnessTimes)
    #: per-frame features reused across overlapping clips (asked for and declared by the method)
    feature_reuse: bool = False
    reuse: ReuseCounts = field(default_factory=ReuseCounts)
    #: seconds of the untimed first clip (preprocessing and warm-up) and of single-clip timing
    warmup_s: float = 0.0
    single_clip_timing_s: float = 0.0
    #: what the hooks' `warm_up` returned for the warm-up call (e.g. its FLOP count)
    warmup_probe: Any = None
    #: seconds left out of `seconds_end_to_end` (the compiler's, when compiling)
    seconds_excluded: float = 0.0
    #: per video: its length and each clip's frames and timed seconds (the live-stream replay)
    clip_timings: list[tuple[int, list[ClipTiming]]] = field(default_factory=list)
    #: the ids of the videos the pass went through, in order
    video_ids: list[int] = field(default_factory=list)

    @property
    def fps_end_to_end(self) -> float:
        return self.num_frames / self.seconds_end_to_end if self.seconds_end_to_end else 0.0

    @property
    def fps_model(self) -> float:
        """Frames per second of the model stage of the same pass (every call into the method)."""
        model_s = self.harness.model_s
        return self.num_frames / model_s if model_s > 0 else 0.0

    @property
    def fps_single_clip(self) -> float:
        """Frames per second of `infer_clip` alone on the first clip (median of the repeats)."""
        t = median(self.single_clip_times)
        return self.single_clip_frames / t if self.single_clip_times and t > 0 else 0.0

    def stages(self) -> dict[str, float]:
        """The timed pass by stage (seconds); `other` is what no stage accounts for."""
        return self.harness.stages(self.seconds_end_to_end)


class VideoRun:
    """One video in flight: its linker (the shared stitcher, or the query-track linker the
    method's spec declares), streaming final frames into RLE (or into another `sink` with
    `frame_final` and `results`, as a timing protocol that leaves RLE out uses)."""

    def __init__(
        self,
        clip: ClipFrames,
        plugin: MethodPlugin,
        post: TrackPostprocessing,
        times: HarnessTimes,
        features: FrameFeatureCache | None = None,
        sink: Any = None,
    ) -> None:
        video = clip.video
        self.features = features
        self.video = video
        self._tracks: list[Any] | None = None  # the linker's tracks, once `finish`ed
        self.post = post
        self.times = times
        self.encoded = sink or EncodedFrames(
            video.height, video.width, post.masks_to_video, times.finalise, post.mask_cut
        )
        linking = plugin.spec.linking
        self.carries_state = carries_state(linking)
        self.each_frame_once = gives_each_frame_once(linking) and features is None
        #: the method's next call needs the linker's state (the previous clip linked)
        self.reads_linker = self.carries_state or self.each_frame_once
        self.stitcher: ClipStitcher | QueryTrackLinker | RefinedVideoLinker
        if isinstance(linking, WholeVideoRefinement):
            self.stitcher = RefinedVideoLinker(plugin.refine_video, [self.encoded])
            self.post = dataclasses.replace(post, track_predictions=selected_track_predictions)
        elif links_query_tracks(linking):
            self.stitcher = QueryTrackLinker(linking, video_predictions(plugin), [self.encoded])
            self.post = dataclasses.replace(post, track_predictions=selected_track_predictions)
        else:
            self.stitcher = ClipStitcher.for_schedule(
                clip.windows,
                int(video.length),
                class_aware=plugin.spec.stitch_class_aware,
                sinks=[self.encoded],
            )

    @property
    def state(self) -> Any:
        """The method's per-video state after the last clip (None unless it carries one)."""
        return getattr(self.stitcher, "state", None)

    def new_frames(self, clip: ClipFrames) -> range:
        """The frames of a clip the method is given. A method that carries a state from clip to
        clip, or whose frames are independent (`gives_each_frame_once`), is not given a frame an
        earlier clip covered again: its first prediction is the one kept, so computing it again
        would be thrown away. Any other method is given the whole window (clips stitched by
        their overlap, or computed over their frames together)."""
        window = clip.window
        if not self.each_frame_once:
            return window
        assert isinstance(self.stitcher, QueryTrackLinker | RefinedVideoLinker)
        return window[self.stitcher.seen_frames(window) :]

    def carried(self, frames: range) -> dict[str, Any]:
        """What a `CarriedState` method is handed with the clip of `frames` (nothing for other
        methods): the state after the video's previous clip and how many of these frames earlier
        clips covered (none, when the runner leaves those frames out)."""
        if not self.carries_state:
            return {}
        assert isinstance(self.stitcher, QueryTrackLinker | RefinedVideoLinker)
        return {"state": self.state, "seen": self.stitcher.seen_frames(frames)}

    def _finalise_seconds(self) -> float:
        return self.times.finalise.resize_s + self.times.finalise.rle_s

    @contextlib.contextmanager
    def _linking(self) -> Iterator[None]:
        """Seconds inside are the linking stage's, less the final masks' work done within."""
        before, start = self._finalise_seconds(), time.perf_counter()
        yield
        self.times.stitch_s += time.perf_counter() - start - (self._finalise_seconds() - before)

    def add(self, window: range, result: Any) -> None:
        with self._linking():
            self.stitcher.add_clip(window, result)

    def refine(self) -> VideoRefinement:
        """The whole-video decision of a refining method, after its video's last clip."""
        assert isinstance(self.stitcher, RefinedVideoLinker)
        left_out, start = self.times.left_out(), time.perf_counter()
        refinement = self.stitcher.refine()
        self.times.add_model(start, left_out, 0.0)
        return refinement

    def add_masks(self, window: range, masks: torch.Tensor) -> None:
        """A second-pass window's masks of the refined slots, finalised at once."""
        assert isinstance(self.stitcher, RefinedVideoLinker)
        with self._linking():
            self.stitcher.add_masks(window, masks)

    def finish(self) -> None:
        """The video's last frames linked and handed to the encoder. `results` then waits for
        their strings: the runner asks for them a video later, so that the encoding thread's
        work on this video overlaps the next video's model instead of following it."""
        if self._tracks is not None:
            return
        with self._linking():
            self._tracks = self.stitcher.finish()
        self.times.note_stitcher(self.stitcher.peak_tensors, self.stitcher.peak_bytes)

    def results(self) -> list[dict[str, Any]]:
        self.finish()
        assert self._tracks is not None
        with self._linking():
            video_id, length = int(self.video.id), int(self.video.length)
            return self.encoded.results(self._tracks, video_id, length, self.post)


def run_method(
    plugin: MethodPlugin,
    source: FrameSource,
    *,
    clip_length: int | str,
    stride: int | None,
    resolution: int | None,
    device: str = "cpu",
    dtype: str = "fp32",
    untimed: UntimedCalls = WARM_UP_ONCE,
    feature_reuse: bool = True,
    input_workers: int | str = "auto",
    linking_thread: bool | str = "auto",
    hooks: PassHooks = NO_HOOKS,
) -> RunOutcome:
    """Predict every video of `source`, timing the pass and its stages as it runs.

    `hooks` (pass_hooks.py) are called at the pass's moments: the warm-up, the start and end of
    the timed part (machine-load readings), each video done (progress, and whether to stop
    there: a timed round that has covered enough frames and seconds); `hooks.exclude` counts
    seconds left out of the timed ones (the compiler's). Before the timer starts,
    `untimed.warmup` > 0 runs the first clip once untimed: one-time costs (library handles,
    kernels built on first use) would otherwise land in the end-to-end FPS of whichever cell
    runs first (building the CUDA deformable-attention kernel once added 29 s to the first GPU
    cell of a method using it); `untimed.single_clip`: afterwards, time `infer_clip` alone on
    the first clip (a separate measurement).
    `feature_reuse`: a method declaring per-frame stages computes them once per frame under
    overlapping clips (feature_reuse.py); off, every clip runs `infer_clip` on all its frames.
    `input_workers`: threads decoding and resizing frames ahead of the model
    (input_workers.py; `auto` picks per device; 0 the serial path: one thread decodes, the
    main thread resizes).
    `linking_thread`: each window linked on a thread of its own while the next window's model
    runs (linking_thread.py; `auto`: where the model runs on a GPU, timed by its events).
    """
    exclude = hooks.exclude
    events = uses_events(device, exclude is not None)
    own_thread = resolve_linking_thread(linking_thread, device, events)
    outcome = RunOutcome(feature_reuse=can_reuse_features(plugin, feature_reuse))
    # the harness's frames and masks are large blocks: kept, not unmapped and faulted in again
    reuse_freed_memory_by_default()
    plugin.to(device)
    outcome.harness.exclude = exclude
    outcome.harness.linking_thread = own_thread
    passes = _video_passes(plugin, clip_length, stride)
    clips, to_model = input_stage(
        plugin, source, outcome.harness, passes, resolution, device, input_workers
    )
    if events:
        outcome.harness.events = ModelEvents(outcome.harness)
    timed = _TimedPass(device, exclude, sync_each_clip=not events)
    settings = _RunSettings(to_model, device, dtype, untimed, feature_reuse, hooks, own_thread)
    with no_grad_region(), contextlib.closing(clips):
        _run_videos(plugin, waited(clips, outcome.harness), outcome, timed, settings)
    if outcome.first_clip is not None:
        hooks.after_timed()
    outcome.harness.freed_memory_kept = freed_memory_kept()  # as the method's warm-up left it
    if untimed.single_clip and outcome.first_clip is not None:
        time_single_clip(plugin, outcome, device, dtype, untimed.warmup, untimed.repeats)
    return outcome


@dataclass
class _RunSettings:
    """What `run_method` was asked, as its video loop needs it."""

    to_model: ToModel
    device: str
    dtype: str
    untimed: UntimedCalls
    feature_reuse: bool
    hooks: PassHooks
    linking_thread: bool = False


class _TimedPass:
    """The one timed region of a run: wall and CPU seconds from its start (after the warm-up)
    to its end, with the compiler's seconds left out; the device synchronised at both ends."""

    def __init__(
        self, device: str, exclude: Callable[[], float] | None, sync_each_clip: bool = True
    ) -> None:
        self.device, self.exclude = device, exclude
        # each clip's own seconds (the stream replay); with the model stage timed by device
        # events, a clip's are the host's, and the device is waited for at each video's end
        self.clip = Stopwatch(device if sync_each_clip else "cpu", exclude)
        self._wall = self._cpu = self._excluded = 0.0

    def _left_out(self) -> float:
        return self.exclude() if self.exclude is not None else 0.0

    def start(self) -> None:
        synchronize(self.device)
        self._excluded = self._left_out()
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def elapsed(self) -> float:
        """Timed seconds so far."""
        return time.perf_counter() - self._wall - (self._left_out() - self._excluded)

    def stop(self, outcome: RunOutcome) -> None:
        synchronize(self.device)
        outcome.seconds_end_to_end = max(0.0, self.elapsed())
        outcome.cpu_seconds = time.process_time() - self._cpu
        outcome.seconds_excluded = self._left_out() - self._excluded


def _run_videos(
    plugin: MethodPlugin,
    clips: Iterator[ClipFrames],
    outcome: RunOutcome,
    timed: _TimedPass,
    run: _RunSettings,
) -> None:
    """Every window of every video through the method, the first one warming it up untimed;
    each window's linking runs after the previous one's, on the linking thread where the pass
    has one (linking_thread.py), while the main thread goes on with the next window."""
    times = outcome.harness
    post = TrackPostprocessing.of(plugin)
    between_videos = waits_between_videos(plugin)
    video_run: VideoRun | None = None
    # the video before, linked, whose strings are still being written (collected a video later)
    finished: VideoRun | None = None
    place: tuple[int, int] | None = None  # the latest clip's in `outcome.clip_timings`
    linking = LinkingThread(run.linking_thread, run.device)
    try:
        for clip in clips:
            if outcome.first_clip is None:
                _first_clip(plugin, outcome, clip, run)
                times.decode_wait_s = 0.0  # the wait for the first window was before the timer
                timed.start()
            waited, place = linking.waited_s, _open_clip(outcome, clip)
            with timed.clip:
                if clip.index == 0 and clip.pass_index == 0:
                    if between_videos:
                        linking.wait()
                    cache = None
                    if reuses_features(plugin, clip.windows, run.feature_reuse):
                        cache = FrameFeatureCache(clip.windows, outcome.reuse)
                    video_run = VideoRun(clip, plugin, post, times, cache)
                assert video_run is not None
                inputs = ClipInputs(plugin, clip, run.device, run.to_model)
                job = predict_window(video_run, inputs, run.dtype, times, linking.wait)
                if clip.is_last:
                    job = functools.partial(_end_video, job, video_run, finished)
                    finished = video_run
                linking.submit(job, _linked(outcome, place))
                if clip.is_last and times.events is not None:
                    times.events.settle()
            # the clip's own seconds: the main thread's, less its waits for earlier linking
            _add_seconds(outcome, place, max(0.0, timed.clip.last - (linking.waited_s - waited)))
            if clip.is_last:
                outcome.num_videos += 1
                outcome.num_frames += int(clip.video.length)
                outcome.video_ids.append(int(clip.video.id))
                video_run = None
                run.hooks.video_done()
                if run.hooks.should_stop(outcome.num_frames, timed.elapsed()):
                    break
        if finished is not None and place is not None:
            # the last video's results are its last clip's work
            linking.submit(finished.results, _linked(outcome, place))
            linking.wait()
    finally:
        linking.close()
    if outcome.first_clip is not None:
        timed.stop(outcome)


def _end_video(
    link: Callable[[], None], video_run: VideoRun, before: VideoRun | None
) -> list[dict[str, Any]]:
    """A video's last window linked and its last frames handed to the encoder; the results of
    the video before it, whose strings were written meanwhile."""
    link()
    video_run.finish()
    return before.results() if before is not None else []


def _linked(outcome: RunOutcome, place: tuple[int, int]) -> Callable[[Any, float], None]:
    """What a window's linking gives back, kept: results in video order, its seconds added to
    its clip's (the live-stream replay's clip is the model's and the harness's work on it)."""

    def done(results: list[dict[str, Any]] | None, seconds: float) -> None:
        if results:
            outcome.results.extend(results)
        _add_seconds(outcome, place, seconds)

    return done


def _first_clip(plugin: MethodPlugin, outcome: RunOutcome, clip: ClipFrames, run: _RunSettings):
    """The first clip as the method takes it, and the untimed warm-up on it."""
    start = time.perf_counter()
    outcome.first_clip = run.to_model(clip.frames)
    if run.untimed.warmup > 0:
        frames = run.untimed.warmup_frames
        warm_up(plugin, outcome, run.device, run.dtype, run.hooks.warm_up, frames)
    outcome.warmup_s = time.perf_counter() - start
    run.hooks.before_timed()


def _open_clip(outcome: RunOutcome, clip: ClipFrames) -> tuple[int, int]:
    """The clip's frames under its video (the live-stream replay's input), its seconds added as
    its parts end (`_add_seconds`); a second pass's windows come after its clips: their frames
    are final only when that pass has made their masks. Returns its place."""
    if clip.index == 0 and clip.pass_index == 0:
        outcome.clip_timings.append((int(clip.video.length), []))
    clips = outcome.clip_timings[-1][1]
    clips.append(ClipTiming(clip.window, 0.0))
    return len(outcome.clip_timings) - 1, len(clips) - 1


def _add_seconds(outcome: RunOutcome, place: tuple[int, int], seconds: float) -> None:
    video, index = place
    clips = outcome.clip_timings[video][1]
    clips[index] = dataclasses.replace(clips[index], seconds=clips[index].seconds + seconds)


def window_passes(
    plugin: MethodPlugin, length: int, windows: list[range], clip_length: int | str
) -> list[list[range]]:
    """A video's passes over its frames: the clips the method infers, then, for a method that
    refines whole videos, the second pass's windows."""
    if isinstance(plugin.spec.linking, WholeVideoRefinement):
        return [windows, refinement_windows(length, clip_length)]
    return [windows]


def _video_passes(
    plugin: MethodPlugin, clip_length: int | str, stride: int | None
) -> Callable[[Any], list[list[range]]]:
    """Each video's passes under the cell's clip schedule (`window_passes`)."""

    def passes(video: Any) -> list[list[range]]:
        length = int(video.length)
        windows = method_windows(plugin, length, clip_length, stride)
        return window_passes(plugin, length, windows, clip_length)

    return passes


def method_windows(
    plugin: MethodPlugin, length: int, clip_length: int | str, stride: int | None
) -> list[range]:
    """The clips a method infers under the schedule (T, S). A method given each frame once
    (`gives_each_frame_once`: a carried state, or independent frames) takes consecutive windows
    of T new frames whatever S. For it the stride decides nothing: an overlapped frame keeps the
    prediction of the first clip that had it, which the same state gave it, so the results are
    those of S = T; what a smaller stride would change is only how many new frames one call
    takes (S instead of T), a cost with nothing to show for it. T is then the method's window:
    the frames one call takes (the authors' TEST.WINDOW_SIZE)."""
    if clip_length != "all" and gives_each_frame_once(plugin.spec.linking):
        stride = int(clip_length)
    return clip_windows(length, clip_length, stride)


def predict_video(
    plugin: MethodPlugin,
    video: Any,
    frames: Any,
    schedule: VideoSchedule,
    to_model: ToModel,
    sink: Callable[[Any, TrackPostprocessing], Any],
) -> None:
    """One video's windows through the method and its linker, one after the other on this
    thread, with nothing around them (no decoding, no warm-up, no timer, no linking thread):
    what the `authors` timing protocol times per video (measure/protocol_run.py). `frames`: the
    whole video in the form `to_model` takes; `sink(video, post)`: where final frames go."""
    length = int(video.length)
    windows = method_windows(plugin, length, schedule.clip_length, schedule.stride)
    post = TrackPostprocessing.of(plugin)
    times = HarnessTimes()
    cache = None
    if reuses_features(plugin, windows, schedule.feature_reuse):
        cache = FrameFeatureCache(windows)
    run = VideoRun(
        ClipFrames(video, 0, windows, frames), plugin, post, times, cache, sink(video, post)
    )
    passes = window_passes(plugin, length, windows, schedule.clip_length)
    for number, pass_windows in enumerate(passes):
        for index, window in enumerate(pass_windows):
            window_frames = frames[window.start : window.stop]
            clip = ClipFrames(video, index, pass_windows, window_frames, number, len(passes))
            inputs = ClipInputs(plugin, clip, schedule.device, to_model)
            predict_window(run, inputs, schedule.dtype, times)()
    run.results()


@dataclass(frozen=True)
class VideoSchedule:
    """What `predict_video` runs a video under: the clip schedule, the device, the precision,
    and whether per-frame stages are reused across overlapping clips."""

    clip_length: int | str
    stride: int | None
    device: str
    dtype: str
    feature_reuse: bool = True


def predict_window(
    video_run: VideoRun,
    inputs: ClipInputs,
    dtype: str,
    times: HarnessTimes,
    linked: Callable[[], None] = lambda: None,
) -> Callable[[], None]:
    """One window's model part: a clip the method infers (and, after a refining method's last
    clip, its whole-video refinement), or a second-pass window's masks. It returns the window's
    linking, to be run after the previous window's (at once, or on the linking thread).
    `linked()` is called before anything reads the linker's state: the previous window's
    linking done (a method that carries a state, or is given each frame once, needs it for its
    next call; a refinement needs its last clip)."""
    clip = inputs.clip
    if clip.pass_index == 0:
        inputs.features = video_run.features
        if video_run.reads_linker:
            linked()
        frames = video_run.new_frames(clip)
        link: Callable[[], None] = _nothing
        if len(frames):
            if len(frames) < len(clip.window):
                start = frames.start - clip.window.start
                inputs.positions = list(range(start, len(clip.window)))
            inputs.carried = video_run.carried(frames)
            link = functools.partial(video_run.add, frames, predict_clip(inputs, dtype, times))
        if clip.ends_pass and clip.passes > 1:
            linked()
            link()
            video_run.refine()
            return _nothing
        return link
    refinement = video_run.stitcher.refinement
    assert refinement is not None
    left_out, start = times.left_out(), time.perf_counter()
    frames = inputs.frames()
    with autocast(inputs.device, dtype):
        masks = inputs.plugin.refined_masks(frames, refinement, list(clip.window))
    synchronize(inputs.device)
    times.add_model(start, left_out, inputs.preprocess_s)
    return functools.partial(video_run.add_masks, clip.window, masks)


def _nothing() -> None:
    return None


@dataclass
class ClipInputs:
    """One window as the method takes it: its frames, or its frames' reused features."""

    plugin: MethodPlugin
    clip: ClipFrames
    device: str
    #: the window's frames -> the method's input on the device (as the input stage chose)
    prepare: ToModel
    features: FrameFeatureCache | None = None
    #: `state` (after the video's previous clip) and `seen` (this clip's frames earlier clips
    #: covered), for `CarriedState` methods only
    carried: dict[str, Any] = field(default_factory=dict)
    preprocess_s: float = 0.0
    #: the positions in the window the method is given (None: all; `VideoRun.new_frames`)
    positions: list[int] | None = None
    #: called once the clip's frames are prepared, before the model part (device events)
    model_start: Callable[[], None] | None = None

    def frames(self, positions: list[int] | None = None) -> torch.Tensor:
        """The window's frames at `positions` (all by default), preprocessed, on the device."""
        start = time.perf_counter()
        frames = self.clip.frames if positions is None else self.clip.frames[positions]
        out = self.prepare(frames)
        self.preprocess_s += time.perf_counter() - start
        return out

    def infer(self, dtype: str) -> Any:
        """`infer_clip`, or the per-frame stages of new frames only and the rest of the clip
        (preprocessing outside autocast either way); a method that carries state from clip to
        clip (`CarriedState`) is handed its previous clip's and the count of frames seen."""
        state = self.carried
        if self.features is None:
            frames = self.frames(self.positions)
            if self.model_start is not None:
                self.model_start()
            with autocast(self.device, dtype):
                return self.plugin.infer_clip(frames, **state)
        missing = self.features.missing(self.clip.index)
        new = self.frames(missing) if missing else None
        if self.model_start is not None:
            self.model_start()
        with autocast(self.device, dtype):
            features = self.features.clip_features(
                self.clip.index, lambda positions: self.plugin.frame_features(new)
            )
            return self.plugin.infer_clip_features(features, **state)


def predict_clip(inputs: ClipInputs, dtype: str, times: HarnessTimes) -> Any:
    """One window through the method's preprocessing and its forward, both timed: on a GPU
    whose pass times the model by device events (model_events.py), without waiting for it."""
    if times.events is not None:
        inputs.model_start = times.events.start
        result = inputs.infer(dtype)
        times.events.stop(inputs.preprocess_s)
        return result
    left_out, start = times.left_out(), time.perf_counter()
    result = inputs.infer(dtype)
    synchronize(inputs.device)
    times.add_model(start, left_out, inputs.preprocess_s)
    return result
