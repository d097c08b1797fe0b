"""Named timing protocols: declarations as data, each method's authors' protocol declared with a
source, what a CPU applies of a GPU protocol (and says so), the config's checks, and the
`authors` protocol run by the harness: the timer holds what the declaration says (normalisation
in, resizing and RLE out, one frame per call for a per-frame loop) and counts exactly the frames
after the warm-up."""

from __future__ import annotations

import dataclasses
import re
import time

import pytest

import tests.helpers.toy_method  # noqa: F401  (registers "toy")
import tests.helpers.toy_refining_method  # noqa: F401  (registers "toy-refining")
import tests.helpers.toy_stateful_method  # noqa: F401  (registers "toy-stateful")
import tests.helpers.toy_timed_method  # noqa: F401  (registers "toy-timed")
import vis_bench.methods  # noqa: F401  (registers the in-tree methods)
from tests.helpers.memory_source import MemorySource
from tests.helpers.quick_rounds import QUICK_ROUNDS
from vis_bench.api.output import output_hooks
from vis_bench.api.preprocessing import Preprocessing
from vis_bench.api.registration import available_methods, get_method
from vis_bench.api.timing import (
    REGIONS,
    STAGES,
    CompileSetting,
    TimingProtocol,
    detectron2_protocol,
    not_stated,
)
from vis_bench.config import parse_config
from vis_bench.errors import InputError
from vis_bench.measure import protocol_run
from vis_bench.measure.protocol_run import ProtocolCell, run_authors_protocol
from vis_bench.measure.protocols import applied_settings, end_to_end_protocol

#: in-tree methods whose authors' protocol this project read (docs/timing_protocols.md)
DECLARED = (
    "ifc",
    "seqformer",
    "mssts",
    "mssts-release",
    "mask2former-vis",
    "minvis",
    "videomt",
    "dvis-plus-online",
    "dvis-plus-offline",
    "dvis-daq-online",
    "dvis-daq-offline",
    "sam3",
)
CELL = ProtocolCell(clip_length="all", stride=None, resolution=None, device="cpu", dtype="fp32")


def test_a_declaration_names_known_stages_and_lists_what_it_leaves_out():
    protocol = detectron2_protocol("fp16", "somewhere.py L1")
    data = protocol.as_dict()
    assert data["stated"] and data["region"] == "video_forward"
    assert set(data["timed"]) | set(data["excluded"]) == set(STAGES)
    assert {"decode", "resize", "rle"} <= set(data["excluded"])
    assert {"normalise", "upsampling", "linking"} <= set(data["timed"])
    assert data["warmup"] == 5 and data["warmup_unit"] == "videos"
    assert "somewhere.py L1" in data["source"] and "evaluator.py" in data["source"]
    with pytest.raises(ValueError, match="unknown stages"):
        TimingProtocol(name="x", region="frame_forward", timed=("backbone", "magic"))
    with pytest.raises(ValueError, match="region"):
        TimingProtocol(name="x", region="the whole thing")
    with pytest.raises(ValueError, match="compile mode"):
        CompileSetting(mode="fastest")


def test_a_protocol_never_stated_keeps_only_where_that_was_looked_for():
    data = not_stated("repo @ abc: inference.py has no timer", published="none").as_dict()
    assert data == {
        "stated": False,
        "name": "not stated",
        "region": None,
        "source": "repo @ abc: inference.py has no timer",
        "published": "none",
        "notes": "",
    }


@pytest.mark.parametrize("name", DECLARED)
def test_every_method_declares_its_authors_protocol_with_a_source(name):
    protocol = get_method(name).spec.timing_protocol
    assert protocol is not None, f"{name} declares no authors' protocol"
    assert protocol.source and "@" in protocol.source  # a repository at a commit
    assert protocol.region is None or protocol.region in REGIONS
    if protocol.stated:
        assert protocol.timed and re.search(r"L\d+", protocol.source)
    assert protocol.published  # what was published, or that nothing was


def test_all_in_tree_methods_are_covered():
    in_tree = [m for m in available_methods() if get_method(m).__module__.startswith("vis_bench.")]
    assert sorted(in_tree) == sorted(DECLARED)


