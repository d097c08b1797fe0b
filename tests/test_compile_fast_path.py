"""torch.compile as a fast path of the harness: off by default, its compile time kept out of the
timed region and reported apart with the mode and dynamic flag that ran, the plugin restored
after, and (slow, small models of every method captured by dynamo; inductor on one family)
outputs within the parity tolerances of the eager forward."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
import torch

import tests.helpers.toy_method  # noqa: F401  (registers "toy")
import vis_bench.methods  # noqa: F401  (registers the in-tree methods)
from tests.helpers.memory_source import MemorySource
from tests.helpers.quick_rounds import QUICK_ROUNDS
from tests.helpers.tiny import tiny_options
from vis_bench.api.host_memory import reuse_freed_memory_by_default
from vis_bench.api.linking import carries_state
from vis_bench.api.refinement import HOOKS as REFINEMENT_HOOKS
from vis_bench.api.registration import discovered_methods, get_method
from vis_bench.api.timing import CompileSetting
from vis_bench.config import parse_config
from vis_bench.inference.stopwatch import Stopwatch
from vis_bench.measure import compile as compile_module
from vis_bench.measure.compile import CompileClock, compiled
from vis_bench.methods.mssts.release import InertTemporalAttention
from vis_bench.sweep import run_sweep

#: the parity tolerances the golden fixtures use for logits and probabilities
MASKS, SCORES = 1e-4, 1e-5


class _FakeClock:
    """perf_counter under the test's control: no test here waits on real time."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_compile_seconds_are_counted_apart_and_left_out_of_a_timed_region(monkeypatch):
    fake = _FakeClock()
    monkeypatch.setattr(compile_module.time, "perf_counter", fake)
    monkeypatch.setattr("vis_bench.inference.stopwatch.time.perf_counter", fake)
    clock = CompileClock(CompileSetting(mode="default", dynamic=True))
    handler = torch._dynamo.callback_handler
    watch = Stopwatch("cpu", exclude=lambda: clock.seconds)
    try:
        with watch:
            fake.now += 1.0  # one second of work
            handler.run_start_callbacks(None)
            fake.now += 5.0  # a recompile inside the region
            handler.run_start_callbacks(None)  # a nested compile counts once
            fake.now += 2.0
            handler.run_end_callbacks(None)
            handler.run_end_callbacks(None)
            fake.now += 0.5
    finally:
        clock.close()
    assert watch.last == pytest.approx(1.5) and watch.total == pytest.approx(1.5)
    assert watch.excluded == pytest.approx(7.0)
    summary = clock.summary(watch.excluded)
    assert summary["compile_s"] == pytest.approx(7.0) and summary["compilations"] == 1
    assert summary["compile_s_in_timed_region"] == pytest.approx(7.0)
    assert summary["mode"] == "default" and summary["dynamic"] is True
    handler.run_start_callbacks(None)  # closed: no longer listening
    handler.run_end_callbacks(None)
    assert clock.compiles == 1


def test_the_entry_points_are_compiled_as_asked_and_restored(monkeypatch):
    asked = []

    def fake_compile(fn, **kwargs):
        asked.append((fn.__name__, kwargs))
        return fn

    monkeypatch.setattr(torch, "compile", fake_compile)
    plugin = get_method("seqformer").build(tiny_options("seqformer"))  # has per-frame stages
    setting = CompileSetting(mode="reduce-overhead", dynamic=False)
    with compiled(plugin, setting) as clock:
        assert {name for name, _ in asked} == {
            "infer_clip",
            "frame_features",
            "infer_clip_features",
        }
        assert all(
            k == {"mode": "reduce-overhead", "dynamic": False, "fullgraph": False} for _, k in asked
        )
        assert "infer_clip" in plugin.__dict__
    assert clock is not None and not {"infer_clip", "frame_features"} & set(plugin.__dict__)
    with compiled(plugin, None) as nothing:
        assert nothing is None and "infer_clip" not in plugin.__dict__


def test_compile_is_off_by_default():
    config = parse_config({"name": "t", "dataset": {"kind": "synthetic"}, "methods": ["toy"]})
    assert config.measure.compile is False and config.measure.protocols == ["end_to_end", "model"]


