"""The input workers: the same pixels and predictions as the serial path, every frame read once,
a failing frame named in one line, and no thread left behind."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers.memory_source import MemorySource
from tests.helpers.pass_hooks import StopAfterFrames
from tests.helpers.toy_method import ToyPlugin
from tests.helpers.toy_refining_method import ToyRefiningPlugin
from tests.helpers.toy_stateful_method import ToyStatefulPlugin
from vis_bench.api import MethodPlugin, MethodSpec, Preprocessing
from vis_bench.config import parse_config
from vis_bench.data.frames import read_frame
from vis_bench.errors import InputError
from vis_bench.inference.frame_stream import DecodeTimes, frame_ring
from vis_bench.inference.input_workers import (
    THREAD_PREFIX,
    WINDOWS_AHEAD,
    InputTimes,
    InputWorkers,
    pooled_clips,
    resolve_input_workers,
)
from vis_bench.inference.runner import run_method


def _input_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)]


class _TexturedSource(MemorySource):
    """Random frames (a resize rounds every pixel differently), counting each frame's reads."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.reads: dict[tuple[int, int], int] = {}

    def read_frames(self, video, indices):
        for frame in indices:
            self.reads[video.id, frame] = self.reads.get((video.id, frame), 0) + 1
        out = np.stack(
            [
                np.random.default_rng(video.id * 100 + t).integers(
                    0, 256, (video.height, video.width, 3), dtype=np.uint8
                )
                for t in indices
            ]
        )
        return out


@pytest.mark.parametrize(
    "rule",
    [
        Preprocessing(shorter_side=360),
        Preprocessing(shorter_side=360, resize="pil-bilinear", max_size=640),
    ],
    ids=["antialias", "pil-bilinear"],
)
def test_a_frame_resized_alone_has_the_pixels_of_its_clip(rule: Preprocessing) -> None:
    """The workers resize frame by frame; the serial path resized a clip at once."""
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (3, 720, 1280, 3), dtype=np.uint8)
    clip = torch.from_numpy(frames).permute(0, 3, 1, 2)
    whole = rule.resize_frames(clip)
    alone = torch.stack(
        [rule.resize_frames(torch.from_numpy(f).permute(2, 0, 1)[None])[0] for f in frames]
    )
    assert whole.shape == (3, 3, 360, 640)
    assert torch.equal(whole, alone)


def test_the_frame_ring_reads_each_frame_once_and_lets_it_go_after_its_last_window() -> None:
    """The one ring both input paths keep (T=4 S=2 on 7 frames: windows 0-3, 2-5, 3-6)."""
    ring = list(frame_ring([range(0, 4), range(2, 6), range(3, 7)]))
    assert ring == [([0, 1, 2, 3], [0, 1]), ([4, 5], [2]), ([6], [3, 4, 5, 6])]


def _run(plugin, source, workers, clip_length=4, stride=2):
    return run_method(
        plugin,
        source,
        clip_length=clip_length,
        stride=stride,
        resolution=None,
        input_workers=workers,
    )


def _declared(base: type, rule: Preprocessing) -> type:
    """A toy whose input is its declared preprocessing (resized in the workers)."""
    spec = MethodSpec(**{**base.spec.__dict__, "preprocessing": rule})
    return type(
        f"Declared{base.__name__}", (base,), {"spec": spec, "preprocess": MethodPlugin.preprocess}
    )


PLUGINS = {
    "own preprocess": ToyPlugin,
    "antialias": _declared(ToyPlugin, Preprocessing(shorter_side=24)),
    "pil-bilinear": _declared(ToyPlugin, Preprocessing(24, resize="pil-bilinear", max_size=30)),
    "stateful": _declared(ToyStatefulPlugin, Preprocessing(shorter_side=24)),
    "refining": _declared(ToyRefiningPlugin, Preprocessing(shorter_side=24)),
}


