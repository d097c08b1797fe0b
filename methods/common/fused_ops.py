"""Convolution and linear layers with their bias, frozen BatchNorm, ReLU and residual, lean.

The building blocks of the `fold_bn`, `fuse_conv` and `lean_linear` fast paths (see
fast_paths.py). The functions that take a `FastPaths` (`conv_bn`, `conv_block`, `add_residual`,
`residual_ffn`) run the plain ops of the authors' code when their path is off, so a model's
forward calls them on one path and never branches on the switches itself. A convolution on CPU in float32 calls oneDNN's fused primitive (the one
PyTorch's own compiler emits for CPU, `mkldnn._convolution_pointwise`), which adds the bias, the
residual and the ReLU while each output tile is still in cache; elsewhere (CUDA, half precision,
autocast, a PyTorch built without oneDNN) the plain convolution runs followed by in-place ReLU
and add. A linear layer is BLAS's product (faster on CPU than oneDNN's fused linear at these
shapes, measured: benchmarks/README.md) followed by in-place ReLU and add. Either way no
temporary is allocated for the residual sum or the activation.

The FLOP counter learns the fused convolution's multiply-adds here, so a fused forward counts
what the plain one does.
"""

from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.api.measurements import register_flop_formula
from vis_bench.methods.common.fast_paths import FastPaths, cached_derived

_CONV = getattr(getattr(torch.ops, "mkldnn", None), "_convolution_pointwise", None)
#: set when a oneDNN call failed once: everything after uses the plain ops
_onednn_broken = False
#: read once: torch.compile cannot trace the query, and the build cannot change in a process
_MKLDNN_BUILT = torch.backends.mkldnn.is_available()


def _conv_macs(*args, out_shape=None, **kwargs) -> int:
    # default: (X, W, B, padding, ...); binary: (X, other, W, B, padding, ...)
    weight = args[2] if len(args) > 10 else args[1]
    return math.prod(out_shape) * math.prod(weight[1:])


if _CONV is not None:
    register_flop_formula(_CONV, _conv_macs)


