"""The calls of a run outside its timed pass: the warm-up before it and the single-clip timing
after it, both on the run's first clip.

The warm-up pays one-time costs (library handles, kernels and buffers made on first use) before
the timer starts, so that they do not land in whichever cell runs first; a timed round gives it
only the first clip's first frames (sweep/timed_round.py). The single-clip timing is a separate
measurement (`infer_clip` alone, repeated), not part of the end-to-end figure. `outcome` is the
run's `runner.RunOutcome` (typed loosely: the runner imports this module).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch

from vis_bench.api.execution import no_grad_region
from vis_bench.api.plugin import MethodPlugin
from vis_bench.inference.autocast import autocast
from vis_bench.inference.stopwatch import synchronize, time_call


def time_single_clip(
    plugin: MethodPlugin, outcome: Any, device: str, dtype: str, warmup: int, repeats: int
) -> None:
    """Single-clip timing: `infer_clip` on the first clip, `repeats` times, after the pass."""
    first = outcome.first_clip
    assert first is not None
    start = time.perf_counter()
    # the run just warmed the model up on every clip: no second warm-up
    again = 0 if outcome.num_videos else warmup
    with no_grad_region():
        outcome.single_clip_times = time_call(
            lambda: infer_once(plugin, first, device, dtype), device, again, repeats
        )
    outcome.single_clip_frames = int(first.shape[0])
    outcome.single_clip_timing_s = time.perf_counter() - start


def warm_up(
    plugin: MethodPlugin,
    outcome: Any,
    device: str,
    dtype: str,
    probe: Callable[[torch.Tensor, Callable[[], None]], Any],
    frames: int | None = None,
) -> None:
    """The untimed first clip (its first `frames` only, when given), run by `probe` (the
    pass's `PassHooks.warm_up`), whose answer is kept."""
    first = outcome.first_clip
    assert first is not None
    if frames is not None:
        first = first[: max(1, frames)]

    def call() -> None:
        infer_once(plugin, first, device, dtype)

    outcome.warmup_probe = probe(first, call)
    synchronize(device)


def infer_once(plugin: MethodPlugin, clip: torch.Tensor, device: str, dtype: str) -> None:
    """One `infer_clip` call on `clip`, its result dropped."""
    with autocast(device, dtype):
        plugin.infer_clip(clip)