def _outputs(plugin, clip: torch.Tensor) -> dict[str, torch.Tensor]:
    """What a clip's inference returns (a refining method: its refinement's masks too)."""
    carried = {"state": None, "seen": 0} if carries_state(plugin.spec.linking) else {}
    result = plugin.infer_clip(clip, **carried)
    out = {name: getattr(result, name) for name in ("labels", "scores", "masks", "mask_logits")}
    out["frame_logits"] = result.frame_logits
    if all(hasattr(plugin, hook) for hook in REFINEMENT_HOOKS):
        refinement = plugin.refine_video(result.state)
        out["refined_masks"] = plugin.refined_masks(clip, refinement, list(range(len(clip))))
    return {name: value for name, value in out.items() if value is not None and value.numel()}


def test_the_shared_fast_paths_trace_into_one_graph():
    """A prepared ResNet (folded BatchNorm cached on its convolutions, fused oneDNN
    convolutions, channels-last weights) and a stacked clip trace without a graph break: the
    caches' keys (storage pointers, version counters) and the oneDNN ops, which have no
    fake-tensor kernels, stay out of what torch.compile traces, and the result is eager's."""
    from vis_bench.methods.common.fast_paths import prepare_for_inference
    from vis_bench.methods.common.frames import stack_frame_views
    from vis_bench.methods.common.tiny_backbone import TinyResNet

    torch.manual_seed(0)
    model = TinyResNet(width=8).eval()
    prepare_for_inference(model)

    def forward(frames: list[torch.Tensor]) -> list[torch.Tensor]:
        return list(model(stack_frame_views(frames)).values())

    batch = torch.randn(2, 3, 64, 64)
    frames = list(batch.unbind(0))
    with torch.no_grad():
        eager = forward(frames)
        traced = torch.compile(forward, backend="eager", fullgraph=True)(frames)
    torch._dynamo.reset()
    for want, got in zip(eager, traced, strict=True):
        torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


#: the methods compiled with inductor itself (its C++ build takes minutes a method on 2 cores):
#: the Mask2Former family's shared parts; VidEoMT's protocol below is compiled with it too
INDUCTOR_METHODS = ("minvis",)
#: a method whose compiled code is another's at the tiny shapes: captured once, as the other
#: (the MS-STS release is SeqFormer plus parameters nothing calls; the test below holds that)
SAME_CODE_AS = {"mssts-release": "seqformer"}


def test_a_method_left_out_of_the_capture_runs_the_code_of_the_one_captured():
    for name, other in SAME_CODE_AS.items():
        plugin = get_method(name).build(tiny_options(name))
        twin = get_method(other).build(tiny_options(other))
        for hook in ("preprocess", "infer_clip"):
            assert getattr(type(plugin), hook) is getattr(type(twin), hook), (name, hook)
        assert type(plugin.model) is type(twin.model)
        modules = dict(plugin.model.named_modules())
        twins = dict(twin.model.named_modules())
        extra = modules.keys() - twins.keys()
        inert = [k for k in extra if isinstance(modules[k], InertTemporalAttention)]
        # the inert modules and their own layers (qkv, proj) are all the model has in addition
        assert inert and all(k in inert or k.rsplit(".", 1)[0] in inert for k in extra), name
        assert all(type(modules[k]) is type(twins[k]) for k in twins), name
        shapes = {k: v.shape for k, v in plugin.model.state_dict().items()}
        for key, value in twin.model.state_dict().items():
            assert shapes[key] == value.shape, (name, key)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", [m for m in discovered_methods() if m not in (*INDUCTOR_METHODS, *SAME_CODE_AS)]
)
def test_every_method_captured_by_dynamo_gives_the_eager_outputs(name, monkeypatch):
    """Every method through dynamo's capture, its graphs run by the `eager` backend: graph
    breaks, guards and the captured graphs' outputs are the plugin's part of a compiled run;
    inductor's functionalisation and code generation are exercised by the test after this one
    (its C++ build would take minutes a method on 2 cores), which captures its methods with the
    same dynamo, so they are left out here."""
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="eager"))
    _compiled_outputs_equal_the_eager_ones(name)


@pytest.mark.slow
@pytest.mark.heavy
@pytest.mark.parametrize("name", INDUCTOR_METHODS)
def test_compiled_outputs_equal_the_eager_ones_within_parity_tolerance(name):
    _compiled_outputs_equal_the_eager_ones(name)


