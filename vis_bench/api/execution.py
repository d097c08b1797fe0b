"""How a method's run executed, an optional capability, and whether the harness is compiling it.

A method with execution choices of its own (which deformable-attention core ran, which fast paths
were on) implements `ReportsExecution`: `execution_info` says what it did for the record's
`execution`, `reset_execution_info` (where it keeps what it saw) forgets it before a run;
registration refuses a reset without the report. Without them a record says nothing more than
dtype, device and threads.

torch.compile traces under `torch.no_grad`, and PyTorch recommends it over `torch.inference_mode`:
tensors made in inference mode and handed to a compiled graph (a frame's features, a cached
folded weight) break its tracing, and a failed trace can leave the dispatcher in a state later
eager calls trip over. So while the harness compiles (vis_bench/measure/compile.py), the harness
itself runs its loop under `no_grad`, and a method's fast path that would enter inference mode
asks `harness_compiles()` and uses `no_grad` instead. Everything else is as without the compiler.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Protocol

#: what a class implements to report its execution (the reset only with the report)
HOOKS = ("execution_info", "reset_execution_info")

_depth = 0


class ReportsExecution(Protocol):
    """The capability's hooks (see the module docstring)."""

    def execution_info(self) -> dict[str, Any]:
        """How this method's run executed, beyond dtype, device and threads."""
        ...

    def reset_execution_info(self) -> None:
        """Forget what `execution_info` would report (the worker calls it before the run)."""
        ...


def execution_info(plugin: Any) -> dict[str, Any]:
    """The method's `execution_info`; without one, nothing to add."""
    hook = getattr(plugin, "execution_info", None)
    return {} if hook is None else hook()


def reset_execution_info(plugin: Any) -> None:
    """The method's `reset_execution_info`, where it has one."""
    hook = getattr(plugin, "reset_execution_info", None)
    if hook is not None:
        hook()


def harness_compiles() -> bool:
    """True inside the harness's compiled region (`compiling`)."""
    return _depth > 0


@contextlib.contextmanager
def compiling() -> Iterator[None]:
    """Marks the region in which the harness runs a compiled forward."""
    global _depth
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1


def no_grad_region() -> contextlib.AbstractContextManager:
    """`torch.no_grad()` while the harness compiles, `torch.inference_mode()` otherwise: the
    context the harness runs a method in."""
    import torch

    return torch.no_grad() if harness_compiles() else torch.inference_mode()
