"""Running a sweep: every unfinished cell, each in its own worker, scored and recorded here.

The parent process never holds a model. Per cell it hands a job to a fresh worker (isolation.py),
receives the worker's summary, scores the predictions in memory against the ground truth it loaded
once for the whole sweep, and appends one record (record.py) atomically. A rerun skips finished
cells and retries failed ones; Ctrl-C leaves every finished cell intact, and re-running the same
command resumes. Under torchrun each rank runs its own workers: `videos` splits each cell's videos
over the ranks (rank 0 gathers, scores and records), `cells` spreads whole cells.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from tqdm import tqdm

from vis_bench.atomic import write_atomic
from vis_bench.config import BenchConfig
from vis_bench.distributed import DistContext, RankFailedError, shard_by_frames, single_process
from vis_bench.errors import InputError
from vis_bench.formats.results_file import read_results
from vis_bench.report.records import append_record, finished_keys, read_records
from vis_bench.sweep.cells import Cell, expand_cells
from vis_bench.sweep.isolation import CellFailed, one_line, preload, run_in_process, run_isolated
from vis_bench.sweep.label_space import dataset_categories, label_space_mapping
from vis_bench.sweep.methods import MethodEntry, resolve_methods
from vis_bench.sweep.record import RunInfo, make_record
from vis_bench.sweep.run_dir import (
    cell_dir,
    claim_run_dir,
    save_config,
    start_sweep_state,
    update_index,
    update_sweep_state,
)
from vis_bench.sweep.run_lock import locked_run_dir
from vis_bench.sweep.scoring import Scorer
from vis_bench.sweep.timings import cell_timings
from vis_bench.sweep.worker import RESULTS_FILE, CellJob, CellOutcome, import_plugin


def sweep_records(
    config: BenchConfig, methods: list[MethodEntry], dataset_id: str, run_dir: Path
) -> list[dict[str, Any]]:
    """The records of this config's cells in `run_dir`, the latest of each, in cell order.

    A run directory keeps every record ever written to it; records of cells the config no
    longer has (or of checkpoints since replaced under the same path) stay out of its reports.
    """
    keys = [cell.key(dataset_id) for cell in expand_cells(config, methods)]
    wanted = set(keys)
    latest = {r["key"]: r for r in read_records(run_dir) if r.get("key") in wanted}
    return [latest[key] for key in keys if key in latest]


def _job(cell: Cell, config: BenchConfig, source: Any, results: Path, device: str) -> CellJob:
    opener = source.opener() if hasattr(source, "opener") else source
    command = [Path(sys.argv[0]).name, *sys.argv[1:]]
    return CellJob(cell, opener, config.measure, str(results), device, command=command)


def _execute(job: CellJob, config: BenchConfig, isolate: bool, progress: Any) -> CellOutcome:
    if isolate:
        return run_isolated(job, config.measure.cell_timeout_s, progress)
    return run_in_process(job, progress)


def _predict_shard(
    job: CellJob, config: BenchConfig, source: Any, ctx: DistContext, isolate: bool, progress: Any
) -> tuple[CellOutcome, list[dict]] | None:
    """Under `videos` sharding: this rank's share, gathered on rank 0 in dataset order; rank 0
    gets the outcome and the merged predictions (each rank's file read once, the merge written
    once, and scored from memory)."""
    share = shard_by_frames(source.videos(), ctx.world_size)[ctx.rank]
    job.videos = [int(v.id) for v in share]
    job.results_path = str(Path(job.results_path).with_name(f"rank{ctx.rank}.json"))
    job.time_model = ctx.is_main
    error, outcome, predictions = None, None, []
    try:
        outcome = _execute(job, config, isolate, progress)
        predictions = read_results(outcome.results_path)
    except (CellFailed, InputError) as err:
        error = getattr(err, "reason", str(err))
    ctx.check_all(error)
    parts = ctx.all_gather(
        (
            predictions,
            outcome.num_videos,
            outcome.num_frames,
            outcome.seconds_end_to_end,
            outcome.dropped_predictions,
        )
    )
    if not ctx.is_main:
        return None
    position = {int(v.id): i for i, v in enumerate(source.videos())}
    merged = sorted((r for part in parts for r in part[0]), key=lambda r: position[r["video_id"]])
    results_path = Path(job.results_path).with_name(RESULTS_FILE)
    write_atomic(results_path, orjson.dumps(merged))
    outcome.results_path = str(results_path)
    outcome.dropped_predictions = sum(p[4] for p in parts)
    outcome.num_predictions = len(merged) + outcome.dropped_predictions
    outcome.num_videos = sum(p[1] for p in parts)
    outcome.num_frames = sum(p[2] for p in parts)
    outcome.seconds_end_to_end = max(p[3] for p in parts)  # the slowest rank finishes the cell
    return outcome, merged


def _spec_notes(cell: Cell) -> str:
    try:
        return import_plugin(cell.method.plugin).spec.notes
    except Exception:  # the worker reports an unimportable plugin as the cell's failure
        return ""


class _Progress:
    """A tqdm bar advanced by workers' per-video messages (and completed for failed cells)."""

    def __init__(self, cells: int, videos: int, show: bool, position: int):
        self.per_cell = videos
        self.bar = tqdm(
            total=cells * videos,
            unit="video",
            dynamic_ncols=True,
            disable=not show,
            position=position,
        )

    def __call__(self, n: int) -> None:
        self.bar.update(n)

    def finish_cell(self, start: int) -> None:
        self.bar.update(max(0, self.per_cell - (self.bar.n - start)))