def _compiled_outputs_equal_the_eager_ones(name: str) -> None:
    # what the runner sets before a method's first forward: preparing the model inside the
    # traced forward then finds the C library's setting already as its switch asks (a change
    # would call into the C library, which dynamo cannot trace: a graph break a run never has)
    reuse_freed_memory_by_default()
    torch.manual_seed(0)
    plugin = get_method(name).build(tiny_options(name))
    frames = torch.randint(0, 255, (3, 3, 64, 80), dtype=torch.uint8)
    clip = plugin.preprocess(frames, 64)
    setting = CompileSetting(mode="default", dynamic=None, suppress_errors=True)
    with compiled(plugin, setting) as clock, torch.no_grad():
        fast = _outputs(plugin, clip)
        summary = clock.summary()
    with torch.inference_mode():
        eager = _outputs(plugin, clip)
    assert summary["compile_s"] > 0 and summary["graphs"] >= 1
    assert fast.keys() == eager.keys() and eager
    for key, value in eager.items():
        if key == "labels":
            assert torch.equal(fast[key], value)
        else:
            tolerance = SCORES if key == "scores" else MASKS
            assert (fast[key].float() - value.float()).abs().max() <= tolerance, key


@pytest.mark.slow
def test_a_compiled_sweep_records_its_compiler_and_predicts_what_eager_does(tmp_path):
    def sweep(folder: Path, compile_on: bool) -> dict:
        config = parse_config(
            {
                "name": "c",
                "dataset": {"kind": "synthetic"},
                "methods": ["toy"],
                "sweep": {"clip_length": [3], "resolution": [32]},
                "measure": {
                    **QUICK_ROUNDS,
                    "warmup": 1,
                    "repeats": 1,
                    "bootstrap": 0,
                    "compile": compile_on,
                },
            }
        )
        (record,) = run_sweep(config, MemorySource(), folder, isolate=False, log=lambda s: None)
        return record

    eager, fast = sweep(tmp_path / "eager", False), sweep(tmp_path / "compiled", True)
    assert "compile" not in eager["execution"]
    compiled_info = fast["execution"]["compile"]
    assert compiled_info["mode"] == "default" and compiled_info["dynamic"] is None
    assert compiled_info["compile_s"] > 0 and compiled_info["suppress_errors"] is True
    assert compiled_info["compile_s_in_timed_region"] <= compiled_info["compile_s"]
    assert any("torch.compile on" in item for item in fast["execution"]["non_default"])
    assert fast["protocols"]["end_to_end"]["protocol"]["compile"]["mode"] == "default"
    mine = json.loads(Path(fast["results_path"]).read_text())
    theirs = json.loads(Path(eager["results_path"]).read_text())
    assert [r["segmentations"] for r in mine] == [r["segmentations"] for r in theirs]
    assert [r["score"] for r in mine] == pytest.approx([r["score"] for r in theirs], abs=SCORES)


@pytest.mark.slow
def test_videomt_s_authors_protocol_runs_compiled_one_frame_per_call(monkeypatch):
    """The authors' protocol compiles the backbone with dynamic shapes; what is checked is that
    the protocol asks for it and runs one frame per call, so dynamo's graphs run eagerly."""
    from vis_bench.measure.protocol_run import ProtocolCell, run_authors_protocol

    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="eager"))
    torch.manual_seed(0)
    plugin = get_method("videomt").build(tiny_options("videomt"))
    declared = plugin.spec.timing_protocol
    cell = ProtocolCell(clip_length=1, stride=1, resolution=64, device="cpu", dtype="fp32")
    entry = run_authors_protocol(plugin, MemorySource(), declared, cell)
    applied = entry["applied"]
    assert entry["fps"] > 0 and entry["frames"] == 9  # one of two videos warms up (100 declared)
    assert applied["precision"] == "fp32" and applied["matmul_precision"] is None
    assert applied["compile"]["dynamic"] is True and applied["compile"]["suppress_errors"]
    compiled_info = entry["compile"]
    assert compiled_info["compile_s"] > 0 and compiled_info["dynamic"] is True
    assert compiled_info["compile_s_in_timed_region"] <= compiled_info["compile_s"]
    assert "infer_clip" not in plugin.__dict__  # restored
