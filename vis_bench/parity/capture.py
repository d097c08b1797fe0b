"""Intermediate outputs captured with forward hooks, so a forward pass carries no parity flag.

A value no module returns becomes a small parameter-free module's output in the model, which a
hook then reads; nothing is threaded through the forward for a check.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import torch


@contextlib.contextmanager
def captured_outputs(
    model: torch.nn.Module,
    modules: Mapping[str, str],
    inputs: Mapping[str, str | tuple[str, int]] | None = None,
) -> Iterator[dict[str, list[Any]]]:
    """Forward hooks recording what the named sub-modules return, call by call.

    `modules` maps a label to a dotted sub-module path; the yielded dict maps each label to the
    list of that module's outputs during the `with` block. `inputs` does the same for a
    module's positional input: a path alone means the first, `(path, i)` the i-th (a value
    computed by code that is not a module call and handed to one, e.g. a fused kernel's
    output). Hooks are removed on exit, so the forward itself carries no parity flag.
    """
    inputs = inputs or {}
    captured: dict[str, list[Any]] = {label: [] for label in (*modules, *inputs)}
    handles = []
    try:
        for label, path in modules.items():
            module = model.get_submodule(path)
            handles.append(
                module.register_forward_hook(
                    lambda _m, _args, output, label=label: captured[label].append(output)
                )
            )
        for label, where in inputs.items():
            path, index = (where, 0) if isinstance(where, str) else where
            module = model.get_submodule(path)
            handles.append(
                module.register_forward_pre_hook(
                    lambda _m, args, label=label, index=index: captured[label].append(args[index])
                )
            )
        yield captured
    finally:
        for handle in handles:
            handle.remove()
