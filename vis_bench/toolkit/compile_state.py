"""Whether the harness is compiling the method's forward right now (measure/compile.py).

torch.compile traces under `torch.no_grad`, and PyTorch recommends it over `torch.inference_mode`:
tensors made in inference mode and handed to a compiled graph (a frame's features, a cached
folded weight) break its tracing, and a failed trace can leave the dispatcher in a state later
eager calls trip over. So while the harness compiles, the harness itself runs its loop under
`no_grad`, and a method's fast path that would enter inference mode asks `harness_compiles()`
and uses `no_grad` instead. Everything else is as without the compiler.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

_depth = 0


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
