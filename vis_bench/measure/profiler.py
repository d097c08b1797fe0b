"""Operator-level profile of one method's `infer_clip`: where the time goes, and at what FLOP/s.

The timing commands say how fast a method is; this says why. It runs torch.profiler over a few
clips of random frames (after an unprofiled warm-up, so one-time costs such as kernel builds and
allocator growth stay out), ranks operators by self time, and keeps the Chrome trace for a
closer look. FLOPs come from the profiler's own estimates (`with_flops=True`: matmuls,
convolutions, elementwise add/mul); other operators show no FLOP/s.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vis_bench.atomic import atomic_file
from vis_bench.inference.stopwatch import synchronize

CLIP_LABEL = "vis_bench::infer_clip"


@dataclass
class OperatorStat:
    """One operator aggregated over all profiled clips (times in microseconds)."""

    name: str
    calls: int
    self_cpu_us: float
    cpu_total_us: float
    self_device_us: float = 0.0
    device_total_us: float = 0.0
    flops: int = 0

    def flops_per_second(self, on_device: bool) -> float | None:
        """FLOPs over inclusive time (a conv's FLOPs are booked on the op that dispatches it)."""
        total_us = self.device_total_us if on_device else self.cpu_total_us
        if not self.flops or total_us <= 0:
            return None
        return self.flops / (total_us * 1e-6)


@dataclass
class ProfileResult:
    method: str
    device: str
    clip: int
    frame_size: tuple[int, int]
    input_size: tuple[int, int]
    repeats: int
    threads: int
    clip_seconds: list[float]
    operators: list[OperatorStat]
    trace: Any = field(default=None, repr=False)  # the torch.profiler.profile object

    @property
    def on_device(self) -> bool:
        return self.device.startswith("cuda")

    @property
    def total_self_cpu_us(self) -> float:
        return sum(op.self_cpu_us for op in self.operators)

    @property
    def total_self_device_us(self) -> float:
        return sum(op.self_device_us for op in self.operators)

    def top(self, k: int, by: str = "cpu") -> list[OperatorStat]:
        """The `k` operators with the largest self time on `by` ("cpu" or "device")."""
        key = "self_device_us" if by == "device" else "self_cpu_us"
        return sorted(self.operators, key=lambda op: getattr(op, key), reverse=True)[:k]


def random_frames(clip: int, shorter_side: int, seed: int = 0) -> torch.Tensor:
    """uint8 RGB frames [T, 3, H, W] with a 16:9 landscape shape (shorter side `shorter_side`)."""
    height = shorter_side
    width = int(round(shorter_side * 16 / 9 / 2)) * 2
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (clip, 3, height, width), generator=gen, dtype=torch.uint8)


def _operator_stats(prof: torch.profiler.profile) -> list[OperatorStat]:
    stats = []
    for event in prof.key_averages():
        if event.key == CLIP_LABEL or event.key.startswith("ProfilerStep"):
            continue  # our own annotation, not an operator
        stats.append(
            OperatorStat(
                name=event.key,
                calls=int(event.count),
                self_cpu_us=float(event.self_cpu_time_total),
                cpu_total_us=float(event.cpu_time_total),
                self_device_us=float(getattr(event, "self_device_time_total", 0.0) or 0.0),
                device_total_us=float(getattr(event, "device_time_total", 0.0) or 0.0),
                flops=int(getattr(event, "flops", 0) or 0),
            )
        )
    return stats


