"""A sweep: every cell of methods x clip lengths x strides x resolutions x devices x dtypes.

Each cell runs the shared runner, writes its results.json atomically, is scored with the
project's metric when ground truth exists, is measured (FPS, FLOPs, parameters, memory), and ends
as one record line. Finished cells are skipped on rerun (a cell is identified by its axes, its
method's options and checkpoint path, and the checkpoint file's size and modification time); a
failing cell is recorded with its reason and the sweep goes on; Ctrl-C leaves every finished cell
intact.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from vis_bench.atomic import write_atomic
from vis_bench.checkpoints import (
    checkpoint_fingerprint,
    project_checkpoint_info,
    resolve_checkpoint,
)
from vis_bench.config import BenchConfig, MethodConfig
from vis_bench.distributed import DistContext, shard_by_frames, single_process
from vis_bench.errors import VisBenchError
from vis_bench.inference.runner import FrameSource, RunOutcome, model_input, run_method
from vis_bench.measure import memory
from vis_bench.measure.environment import environment
from vis_bench.registry import get_method
from vis_bench.report.records import append_record, finished_keys, read_records

RANDOM_WEIGHTS_NOTE = "random weights (no checkpoint): AP is not meaningful"


@dataclass(frozen=True, eq=True)
class Cell:
    """One point of the sweep."""

    method: MethodConfig
    clip_length: int | str
    stride: int | None
    resolution: int | None
    device: str
    dtype: str

    def identity(self, dataset_id: str) -> dict[str, Any]:
        return {
            "method": self.method.name,
            "checkpoint": self.method.checkpoint,
            "checkpoint_file": checkpoint_fingerprint(self.method.checkpoint),
            "options": self.method.options,
            "dataset": dataset_id,
            "clip_length": self.clip_length,
            "stride": self.stride,
            "resolution": self.resolution,
            "device": self.device,
            "dtype": self.dtype,
        }

    def key(self, dataset_id: str) -> str:
        blob = json.dumps(self.identity(dataset_id), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def label(self) -> str:
        parts = [self.method.name, f"T={self.clip_length}"]
        if self.stride is not None:
            parts.append(f"S={self.stride}")
        if self.resolution is not None:
            parts.append(f"{self.resolution}p")
        parts += [self.device, self.dtype]
        return " ".join(parts)


def expand_cells(config: BenchConfig) -> list[Cell]:
    """All cells in a stable order: methods outermost, then the axes as listed.

    Combinations with a stride longer than the clip are left out (they would skip frames).
    """
    sweep = config.sweep
    if sweep.clip_schedule:
        schedules = [(t, s) for t, s in sweep.clip_schedule]
    else:
        schedules = list(itertools.product(sweep.clip_length, sweep.stride))
    cells = []
    for method in config.methods:
        for (t, s), r, d, dt in itertools.product(
            schedules, sweep.resolution, sweep.device, sweep.dtype
        ):
            if t == "all" and s is not None:
                s = None  # one clip: the stride means nothing, keep one cell
            if t != "all" and s is not None and s > t:
                continue  # frames would be skipped: not a meaningful schedule
            cell = Cell(method, t, s, r, d, dt)
            if cell not in cells:
                cells.append(cell)
    return cells


def _dtype_supported(device: str, dtype: str) -> str | None:
    """A reason the device cannot run `dtype`, or None."""
    if device.startswith("cuda") and not torch.cuda.is_available():
        return f"device {device!r} requested but torch has no CUDA device here"
    if dtype == "bf16" and device.startswith("cuda") and not torch.cuda.is_bf16_supported():
        return "bf16 is not supported by this GPU"
    return None


def _parameter_counts(plugin: Any) -> dict[str, int]:
    model = getattr(plugin, "model", None)
    if not isinstance(model, torch.nn.Module):
        return {}
    unique = {id(p): p for p in model.parameters()}
    return {"params": int(sum(p.numel() for p in unique.values()))}


class _ShardSource:
    """A dataset restricted to this rank's videos."""

    def __init__(self, source: FrameSource, videos: list[Any]):
        self._source = source
        self._videos = videos

    def videos(self) -> list[Any]:
        return self._videos

    def read_frames(self, video: Any, indices: list[int]) -> Any:
        return self._source.read_frames(video, indices)


def _predict(
    cell: Cell, config: BenchConfig, source: FrameSource, ctx: DistContext, progress: Any
) -> tuple[Any, RunOutcome]:
    """Build the method and predict this rank's videos."""
    reason = _dtype_supported(cell.device, cell.dtype)
    if reason:
        raise VisBenchError(reason)
    plugin = build_method(cell.method)
    device = ctx.device_for(cell.device)
    memory.reset_cuda_peak(device)
    if ctx.shards_videos:
        source = _ShardSource(source, shard_by_frames(source.videos(), ctx.world_size)[ctx.rank])
    measure = config.measure
    outcome = run_method(
        plugin,
        source,
        clip_length=cell.clip_length,
        stride=cell.stride,
        resolution=cell.resolution,
        device=device,
        dtype=cell.dtype,
        warmup=measure.warmup,
        repeats=measure.repeats,
        time_model=measure.fps and ctx.is_main,
        progress=progress,
    )
    return plugin, outcome