@pytest.mark.parametrize("kind", list(PLUGINS))
@pytest.mark.parametrize("schedule", [(4, 2), ("all", None), (3, 3)])
def test_the_workers_give_the_serial_paths_predictions(kind, schedule) -> None:
    outcomes = {}
    plugin_type = PLUGINS[kind]
    for workers in (0, 1, 3):
        source = _TexturedSource(lengths=(7, 4), size=(48, 64))
        plugin = plugin_type(plugin_type.parse_options({}))
        outcomes[workers] = _run(plugin, source, workers, *schedule)
        assert outcomes[workers].harness.input_workers == workers
        if workers:
            # the ring: every frame read once per pass over the video
            passes = 2 if issubclass(plugin_type, ToyRefiningPlugin) else 1
            assert set(source.reads.values()) == {passes}
    assert outcomes[1].results == outcomes[0].results
    assert outcomes[3].results == outcomes[0].results
    assert outcomes[0].results
    assert torch.equal(outcomes[3].first_clip, outcomes[0].first_clip)
    assert not _input_threads()


class _FailingSource(_TexturedSource):
    def __init__(self, error: Exception, at: int, **kwargs):
        super().__init__(**kwargs)
        self.error, self.at = error, at

    def read_frames(self, video, indices):
        if video.id == 2 and self.at in indices:
            raise self.error
        return super().read_frames(video, indices)


def test_a_worker_that_fails_names_the_frame_and_leaves_no_thread() -> None:
    source = _FailingSource(RuntimeError("worker lost"), 3, lengths=(5, 6), size=(48, 64))
    with pytest.raises(InputError) as raised:
        _run(ToyPlugin(ToyPlugin.parse_options({})), source, 2)
    message = str(raised.value)
    assert "frame 3 of video 2" in message and "worker lost" in message
    assert "input_workers=0" in message and "\n" not in message
    assert not _input_threads()


def test_a_corrupt_frame_is_named_by_its_file(tmp_path: Path) -> None:
    corrupt = tmp_path / "00003.jpg"
    corrupt.write_bytes(b"\xff\xd8 not a jpeg")

    class _Files(_TexturedSource):
        def read_frames(self, video, indices):
            if video.id == 1 and 3 in indices:
                return np.stack([read_frame(corrupt, video.height, video.width)])
            return super().read_frames(video, indices)

    with pytest.raises(InputError, match=r"00003\.jpg: cannot decode image"):
        _run(ToyPlugin(ToyPlugin.parse_options({})), _Files(lengths=(6,), size=(48, 64)), 2)
    assert not _input_threads()


def test_a_pass_stopped_early_joins_its_workers() -> None:
    source = _TexturedSource(lengths=(4, 4, 4, 4), size=(48, 64))
    outcome = run_method(
        ToyPlugin(ToyPlugin.parse_options({})),
        source,
        clip_length=2,
        stride=None,
        resolution=None,
        input_workers=2,
        hooks=StopAfterFrames(4),
    )
    assert outcome.num_videos == 1
    assert not _input_threads()


def test_the_next_windows_are_read_while_the_model_runs_this_one() -> None:
    """A whole-video window is handed over only once the next two videos' frames are queued:
    the workers read videos 2 and 3 while the model runs video 1, not after it."""
    assert WINDOWS_AHEAD == 2
    source = _TexturedSource(lengths=(5, 5, 5, 5), size=(16, 16))
    pool = InputWorkers(1, source, None, InputTimes(DecodeTimes()))
    queued: list[int] = []
    submit = pool.submit

    def counted(video, frame):
        queued.append(video.id)
        return submit(video, frame)

    pool.submit = counted
    clips = pooled_clips(pool, source.videos(), lambda video: [[range(video.length)]])
    first = next(clips)
    assert first.video.id == 1 and queued == [1] * 5 + [2] * 5 + [3] * 5
    second = next(clips)
    assert second.video.id == 2 and queued[-5:] == [4] * 5
    assert [clip.video.id for clip in clips] == [3, 4]
    assert sum(source.reads.values()) == 20 and not _input_threads()


def test_input_workers_setting() -> None:
    assert resolve_input_workers(3, "cpu") == 3
    assert resolve_input_workers(0, "cuda") == 0
    assert resolve_input_workers("auto", "cpu", threads=64) == 1  # the model's threads first
    assert resolve_input_workers("auto", "cuda") >= 1
    with pytest.raises(ValueError):
        resolve_input_workers(-1, "cpu")


@pytest.mark.parametrize("value", [-1, "many", 1.5, True])
def test_a_wrong_input_workers_is_refused_by_name(value) -> None:
    data = {
        "name": "x",
        "dataset": {"kind": "synthetic"},
        "methods": [{"name": "toy"}],
        "measure": {"input_workers": value},
    }
    with pytest.raises(InputError, match="input_workers"):
        parse_config(data, "c.yaml")


