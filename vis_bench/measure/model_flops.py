"""GMACs per frame of a method's clip inference, in total and per module, by execution."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from vis_bench.api.flops import count_flops
from vis_bench.api.measurements import flops_modules, per_prompt_modules
from vis_bench.errors import InputError


@dataclass
class ClipSize:
    """A clip's size in a table config (the FLOPs tables' cells, the sizes table's input)."""

    frames: int
    height: int
    width: int

    def check(self, where: str, source: str) -> None:
        for name in ("frames", "height", "width"):
            if getattr(self, name) < 1:
                raise InputError("must be a positive integer", path=source, field=f"{where}.{name}")


def clip_flops(
    plugin: Any, clip: torch.Tensor, forward: Callable[[], Any] | None = None
) -> dict[str, Any]:
    """Count what `infer_clip(clip)` executes (multiply-adds), divided by frames; for a prompted
    method (`per_prompt_modules`) also split into the shared part and the part per prompt.

    `forward()` runs that call (the runner's warm-up passes its own, so the count costs no
    forward of its own); by default `infer_clip(clip)`.
    """
    model = getattr(plugin, "model", None)
    if not isinstance(model, torch.nn.Module):
        return {}
    per_prompt, prompts = per_prompt_modules(plugin)
    modules = list(dict.fromkeys([*flops_modules(plugin), *per_prompt]))
    # The counter's module tracker hooks autograd on inputs that require grad; parameters fed
    # into sub-modules (query embeddings) would trip it, and inference needs no grad anyway.
    saved = {p: p.requires_grad for p in model.parameters()}
    try:
        for param in saved:
            param.requires_grad_(False)
        if forward is None:
            report = count_flops(model, (clip,), modules=modules, forward=plugin.infer_clip)
        else:
            report = count_flops(model, (), modules=modules, forward=forward)
    finally:
        for param, flag in saved.items():
            param.requires_grad_(flag)
    frames = int(clip.shape[0])
    counted = {
        "gmacs_per_frame": report.total / 1e9 / frames,
        "gmacs_per_frame_by_module": {
            name: value / 1e9 / frames for name, value in report.by_module.items()
        },
    }
    if per_prompt and prompts > 0:
        repeated = sum(report.by_module[name] for name in per_prompt) / 1e9 / frames
        counted["gmacs_per_frame_split"] = {
            "shared": counted["gmacs_per_frame"] - repeated,
            "per_prompt": repeated / prompts,
            "prompts": prompts,
        }
    return counted