def build_method(method: MethodConfig) -> Any:
    """The plugin of a sweep's method entry, with its checkpoint loaded.

    A project-format checkpoint carries the options its model was built with; they are the
    defaults here, so naming the file is enough (options given in the config win).
    """
    plugin_cls = get_method(method.name)
    options = dict(method.options)
    path = resolve_checkpoint(method.checkpoint) if method.checkpoint else None
    if path is not None:
        if not path.is_file():
            raise VisBenchError(f"checkpoint not found at {path} (methods[].checkpoint)")
        info = project_checkpoint_info(path)
        if info and info.get("method") in (None, method.name) and info.get("config"):
            options = {**info["config"], **options}
    torch.manual_seed(0)  # seeded random weights when no checkpoint is given
    plugin = plugin_cls.build(dict(options))
    if path is not None:
        plugin.load_checkpoint(str(path))
    plugin.build_options = options  # what the model was built with, for records and tables
    return plugin


def _gather(outcome: RunOutcome, source: FrameSource, ctx: DistContext) -> RunOutcome:
    """Rank 0 gets every rank's predictions back in dataset order; FPS uses the slowest rank."""
    parts = ctx.all_gather(
        (outcome.results, outcome.num_videos, outcome.num_frames, outcome.seconds_end_to_end)
    )
    position = {int(v.id): i for i, v in enumerate(source.videos())}
    results = [r for part in parts for r in part[0]]
    results.sort(key=lambda r: position[int(r["video_id"])])  # stable: per-video order kept
    merged = RunOutcome(
        results=results,
        num_videos=sum(p[1] for p in parts),
        num_frames=sum(p[2] for p in parts),
        seconds_end_to_end=max(p[3] for p in parts),
        model_clip_times=outcome.model_clip_times,
        model_clip_frames=outcome.model_clip_frames,
    )
    return merged


def run_cell(
    cell: Cell,
    config: BenchConfig,
    source: FrameSource,
    gt_path: Path | None,
    cell_dir: Path,
    evaluate: Callable[[Path, Path], dict[str, float]] | None,
    flops: Callable[[Any, torch.Tensor], dict[str, Any]] | None,
    progress: Any = None,
    ctx: DistContext | None = None,
) -> dict[str, Any] | None:
    """Run one cell; the measurements part of its record on rank 0, None on other ranks.

    Raises on failure (on every rank alike when videos are sharded).
    """
    ctx = ctx or single_process()
    if ctx.shards_videos:
        error = None
        try:
            plugin, outcome = _predict(cell, config, source, ctx, progress)
        except Exception as err:
            error = f"{type(err).__name__}: {err}"
        ctx.check_all(error)
        outcome = _gather(outcome, source, ctx)
        if not ctx.is_main:
            return None
    else:
        plugin, outcome = _predict(cell, config, source, ctx, progress)
    measure = config.measure
    results_path = cell_dir / "results.json"
    write_atomic(results_path, json.dumps(outcome.results))
    record: dict[str, Any] = {
        "num_videos": outcome.num_videos,
        "num_frames": outcome.num_frames,
        "num_predictions": len(outcome.results),
        "results_path": str(results_path),
        "world_size": ctx.world_size if ctx.shards_videos else 1,
    }
    if measure.ap and evaluate is not None and gt_path is not None:
        record.update(evaluate(gt_path, results_path))
    if measure.fps:
        record["fps_end_to_end"] = outcome.fps_end_to_end
        record["fps_model"] = outcome.fps_model
        record["seconds_end_to_end"] = outcome.seconds_end_to_end
    device = ctx.device_for(cell.device)
    if measure.flops and flops is not None:
        record.update(flops(plugin, _flops_clip(source, plugin, cell, device)))
    record.update(_parameter_counts(plugin))
    record["model_options"] = getattr(plugin, "build_options", cell.method.options)
    if measure.memory:
        record["peak_rss_mb"] = memory.peak_rss_mb()
        cuda_peak = memory.cuda_peak_mb(device)
        if cuda_peak is not None:
            record["cuda_max_allocated_mb"] = cuda_peak
    notes = [n for n in (getattr(plugin, "notes", ""), cell.method.label) if n]
    if not cell.method.checkpoint:
        notes.append(RANDOM_WEIGHTS_NOTE)
    record["notes"] = "; ".join(notes)
    return record


