"""A method's optional capabilities are found from what its class implements, and a class whose
hooks and spec disagree is refused when it registers, with its name and the fix.

Also: loading every method to run it loads no parity code (a spec names its check lazily).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from typing import Any

import pytest
import torch

from vis_bench.api import (
    CarriedState,
    ClipResult,
    MethodPlugin,
    MethodSpec,
    Preprocessing,
    WholeVideoRefinement,
    register_method,
)
from vis_bench.api import registration as registry
from vis_bench.api.capabilities import CapabilityError, capabilities_of, check_capabilities
from vis_bench.api.parity import ParityReference
from vis_bench.api.training import TrainingRecipe
from vis_bench.registry import Registry


@dataclasses.dataclass
class Options:
    pass


def _recipe() -> TrainingRecipe:
    return TrainingRecipe(1e-3, 0.0, 0.0, (), frame_sampler=lambda rng, n, k, ref: [0] * k)


def _plugin(name: str = "probe", members: dict[str, Any] | None = None, **spec: Any) -> type:
    """A core-only plugin class (`create` and `infer_clip`), plus `members`, with a spec."""

    def infer_clip(self, frames: torch.Tensor) -> ClipResult:
        return ClipResult(torch.zeros(0), torch.zeros(0), torch.zeros(0, len(frames), 1, 1))

    body = {
        "spec": MethodSpec(name, "a probe", Options, Preprocessing(shorter_side=8), **spec),
        "create": classmethod(lambda cls, options: cls()),
        "infer_clip": infer_clip,
        **(members or {}),
    }
    return type("Probe", (MethodPlugin,), body)


def _refused(plugin: type, *words: str) -> str:
    with pytest.raises(CapabilityError) as err:
        check_capabilities(plugin)
    message = str(err.value)
    assert message.startswith(f"{plugin.__module__}.Probe "), message
    for word in words:
        assert word in message, message
    return message


def _stateful_infer(self, frames, state=None, seen=0):
    return None


def test_a_core_only_method_has_no_capability():
    plugin = _plugin()
    check_capabilities(plugin)
    assert capabilities_of(plugin) == []


def test_per_frame_stages_need_all_three_members():
    def frame_features(self, frames):
        return list(frames)

    def infer_clip_features(self, features):
        return None

    whole = {
        "per_frame_stages": ("backbone",),
        "frame_features": frame_features,
        "infer_clip_features": infer_clip_features,
    }
    check_capabilities(_plugin(members=whole))
    assert capabilities_of(_plugin(members=whole)) == ["per-frame stages"]
    for left_out in whole:
        partial = {k: v for k, v in whole.items() if k != left_out}
        _refused(_plugin(members=partial), f"but not {left_out}", "add the missing ones")


def test_a_carried_state_needs_its_parameters_and_they_need_the_declaration():
    _refused(_plugin(linking=CarriedState()), "does not take state= and seen=", "add them")
    stateful = {"infer_clip": _stateful_infer}
    _refused(_plugin(members=stateful), "SoftIoUStitching()", "declare linking=CarriedState()")
    plugin = _plugin(members=stateful, linking=CarriedState())
    check_capabilities(plugin)
    assert capabilities_of(plugin) == ["query tracks", "carried state"]


def test_whole_video_refinement_is_declared_and_implemented_together():
    stateful = {"infer_clip": _stateful_infer}
    _refused(
        _plugin(members=stateful, linking=WholeVideoRefinement()),
        "refine_video and refined_masks",
        "RefinesVideos",
    )
    hooks = {**stateful, "refine_video": lambda self, state: None}
    _refused(
        _plugin(members=hooks, linking=CarriedState()), "declare linking=WholeVideoRefinement()"
    )
    hooks["refined_masks"] = lambda self, frames, refinement, indices: None
    plugin = _plugin(members=hooks, linking=WholeVideoRefinement())
    check_capabilities(plugin)
    assert "whole-video refinement" in capabilities_of(plugin)


def test_training_is_a_recipe_and_its_losses_together():
    _refused(_plugin(training=_recipe()), "does not implement training_losses")
    losses = {"training_losses": lambda self, frames, targets, n, clips=1: {}}
    _refused(_plugin(members=losses), "has no training recipe", "training=TrainingRecipe")
    groups = {"parameter_groups": lambda self, lr, mult: []}
    _refused(_plugin(members=groups), "parameter_groups but not training_losses")
    check_capabilities(_plugin(members=losses, training=_recipe()))


def test_hooks_a_declaration_never_calls_are_refused():
    predictions = {"video_predictions": lambda self, mean_logits: []}
    _refused(_plugin(members=predictions), "video_predictions", "EmbeddingAssociation()")
    reset = {"reset_execution_info": lambda self: None}
    _refused(_plugin(members=reset), "add execution_info")


def test_registration_refuses_a_mismatch_and_names_the_fix(monkeypatch):
    monkeypatch.setattr(registry, "METHODS", Registry("method"))
    with pytest.raises(CapabilityError, match="training_losses"):
        register_method("probe")(_plugin(training=_recipe()))
    assert registry.available_methods() == []


def test_a_parity_reference_is_named_not_imported():
    with pytest.raises(ValueError, match="'package.module:function'"):
        ParityReference(lambda fixture, out: None, "authors")  # type: ignore[arg-type]
    reference = ParityReference("json:dumps", "the standard library")
    assert reference.function() is json.dumps


def test_every_registered_method_agrees_with_its_spec():
    for name in registry.available_methods():
        check_capabilities(registry.get_method(name))


@pytest.mark.slow
def test_loading_every_method_loads_no_parity_code():
    """A spec names its parity check as "module:function": building and running a method never
    imports the parity layer, nor any module of a method that uses it."""
    code = (
        "import json, sys\n"
        "from vis_bench.api.registration import available_methods, get_method\n"
        "for name in available_methods(): get_method(name)\n"
        "import vis_bench.inference.runner, vis_bench.sweep.worker\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded = json.loads(result.stdout)
    assert "vis_bench.methods.ifc.plugin" in loaded
    layer = [m for m in loaded if m == "vis_bench.parity" or m.startswith("vis_bench.parity.")]
    assert layer == []
    parity = [m for m in loaded if m.startswith("vis_bench.methods.") and "parity" in m]
    assert parity == []
