"""Counting the multiply-adds (MACs) a model actually executes, in the fvcore/detectron2 convention.

Unit: one fused multiply-add = 1 MAC, reported as GMACs everywhere in vis-bench; the VIS papers'
tables call the same count "GFLOPs" (fvcore's name for it). Matmuls, convolutions and attention
products are counted, biases, softmax and elementwise ops are not; normalisation layers cost 5
MACs per element (fvcore's estimate for an affine norm).

Mechanism: `torch.utils.flop_counter.FlopCounterMode` records every aten op dispatched inside the
forward, attributed to the module that ran it. Run it on meta tensors (`torch.device("meta")`)
to count without allocating: even a 33k-token full attention costs nothing. That counter reports
2 FLOPs per multiply-add, so its numbers are halved here; the formulas it lacks (norms,
`grid_sample`, the CPU fused attention kernel) are added, and custom ops such as a deformable
attention kernel add theirs through `register_flop_formula`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from vis_bench.registry import Registry

aten = torch.ops.aten

#: FlopCounterMode counts 2 per multiply-add; formulas below return the same unit
_COUNTER_UNITS_PER_MAC = 2
NORM_MACS_PER_ELEMENT = 5
#: bilinear sampling: 4 weighted neighbours per output value
GRID_SAMPLE_MACS_PER_OUTPUT = 4


@dataclass(frozen=True)
class FlopFormula:
    """The multiply-add count of one custom op: the op (its overload packet) and the formula."""

    op: Any
    macs: Callable[..., int]


#: custom op's qualified name (`vis_bench::ms_deform_attn`) -> its formula
FLOP_FORMULAS: Registry[FlopFormula] = Registry(
    "FLOP formula", base=FlopFormula, instance=True, case_sensitive=True
)


def register_flop_formula(op: Any, macs: Callable[..., int]) -> None:
    """Register the multiply-add count of a custom op (e.g. `torch.ops.vis_bench.ms_deform_attn`).

    `macs(*arg_shapes, out_shape=..., **kwargs)` receives the op's arguments with every tensor
    replaced by its shape and returns multiply-adds. Later registrations of the same op replace
    earlier ones, so an op module can call this each time it is imported without harm.
    """
    packet = getattr(op, "_overloadpacket", op)
    name = getattr(packet, "_qualified_op_name", None) or getattr(packet, "__name__", repr(packet))
    FLOP_FORMULAS.register(name, FlopFormula(packet, macs), replace=True)


def _numel(shape: Sequence[int]) -> int:
    return int(math.prod(shape))


def _norm(input_shape, *args, out_shape=None, **kwargs) -> int:
    return _COUNTER_UNITS_PER_MAC * NORM_MACS_PER_ELEMENT * _numel(input_shape)


def _grid_sample(input_shape, grid_shape, *args, out_shape=None, **kwargs) -> int:
    n, c = input_shape[0], input_shape[1]
    return _COUNTER_UNITS_PER_MAC * GRID_SAMPLE_MACS_PER_OUTPUT * n * c * _numel(grid_shape[1:-1])


def _sdpa(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    # q [..., Lq, E], k [..., Lk, E], v [..., Lk, Ev]: QK^T and AV
    batch = _numel(query_shape[:-2])
    lq, e = query_shape[-2], query_shape[-1]
    lk, ev = key_shape[-2], value_shape[-1]
    return _COUNTER_UNITS_PER_MAC * batch * lq * lk * (e + ev)


def _builtin_extra_formulas() -> dict[Any, Callable[..., int]]:
    formulas: dict[Any, Callable[..., int]] = {
        aten.native_layer_norm: _norm,
        aten.native_group_norm: _norm,
        aten.grid_sampler_2d: _grid_sample,
    }
    for name in (
        "_scaled_dot_product_flash_attention_for_cpu",
        "_scaled_dot_product_attention_math",
    ):
        op = getattr(aten, name, None)
        if op is not None:
            formulas[op] = _sdpa
    return formulas


def _wrap_macs(fn: Callable[..., int]) -> Callable[..., int]:
    def counter_units(*args, **kwargs) -> int:
        return _COUNTER_UNITS_PER_MAC * int(fn(*args, **kwargs))

    return counter_units


@dataclass
class FlopReport:
    """Multiply-adds of one forward: total, per requested module, per aten op."""

    total: int
    by_module: dict[str, int] = field(default_factory=dict)
    by_op: dict[str, int] = field(default_factory=dict)

    @property
    def gmacs(self) -> float:
        return self.total / 1e9

    def module_gmacs(self, name: str) -> float:
        return self.by_module[name] / 1e9

    def format(self) -> str:
        lines = [f"total {self.gmacs:.4f} GMACs"]
        lines += [f"  {name:<40} {v / 1e9:10.4f}" for name, v in self.by_module.items()]
        lines += [f"  [{op}] {v / 1e9:.4f}" for op, v in self.by_op.items()]
        return "\n".join(lines)


def count_flops(
    model: torch.nn.Module,
    inputs: Iterable[Any] = (),
    kwargs: dict[str, Any] | None = None,
    modules: Sequence[str] | None = None,
    forward: Callable[..., Any] | None = None,
) -> FlopReport:
    """Run `forward(*inputs, **kwargs)` (default `model`) under the counter, without autograd.

    `modules` are dotted sub-module paths of `model` (as in `named_modules`) to break down by;
    `""` is the whole model. Use meta-device models and inputs to count for free.
    """
    formulas = {**_builtin_extra_formulas()}
    formulas.update({f.op: _wrap_macs(f.macs) for f in FLOP_FORMULAS.values()})
    counter = FlopCounterMode(display=False, depth=None, custom_mapping=formulas)
    call = forward or model
    root = type(model).__name__
    known = dict(model.named_modules())
    names = getattr(counter.mod_tracker, "_known_modules", None)
    if names is not None:
        # name sub-modules from `model` even when `forward` calls them directly (not via model)
        for name, module in known.items():
            names[module] = f"{root}.{name}" if name else root
    # Views of parameters made under no_grad still report requires_grad, which makes the
    # counter's module tracker try to hook their (absent) autograd graph; counting needs no
    # gradients, so parameters are frozen for the duration and restored after.
    trainable = [p for p in model.parameters() if p.requires_grad]
    try:
        for p in trainable:
            p.requires_grad_(False)
        with torch.no_grad(), counter:
            call(*tuple(inputs), **(kwargs or {}))
    finally:
        for p in trainable:
            p.requires_grad_(True)
    counts = counter.get_flop_counts()

    def module_units(name: str) -> int:
        key = root if name == "" else f"{root}.{name}"
        if key in counts:
            return sum(counts[key].values())
        # containers that are indexed but never called (ModuleList): sum their children
        prefix = f"{name}." if name else ""
        return sum(module_units(prefix + child) for child, _ in known[name].named_children())

    # a module registered under two names (a model's shared box heads) is listed once by
    # named_modules: count it under that canonical name, report it under the requested one
    canonical = {id(module): name for name, module in known.items()}
    by_module = {}
    for name in modules or ():
        try:
            module = model.get_submodule(name)
        except AttributeError as err:
            raise KeyError(f"{name!r} is not a sub-module of {root}") from err
        by_module[name] = module_units(canonical[id(module)]) // _COUNTER_UNITS_PER_MAC
    global_counts = counts.get("Global", {})
    by_op = {str(op): v // _COUNTER_UNITS_PER_MAC for op, v in global_counts.items()}
    total = sum(global_counts.values()) // _COUNTER_UNITS_PER_MAC
    return FlopReport(total, by_module, by_op)
