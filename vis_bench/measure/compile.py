"""torch.compile as a switchable fast path of the harness, with its compile time kept apart.

A compiler turns a method's forward into generated kernels (C++ on CPU, Triton on GPU) the first
time it sees an input shape. Some published FPS were measured compiled, so a protocol may ask for
it (`TimingProtocol.compile`), and a sweep may switch it on for its own protocols
(`measure.compile`); it is off by default. The harness compiles the plugin's entry points
(`infer_clip`, and `frame_features` / `infer_clip_features` of a method declaring per-frame
stages) on this one instance, so every method gets it alike without a line of its own, and the
Python around the network (matching, top-k) is traced where it can be and runs eagerly where it
cannot (a graph break). While compiling, the harness and the methods' fast paths run under
`no_grad` instead of `inference_mode` (api/execution.py), as PyTorch recommends.

Compiling takes seconds to minutes, and every new input shape (another video size, a shorter last
clip) may compile again. `CompileClock` adds up the seconds spent compiling, from TorchDynamo's
compile start and end callbacks, so the timers subtract them from the region they time and the
record shows them apart: a compiled FPS never includes its compiler, and the compile time is
never hidden. The mode and the dynamic flag that ran, the graphs, the graph breaks and the frames
that failed to compile are recorded with it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from vis_bench.api.execution import compiling
from vis_bench.api.per_frame import has_per_frame_stages
from vis_bench.api.plugin import MethodPlugin
from vis_bench.api.timing import CompileSetting

#: the plugin methods the harness calls, compiled on the instance
ENTRY_POINTS = ("infer_clip", "frame_features", "infer_clip_features")


def _counters() -> dict[str, int]:
    """TorchDynamo's process-wide counts this clock reports differences of."""
    from torch._dynamo.utils import counters

    frames = counters["frames"]
    return {
        "graphs": int(counters["stats"].get("unique_graphs", 0)),
        "graph_breaks": int(sum(counters["graph_break"].values())),
        "frames_failed": int(frames.get("total", 0) - frames.get("ok", 0)),
    }


class CompileClock:
    """Seconds spent compiling since it started (read `seconds` before and after a region)."""

    def __init__(self, setting: CompileSetting) -> None:
        import torch._dynamo

        self.setting = setting
        self.seconds = 0.0
        self.compiles = 0
        self._depth = 0
        self._began = 0.0
        self._handler = torch._dynamo.callback_handler
        self._handler.register_start_callback(self._start)
        self._handler.register_end_callback(self._end)
        self._counts = _counters()

    def _start(self, *args: Any) -> None:
        if self._depth == 0:
            self._began = time.perf_counter()
        self._depth += 1

    def _end(self, *args: Any) -> None:
        self._depth = max(0, self._depth - 1)
        if self._depth == 0:
            self.seconds += time.perf_counter() - self._began
            self.compiles += 1

    def close(self) -> None:
        """Stop listening (the callbacks are process-wide)."""
        for remove, callback in (
            (self._handler.remove_start_callback, self._start),
            (self._handler.remove_end_callback, self._end),
        ):
            with contextlib.suppress(ValueError):
                remove(callback)

    def summary(self, timed_s: float = 0.0) -> dict[str, Any]:
        """What ran and what compiling cost: all of it, and the part inside a timed region
        (`timed_s`, subtracted from that region's seconds)."""
        now = _counters()
        return {
            **self.setting.as_dict(),
            "compile_s": round(self.seconds, 4),
            "compile_s_in_timed_region": round(timed_s, 4),
            "compilations": self.compiles,
            **{key: now[key] - self._counts[key] for key in now},
        }


@contextlib.contextmanager
def compiled(plugin: MethodPlugin, setting: CompileSetting | None) -> Iterator[CompileClock | None]:
    """The plugin's entry points compiled as `setting` asks while inside (None: as they are);
    yields the clock of the compile time (None without compiling)."""
    if setting is None:
        yield None
        return
    import torch
    import torch._dynamo

    names = ENTRY_POINTS if has_per_frame_stages(plugin) else ENTRY_POINTS[:1]
    saved = {name: plugin.__dict__[name] for name in names if name in plugin.__dict__}
    for name in names:
        setattr(
            plugin,
            name,
            torch.compile(
                getattr(plugin, name),
                mode=setting.mode,
                dynamic=setting.dynamic,
                fullgraph=setting.fullgraph,
            ),
        )
    clock = CompileClock(setting)
    try:
        with torch._dynamo.config.patch(suppress_errors=setting.suppress_errors), compiling():
            yield clock
    finally:
        clock.close()
        for name in names:
            if name in saved:
                setattr(plugin, name, saved[name])
            else:
                delattr(plugin, name)
        # the compiled code goes with the context: a later context (another protocol, another
        # plugin of the same code) compiles afresh and counts its own compile time, and no
        # state of a frame that failed to compile outlives it
        torch._dynamo.reset()


@contextlib.contextmanager
def matmul_precision(value: str | None) -> Iterator[None]:
    """torch.set_float32_matmul_precision(value) while inside, restored after (None: untouched)."""
    if value is None:
        yield
        return
    import torch

    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision(value)
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before)