def run_sweep(
    config: BenchConfig,
    source: Any,
    run_dir: Path,
    methods: list[MethodEntry] | None = None,
    *,
    isolate: bool = True,
    log: Callable[[str], None] = print,
    ctx: DistContext | None = None,
) -> list[dict[str, Any]]:
    """Run every unfinished cell; returns the records written by this call (by this rank).

    Rank 0 holds the run folder's lock throughout (run_lock.py: a second sweep into the folder
    is refused) and keeps the sweep's state in run.json (its cells, the one running, how it
    ended), from which the reports name the configured cells that have no record and why."""
    ctx = ctx or single_process()
    run_dir = Path(run_dir)
    methods = resolve_methods(config) if methods is None else methods
    cells = expand_cells(config, methods)
    if not ctx.is_main:
        return _sweep(config, source, run_dir, methods, cells, isolate, log, ctx)
    with locked_run_dir(run_dir, log) as holder:
        claim_run_dir(run_dir, source.identity, source.dataset_id)
        save_config(run_dir, config)
        update_index(run_dir, cells, source.dataset_id)
        start_sweep_state(run_dir, cells, source.dataset_id, holder)
        try:
            written = _sweep(config, source, run_dir, methods, cells, isolate, log, ctx)
        except KeyboardInterrupt:
            update_sweep_state(run_dir, state="interrupted")
            raise
        except BaseException as err:
            update_sweep_state(run_dir, state="stopped", error=one_line(err))
            raise
        update_sweep_state(run_dir, state="finished", current=None)
        return written


def _warn_random_weights(methods: list[MethodEntry], log: Callable[[str], None]) -> None:
    """Before the first cell: each method that runs with random weights (no checkpoint)."""
    for method in methods:
        if method.checkpoint is None:
            log(
                f"warning: {method.where} ({method.variant or method.name}) names no checkpoint: "
                "its cells run with random weights (AP near 0); give its file with "
                f"--checkpoint FILE or --set methods.{method.index}.checkpoint=FILE"
            )


def _sweep(
    config: BenchConfig,
    source: Any,
    run_dir: Path,
    methods: list[MethodEntry],
    cells: list[Cell],
    isolate: bool,
    log: Callable[[str], None],
    ctx: DistContext,
) -> list[dict[str, Any]]:
    """The cells of the sweep not finished yet, one after the other (see run_sweep)."""
    dataset_id = source.dataset_id
    done = ctx.broadcast(finished_keys(run_dir) if ctx.is_main else None)
    todo = [c for c in cells if c.key(dataset_id) not in done]
    if ctx.world_size > 1 and ctx.mode == "cells":
        todo = [c for i, c in enumerate(todo) if i % ctx.world_size == ctx.rank]
    finished = len(cells) - len([c for c in cells if c.key(dataset_id) not in done])
    if finished and ctx.is_main:
        log(f"resuming: {finished} of {len(cells)} cells already finished")
    # every method's classes against the dataset's, before any cell runs
    categories = dataset_categories(source)
    mappings = {m.index: label_space_mapping(m, categories, config.source) for m in methods}
    if ctx.is_main and todo:
        _warn_random_weights(sorted({c.method for c in todo}, key=lambda m: m.index), log)
    scorer = Scorer(
        source.gt_path if config.measure.ap and ctx.is_main else None,
        config.measure.bootstrap,
        config.measure.bootstrap_seed,
    )
    info = RunInfo(
        config.name,
        config.config_hash(),
        dataset_id,
        source.label(),
        isolated=isolate,
        world_size=ctx.world_size if ctx.shards_videos else 1,
        config=config.to_dict(),
        dataset_identity=source.identity,
    )
    writes_records = ctx.is_main or ctx.mode == "cells"
    videos = len(source.videos())
    if ctx.shards_videos:  # the bar follows this rank's share
        videos = len(shard_by_frames(source.videos(), ctx.world_size)[ctx.rank])
    show = ctx.is_main or ctx.mode == "cells"
    progress = _Progress(len(todo), videos, show, ctx.rank if ctx.mode == "cells" else 0)
    written = []
    if isolate:
        preload(sorted({m.plugin.partition(":")[0] for m in methods}))
    with progress.bar:
        for index, cell in enumerate(todo, 1):
            progress.bar.set_description(f"[{index}/{len(todo)}] {cell.label()}")
            if ctx.is_main:
                update_sweep_state(run_dir, current=cell.key(dataset_id))
            start = progress.bar.n
            mapping = mappings.get(cell.method.index)
            record = _run_cell(
                cell, config, source, run_dir, info, scorer, ctx, isolate, progress, mapping
            )
            progress.finish_cell(start)
            if writes_records and record is not None:
                append_record(run_dir, record)
                written.append(record)
                progress.bar.write(summary_line(record))
    return written