def test_input_workers_defaults_to_auto_and_takes_an_integer() -> None:
    base = {"name": "x", "dataset": {"kind": "synthetic"}, "methods": [{"name": "toy"}]}
    assert parse_config(base, "c.yaml").measure.input_workers == "auto"
    given = parse_config({**base, "measure": {"input_workers": 2}}, "c.yaml")
    assert given.measure.input_workers == 2


class _ForwardOnly(_TexturedSource):
    """A source one reader decodes forwards (a video file): reads must come in order."""

    parallel_reads = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.order: list[tuple[int, int]] = []
        self.threads: set[str] = set()

    def read_frames(self, video, indices):
        self.order.extend((video.id, t) for t in indices)
        self.threads.add(threading.current_thread().name)
        return super().read_frames(video, indices)


def test_a_source_read_forwards_gets_one_worker_in_order() -> None:
    source = _ForwardOnly(lengths=(7, 5), size=(48, 64))
    outcome = _run(PLUGINS["antialias"](ToyPlugin.parse_options({})), source, 4)
    assert outcome.harness.input_workers == 1
    assert source.order == sorted(source.order) and len(source.threads) == 1


@pytest.mark.parametrize("divisor", [255.0, 127.5])
def test_normalising_on_the_device_divides_as_the_cpu_did(divisor: float) -> None:
    """Normalisation now runs on the device after the copy: it divides by a tensor (IEEE
    division on every device) and gives, for every uint8 value, the CPU's old quotient."""
    rule = Preprocessing(shorter_side=1, pixel_divisor=divisor, channel_order="BGR")
    pixels = torch.arange(256, dtype=torch.uint8).repeat(3, 1).reshape(1, 3, 16, 16)
    x = pixels.float() / divisor
    mean = torch.tensor(rule.mean).view(1, 3, 1, 1)
    std = torch.tensor(rule.std).view(1, 3, 1, 1)
    assert torch.equal(rule.normalise(pixels), (x.flip(1) - mean) / std)
    assert not torch.equal(pixels.float() * (1 / divisor), x)  # what a reciprocal would give


def test_a_pass_keeps_freed_memory_unless_the_process_chose() -> None:
    """The harness's frames are large blocks: a pass keeps freed memory in the process (no
    page faults per frame) unless something chose already (a method's `reuse_memory` off)."""
    from vis_bench.api import host_memory

    if host_memory._glibc() is None:
        pytest.skip("not glibc: the setting does not exist here")
    before = host_memory._state
    source = _TexturedSource(lengths=(4,), size=(48, 64))
    try:
        host_memory._state = None  # as in a fresh process
        outcome = _run(ToyPlugin(ToyPlugin.parse_options({})), source, 2)
        assert outcome.harness.freed_memory_kept is True
        assert outcome.harness.as_record(1.0, 4)["freed_memory_kept"] is True
        host_memory.reuse_freed_memory(False)  # chosen off, as a method's switch does
        outcome = _run(ToyPlugin(ToyPlugin.parse_options({})), source, 2)
        assert outcome.harness.freed_memory_kept is False
    finally:
        host_memory.reuse_freed_memory(bool(before))


def test_on_a_cpu_the_workers_hand_over_the_models_normalised_input() -> None:
    """On a CPU the workers normalise as well: each clip arrives as the float input the main
    thread would have made from the resized uint8 frames, value for value."""
    rule = Preprocessing(shorter_side=24, channel_order="BGR", pixel_divisor=255.0)
    source = _TexturedSource(lengths=(5,), size=(48, 64))
    video = source.videos()[0]
    pool = InputWorkers(
        2, source, lambda f: rule.resize_frames(f, 24), InputTimes(DecodeTimes()),
        normalise=rule.normalise,
    )  # fmt: skip
    (clip,) = pooled_clips(pool, [video], lambda v: [[range(v.length)]])
    decoded = torch.from_numpy(np.asarray(source.read_frames(video, list(range(5))))).permute(
        0, 3, 1, 2
    )
    assert clip.frames.dtype == torch.float32
    assert torch.equal(clip.frames, rule.normalise(rule.resize_frames(decoded, 24)))