def onednn_usable(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """Whether the fused oneDNN convolution can take this call (CPU float32, no autocast, not
    traced by torch.compile: the op has no fake-tensor kernel, and the compiler fuses itself)."""
    return (
        not _onednn_broken
        and not torch.compiler.is_compiling()
        and _CONV is not None
        and x.device.type == "cpu"
        and x.dtype == torch.float32
        and weight.dtype == torch.float32
        and _MKLDNN_BUILT
        and not torch.is_autocast_enabled("cpu")
    )


def _give_up_onednn(err: RuntimeError) -> None:
    global _onednn_broken
    _onednn_broken = True
    warnings.warn(
        f"oneDNN fused convolution failed ({err}); using the plain ops from now on",
        RuntimeWarning,
        stacklevel=3,
    )


def _weight_like_input(conv: nn.Conv2d, weight: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """A channels-last copy of a k x k weight for a channels-last input (cached on `conv`).

    oneDNN would otherwise reorder the weight on every call.
    """
    if weight.shape[-2:] == (1, 1) or not (
        x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
    ):
        return weight
    if weight.is_contiguous(memory_format=torch.channels_last):
        return weight
    return cached_derived(
        conv,
        "_channels_last_weight",
        (weight,),
        lambda: weight.contiguous(memory_format=torch.channels_last),
    )


def folded_conv_bn(
    conv: nn.Conv2d, bn: nn.Module, channels_last: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight and bias of `bn(conv(x))` as one convolution, for a frozen BatchNorm `bn`.

    bn(y) = y * s + (beta - mean * s) with s = gamma / sqrt(var + eps), so the folded weight is
    W * s per output channel and the bias (b_conv - mean) * s + beta. `channels_last` stores
    the weight in that layout (what a channels-last input needs). Cached on `conv` until a
    weight or statistic changes (e.g. a checkpoint is loaded).
    """
    sources = (conv.weight, bn.weight, bn.bias, bn.running_mean, bn.running_var)
    if conv.bias is not None:
        sources += (conv.bias,)
    layout = torch.channels_last if channels_last else torch.contiguous_format

    def build() -> tuple[torch.Tensor, torch.Tensor]:
        scale = bn.weight * (bn.running_var + bn.eps).rsqrt()
        shift = bn.bias - bn.running_mean * scale
        if conv.bias is not None:
            shift = shift + conv.bias * scale
        weight = conv.weight * scale.view(-1, *([1] * (conv.weight.dim() - 1)))
        return weight.contiguous(memory_format=layout), shift.contiguous()

    name = "_folded_bn_channels_last" if channels_last else "_folded_bn"
    return cached_derived(conv, name, sources, build)


def conv2d(
    x: torch.Tensor,
    conv: nn.Conv2d,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    *,
    relu: bool = False,
    residual: torch.Tensor | None = None,
) -> torch.Tensor:
    """relu?(conv(x; weight, bias) + residual?) in one kernel where possible.

    `weight`/`bias` default to the module's own (pass the folded ones to fold a BatchNorm).
    """
    if weight is None:
        weight, bias = conv.weight, conv.bias
    if (
        onednn_usable(x, weight)
        and conv.padding_mode == "zeros"
        and not isinstance(conv.padding, str)
        and (residual is None or residual.dtype == torch.float32)
    ):
        args = (list(conv.padding), list(conv.stride), list(conv.dilation), conv.groups)
        weight = _weight_like_input(conv, weight, x)
        try:
            if residual is None:
                return _CONV(x, weight, bias, *args, "relu" if relu else "none", [], "")
            unary = "relu" if relu else None
            return _CONV.binary(x, residual, weight, bias, *args, "add", None, unary, [], "")
        except RuntimeError as err:
            _give_up_onednn(err)
    return _finish_in_place(conv._conv_forward(x, weight, bias), relu, residual)


def linear(
    x: torch.Tensor,
    layer: nn.Linear | None = None,
    *,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    relu: bool = False,
    residual: torch.Tensor | None = None,
) -> torch.Tensor:
    """relu?(x @ W^T + b) + residual? with the ReLU and the add in place on the product's output.

    The residual is added after the activation (the FFN's `x + ffn(x)`); a call may not ask for
    both. W and b are the layer's own unless given.
    """
    if relu and residual is not None:
        raise ValueError("linear() adds the residual after no activation; ask for one of them")
    if layer is not None:
        weight, bias = layer.weight, layer.bias
    if weight is None:
        raise ValueError("linear() needs a layer or a weight")
    return _finish_in_place(F.linear(x, weight, bias), relu, residual)


def _finish_in_place(out: torch.Tensor, relu: bool, residual: torch.Tensor | None) -> torch.Tensor:
    """relu?(out + residual?) in place on `out`, a fresh product."""
    if residual is not None:
        out += residual
    return out.relu_() if relu else out


def add_residual(
    residual: torch.Tensor,
    out: torch.Tensor,
    paths: FastPaths,
    dropout: nn.Module | None = None,
) -> torch.Tensor:
    """residual + dropout(out), the post-norm layer's add; `out` must be a fresh temporary.

    With `lean_linear` (inference only, where dropout is the identity) the add runs in place on
    `out`, so the sum allocates nothing; with it off, the plain ops of the authors' code.
    """
    if paths.lean_linear:
        return out.add_(residual)
    return residual + (out if dropout is None else dropout(out))


def residual_ffn(
    x: torch.Tensor,
    linear1: nn.Linear,
    linear2: nn.Linear,
    paths: FastPaths,
    dropout: nn.Module | None = None,
    dropout_out: nn.Module | None = None,
) -> torch.Tensor:
    """x + dropout_out(linear2(dropout(relu(linear1(x))))), a transformer layer's FFN and add.

    With `lean_linear` (inference: the dropouts are identities) the ReLU and the add run in place
    on the products' outputs, so the hidden activation is the only temporary.
    """
    if paths.lean_linear:
        return linear(linear(x, linear1, relu=True), linear2, residual=x)
    hidden = F.relu(linear1(x))
    out = linear2(hidden if dropout is None else dropout(hidden))
    return x + (out if dropout_out is None else dropout_out(out))


def conv_block(
    x: torch.Tensor,
    layer: nn.Conv2d,
    paths: FastPaths,
    *,
    relu: bool = False,
    residual: torch.Tensor | None = None,
) -> torch.Tensor:
    """relu?(layer(x) + residual?), as one fused kernel with `fuse_conv`, else the plain ops.

    The convolutions after the backbone (input projections, mask heads) go through here, so a
    forward has one path whatever the switch.
    """
    if paths.fuse_conv:
        return conv2d(x, layer, relu=relu, residual=residual)
    # a plain conv is called as a module (hooks and per-module FLOPs see it); a conv module
    # that applies its own norm in its forward (detectron2's `Conv2d(norm=...)`) hands itself
    # here, so only its convolution runs
    if type(layer).forward is nn.Conv2d.forward:
        out = layer(x)
    else:
        out = layer._conv_forward(x, layer.weight, layer.bias)
    if residual is not None:
        out = out + residual
    return F.relu(out) if relu else out


def conv_bn(
    x: torch.Tensor,
    conv: nn.Conv2d,
    bn: nn.Module,
    paths: FastPaths,
    *,
    relu: bool = False,
    residual: torch.Tensor | None = None,
) -> torch.Tensor:
    """relu?(bn(conv(x)) + residual?) for a frozen `bn`, with the paths `paths` allows.

    `fold_bn` runs one convolution with the folded weight and bias; `fuse_conv` adds the
    residual and applies the ReLU inside it (or in place). `conv`'s own forward is bypassed,
    so a conv that applies its norm itself (detectron2's ConvNorm) works too.
    """
    if paths.fold_bn:
        channels_last = x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)
        weight, bias = folded_conv_bn(conv, bn, channels_last and conv.weight.shape[-1] > 1)
        if paths.fuse_conv:
            return conv2d(x, conv, weight, bias, relu=relu, residual=residual)
        out = conv._conv_forward(x, weight, bias)
    else:
        out = bn(conv._conv_forward(x, conv.weight, conv.bias))
    if paths.fuse_conv:
        if residual is not None:
            out += residual
        return out.relu_() if relu else out
    if residual is not None:
        out = out + residual
    return F.relu(out) if relu else out


def to_channels_last(x: torch.Tensor, paths: FastPaths) -> torch.Tensor:
    """NHWC layout for a CPU image batch when `channels_last` is on (else `x` unchanged)."""
    if paths.channels_last and x.device.type == "cpu" and x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x
