"""Every method the registry finds passes the same checks: a new method is tested by adding it.

The methods come from the registry (every in-tree method package, every installed entry point of
`vis_bench.methods`), never from a list here. Each is built small (tests/helpers/tiny.py), runs a
short synthetic video through the harness's runner with the linking its spec declares (clips
overlap, so clips are stitched or linked, a carried state is handed back, a refined video gets
its second pass), its own state dict goes through a project checkpoint and its strict loading
back into a fresh build, and what its class implements agrees with its spec (each capability
checked where a run would use it: per-frame stages give `infer_clip`'s result, a parity
reference resolves to its function, a training recipe's sampler picks valid frames). Each rule
is stated in docs/adding_a_method.md, and each failure names its section (`see(RULE)`).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

import vis_bench.inference.runner
from tests.helpers.memory_source import MemorySource
from tests.helpers.tiny import tiny_options
from vis_bench.api.capabilities import capabilities_of, check_capabilities, declaration
from vis_bench.api.guide import see
from vis_bench.api.linking import gives_each_frame_once
from vis_bench.api.options import options_dict
from vis_bench.api.per_frame import has_per_frame_stages
from vis_bench.api.registration import discovered_methods, get_method
from vis_bench.formats.checkpoints import save_project_checkpoint
from vis_bench.formats.rle import decode
from vis_bench.inference.pass_hooks import NO_WARM_UP
from vis_bench.inference.runner import run_method

METHODS = discovered_methods()
#: a short video's clips: T=2 S=1 over 4 and 5 frames (overlapping clips, two passes where
#: a method refines whole videos)
SOURCE = {"lengths": (4, 5), "size": (40, 56)}
SCHEDULE = {"clip_length": 2, "stride": 1, "resolution": 64}

pytestmark = pytest.mark.usefixtures("one_thread")


def _built(name: str, seed: int = 0):
    torch.manual_seed(seed)
    return get_method(name).build(tiny_options(name))


def _run(
    plugin,
    feature_reuse: bool = True,
    input_workers: int | str = "auto",
    linking_thread: bool | str = "auto",
) -> list[dict]:
    outcome = run_method(
        plugin,
        MemorySource(**SOURCE),
        **SCHEDULE,
        untimed=NO_WARM_UP,
        feature_reuse=feature_reuse,
        input_workers=input_workers,
        linking_thread=linking_thread,
    )
    assert outcome.num_videos == len(SOURCE["lengths"]), see("short video")
    assert outcome.num_frames == sum(SOURCE["lengths"]), see("short video")
    return outcome.results


def _check_results(results: list[dict]) -> None:
    lengths = {i + 1: n for i, n in enumerate(SOURCE["lengths"])}
    rule = see("short video")
    for entry in results:
        assert entry["video_id"] in lengths, rule
        valid = isinstance(entry["category_id"], int) and 0.0 <= entry["score"] <= 1.0 + 1e-6
        assert valid, f"category_id {entry['category_id']!r}, score {entry['score']}: {rule}"
        segmentations = entry["segmentations"]
        assert len(segmentations) == lengths[entry["video_id"]], rule
        for rle in segmentations:
            if rle is not None:
                assert decode(rle).shape == SOURCE["size"], rule


@pytest.mark.parametrize("name", METHODS)
def test_it_runs_a_short_video_through_the_runner(name):
    plugin = _built(name)
    results = _run(plugin)
    _check_results(results)
    if has_per_frame_stages(plugin):
        # each frame's stages computed once give what every clip recomputing them gives
        assert _run(plugin, feature_reuse=False) == results, (
            "the results differ with each frame's stages reused: "
            f"{see('per-frame stages')}; with a carried state, {see('carried state')}"
        )


@pytest.mark.parametrize("name", METHODS)
def test_its_predictions_do_not_depend_on_where_the_harness_works(name, monkeypatch):
    """Frames decoded and resized by a pool of workers (at model size, normalised after the
    copy) give the predictions of the serial path (decoded by one thread, resized whole); so
    do final masks resized and counted in runs by the accelerator's path (torch operations on
    the masks' device, CPU tensors here) instead of the compiled pass; and so do windows linked
    on a thread of their own while the next one's model runs (as with a model on a GPU)."""
    plugin = _built(name)
    serial = _run(plugin, input_workers=0)
    assert _run(plugin, input_workers=2) == serial
    assert _run(plugin, input_workers=2, linking_thread=True) == serial
    encoded = vis_bench.inference.runner.EncodedFrames
    monkeypatch.setattr(
        "vis_bench.inference.runner.EncodedFrames", functools.partial(encoded, on_device=True)
    )
    assert _run(plugin, input_workers=2) == serial


@pytest.mark.parametrize("name", METHODS)
def test_a_frame_given_once_gives_what_giving_it_again_gives(name, monkeypatch):
    """A method the runner gives each frame once (a carried state, independent frames) predicts
    under overlapping clips what it predicts when every clip is given whole: the frames an
    earlier clip covered are not computed again, and nothing else changes."""
    plugin = _built(name)
    if not gives_each_frame_once(plugin.spec.linking):
        pytest.skip(f"{name}'s clips are given whole (its linking needs their overlap)")
    once = _run(plugin)
    monkeypatch.setattr("vis_bench.inference.runner.gives_each_frame_once", lambda linking: False)
    assert _run(plugin) == once, (
        "the results differ when every clip is given whole (its first `seen` frames again): "
        f"{see('carried state')}"
    )


@pytest.mark.parametrize("name", METHODS)
def test_its_state_dict_round_trips_through_strict_loading(name, tmp_path):
    saved = _built(name, seed=1)
    path = tmp_path / f"{name}.pth"
    save_project_checkpoint(saved.model.state_dict(), path, name, options_dict(saved.options))
    loaded = _built(name, seed=2)
    summary = loaded.load_checkpoint(str(path))
    rule = see("checkpoint round trip")
    assert summary.strict and not summary.partial, rule
    mine, theirs = loaded.model.state_dict(), saved.model.state_dict()
    assert list(mine) == list(theirs), rule
    assert all(torch.equal(mine[key], theirs[key]) for key in theirs), rule


@pytest.mark.parametrize("name", METHODS)
def test_its_capabilities_agree_with_its_spec(name):
    plugin = get_method(name)
    check_capabilities(plugin)
    rule = see("registration")
    assert plugin.spec.name == name and plugin.name == name, rule
    shown = declaration(plugin)
    assert shown["capabilities"] == (capabilities_of(plugin) or "none (the core hooks only)")
    if plugin.spec.parity is not None:
        assert callable(plugin.spec.parity.function()), rule
    recipe = plugin.spec.training
    if recipe is not None:
        frames = recipe.frame_sampler(np.random.default_rng(0), 10, 3, 4)
        assert len(frames) == 3 and all(0 <= f < 10 for f in frames), f"{frames}: {rule}"
    for variant in plugin.spec.variants:
        assert variant.method == name, rule
