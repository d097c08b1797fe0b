"""Measurements a method offers, optional capabilities: its FLOPs broken down by module, and
tables beyond the sweep's.

`flops_modules` (the `FlopBreakdown` hook) names sub-modules of the model (dotted paths) the
sweep's FLOP count is broken down by (backbone, encoder, decoder, heads); without it the count
is the whole model's. A prompted method (its cost grows with its text prompts) names the
sub-modules that run once per prompt (`PromptBreakdown`), so the count splits into a shared part
and a part per prompt. A `TableMeasurement` in the spec's `measurements` is a table the `flops`
command runs for the method (say, its encoder's FLOPs for several variants). The FLOP counter
itself (flops.py) is the one the sweep uses: `count_flops` on meta tensors,
`register_flop_formula` for a custom op.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from vis_bench.api.flops import FlopReport, count_flops, register_flop_formula

__all__ = [
    "FlopBreakdown",
    "FlopReport",
    "PromptBreakdown",
    "TableMeasurement",
    "count_flops",
    "flops_modules",
    "per_prompt_modules",
    "register_flop_formula",
]


@dataclass(frozen=True)
class TableMeasurement:
    """A measurement a method offers beyond the sweep's (e.g. a FLOPs table of its encoder).

    run(**arguments) -> (FlopReport, tokens per frame); `arguments` lists what a variant may set.
    """

    run: Callable[..., tuple[Any, int]]
    description: str
    arguments: tuple[str, ...]


class FlopBreakdown(Protocol):
    """The optional hook naming the sub-modules FLOPs are broken down by."""

    def flops_modules(self) -> list[str]: ...


def flops_modules(plugin: Any) -> list[str]:
    """The method's `flops_modules`; without the hook, none (the whole model's count only)."""
    hook = getattr(plugin, "flops_modules", None)
    return [] if hook is None else list(hook())


class PromptBreakdown(Protocol):
    """The optional hooks of a prompted method: the sub-modules (dotted paths, none inside
    another) whose work is repeated for each of its `prompt_count()` prompts."""

    def per_prompt_modules(self) -> list[str]: ...

    def prompt_count(self) -> int: ...


def per_prompt_modules(plugin: Any) -> tuple[list[str], int]:
    """The method's per-prompt sub-modules and its prompt count; without the hooks, none."""
    hook = getattr(plugin, "per_prompt_modules", None)
    if hook is None:
        return [], 0
    modules = list(hook())
    nested = [(a, b) for a in modules for b in modules if b.startswith(a + ".")]
    if nested:
        outer, inner = nested[0]
        raise ValueError(f"per_prompt_modules: {inner!r} is inside {outer!r} (counted twice)")
    return modules, int(plugin.prompt_count())
