"""One timed round of one cell, in its own worker: the one pass that gives the cell's FPS.

After every cell's accuracy pass, a sweep times its cells in rounds (rounds.py). A round's
worker builds the method as the accuracy pass did, warms it up on the first clip's first
frames (WARMUP_FRAMES), reads the machine's reference speed (measure/reference.py), the load and the GPU's state, runs the
shared runner over the round's videos with every stage timed inside the one pass, and reads the
same again. Its predictions must be the accuracy pass's, video for video (prediction_check.py):
a timed pass that skipped work would be caught here, and the cell fails.

The first round of a cell chooses its videos: whole videos in dataset order until the round has
covered `measure.round_frames` frames and `measure.round_seconds` seconds; the later rounds time
the same videos, so every round of a cell does the same work.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vis_bench.config import MeasureConfig
from vis_bench.sweep.cells import Cell
from vis_bench.sweep.prediction_check import check_predictions, video_predictions
from vis_bench.sweep.worker import (
    CellPassHooks,
    build_plugin,
    cell_schedule,
    harness_compile,
    open_cell_source,
)

#: a round warms up on the first clip's first frames only: its one-time costs (kernels and
#: buffers made on first use) are paid as on the whole clip, and a whole-video clip (T = all)
#: would cost a round as much as a third of its timed pass again
WARMUP_FRAMES = 5


@dataclass
class RoundJob:
    """One cell's round, picklable: what to build and run, and what its predictions must be."""

    cell: Cell
    source: Any
    measure: MeasureConfig
    device: str
    round_index: int
    #: the accuracy pass's predictions per video (prediction_check.py)
    expected: dict[int, Any]
    #: the videos to time (None: every video)
    videos: list[int] | None = None
    #: stop after enough frames and seconds (the cell's first round chooses its videos so)
    choose: bool = False
    environ: dict[str, str] = field(default_factory=dict)


@dataclass
class RoundOutcome:
    """What a round's worker reports: frames, seconds and stages of its pass, the machine's
    reference speed and load around it, and whether its predictions were the accuracy pass's."""

    round_index: int
    videos: list[int]
    frames: int
    seconds: float
    cpu_seconds: float
    stages: dict[str, float]
    reference_before: dict[str, Any]
    reference_after: dict[str, Any]
    load: dict[str, Any]
    gpu: dict[str, Any] = field(default_factory=dict)
    compile_excluded_s: float = 0.0
    #: how its predictions compared with the accuracy pass's (prediction_check.Check)
    check: Any = None
    finished: str = ""

    @property
    def fps(self) -> float | None:
        return self.frames / self.seconds if self.seconds > 0 else None

    @property
    def reference_gflops(self) -> float:
        """The machine's speed around the round: the slower of the two readings (load that
        started or stopped during the round shows in one of them)."""
        readings = [self.reference_before.get("gflops"), self.reference_after.get("gflops")]
        return float(min(r for r in readings if r) if any(readings) else 0.0)

    @property
    def fps_model(self) -> float | None:
        model = self.stages.get("model", 0.0)
        return self.frames / model if model > 0 else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "round": self.round_index,
            "videos": len(self.videos),
            "frames": self.frames,
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
            "fps": self.fps,
            "fps_model": self.fps_model,
            "stages": dict(self.stages),
            "reference_before": self.reference_before,
            "reference_after": self.reference_after,
            "reference_gflops": self.reference_gflops,
            "load": self.load,
            "gpu": self.gpu,
            "compile_excluded_s": self.compile_excluded_s,
            "predictions": self.check.as_dict() if self.check is not None else None,
            "finished": self.finished,
        }


class _RoundHooks(CellPassHooks):
    """A round's part in its pass: the machine read at the timed region's start and end
    (reference speed, load, GPU), and, in the round that chooses its videos, the stop once it
    has covered enough frames and seconds."""

    def __init__(
        self, job: RoundJob, progress: Callable[[int], None] | None, compiler: Any
    ) -> None:
        super().__init__(progress, compiler)
        self.device, self.measure, self.choose = job.device, job.measure, job.choose
        self.start: tuple[Any, Any, dict[str, Any]] | None = None
        self.end: tuple[Any, Any, dict[str, Any]] | None = None

    def _read(self) -> tuple[Any, Any, dict[str, Any]]:
        from vis_bench.measure.gpu_state import device_state
        from vis_bench.measure.load import read_load
        from vis_bench.measure.reference import read_reference

        reference = read_reference(self.device)
        return reference, read_load(), device_state(self.device)

    def before_timed(self) -> None:
        self.start = self._read()

    def after_timed(self) -> None:
        self.end = self._read()

    def should_stop(self, frames: int, seconds: float) -> bool:
        """The first round's stopping rule: enough frames and seconds covered."""
        measure = self.measure
        return self.choose and frames >= measure.round_frames and seconds >= measure.round_seconds


def time_round(job: RoundJob, progress: Callable[[int], None] | None = None) -> RoundOutcome:
    """Build, warm up, read the machine, run the timed pass, read it again, check the
    predictions (the body of a round's worker)."""
    import torch

    from vis_bench.inference.runner import run_method
    from vis_bench.measure.compile import compiled
    from vis_bench.measure.load import load_summary

    if job.environ:
        os.environ.update(job.environ)
    if job.measure.threads:
        torch.set_num_threads(job.measure.threads)
    plugin, _ = build_plugin(job.cell.method)
    plugin.to(job.device)
    with compiled(plugin, harness_compile(job.measure)) as compiler:
        hooks = _RoundHooks(job, progress, compiler)
        schedule = cell_schedule(job, warmup_frames=WARMUP_FRAMES)
        outcome = run_method(plugin, open_cell_source(job), **schedule, hooks=hooks)
    if hooks.start is None or hooks.end is None:
        raise RuntimeError("the round's dataset has no frames to time")
    check = check_predictions(job.expected, video_predictions(outcome.results), outcome.video_ids)
    (ref_start, load_start, gpu), (ref_end, load_end, _) = hooks.start, hooks.end
    return RoundOutcome(
        round_index=job.round_index,
        videos=outcome.video_ids,
        frames=outcome.num_frames,
        seconds=outcome.seconds_end_to_end,
        cpu_seconds=outcome.cpu_seconds,
        stages=outcome.stages(),
        reference_before=ref_start.as_dict(),
        reference_after=ref_end.as_dict(),
        load=load_summary(load_start, load_end, torch.get_num_threads()),
        gpu=gpu,
        compile_excluded_s=outcome.seconds_excluded,
        check=check,
        finished=time.strftime("%Y-%m-%dT%H:%M:%S"),
    )