def test_a_gpu_protocol_on_a_cpu_runs_fp32_and_says_why():
    videomt = get_method("videomt").spec.timing_protocol
    applied = applied_settings(videomt, "cpu", "fp32", videos=300)
    assert applied.precision == "fp32" and applied.matmul_precision is None
    assert any("fp16 autocast" in note for note in applied.notes)
    assert any("matmul precision" in note for note in applied.notes)
    assert applied.compile == videomt.compile and applied.compile.dynamic is True
    on_gpu = applied_settings(videomt, "cuda:0", "fp32", videos=300)
    assert on_gpu.precision == "fp16" and on_gpu.matmul_precision == "medium"
    assert on_gpu.notes == [] and on_gpu.warmup == 100


def test_the_warm_up_leaves_a_video_to_time_and_says_so():
    applied = applied_settings(detectron2_protocol("fp32", "x"), "cpu", "fp32", videos=3)
    assert applied.warmup == 2
    assert any("warm-up 2 of the declared 5 videos" in note for note in applied.notes)
    assert applied_settings(detectron2_protocol("fp32", "x"), "cpu", "fp32", 24).warmup == 5


def test_the_harness_protocols_follow_the_measure_settings():
    declared = end_to_end_protocol(warmup=0, compile_setting=None).as_dict()
    assert declared["warmup"] == 0 and declared["precision"] is None
    assert declared["excluded"] == ["json"]  # the wait for decoded frames is timed


def _config(measure):
    return {
        "name": "t",
        "dataset": {"kind": "synthetic"},
        "methods": ["toy"],
        "measure": measure,
    }


@pytest.mark.parametrize(
    ("measure", "message"),
    [
        ({"protocols": ["end_to_end", "autors"]}, "did you mean 'authors'"),
        ({"protocols": ["model", "model"]}, "twice"),
        ({"stream_fps": 0}, "frame rate > 0"),
        ({"compile_mode": "fast"}, "reduce-overhead"),
    ],
)
def test_speed_settings_are_checked_when_the_config_loads(measure, message):
    with pytest.raises(InputError, match=message) as caught:
        parse_config(_config(measure), "c.yaml")
    assert "measure." in str(caught.value) and "c.yaml" in str(caught.value)


def test_a_method_without_a_declaration_or_a_procedure_gets_no_number():
    toy = get_method("toy").build({})
    entry = run_authors_protocol(toy, MemorySource(), None, CELL)
    assert entry["fps"] is None and "declares no authors' protocol" in entry["not_measured"]
    seqformer = get_method("seqformer").spec.timing_protocol
    entry = run_authors_protocol(toy, MemorySource(), seqformer, CELL)
    assert entry["fps"] is None and "published no timing procedure" in entry["not_measured"]
    assert entry["protocol"]["stated"] is False


class _Events:
    """A log of timer readings and preprocessing steps, in the order they happen."""

    def __init__(self, monkeypatch):
        self.log: list[str] = []
        clock = time.perf_counter
        monkeypatch.setattr(protocol_run.time, "perf_counter", self._clock(clock))
        for step in ("resize_frames", "normalise"):
            original = getattr(Preprocessing, step)
            monkeypatch.setattr(Preprocessing, step, self._step(step, original))

    def _clock(self, clock):
        def read():
            self.log.append("clock")
            return clock()

        return read

    def _step(self, name, original):
        def run(preprocessing, *args, **kwargs):
            self.log.append(name)
            return original(preprocessing, *args, **kwargs)

        return run

    def inside_timer(self) -> dict[str, set[bool]]:
        """Each step's positions: inside a (start, end) pair of clock readings or not."""
        inside, seen = False, {}
        for event in self.log:
            if event == "clock":
                inside = not inside
            else:
                seen.setdefault(event, set()).add(inside)
        return seen


def test_video_forward_times_normalisation_not_resizing_and_counts_the_timed_frames(
    monkeypatch,
):
    plugin = get_method("toy-timed").build({})
    source = MemorySource()  # two videos, of 6 and 9 frames
    protocol = dataclasses.replace(plugin.spec.timing_protocol, warmup=1)
    events = _Events(monkeypatch)
    cell = dataclasses.replace(CELL, clip_length=4, stride=2, resolution=24)
    entry = run_authors_protocol(plugin, source, protocol, cell)
    assert events.inside_timer() == {"resize_frames": {False}, "normalise": {True}}
    assert entry["frames"] == 9 and entry["videos_timed"] == 1  # the first video warmed up
    assert entry["fps"] == pytest.approx(entry["frames"] / entry["seconds"], rel=1e-3)
    assert entry["applied"]["precision"] == "fp32" and entry["applied"]["warmup"] == 1
    assert entry["protocol"]["name"] == "detectron2 inference_on_dataset"


