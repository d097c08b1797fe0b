"""Inference fast paths (methods/common/fast_paths.py, fused_ops.py): switches, equivalence with
the plain forward, and that nothing changes outside inference."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from vis_bench.api import host_memory
from vis_bench.api.flops import count_flops
from vis_bench.errors import InputError
from vis_bench.methods.common.backbone import FrozenBatchNorm2d, ResNet
from vis_bench.methods.common.detectron2_resnet import ResNetD2
from vis_bench.methods.common.fast_paths import (
    ENV_VAR,
    OFF,
    FastPaths,
    active_paths,
    ensure_prepared,
    parse_fast_paths,
    paths_from_env,
    prepare_for_inference,
    prepared_paths,
)
from vis_bench.methods.common.fused_ops import (
    add_residual,
    conv2d,
    conv_block,
    conv_bn,
    folded_conv_bn,
    linear,
    residual_ffn,
)
from vis_bench.methods.common.ms_deform_attn import MSDeformAttn, _pixel_offset_locations
from vis_bench.methods.common.tiny_backbone import TinyResNet

pytestmark = pytest.mark.usefixtures("one_thread")

ON = FastPaths.all_on()


def _randomise_frozen_bn(model: nn.Module, seed: int = 0) -> None:
    """Statistics far from identity, so a wrong fold shows."""
    gen = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, FrozenBatchNorm2d) or type(module).__name__ == "FrozenBatchNorm2d":
            n = module.weight.numel()
            module.weight.copy_(torch.rand(n, generator=gen) + 0.5)
            module.bias.copy_(torch.randn(n, generator=gen) * 0.2)
            module.running_mean.copy_(torch.randn(n, generator=gen) * 0.2)
            module.running_var.copy_(torch.rand(n, generator=gen) + 0.5)


def _forward(model: nn.Module, x: torch.Tensor, paths: FastPaths) -> dict[str, torch.Tensor]:
    prepare_for_inference(model, paths)
    with torch.inference_mode():
        return {k: v.clone() for k, v in model(x).items()}


def _assert_close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-4) -> None:
    scale = float(b.abs().max()) or 1.0
    assert float((a - b).abs().max()) <= rtol * scale


# -- switches ------------------------------------------------------------------------------------


def test_switches_parse_all_none_lists_and_exclusions():
    assert parse_fast_paths(None) == ON
    assert parse_fast_paths("all") == ON
    assert parse_fast_paths("none") == OFF
    only = parse_fast_paths("fold_bn, query_masks")
    assert only.enabled() == ["fold_bn", "query_masks"]
    assert parse_fast_paths("all,-channels_last") == ON.without("channels_last")
    assert paths_from_env({ENV_VAR: "none"}) == OFF
    assert paths_from_env({}) == ON


def test_an_unknown_switch_is_an_input_error_naming_the_variable():
    with pytest.raises(InputError, match=ENV_VAR) as err:
        parse_fast_paths("all,-fold_batchnorm")
    assert "fold_bn" in str(err.value)  # lists the valid names


def test_paths_apply_only_when_prepared_in_eval_mode_without_autograd():
    model = nn.Sequential(nn.Linear(2, 2)).eval()
    with torch.no_grad():
        assert active_paths(model) == OFF  # never prepared
    assert prepared_paths(model) is None
    assert ensure_prepared(model) == paths_from_env()
    prepare_for_inference(model, ON)
    assert active_paths(model[0]) == OFF  # autograd on
    with torch.no_grad():
        assert active_paths(model[0]) == ON
        model.train()
        assert active_paths(model[0]) == OFF  # training mode


# -- the building blocks --------------------------------------------------------------------------


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("with_residual", [False, True])
def test_conv2d_matches_conv_residual_relu(layout, relu, with_residual):
    torch.manual_seed(0)
    conv = nn.Conv2d(8, 16, 3, stride=2, padding=1)
    x = torch.randn(2, 8, 10, 14).contiguous(memory_format=layout)
    residual = torch.randn(2, 16, 5, 7) if with_residual else None
    with torch.no_grad():
        expected = conv(x) + (residual if with_residual else 0)
        expected = torch.relu(expected) if relu else expected
    with torch.inference_mode():
        got = conv2d(x, conv, relu=relu, residual=residual)
        _assert_close(got, expected)
        # float64 takes the plain-op route (no oneDNN kernel): same result
        residual64 = None if residual is None else residual.double()
        got64 = conv2d(x.double(), copy.deepcopy(conv).double(), relu=relu, residual=residual64)
    _assert_close(got64.float(), expected)


def test_grouped_conv2d_matches():
    torch.manual_seed(0)
    conv = nn.Conv2d(8, 8, 5, padding=2, groups=8)
    x = torch.randn(1, 8, 9, 9)
    with torch.inference_mode():
        _assert_close(conv2d(x, conv, relu=True), torch.relu(conv(x)))


def test_folded_conv_bn_equals_conv_then_frozen_bn_and_follows_weight_changes():
    torch.manual_seed(0)
    conv, bn = nn.Conv2d(4, 6, 3, padding=1, bias=False), FrozenBatchNorm2d(6)
    _randomise_frozen_bn(bn)
    x = torch.randn(2, 4, 7, 7)
    with torch.inference_mode():
        weight, bias = folded_conv_bn(conv, bn)
        _assert_close(conv._conv_forward(x, weight, bias), bn(conv(x)))
    with torch.no_grad():
        bn.running_mean.add_(1.0)  # an in-place change (what load_state_dict does)
        conv.weight.mul_(2.0)
    with torch.inference_mode():
        weight2, bias2 = folded_conv_bn(conv, bn)
        _assert_close(conv._conv_forward(x, weight2, bias2), bn(conv(x)))
    assert not torch.equal(weight, weight2)


@pytest.mark.parametrize("paths", [ON, ON.without("fuse_conv"), ON.without("fold_bn"), OFF])
def test_conv_bn_agrees_for_every_combination_of_switches(paths):
    torch.manual_seed(0)
    conv, bn = nn.Conv2d(4, 6, 1, bias=False), FrozenBatchNorm2d(6)
    _randomise_frozen_bn(bn)
    x, residual = torch.randn(2, 4, 5, 5), torch.randn(2, 6, 5, 5)
    expected = torch.relu(bn(conv(x)) + residual)
    with torch.inference_mode():
        _assert_close(conv_bn(x, conv, bn, paths, relu=True, residual=residual), expected)


def test_linear_adds_relu_or_residual_in_place_of_temporaries():
    torch.manual_seed(0)
    layer = nn.Linear(6, 5)
    x, residual = torch.randn(3, 4, 6), torch.randn(3, 4, 5)
    with torch.inference_mode():
        assert torch.equal(linear(x, layer, relu=True), torch.relu(layer(x)))
        assert torch.equal(linear(x, layer, residual=residual), layer(x) + residual)
        with pytest.raises(ValueError, match="one of them"):
            linear(x, layer, relu=True, residual=residual)


def test_layer_helpers_run_the_plain_ops_when_off_and_the_same_numbers_when_on():
    """`add_residual`, `residual_ffn`, `conv_block`: what a forward calls on its one path."""
    torch.manual_seed(0)
    lin1, lin2, drop = nn.Linear(6, 12), nn.Linear(12, 6), nn.Dropout(0.5)
    conv = nn.Conv2d(4, 4, 3, padding=1)
    x, out = torch.randn(3, 5, 6), torch.randn(3, 5, 6)
    image, residual = torch.randn(2, 4, 8, 8), torch.randn(2, 4, 8, 8)
    with torch.inference_mode():
        plain_ffn = x + lin2(torch.relu(lin1(x)))
        plain_conv = torch.relu(conv(image) + residual)
        assert torch.equal(add_residual(x, out.clone(), OFF), x + out)
        assert torch.equal(add_residual(x, out.clone(), ON), x + out)  # in place, same sum
        assert torch.equal(residual_ffn(x, lin1, lin2, OFF), plain_ffn)
        assert torch.equal(residual_ffn(x, lin1, lin2, ON), plain_ffn)
        assert torch.equal(conv_block(image, conv, OFF, relu=True, residual=residual), plain_conv)
        _assert_close(conv_block(image, conv, ON, relu=True, residual=residual), plain_conv)
    # off (training), the dropouts are applied where the authors' layers apply them
    drop.train()
    torch.manual_seed(1)
    got = residual_ffn(x, lin1, lin2, OFF, drop, drop) + add_residual(x, out, OFF, drop)
    torch.manual_seed(1)
    expected = x + drop(lin2(drop(torch.relu(lin1(x))))) + (x + drop(out))
    assert torch.equal(got, expected)


def test_sampling_locations_are_bit_identical_to_the_broadcast_addcdiv():
    gen = torch.Generator().manual_seed(0)
    n, lq, m, lvl, p = 2, 7, 4, 3, 2
    reference = torch.rand(n, lq, lvl, 2, generator=gen)
    offsets = torch.randn(n, lq, m, lvl, p, 2, generator=gen) * 3
    shapes = torch.tensor([[12, 20], [6, 10], [3, 5]])
    normalizer = torch.stack([shapes[..., 1], shapes[..., 0]], -1).float()
    expected = torch.addcdiv(
        reference[:, :, None, :, None, :], offsets, normalizer[None, None, None, :, None, :]
    )
    assert torch.equal(_pixel_offset_locations(reference, offsets, shapes), expected)


@pytest.mark.parametrize("padded", [False, True])
def test_deformable_attention_lean_paths_match_the_plain_one(padded):
    torch.manual_seed(0)
    attn = MSDeformAttn(d_model=32, n_levels=2, n_heads=4, n_points=2).eval()
    nn.init.normal_(attn.sampling_offsets.weight, std=0.1)
    nn.init.normal_(attn.attention_weights.weight, std=0.1)
    shapes = torch.tensor([[6, 8], [3, 4]])
    starts = torch.tensor([0, 48])
    src = torch.randn(2, 60, 32)
    query = torch.randn(2, 5, 32)
    reference = torch.rand(2, 5, 2, 2)
    mask = torch.zeros(2, 60, dtype=torch.bool)
    mask[:, -3:] = padded
    args = (query, reference, src, shapes, starts, mask)
    outputs = {}
    for paths in (OFF, ON):
        prepare_for_inference(attn, paths)
        with torch.inference_mode():
            outputs[paths] = attn(*args)
    _assert_close(outputs[ON], outputs[OFF])


# -- whole backbones and models ---------------------------------------------------------------


@pytest.mark.parametrize(
    "build", [lambda: ResNet(50), lambda: ResNetD2(50), lambda: ResNetD2(101, True), TinyResNet]
)
def test_resnets_with_every_path_on_equal_the_plain_forward(build):
    torch.manual_seed(0)
    model = build().eval()
    _randomise_frozen_bn(model)
    x = torch.randn(2, 3, 64, 96)
    state = copy.deepcopy(model.state_dict())
    plain = _forward(model, x, OFF)
    fast = _forward(model, x, ON)
    assert plain.keys() == fast.keys()
    for name in plain:
        _assert_close(fast[name], plain[name])
    # the state dict is what it was: nothing folded into the parameters
    after = model.state_dict()
    assert list(after) == list(state)
    assert all(torch.equal(after[k], state[k]) for k in state)


def test_a_loaded_checkpoint_replaces_the_cached_folded_weights():
    torch.manual_seed(0)
    model = TinyResNet().eval()
    x = torch.randn(1, 3, 64, 64)
    _forward(model, x, ON)  # caches folded weights of the initial statistics
    other = TinyResNet()
    _randomise_frozen_bn(other, seed=3)
    model.load_state_dict(other.state_dict())
    fast = _forward(model, x, ON)
    plain = _forward(other.eval(), x, OFF)
    for name in plain:
        _assert_close(fast[name], plain[name])


def test_training_mode_runs_the_plain_code_with_gradients():
    torch.manual_seed(0)
    model = TinyResNet()
    _randomise_frozen_bn(model)
    twin = copy.deepcopy(model)
    prepare_for_inference(model, ON)
    model.train()
    x = torch.randn(1, 3, 64, 64)
    out = model(x)["res5"]
    assert torch.equal(out, twin.train()(x)["res5"])  # bit for bit: the same ops ran
    out.sum().backward()
    assert model.conv1.weight.grad is not None


def test_fused_convolutions_count_the_same_flops():
    torch.manual_seed(0)
    model = ResNet(50).eval()
    x = torch.randn(1, 3, 64, 64)
    counts = {}
    for paths in (OFF, ON):
        prepare_for_inference(model, paths)
        counts[paths] = count_flops(model, (x,)).total
    assert counts[ON] == counts[OFF] > 0


def test_reuse_memory_is_switched_on_and_back():
    if host_memory._glibc() is None:
        pytest.skip("not glibc: the setting does not exist here")
    before = host_memory._state
    try:
        host_memory._state = None  # as in a fresh process
        assert host_memory.reuse_freed_memory(False) is False  # untouched: nothing to restore
        assert host_memory._state is False  # but chosen: the harness's default gives way
        assert host_memory.reuse_freed_memory_by_default() is False
        assert host_memory.reuse_freed_memory(True) is True
        assert host_memory.reuse_freed_memory(False) is False
        assert host_memory._state is False
        host_memory._state = None
        assert host_memory.reuse_freed_memory_by_default() is True  # nobody chose: on
        assert host_memory._state is True
    finally:
        host_memory.reuse_freed_memory(bool(before))
