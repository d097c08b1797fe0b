"""Which deformable-attention core actually ran: forward calls counted per core, per process.

A benchmark record must name the kernel it timed, and a silent fallback to the pure-PyTorch
reference (no compiler, an unsupported dtype or device) must show in it. The ops count each
forward call that runs on real data under the core that ran it; calls on meta or fake tensors
(FLOP counting, tracing) run no core and are not counted. A caller brackets the work it wants
to describe with `reset_core_usage()` and `core_usage()`. Counting is one dict increment.
"""

from __future__ import annotations

#: the compiled C++ kernel, the compiled CUDA kernel, the pure-PyTorch reference (chosen
#: explicitly as the core or taken as the fallback when no kernel is available)
CORES = ("compiled-cpu", "cuda", "reference")
#: the compiled core for each device type that has one
COMPILED_CORE = {"cpu": "compiled-cpu", "cuda": "cuda"}

_calls = dict.fromkeys(CORES, 0)


def record(core: str) -> None:
    """Count one forward call that ran on `core` (one of CORES)."""
    _calls[core] += 1


def reset_core_usage() -> None:
    """Start counting afresh (e.g. right before the timed part of a benchmark cell)."""
    for core in CORES:
        _calls[core] = 0


def core_usage() -> dict[str, int]:
    """Forward calls per core since the last reset, listing only the cores that ran.

    An empty dict means no deformable attention ran (a model without it, or nothing yet).
    """
    return {core: calls for core, calls in _calls.items() if calls}
