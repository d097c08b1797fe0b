"""Every method's full R50 forward with all inference fast paths on equals the plain forward.

The parity fixtures run the reduced models without backbones; this runs the published
architectures end to end (random weights, random frozen-BN statistics, a small clip), so the
folded and fused ResNet, the channels-last layout and the kept-queries mask heads are all in it.
"""

from __future__ import annotations

import pytest
import torch

from vis_bench.api.registration import get_method
from vis_bench.methods.common.fast_paths import FastPaths, prepare_for_inference

pytestmark = pytest.mark.usefixtures("one_thread")

ON, OFF = FastPaths.all_on(), FastPaths.all_off()


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


def _close(got: torch.Tensor, expected: torch.Tensor) -> None:
    scale = float(expected.abs().max()) or 1.0
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5 * scale)


def _raw_outputs(plugin, clip: torch.Tensor, paths: FastPaths) -> dict[str, torch.Tensor]:
    """The network's outputs for every query (the mask-query selection is checked apart)."""
    prepare_for_inference(plugin.model, paths)
    with torch.inference_mode():
        if plugin.name == "ifc":
            net = plugin.model.detr
            out = net.forward_post_backbone(net.forward_pre_backbone(clip))
            return {k: out[k] for k in ("pred_logits", "pred_masks")}
        h, w = clip.shape[-2:]
        out = plugin.model(clip, orig_size=(w, h))
        return {k: out[k] for k in ("pred_logits", "pred_boxes", "pred_masks")}


@pytest.mark.parametrize("method", ["seqformer", "ifc", "mssts", "mssts-release"])
def test_full_r50_forward_with_every_path_on_equals_all_off(method):
    plugin, clip = _plugin(method)
    plain = _raw_outputs(plugin, clip, OFF)
    fast = _raw_outputs(plugin, clip, ON)
    for key in plain:
        _close(fast[key], plain[key])

    results = {}
    for paths in (OFF, ON):
        prepare_for_inference(plugin.model, paths)
        results[paths] = plugin.infer_clip(clip)
    plain_result, fast_result = results[OFF], results[ON]
    assert len(fast_result) == len(plain_result) > 0
    assert torch.equal(fast_result.labels, plain_result.labels)
    _close(fast_result.scores, plain_result.scores)
    _close(fast_result.mask_logits, plain_result.mask_logits)
    if "queries" in plain_result.extra:
        assert torch.equal(fast_result.extra["queries"], plain_result.extra["queries"])
