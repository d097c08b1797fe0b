"""What runs inside a cell's worker process: build the method, predict, measure.

The worker is the only process that ever holds a model. It builds the method from its checked
entry (reading the checkpoint once), runs the shared runner over the dataset (or this rank's share
of it), writes the predictions atomically (once, already in the dataset's category ids when
the entry maps them), and measures what belongs to the model: FLOPs on the
first clip, parameters, memory (peak RSS, RSS once built, the rise during inference, CUDA peak),
which deformable-attention core ran, the machine's load while timed, the harness's own share of
the time (decode, stitching, mask resize, RLE) and the environment. It sends back only that small
summary; the parent scores the predictions and writes the record. A cell with `video_frames`
sees every video cut to its first N frames.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vis_bench.config import MeasureConfig
from vis_bench.data.frames import oriented_frames
from vis_bench.inference.pass_hooks import PassHooks, UntimedCalls
from vis_bench.records.parts import (
    CheckpointLoad,
    Energy,
    Environment,
    Execution,
    Flops,
    Harness,
    Load,
    Memory,
    Provenance,
    Speed,
    Stream,
)
from vis_bench.sweep.cells import Cell
from vis_bench.sweep.label_space import map_predictions
from vis_bench.sweep.measured import CellMeasurements, protocol_parts
from vis_bench.sweep.methods import MethodEntry
from vis_bench.sweep.phase_clock import PhaseClock

#: what `results.json` holds per cell; a rank's share is written beside it
RESULTS_FILE = "results.json"


@dataclass
class CellJob:
    """Everything a worker needs, picklable (no tensors, no open files)."""

    cell: Cell
    #: the dataset: an opener (`.open()` -> source) or a small picklable source itself
    source: Any
    measure: MeasureConfig
    results_path: str
    device: str
    #: video ids of this rank's share (None: every video)
    videos: list[int] | None = None
    time_model: bool = True
    #: the parent's environment variables when the job was made (a forked worker would
    #: otherwise see its server's, which predate any change the parent made since)
    environ: dict[str, str] = field(default_factory=dict)
    #: the model's categories -> the dataset's (a CategoryMapping), applied before the one write
    category_mapping: Any = None
    #: the command line of the sweep, for the record's provenance block
    command: list[str] | None = None
    #: accuracy passes running at once with this one (measure.accuracy_passes) and this pass's
    #: threads then (None: `measure.threads`, as its timed rounds use)
    passes_at_once: int = 1
    threads: int | None = None


@dataclass
class CellOutcome:
    """What a worker reports back (small: predictions stay in `results_path`)."""

    results_path: str
    num_videos: int
    num_frames: int
    num_predictions: int
    #: the accuracy pass's own seconds (one pass over every video; FPS comes from the rounds)
    seconds_end_to_end: float
    measurements: CellMeasurements = field(default_factory=CellMeasurements)
    #: predictions left out by the category mapping (no dataset class of that name)
    dropped_predictions: int = 0
    #: per video id: its predictions as the timed rounds check them (prediction_check.py)
    predictions: dict[int, Any] = field(default_factory=dict)


def import_plugin(reference: str) -> Any:
    """The plugin class at "module:QualName" (importing it registers it here, too)."""
    module_name, _, qualname = reference.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def build_plugin(entry: MethodEntry) -> tuple[Any, dict[str, Any] | None]:
    """A method built from its checked options, its checkpoint loaded (read once), both on one
    torch thread (`one_thread`); the caller's threads are back for what follows.

    Returns the plugin and what the checkpoint load did (None without a checkpoint).
    """
    import torch

    from vis_bench.formats.checkpoints import open_checkpoint

    plugin_cls = import_plugin(entry.plugin)
    with one_thread():
        torch.manual_seed(0)  # seeded random weights when no checkpoint is given
        plugin = plugin_cls.build(dict(entry.model_options))
        if entry.checkpoint_path is None:
            return plugin, None
        contents = open_checkpoint(entry.checkpoint_path)
        report = plugin.load_checkpoint(contents, entry.checkpoint_strict)
    return plugin, report.as_record()


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Torch on one thread inside, as many as before after it.

    Building a method and loading its checkpoint are hundreds of small tensor operations (the
    weights' initialisation, a copy and a cast per tensor), each of which wakes the OpenMP
    threads: on two cores that are shared, that cost a worker 0.3-1.3 CPU s against
    0.1-0.3 s on one thread, for the same weights bit for bit (tests/test_build_threads.py),
    and every (cell, round) builds its method again."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _parameter_count(model: Any) -> int:
    unique = {id(p): p for p in model.parameters()}
    return int(sum(p.numel() for p in unique.values()))


class VideoSubset:
    """A dataset restricted to some of its videos (a rank's share)."""

    def __init__(self, source: Any, video_ids: list[int]):
        wanted = set(video_ids)
        self._source = source
        self._videos = [v for v in source.videos() if int(v.id) in wanted]

    def videos(self) -> list[Any]:
        return self._videos

    def read_frames(self, video: Any, indices: list[int]) -> Any:
        return self._source.read_frames(video, indices)


@dataclass(frozen=True)
class _CutVideo:
    """A video as the runner sees it when cut to its first `length` frames."""

    id: int
    height: int
    width: int
    length: int
    whole: Any


class CutVideos:
    """A dataset whose videos are cut to their first `frames` frames (shorter ones stay whole):
    the same content at several lengths, for memory and speed against video length."""

    def __init__(self, source: Any, frames: int):
        self._source = source
        self._videos = [
            _CutVideo(int(v.id), int(v.height), int(v.width), min(int(v.length), frames), v)
            for v in source.videos()
        ]

    def videos(self) -> list[Any]:
        return self._videos

    def read_frames(self, video: _CutVideo, indices: list[int]) -> Any:
        return self._source.read_frames(video.whole, indices)


def _memory(rss_built: float | None, inference_peak: float | None, device: str) -> Memory:
    """Peak RSS, RSS once built, the rise during inference, CUDA peak (MiB)."""
    from vis_bench.measure import memory

    rise = None if inference_peak is None or rss_built is None else inference_peak - rss_built
    return Memory(memory.peak_rss_mb(), rss_built, rise, memory.cuda_peak_mb(device))


def open_cell_source(job: Any) -> Any:
    """The cell's videos: the dataset, this rank's share of it, cut to N frames if asked (a
    `CellJob` or a timed round's job: anything with `source`, `videos` and `cell`)."""
    source = job.source.open() if hasattr(job.source, "open") else job.source
    if job.videos is not None:
        source = VideoSubset(source, job.videos)
    if job.cell.video_frames is not None:
        source = CutVideos(source, job.cell.video_frames)
    return source


def cell_schedule(job: Any, **untimed: Any) -> dict[str, Any]:
    """The runner's arguments that make a pass the cell's, shared by the accuracy pass and every
    timed round so that both run the same schedule (a `CellJob` or a timed round's job);
    `untimed`: the pass's own `UntimedCalls` beside the cell's warm-up count."""
    cell = job.cell
    return {
        "clip_length": cell.clip_length,
        "stride": cell.stride,
        "resolution": cell.resolution,
        "device": job.device,
        "dtype": cell.dtype,
        "untimed": UntimedCalls(warmup=job.measure.warmup, **untimed),
        "feature_reuse": job.measure.feature_reuse,
        "input_workers": job.measure.input_workers,
    }


def _execution(
    plugin: Any,
    job: CellJob,
    feature_reuse: bool,
    threads: int,
    compiling: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """How the cell ran: the plugin's own report, dtype, device, the threads of its timed
    rounds, feature reuse, and torch.compile where it was on (a non-default execution: its FPS
    is marked in tables)."""
    from vis_bench.api.execution import execution_info

    info = {
        **execution_info(plugin),
        "dtype": job.cell.dtype,
        "device": job.device,
        "threads": threads,
        "feature_reuse": feature_reuse,
    }
    if job.threads:  # what the timed rounds use is above; this pass shared the cores
        info["accuracy_pass_threads"] = job.threads
    if compiling is not None:
        info["compile"] = compiling
        info["non_default"] = [
            *info.get("non_default", []),
            f"torch.compile on (mode {compiling['mode']}, dynamic {compiling['dynamic']})",
        ]
    return info


def harness_compile(measure: MeasureConfig) -> Any:
    """The CompileSetting of `measure.compile` (None when off)."""
    from vis_bench.api.timing import CompileSetting

    if not measure.compile:
        return None
    return CompileSetting(
        mode=measure.compile_mode,
        dynamic=measure.compile_dynamic,
        suppress_errors=measure.compile_suppress_errors,
    )


def _region_readings(
    hooks: _AccuracyPassHooks, outcome: Any
) -> tuple[Load | None, Energy | None, Stream | None]:
    """The machine's load while timed, the energy of the timed region and the live-stream
    replay of its clips, each where taken."""
    import torch

    from vis_bench.measure.load import load_summary

    readings, load, energy, stream = hooks.readings, None, None, None
    if "start" in readings and "end" in readings:
        taken = load_summary(readings["start"], readings["end"], torch.get_num_threads())
        load = Load.from_json(taken)
        region = "the accuracy pass's timed region (one pass over every video, its wall time)"
        if hooks.meter is not None:
            reading = hooks.meter.reading.as_dict(outcome.num_frames)
            energy = Energy.from_json({**reading, "region": region})
        elif hooks.unmetered is not None:
            energy = Energy(source="none", region=region, note=hooks.unmetered)
    if hooks.stream and outcome.clip_timings:
        stream = Stream.from_json(_stream(outcome, hooks.stream_fps))
    return load, energy, stream


def _stream(outcome: Any, fps: float | None) -> dict[str, Any]:
    """The live-stream replay of the end-to-end run's clips (measure/stream.py)."""
    from vis_bench.measure.stream import replay_video, summarize

    streams = [replay_video(clips, length, fps) for length, clips in outcome.clip_timings]
    largest = [max(len(c.frames) for c in clips) for _, clips in outcome.clip_timings]
    return {
        **summarize(streams, largest, fps).as_dict(),
        "videos": len(streams),
        "replayed_from": "each clip's seconds in the end-to-end run (model and harness work)",
    }


def _protocols(
    job: CellJob, plugin: Any, compiling: dict[str, Any] | None, outcome: Any
) -> dict[str, Any]:
    """The declaration of each protocol the sweep asked for, the `authors` one timed here and
    the single clip's from the runner's repeats (the end-to-end and model FPS come from the
    timed rounds, sweep/record.py `finish_record`)."""
    import statistics

    from vis_bench.measure import protocols as p

    measure, setting = job.measure, harness_compile(job.measure)
    out: dict[str, Any] = {}
    if not measure.fps:
        return out
    if p.END_TO_END in measure.protocols:
        declared = p.end_to_end_protocol(measure.warmup, setting)
        out[p.END_TO_END] = p.protocol_result(declared, None, compile=compiling)
    if p.MODEL in measure.protocols:
        declared = p.model_protocol(measure.warmup, setting)
        out[p.MODEL] = p.protocol_result(declared, None)
    if p.SINGLE_CLIP in measure.protocols and job.time_model:
        declared = p.single_clip_protocol(measure.warmup, measure.repeats, setting)
        out[p.SINGLE_CLIP] = p.protocol_result(declared, None)
        if outcome.single_clip_times:  # the median of the repeats of the one clip
            seconds = statistics.median(sorted(outcome.single_clip_times))
            frames = outcome.single_clip_frames
            fps = frames / seconds if seconds > 0 else None
            out[p.SINGLE_CLIP].update(fps=fps, frames=frames, seconds=seconds)
    if p.AUTHORS in measure.protocols and job.time_model:
        out[p.AUTHORS] = _authors(job, plugin)
    return out


def _authors(job: CellJob, plugin: Any) -> dict[str, Any]:
    """The method's declared protocol timed on the cell's videos; a failure of this second pass
    is recorded as the reason it was not measured, and the cell keeps its other numbers."""
    from vis_bench.measure.protocol_run import ProtocolCell, run_authors_protocol

    cell = job.cell
    where = ProtocolCell(
        cell.clip_length,
        cell.stride,
        cell.resolution,
        job.device,
        cell.dtype,
        job.measure.feature_reuse,
    )
    try:
        return run_authors_protocol(
            plugin, open_cell_source(job), plugin.spec.timing_protocol, where
        )
    except Exception as err:  # noqa: BLE001 - recorded with the reason
        declared = plugin.spec.timing_protocol
        return {
            "fps": None,
            "protocol": declared.as_dict() if declared is not None else None,
            "not_measured": f"failed: {type(err).__name__}: {err}",
        }


def _harness(outcome: Any) -> dict[str, Any]:
    """The harness's share of the time, and how many frames' per-frame stages ran."""
    return {
        **outcome.harness.as_record(outcome.seconds_end_to_end, outcome.num_frames),
        "per_frame_stages_computed": outcome.reuse.frames_computed,
        "per_frame_stages_clip_frames": outcome.reuse.clip_frames,
    }


class CellPassHooks(PassHooks):
    """What every pass of a cell adds, its accuracy pass and its timed rounds alike: each video
    done counted (the progress bar), the compiler's seconds left out of the timed ones."""

    def __init__(self, progress: Callable[[int], None] | None, compiler: Any) -> None:
        self.progress = progress
        if compiler is not None:
            self.exclude = lambda: compiler.seconds

    def video_done(self) -> None:
        if self.progress is not None:
            self.progress(1)


class _AccuracyPassHooks(CellPassHooks):
    """The accuracy pass's readings: the machine's load at the start and end of the timed
    region, the energy meter where asked (measure/energy.py), the warm-up's FLOPs."""

    def __init__(
        self, job: CellJob, plugin: Any, progress: Callable[[int], None] | None, compiler: Any
    ) -> None:
        from vis_bench.measure.energy import EnergyMeter

        super().__init__(progress, compiler)
        self.plugin = plugin
        self.readings: dict[str, Any] = {}
        shared = job.passes_at_once > 1  # the cores' energy is not this pass's alone
        self.meter = EnergyMeter(job.device) if job.measure.energy and not shared else None
        self.unmetered = (
            f"not measured: {job.passes_at_once} accuracy passes ran at once "
            "(measure.accuracy_passes)"
            if job.measure.energy and shared
            else None
        )
        self.stream = job.measure.stream and job.measure.fps
        self.stream_fps = job.measure.stream_fps
        # a FLOP count while compiling would trace the counter: counted eagerly after instead
        self.count_flops = job.measure.flops and compiler is None

    def warm_up(self, first_clip: Any, call: Callable[[], None]) -> Any:
        """The warm-up call inside the FLOP counter: the first clip's count, no extra forward."""
        if not self.count_flops:
            return super().warm_up(first_clip, call)
        from vis_bench.measure.model_flops import clip_flops

        return clip_flops(self.plugin, first_clip, forward=call)

    def before_timed(self) -> None:
        from vis_bench.measure.load import read_load

        self.readings["start"] = read_load()
        if self.meter is not None:
            self.meter.__enter__()

    def after_timed(self) -> None:
        from vis_bench.measure.load import read_load

        if self.meter is not None:
            self.meter.__exit__(None, None, None)
        self.readings["end"] = read_load()


def _run(job: CellJob, plugin: Any, source: Any, hooks: _AccuracyPassHooks) -> Any:
    """The shared runner over the cell's videos (load and energy read around the timed part;
    the compiler's seconds, when compiling, left out of the timed ones)."""
    from vis_bench.inference.runner import run_method
    from vis_bench.measure.protocols import SINGLE_CLIP

    single_clip = job.time_model and job.measure.fps and SINGLE_CLIP in job.measure.protocols
    schedule = cell_schedule(job, single_clip=bool(single_clip), repeats=job.measure.repeats)
    return run_method(plugin, source, **schedule, hooks=hooks)


def _run_phases(clock: PhaseClock, outcome: Any) -> None:
    """The runner's share of the cell split into warm-up, the accuracy pass, single-clip timing."""
    clock.lap("inference")  # the whole run_method call, split below
    clock.seconds["inference"] -= outcome.warmup_s + outcome.single_clip_timing_s
    clock.add("warmup", outcome.warmup_s)
    clock.add("single_clip_timing", outcome.single_clip_timing_s)


def _input_scale(plugin: Any, source: Any, resolution: int | None) -> str | None:
    """The warning for an input far from the size of the cell's frames (input_scale.py)."""
    from vis_bench.inference.input_scale import input_scale_warning

    sizes = [(int(v.height), int(v.width)) for v in source.videos()]
    return input_scale_warning(plugin.preprocessing, resolution, sizes)


def _what_ran(
    job: CellJob,
    plugin: Any,
    outcome: Any,
    compiling: dict[str, Any] | None,
    provenance: Any,
    wait_policy: str,
    threads: int,
) -> CellMeasurements:
    """The parts that say what ran: the options, the backbone, the execution, the machine and
    its software, the code state, the harness's share of the time."""
    from vis_bench.measure.environment import environment
    from vis_bench.measure.provenance import finish_provenance

    return CellMeasurements(
        model_options=dict(job.cell.method.model_options),
        backbone=plugin.backbone_name(),
        execution=Execution.from_json(
            _execution(plugin, job, outcome.feature_reuse, threads, compiling)
        ),
        environment=Environment.from_json(
            {**environment(job.device, code=provenance), "omp_wait_policy": wait_policy}
        ),
        provenance=Provenance.from_json(finish_provenance(provenance)),
        harness=Harness.from_json(_harness(outcome)),
        **_prompt_load(plugin),
    )


def _prompt_load(plugin: Any) -> dict[str, Any]:
    """A prompted method's prompts and objects tracked per frame over the pass, as it reports
    them (vis_bench.api.prompts); none for a method without a prompt count."""
    from vis_bench.api.prompts import prompt_load_of

    load = prompt_load_of(plugin)
    if load is None:
        return {}
    return {"prompts": load.prompts, "objects_tracked": load.objects_tracked()}


def _flops(job: CellJob, plugin: Any, outcome: Any, params: int) -> Flops:
    """The first clip's GMACs per frame (counted in the warm-up where it could be) and the
    parameter count."""
    from vis_bench.measure.model_flops import clip_flops

    counted: dict[str, Any] = {}
    if job.measure.flops and outcome.first_clip is not None:
        counted = outcome.warmup_probe or clip_flops(plugin, outcome.first_clip)
    return Flops(
        counted.get("gmacs_per_frame"),
        counted.get("gmacs_per_frame_by_module"),
        params,
        counted.get("gmacs_per_frame_split"),
    )


def _set_threads(job: CellJob) -> int:
    """This pass's threads set; returns those of the cell's timed rounds (the record's)."""
    import torch

    rounds_threads = job.measure.threads or torch.get_num_threads()
    if job.threads or job.measure.threads:
        torch.set_num_threads(job.threads or job.measure.threads)
    return rounds_threads


def predict_cell(job: CellJob, progress: Callable[[int], None] | None = None) -> CellOutcome:
    """Build, predict, measure (the body of a worker; `--in-process` calls it directly)."""
    import orjson

    from vis_bench.api.execution import reset_execution_info
    from vis_bench.atomic import write_atomic
    from vis_bench.measure import memory
    from vis_bench.measure.compile import compiled
    from vis_bench.measure.provenance import start_provenance
    from vis_bench.sweep.prediction_check import video_predictions

    clock = PhaseClock()
    # what the OpenMP runtime read when this process (or its fork server) loaded torch
    wait_policy = os.environ.get("OMP_WAIT_POLICY") or "default"
    if job.environ:
        os.environ.update(job.environ)
    rounds_threads = _set_threads(job)
    # the code state as this worker imports the method: a sweep can outlive a commit
    provenance = start_provenance(job.command)
    cell = job.cell
    clock.lap("worker_start")  # imports and provenance, after the process itself started
    plugin, checkpoint_load = build_plugin(cell.method)
    plugin.to(job.device)
    clock.lap("model_build")
    rss_built = memory.rss_mb()
    memory.reset_peak_rss()
    memory.reset_cuda_peak(job.device)
    reset_execution_info(plugin)
    oriented_before = oriented_frames()
    source = open_cell_source(job)
    scale = _input_scale(plugin, source, cell.resolution)
    with compiled(plugin, harness_compile(job.measure)) as compiler:
        hooks = _AccuracyPassHooks(job, plugin, progress, compiler)
        outcome = _run(job, plugin, source, hooks)
        compiling = compiler.summary(outcome.seconds_excluded) if compiler is not None else None
    inference_peak = memory.peak_rss_since_reset_mb()
    _run_phases(clock, outcome)
    params = _parameter_count(plugin.model)
    measured = _what_ran(job, plugin, outcome, compiling, provenance, wait_policy, rounds_threads)
    measured.checkpoint_load = CheckpointLoad.from_json(checkpoint_load)
    load, measured.energy, measured.stream = _region_readings(hooks, outcome)
    measured.input_scale = scale  # the record's notes say it (sweep/record.py), the run once
    oriented = oriented_frames() - oriented_before  # frames turned upright: the record says so
    measured.frames_oriented = oriented if oriented > 0 else None
    if job.measure.memory:
        measured.memory = _memory(rss_built, inference_peak, job.device)
    clock.lap("measurements")
    measured.flops = _flops(job, plugin, outcome, params)
    clock.lap("flops")
    results, dropped = map_predictions(outcome.results, job.category_mapping)
    write_atomic(Path(job.results_path), orjson.dumps(results))
    clock.lap("write")
    measured.protocols, fps = protocol_parts(_protocols(job, plugin, compiling, outcome))
    measured.speed = Speed(
        fps_authors=fps.get("fps_authors"), fps_single_clip=fps.get("fps_single_clip"), load=load
    )
    clock.lap("protocol_timing")
    measured.timings = {**clock.seconds, "worker_s": clock.total()}
    return CellOutcome(
        results_path=job.results_path,
        num_videos=outcome.num_videos,
        num_frames=outcome.num_frames,
        num_predictions=len(outcome.results),
        seconds_end_to_end=outcome.seconds_end_to_end,
        measurements=measured,
        dropped_predictions=dropped,
        predictions=video_predictions(outcome.results),
    )