def test_video_forward_resizes_to_the_video_and_never_encodes(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("RLE inside a protocol that leaves it out")

    monkeypatch.setattr("vis_bench.engine.finalise.encode", refuse)
    monkeypatch.setattr("vis_bench.engine.finalise.resize_encode", refuse)
    sizes = []
    plugin = get_method("toy-timed").build({})
    original = output_hooks(plugin)[1]

    def to_video(masks, height, width, threshold):
        out = original(masks, height, width, threshold)
        sizes.append(out.shape[1:])
        return out

    plugin.masks_to_video = to_video
    source = MemorySource()
    entry = run_authors_protocol(plugin, source, plugin.spec.timing_protocol, CELL)
    assert entry["fps"] > 0
    frames = {(int(v.height), int(v.width)) for v in source.videos()}
    assert set(sizes) == frames and len(sizes) == 6 + 9  # every final frame, at the video size


def test_frame_forward_times_one_frame_per_call_with_the_state_carried(monkeypatch):
    plugin = get_method("toy-stateful").build({})
    calls = []
    original = plugin.infer_clip

    def infer(frames, state=None, seen=0):
        calls.append((int(frames.shape[0]), None if state is None else state["clips"], seen))
        return original(frames, state=state, seen=seen)

    plugin.infer_clip = infer
    protocol = TimingProtocol(
        name="per-frame loop",
        region="frame_forward",
        timed=("backbone", "heads", "linking"),
        frames_per_call="1 frame",
        warmup=1,
        source="a test",
    )
    entry = run_authors_protocol(plugin, MemorySource(), protocol, CELL)
    assert [n for n, _, _ in calls] == [1] * 15
    # each video starts without a state; then every call gets the previous call's
    assert [s for _, s, _ in calls] == [None, *range(1, 6), None, *range(1, 9)]
    assert entry["frames"] == 9 and entry["videos_timed"] == 1


def test_a_failing_protocol_pass_is_recorded_and_the_cell_keeps_its_numbers(tmp_path, monkeypatch):
    from vis_bench.sweep import run_sweep

    def broken(*args, **kwargs):
        raise RuntimeError("no frames today")

    monkeypatch.setattr(protocol_run, "_video_frames", broken)
    config = parse_config(
        {
            "name": "t",
            "dataset": {"kind": "synthetic"},
            "methods": [{"name": "toy-timed"}],
            "sweep": {"clip_length": ["all"]},
            "measure": {
                "warmup": 0,
                "repeats": 1,
                "protocols": ["end_to_end", "authors"],
                **QUICK_ROUNDS,
            },
        }
    )
    (record,) = run_sweep(config, MemorySource(), tmp_path, isolate=False, log=lambda s: None)
    assert record["status"] == "ok" and record["fps_end_to_end"] > 0
    assert record["fps_authors"] is None and record["fps_model"] is None  # not asked for
    authors = record["protocols"]["authors"]
    assert authors["not_measured"] == "failed: RuntimeError: no frames today"
    assert authors["protocol"]["name"] == "detectron2 inference_on_dataset"
    assert set(record["protocols"]) == {"end_to_end", "authors"}


@pytest.mark.parametrize("clip_length", ["all", 4])
def test_video_forward_refines_a_whole_video_and_makes_its_masks_in_a_second_pass(clip_length):
    """A method that refines whole videos (DVIS++ offline) is timed through its refinement and
    the second pass that makes its masks: every frame of every video gets its final masks."""
    from tests.helpers.toy_timed_method import TIMING

    plugin = get_method("toy-refining").build({})
    refined, sizes = [], []
    refine, to_video = plugin.refined_masks, output_hooks(plugin)[1]

    def counted_refine(frames, refinement, frame_indices):
        refined.extend(frame_indices)
        return refine(frames, refinement, frame_indices)

    def counted_to_video(masks, height, width, threshold):
        out = to_video(masks, height, width, threshold)
        sizes.append(out.shape[1:])
        return out

    plugin.refined_masks, plugin.masks_to_video = counted_refine, counted_to_video
    cell = dataclasses.replace(CELL, clip_length=clip_length, stride=2, resolution=24)
    entry = run_authors_protocol(plugin, MemorySource(), TIMING, cell)
    assert entry["fps"] > 0 and entry["frames"] == 9  # the first video warmed up
    assert refined == [*range(6), *range(9)]  # each frame once, in the second pass
    assert len(sizes) == 6 + 9
