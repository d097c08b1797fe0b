"""Every method that runs the inference fast paths gives, with all of them on, what it gives with
all of them off: its published architecture end to end (random weights, random frozen-BN
statistics, a small clip), so the folded and fused ResNet, the channels-last layout and the
kept-queries mask heads are all in it.

The parity fixtures run the reduced models without backbones. The methods come from the
registry: every one whose plugin records its fast paths (methods/common/fast_paths.py), compared
on what its clip inference returns (and, for a method that refines whole videos, on its
refinement's masks).
"""

from __future__ import annotations

import pytest
import torch

from vis_bench.api.linking import carries_state
from vis_bench.api.refinement import HOOKS as REFINEMENT_HOOKS
from vis_bench.api.registration import discovered_methods, get_method
from vis_bench.methods.common.fast_paths import FastPaths, RecordsFastPaths, prepare_for_inference

pytestmark = pytest.mark.usefixtures("one_thread")

ON, OFF = FastPaths.all_on(), FastPaths.all_off()
#: every method whose plugin runs the fast paths, from the registry
FAST = [name for name in discovered_methods() if issubclass(get_method(name), RecordsFastPaths)]
#: what a clip result holds that the fast paths may change
TENSORS = ("scores", "masks", "mask_logits", "class_probs", "frame_logits", "frame_embeddings")


def _plugin(method: str):
    torch.manual_seed(0)
    plugin = get_method(method).build({})
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, buffer in plugin.model.named_buffers():
            if name.endswith("running_var"):
                buffer.copy_(torch.rand(buffer.shape, generator=gen) + 0.5)
            elif name.endswith("running_mean"):
                buffer.copy_(torch.randn(buffer.shape, generator=gen) * 0.2)
    frames = torch.randint(0, 256, (2, 3, 96, 160), dtype=torch.uint8, generator=gen)
    return plugin, plugin.preprocess(frames, 96)


def _close(got: torch.Tensor, expected: torch.Tensor, scale: float | None = None) -> None:
    if scale is None:
        scale = float(expected.abs().max()) if expected.numel() else 1.0
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5 * (scale or 1.0))


def _scale(name: str, plain: dict[str, torch.Tensor]) -> float | None:
    """The tolerance scale of an output: mask probabilities are the sigmoid of the mask logits,
    whose slope is at most 1/4, so they are held to the logits' tolerance over four (their own
    largest value, 1, would hold them a 250-times tighter bound than the logits they come from)."""
    if name == "masks" and "mask_logits" in plain:
        return float(plain["mask_logits"].abs().max()) / 4
    return None


def _outputs(plugin, clip: torch.Tensor, paths: FastPaths) -> dict[str, torch.Tensor]:
    """What the method's clip inference returns under `paths` (and a refinement's masks)."""
    prepare_for_inference(plugin.model, paths)
    carried = {"state": None, "seen": 0} if carries_state(plugin.spec.linking) else {}
    with torch.inference_mode():
        result = plugin.infer_clip(clip, **carried)
        out = {name: getattr(result, name) for name in TENSORS}
        out["labels"] = result.labels
        out |= {f"extra.{k}": v for k, v in result.extra.items() if isinstance(v, torch.Tensor)}
        if all(hasattr(plugin, hook) for hook in REFINEMENT_HOOKS):
            refinement = plugin.refine_video(result.state)
            out["refined_masks"] = plugin.refined_masks(clip, refinement, list(range(len(clip))))
    return {name: value for name, value in out.items() if value is not None and value.numel()}


@pytest.mark.parametrize("method", FAST)
def test_every_fast_path_on_equals_all_off(method):
    plugin, clip = _plugin(method)
    plain = _outputs(plugin, clip, OFF)
    fast = _outputs(plugin, clip, ON)
    assert plain and fast.keys() == plain.keys()
    for name in plain:
        if plain[name].is_floating_point():
            _close(fast[name], plain[name], _scale(name, plain))
        else:  # labels, kept query indices
            assert torch.equal(fast[name], plain[name]), name