def _run_cell(
    cell: Cell,
    config: BenchConfig,
    source: Any,
    run_dir: Path,
    info: RunInfo,
    scorer: Scorer,
    ctx: DistContext,
    isolate: bool,
    progress: _Progress,
    mapping: Any = None,
) -> dict[str, Any] | None:
    """One cell, start to record; None on ranks that do not write records."""
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    began = time.perf_counter()
    notes = _spec_notes(cell)
    folder = cell_dir(run_dir, cell, info.dataset_id)
    device = ctx.device_for(cell.device)
    job = _job(cell, config, source, folder / RESULTS_FILE, device)
    job.time_model = ctx.is_main or ctx.mode == "cells"
    job.category_mapping = mapping  # applied by the worker, before its one write
    try:
        predictions = None  # read once, by the scorer, unless the shard merge holds them
        if ctx.shards_videos:
            shard = _predict_shard(job, config, source, ctx, isolate, progress)
            if shard is None:
                return None
            outcome, predictions = shard
        else:
            outcome = _execute(job, config, isolate, progress)
        executed = time.perf_counter()
        if mapping is not None:
            outcome.measurements["label_space"] = {
                "model": cell.method.label_space,
                "mapping": mapping.describe(),
                "dropped_predictions": outcome.dropped_predictions,
            }
        score = scorer.score(Path(outcome.results_path), predictions)
    except (CellFailed, RankFailedError) as err:
        reason = getattr(err, "reason", str(err))
        details = getattr(err, "details", "")
        if not (ctx.is_main or ctx.mode == "cells"):
            return None
        return make_record(cell, info, started, notes, error=reason, details=details).to_json()
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as err:  # scoring a malformed results file: the cell fails, the sweep goes on
        return make_record(cell, info, started, notes, error=one_line(err)).to_json()
    record = make_record(cell, info, started, notes, outcome, score, fps=config.measure.fps)
    record.timings = cell_timings(outcome, score, executed - began, time.perf_counter() - executed)
    return record.to_json()


def summary_line(record: dict[str, Any]) -> str:
    """One line per finished cell, printed under the progress bar."""
    stride = "-" if record["stride"] is None else record["stride"]
    head = f"{record['method']:<14} T={record['clip_length']!s:<4} S={stride!s:<4}"
    if record.get("video_frames") is not None:
        head += f" {record['video_frames']} frames"
    if record.get("status") != "ok":
        return f"{head} FAILED: {record.get('error', '?')}"
    parts = [head]
    if record.get("AP") is not None:
        ci = record.get("AP_ci")
        spread = f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else ""  # often skewed
        parts.append(f"AP {100 * record['AP']:.1f}{spread}")
    if record.get("fps_end_to_end") is not None:
        parts.append(f"{record['fps_end_to_end']:.2f} FPS e2e")
    if record.get("fps_model") is not None:
        parts.append(f"{record['fps_model']:.2f} FPS model")
    if record.get("fps_authors") is not None:
        parts.append(f"{record['fps_authors']:.2f} FPS authors")
    if record.get("gmacs_per_frame") is not None:
        parts.append(f"{record['gmacs_per_frame']:.1f} GMACs/frame")
    return "  ".join(parts)