def _flops_clip(source: FrameSource, plugin: Any, cell: Cell, device: str) -> torch.Tensor:
    """The first clip of the first video, as the method sees it (FLOPs are per frame of it)."""
    video = source.videos()[0]
    length = video.length if cell.clip_length == "all" else min(video.length, cell.clip_length)
    return model_input(
        plugin, source.read_frames(video, list(range(length))), cell.resolution, device
    )


def sweep_records(config: BenchConfig, dataset_id: str, run_dir: Path) -> list[dict[str, Any]]:
    """The records of this config's cells in `run_dir`, the latest of each, in cell order.

    A run directory keeps every record ever written to it; records of cells the config no
    longer has (or of checkpoints since replaced under the same path) stay out of its reports.
    """
    keys = [cell.key(dataset_id) for cell in expand_cells(config)]
    wanted = set(keys)
    latest = {r["key"]: r for r in read_records(run_dir) if r.get("key") in wanted}
    return [latest[key] for key in keys if key in latest]


def run_sweep(
    config: BenchConfig,
    source: FrameSource,
    gt_path: Path | None,
    dataset_id: str,
    run_dir: Path,
    evaluate: Callable[[Path, Path], dict[str, float]] | None = None,
    flops: Callable[[Any, torch.Tensor], dict[str, Any]] | None = None,
    log: Callable[[str], None] = print,
    ctx: DistContext | None = None,
) -> list[dict[str, Any]]:
    """Run every unfinished cell; returns the records written by this call (by this rank)."""
    ctx = ctx or single_process()
    run_dir = Path(run_dir)
    cells = expand_cells(config)
    done = ctx.broadcast(finished_keys(run_dir) if ctx.is_main else None)
    todo = [c for c in cells if c.key(dataset_id) not in done]
    if ctx.world_size > 1 and ctx.mode == "cells":
        todo = [c for i, c in enumerate(todo) if i % ctx.world_size == ctx.rank]
    if len(todo) < len(cells) and ctx.is_main and done:
        log(
            f"resuming: {len(done & {c.key(dataset_id) for c in cells})} of {len(cells)} cells finished"
        )
    if config.measure.threads:
        torch.set_num_threads(config.measure.threads)
    writes_records = ctx.is_main or ctx.mode == "cells"
    written = []
    num_videos = len(source.videos())
    if ctx.shards_videos:  # the bar follows rank 0's share
        num_videos = len(shard_by_frames(source.videos(), ctx.world_size)[0])
    show = ctx.is_main or (ctx.mode == "cells" and ctx.world_size > 1)
    bar = tqdm(
        total=len(todo) * num_videos,
        unit="video",
        dynamic_ncols=True,
        disable=not show or (ctx.shards_videos and not ctx.is_main),
        position=ctx.rank if ctx.mode == "cells" else 0,
    )
    with bar:
        for index, cell in enumerate(todo, 1):
            bar.set_description(f"[{index}/{len(todo)}] {cell.label()}")
            key = cell.key(dataset_id)
            record: dict[str, Any] = {
                "key": key,
                "run": config.name,
                "config_hash": config.config_hash(),
                "dataset": dataset_id,
                **cell.identity(dataset_id),
                "method_label": cell.method.label,
                "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "environment": environment(ctx.device_for(cell.device)),
            }
            before = bar.n
            try:
                measured = run_cell(
                    cell,
                    config,
                    source,
                    gt_path,
                    run_dir / "cells" / key,
                    evaluate,
                    flops,
                    bar if not bar.disable else None,
                    ctx,
                )
                record.update(measured or {})
                record["status"] = "ok"
            except KeyboardInterrupt:
                raise
            except Exception as err:  # the sweep goes on; the reason is in the record
                record["status"] = "failed"
                record["error"] = f"{type(err).__name__}: {err}"
                record["traceback"] = traceback.format_exc(limit=8)
                bar.update(num_videos - (bar.n - before))
            if writes_records:
                append_record(run_dir, record)
                written.append(record)
                bar.write(summary_line(record))
    return written


def summary_line(record: dict[str, Any]) -> str:
    """One line per finished cell, printed under the progress bar."""
    head = f"{record['method']:<14} T={record['clip_length']!s:<4} S={record['stride']!s:<4}"
    if record.get("status") != "ok":
        return f"{head} FAILED: {record.get('error', '?')}"
    parts = [head]
    if "AP" in record:
        parts.append(f"AP {100 * record['AP']:.1f}")
    if "fps_end_to_end" in record:
        parts.append(f"{record['fps_end_to_end']:.2f} FPS e2e")
    if "fps_model" in record:
        parts.append(f"{record['fps_model']:.2f} FPS model")
    if "gmacs_per_frame" in record:
        parts.append(f"{record['gmacs_per_frame']:.1f} GMACs/frame")
    return "  ".join(parts)