def profile_method(
    plugin: Any,
    *,
    method: str,
    clip: int = 5,
    shorter_side: int = 360,
    device: str = "cpu",
    repeats: int = 3,
    warmup: int = 1,
    seed: int = 0,
) -> ProfileResult:
    """Profile `plugin.infer_clip` on `repeats` clips of random frames (preprocessing untimed)."""
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device.startswith("cuda"):
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    clips = []
    for index in range(max(0, warmup) + max(1, repeats)):
        frames = random_frames(clip, shorter_side, seed + index)
        clips.append(plugin.preprocess(frames, shorter_side).to(device))
    warm, timed = clips[: max(0, warmup)], clips[max(0, warmup) :]
    clip_seconds = []
    with torch.inference_mode():
        for frames in warm:
            plugin.infer_clip(frames)
        synchronize(device)
        with torch.profiler.profile(
            activities=activities, record_shapes=True, with_flops=True
        ) as prof:
            for frames in timed:
                start = time.perf_counter()
                with torch.profiler.record_function(CLIP_LABEL):
                    plugin.infer_clip(frames)
                    synchronize(device)
                clip_seconds.append(time.perf_counter() - start)
    return ProfileResult(
        method=method,
        device=device,
        clip=clip,
        frame_size=tuple(random_frames(1, shorter_side).shape[-2:]),
        input_size=tuple(timed[0].shape[-2:]),
        repeats=len(timed),
        threads=torch.get_num_threads(),
        clip_seconds=clip_seconds,
        operators=_operator_stats(prof),
        trace=prof,
    )


def _format_flops(rate: float | None) -> str:
    if rate is None:
        return ""
    for unit, scale in (("TFLOP/s", 1e12), ("GFLOP/s", 1e9), ("MFLOP/s", 1e6)):
        if rate >= scale:
            return f"{rate / scale:.2f} {unit}"
    return f"{rate:.0f} FLOP/s"


def operator_table(result: ProfileResult, top: int = 15, by: str = "cpu") -> str:
    """Markdown table of the top operators by self time on `by`, with shares and FLOP/s."""
    on_device = by == "device"
    total = result.total_self_device_us if on_device else result.total_self_cpu_us
    where = "CUDA" if on_device else "CPU"
    lines = [
        f"| operator | calls | self {where} ms | share | total {where} ms | FLOP/s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for op in result.top(top, by):
        self_us = op.self_device_us if on_device else op.self_cpu_us
        total_us = op.device_total_us if on_device else op.cpu_total_us
        share = 100 * self_us / total if total > 0 else 0.0
        lines.append(
            f"| `{op.name}` | {op.calls} | {self_us / 1e3:.3f} | {share:.1f}% | "
            f"{total_us / 1e3:.3f} | {_format_flops(op.flops_per_second(on_device))} |"
        )
    return "\n".join(lines) + "\n"


def summary_markdown(result: ProfileResult, top: int = 15, trace_name: str | None = None) -> str:
    """The whole report: setup, per-clip wall time, and the operator table(s)."""
    clip_ms = sorted(s * 1e3 for s in result.clip_seconds)
    median_ms = clip_ms[len(clip_ms) // 2]
    h, w = result.frame_size
    ih, iw = result.input_size
    parts = [
        f"# Profile: {result.method} on {result.device}\n",
        f"- clip: {result.clip} random frames of {h}x{w}, preprocessed to {ih}x{iw}",
        f"- profiled clips: {result.repeats} (after warm-up), torch threads: {result.threads}",
        f"- infer_clip wall time under the profiler: median {median_ms:.1f} ms "
        f"(min {clip_ms[0]:.1f}, max {clip_ms[-1]:.1f}); the profiler adds overhead",
        f"- total self CPU time: {result.total_self_cpu_us / 1e3:.1f} ms",
    ]
    if result.on_device:
        parts.append(f"- total self CUDA time: {result.total_self_device_us / 1e3:.1f} ms")
    if trace_name:
        parts.append(f"- Chrome trace: `{trace_name}` (open in chrome://tracing or Perfetto)")
    parts.append("")
    parts.append(f"## Top {top} operators by self CPU time\n")
    parts.append(operator_table(result, top, "cpu"))
    if result.on_device:
        parts.append(f"## Top {top} operators by self CUDA time\n")
        parts.append(operator_table(result, top, "device"))
    parts.append(
        "FLOP/s = profiler FLOP estimate / inclusive time; shown only for operators whose FLOPs "
        "the profiler knows (matmul, convolution, add, mul).\n"
    )
    return "\n".join(parts)


def export_trace_atomic(result: ProfileResult, path: str | Path) -> Path:
    """Write the Chrome trace via a temporary file in the same folder, then rename."""
    path = Path(path)
    with atomic_file(path) as tmp:
        result.trace.export_chrome_trace(str(tmp))
    return path
