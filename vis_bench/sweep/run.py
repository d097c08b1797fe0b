"""Running a sweep: every unfinished cell, each in its own worker, scored and recorded here.

The parent process never holds a model. Per cell it hands a job to a fresh worker (isolation.py),
receives the worker's summary, scores the predictions in memory against the ground truth it loaded
once for the whole sweep, and appends one record (record.py) atomically. A rerun skips finished
cells and retries failed ones; Ctrl-C leaves every finished cell intact, and re-running the same
command resumes. Under torchrun each rank runs its own workers: `videos` splits each cell's videos
over the ranks (rank 0 gathers, scores and records), `cells` spreads whole cells.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from tqdm import tqdm

from vis_bench.atomic import write_atomic
from vis_bench.config import BenchConfig
from vis_bench.config_paths import from_command_line, is_shipped_config
from vis_bench.distributed import DistContext, RankFailedError, shard_by_frames, single_process
from vis_bench.errors import InputError
from vis_bench.eval.declared import metric_of
from vis_bench.eval.stats.bootstrap import no_interval_reason
from vis_bench.formats.checkpoint_labels import describe_space
from vis_bench.formats.results_file import read_results
from vis_bench.inference.input_scale import INPUT_SIZE
from vis_bench.records import WARNING, CellRecord
from vis_bench.records.parts import LabelSpace
from vis_bench.records.store import append_record, finished_keys, read_records, repair_records
from vis_bench.signals import interrupt_name
from vis_bench.sweep.accuracy_passes import (
    AheadPasses,
    ahead_passes,
    pass_threads,
    passes_at_once,
    start_order,
)
from vis_bench.sweep.cells import Cell, distinct_keys, expand_cells
from vis_bench.sweep.isolation import (
    CellFailed,
    one_line,
    preload,
    run_in_process,
    run_isolated,
    set_wait_policy,
    stops_sweep,
)
from vis_bench.sweep.label_space import dataset_categories, label_space_mapping, unchecked_warning
from vis_bench.sweep.methods import MethodEntry, resolve_methods, shipped_note
from vis_bench.sweep.phase_clock import cell_timings
from vis_bench.sweep.record import RunInfo, finish_record, make_record, speed_words
from vis_bench.sweep.rounds import (
    PendingCell,
    RoundRunner,
    fastest_reference,
    run_rounds,
    saved_pending,
    session_id,
)
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
) -> tuple[CellOutcome | None, list[dict], dict[int, Any]]:
    """Under `videos` sharding: this rank's share, gathered on rank 0 in dataset order; rank 0
    gets the outcome and the merged predictions (each rank's file read once, the merge written
    once, and scored from memory), every rank every video's predictions as the timed rounds
    check them."""
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
            outcome.predictions,
        )
    )
    checked = {video: seen for part in parts for video, seen in part[5].items()}
    if not ctx.is_main:
        return None, [], checked
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
    outcome.predictions = checked
    return outcome, merged, checked


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
    """Run every unfinished cell's accuracy pass, then its timed rounds with every other cell's
    (rounds.py); returns the records written by this call (by this rank).

    Rank 0 holds the run folder's lock throughout (run_lock.py: a second sweep into the folder
    is refused) and keeps the sweep's state in run.json (its cells, the one running, how it
    ended), from which the reports name the configured cells that have no record and why."""
    ctx = ctx or single_process()
    run_dir = Path(run_dir)
    methods = resolve_methods(config) if methods is None else methods
    cells = expand_cells(config, methods)
    distinct_keys(cells, source.dataset_id)
    if not ctx.is_main:
        return _sweep(config, source, run_dir, methods, cells, isolate, log, ctx)
    with locked_run_dir(run_dir, log) as holder:
        repair_records(run_dir, log)  # a damaged line goes aside before anything is appended
        # the frames' digests: a folder's finished cells are reused only for the same frames
        frames = source.pin_frames() if hasattr(source, "pin_frames") else None
        claim_run_dir(run_dir, source.identity, source.dataset_id, frames)
        save_config(run_dir, config)
        update_index(run_dir, cells, source.dataset_id)
        try:
            start_sweep_state(run_dir, cells, source.dataset_id, holder)
            written = _sweep(config, source, run_dir, methods, cells, isolate, log, ctx)
        except KeyboardInterrupt as err:  # Ctrl-C, or SIGTERM (vis_bench/signals.py)
            _end_state(run_dir, state="interrupted", signal=interrupt_name(err))
            raise
        except BaseException as err:
            _end_state(run_dir, state="stopped", error=one_line(err))
            raise
        update_sweep_state(run_dir, state="finished", current=None)
        return written


def _end_state(run_dir: Path, **changes: Any) -> None:
    """run.json's `sweep` says how the sweep ended, if the disk lets it: on a full disk the
    error that stopped the sweep is the one to report, not this write's."""
    try:
        update_sweep_state(run_dir, **changes)
    except OSError:
        pass


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
    """The cells of the sweep not finished yet: their accuracy passes one after the other, then
    their timed rounds (see run_sweep)."""
    dataset_id = source.dataset_id
    # every rank's records name the frames rank 0 pinned (run_sweep)
    done, frames = ctx.broadcast(
        (finished_keys(run_dir), source.identity.get("frames")) if ctx.is_main else None
    )
    if frames is not None:
        source.identity["frames"] = frames
    todo = [c for c in cells if c.key(dataset_id) not in done]
    if ctx.world_size > 1 and ctx.mode == "cells":
        todo = [c for i, c in enumerate(todo) if i % ctx.world_size == ctx.rank]
    finished = len(cells) - len([c for c in cells if c.key(dataset_id) not in done])
    if finished and ctx.is_main:
        log(f"resuming: {finished} of {len(cells)} cells already finished")
    sweep = _Sweep(config, source, run_dir, methods, isolate, ctx, log)
    if ctx.is_main and todo:
        _warn_random_weights(sorted({c.method for c in todo}, key=lambda m: m.index), log)
    if isolate:
        set_wait_policy(config.measure.omp_wait_policy)  # before the fork server starts
        preload(sorted({m.plugin.partition(":")[0] for m in methods}))
    devices = [ctx.device_for(c.device) for c in todo]
    at_once = passes_at_once(config, devices, isolate, ctx.world_size)
    with sweep.progress(len(todo)).bar, ahead_passes(at_once) as sweep.ahead:
        sweep.start_ahead(todo, at_once)
        pending = [
            p for p in (sweep.accuracy_pass(i, c, len(todo)) for i, c in enumerate(todo, 1)) if p
        ]
    sweep.time_in_rounds(pending)
    order = {cell.key(dataset_id): i for i, cell in enumerate(cells)}
    return sorted(sweep.written, key=lambda r: order.get(r.get("key"), len(order)))


class _Sweep:
    """One `run_sweep` call: the run's shared state, each cell's accuracy pass, the rounds."""

    def __init__(
        self,
        config: BenchConfig,
        source: Any,
        run_dir: Path,
        methods: list[MethodEntry],
        isolate: bool,
        ctx: DistContext,
        log: Callable[[str], None],
    ) -> None:
        self.config, self.source, self.run_dir, self.isolate, self.ctx = (
            config, source, run_dir, isolate, ctx,
        )  # fmt: skip
        self.log = log
        # every method's classes against the dataset's, before any cell runs
        categories = dataset_categories(source)
        self.mappings = {
            m.index: label_space_mapping(m, categories, config.source) for m in methods
        }
        # what the run must say before any cell: a checkpoint taken from the shipped weights by
        # name (a shipped config means them: its records keep the file, quietly), a model whose
        # classes nothing checks
        shipped_config = is_shipped_config(config.source)
        for method in methods:
            quiet = shipped_config and not from_command_line(
                f"{method.where}.checkpoint", config.origins
            )
            said = (None if quiet else shipped_note(method), unchecked_warning(method))
            for line in said if ctx.is_main else ():
                if line:
                    log(line)
        self.scorer = Scorer(
            source.gt_path if config.measure.ap and ctx.is_main else None,
            config.measure.bootstrap,
            config.measure.bootstrap_seed,
            dataset=config.dataset,
            video_ids=getattr(source, "scored_video_ids", None),
            config_path=config.source,
        )
        self.info = RunInfo(
            config.name,
            config.config_hash(),
            source.dataset_id,
            source.label(),
            isolated=isolate,
            world_size=ctx.world_size if ctx.shards_videos else 1,
            config=config.to_dict(),
            dataset_identity=source.identity,
        )
        self.writes_records = ctx.is_main or ctx.mode == "cells"
        self.written: list[dict[str, Any]] = []
        #: the warnings said on the console so far (each once per run)
        self.said: set[str] = set()
        self._progress: _Progress | None = None
        #: accuracy passes started ahead, sharing the cores (accuracy_passes.py)
        self.ahead: AheadPasses | None = None

    def start_ahead(self, todo: list[Cell], at_once: int) -> None:
        """Start every unfinished accuracy pass in the pool of `self.ahead` (if any), each
        with its share of the threads; a cell whose pass is kept on disk is not run again."""
        if self.ahead is None:
            return
        import torch

        threads = pass_threads(self.config.measure.threads or torch.get_num_threads(), at_once)
        timeout = self.config.measure.cell_timeout_s
        for cell in start_order(todo):
            key = cell.key(self.info.dataset_id)
            folder = cell_dir(self.run_dir, cell, self.info.dataset_id)
            if saved_pending(cell, folder, key) is not None:
                continue
            mapping = self.mappings.get(cell.method.index)
            job = cell_job(
                cell, self.config, self.source, self.run_dir, self.info, self.ctx, mapping
            )
            job.passes_at_once, job.threads = at_once, threads
            self.ahead.start(key, lambda job=job: run_isolated(job, timeout))

    def progress(self, cells: int) -> _Progress:
        ctx, videos = self.ctx, len(self.source.videos())
        if ctx.shards_videos:  # the bar follows this rank's share
            videos = len(shard_by_frames(self.source.videos(), ctx.world_size)[ctx.rank])
        show = ctx.is_main or ctx.mode == "cells"
        position = ctx.rank if ctx.mode == "cells" else 0
        self._progress = _Progress(cells, videos, show, position)
        return self._progress

    def _write(self, record: CellRecord) -> None:
        if self.writes_records:
            line = record.to_json()
            append_record(self.run_dir, line)
            self.written.append(line)
            self.log_line(summary_line(record))

    def log_line(self, text: str) -> None:
        if self._progress is not None and not self._progress.bar.disable:
            self._progress.bar.write(text)
        elif self.writes_records:
            self.log(text)

    def accuracy_pass(self, index: int, cell: Cell, total: int) -> PendingCell | None:
        """A cell's predictions, scored; its record now when it needs no timed rounds (failed,
        or FPS off), else the cell waiting for its rounds (its accuracy pass kept on disk)."""
        progress = self._progress
        assert progress is not None
        progress.bar.set_description(f"[{index}/{total}] {cell.label()}")
        if self.ctx.is_main:
            update_sweep_state(self.run_dir, current=cell.key(self.info.dataset_id))
        folder = cell_dir(self.run_dir, cell, self.info.dataset_id)
        saved = saved_pending(cell, folder, cell.key(self.info.dataset_id))
        if saved is not None and not self.ctx.shards_videos:
            progress.finish_cell(progress.bar.n)
            return saved
        start = progress.bar.n
        mapping = self.mappings.get(cell.method.index)
        record, checked = _run_cell(
            cell, self.config, self.source, self.run_dir, self.info, self.scorer, self.ctx,
            self.isolate, progress, mapping, self.ahead,
        )  # fmt: skip
        progress.finish_cell(start)
        self._say_once(record)
        ok = record is not None and record.ok
        if self.ctx.shards_videos:  # rank 0 scored: every rank learns whether rounds follow
            ok = bool(self.ctx.broadcast(ok if self.ctx.is_main else None))
        if not (ok and self.config.measure.fps):
            if record is not None:
                self._write(record)
            return None
        pending = PendingCell(cell, folder, record, checked, share=self._share())
        if self.writes_records:
            pending.save()
            self.log_line(summary_line(record, timing="in rounds after every accuracy pass"))
        return pending

    def _say_once(self, record: CellRecord | None) -> None:
        """A record's warning that its input is far from the frames' size, on the console the
        first time the run meets it (its records keep it, and every page shows it)."""
        for note in (record.notes if record is not None else "").split("; "):
            if note.startswith(f"{WARNING} {INPUT_SIZE}") and note not in self.said:
                self.said.add(note)
                self.log_line(note)

    def _share(self) -> list[int] | None:
        if not self.ctx.shards_videos:
            return None
        share = shard_by_frames(self.source.videos(), self.ctx.world_size)[self.ctx.rank]
        return [int(v.id) for v in share]

    def time_in_rounds(self, pending: list[PendingCell]) -> None:
        """Every pending cell's timed rounds, interleaved; then its record, written once."""
        if not pending:
            return
        measure, session = self.config.measure, session_id()
        runner = RoundRunner(self.source, measure, self.ctx.device_for, self.isolate, self.ctx)
        show = self.writes_records
        with tqdm(total=measure.rounds * len(pending), unit="round", disable=not show) as bar:

            def started(index: int, cell: PendingCell) -> None:
                if bar.n >= bar.total:  # rounds beyond the first `rounds`: measure/precision.py
                    bar.total += 1
                of = f"/{measure.rounds}" if index <= measure.rounds else " (for precision)"
                bar.set_description(f"timing round {index}{of} {cell.cell.label()}")
                bar.update(1)
                if self.ctx.is_main:
                    update_sweep_state(self.run_dir, current=cell.cell.key(self.info.dataset_id))

            run_rounds(pending, runner, measure, started)
        fastest = fastest_reference(pending)
        for cell in pending:
            if cell.record is not None:
                self._write(finish_record(cell, measure, session, fastest))
            cell.forget()


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
    ahead: AheadPasses | None = None,
) -> tuple[CellRecord | None, dict[int, Any]]:
    """One cell's accuracy pass, start to record (without its speed); the record is None on
    ranks that do not write records. Also its predictions per video as the timed rounds check
    them."""
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    began = time.perf_counter()
    notes = _spec_notes(cell)
    job = cell_job(cell, config, source, run_dir, info, ctx, mapping)
    writes = ctx.is_main or ctx.mode == "cells"
    key = cell.key(info.dataset_id)
    try:
        predictions = None  # read once, by the scorer, unless the shard merge holds them
        if ctx.shards_videos:
            shard, predictions, checked = _predict_shard(
                job, config, source, ctx, isolate, progress
            )
            if shard is None:
                return None, checked
            outcome = shard
        elif ahead is not None and ahead.has(key):
            outcome, pass_s = ahead.take(key)  # ran ahead, sharing the cores (accuracy_passes.py)
            began = time.perf_counter() - pass_s  # the pass's own wall time, not the wait for it
        else:
            outcome = _execute(job, config, isolate, progress)
        executed = time.perf_counter()
        named = _named_categories(mapping, config.dataset)
        score = scorer.score(Path(outcome.results_path), predictions, named)
        if mapping is not None:
            scored, listed = score.vocabulary or (None, None)
            outcome.measurements.label_space = LabelSpace(
                model=describe_space(cell.method.model_space),
                mapping=mapping.describe(),
                dropped_predictions=outcome.dropped_predictions,
                scored_categories=scored,
                dataset_categories=listed,
            )
    except (CellFailed, RankFailedError) as err:
        reason = getattr(err, "reason", str(err))
        details = getattr(err, "details", "")
        if not writes:
            return None, {}
        return make_record(cell, info, started, notes, error=reason, details=details), {}
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as err:  # scoring a malformed results file: the cell fails, the sweep goes on
        if stops_sweep(err):  # a full disk: no failure of the cell, the sweep stops
            raise
        return make_record(cell, info, started, notes, error=one_line(err)), {}
    record = make_record(cell, info, started, notes, outcome, score)
    timings = cell_timings(outcome, score, executed - began, time.perf_counter() - executed)
    return dataclasses.replace(record, timings=timings), outcome.predictions


def cell_job(
    cell: Cell,
    config: BenchConfig,
    source: Any,
    run_dir: Path,
    info: RunInfo,
    ctx: DistContext,
    mapping: Any = None,
) -> CellJob:
    """The job of a cell's accuracy pass: its results file in the cell's folder, its device."""
    folder = cell_dir(run_dir, cell, info.dataset_id)
    job = _job(cell, config, source, folder / RESULTS_FILE, ctx.device_for(cell.device))
    job.time_model = ctx.is_main or ctx.mode == "cells"
    job.category_mapping = mapping  # applied by the worker, before its one write
    return job


def _named_categories(mapping: Any, dataset: Any) -> list[int] | None:
    """The dataset categories a model mapped by name can predict, where it cannot predict them
    all and the dataset scores a model on what it names (`dataset.vocabulary`, the default);
    None: every category."""
    if mapping is None or not mapping.unreachable or dataset.vocabulary == "whole":
        return None
    return sorted(set(mapping.model_to_dataset.values()))


def headline_words(record: CellRecord) -> list[str]:
    """`HOTA_all 30.4`: a record without AP shows the headline its metric declares (in points)."""
    metric = metric_of(record.metrics)
    value = None if metric is None else record.metric(metric.headline)
    if value is None:
        return []
    points = 100 * value if metric.is_fraction(metric.headline) else value
    return [f"{metric.heading(metric.headline)} {points:.1f}"]


def summary_line(record: CellRecord, timing: str | None = None) -> str:
    """One line per cell, printed under the progress bar: after its accuracy pass (`timing`
    says when its FPS follows) and once its record is written, FPS with its marks."""
    stride = "-" if record.stride is None else record.stride
    head = f"{record.shown_method:<14} T={record.clip_length!s:<4} S={stride!s:<4}"
    if record.video_frames is not None:
        head += f" {record.video_frames} frames"
    if record.prompts is not None:
        head += f" {record.prompts} prompts"
    if not record.ok:
        return f"{head} FAILED: {record.error if record.has('error') else '?'}"
    parts = [head]
    ap = record.metric("AP")
    if ap is not None:
        ci = record.interval("AP")
        spread = f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else ""  # often skewed
        if not ci and record.bootstrap is not None and record.bootstrap.replicates:
            too_few = no_interval_reason(record.num_videos or 0)
            spread = f" ({too_few})" if too_few else ""
        parts.append(f"AP {100 * ap:.1f}{spread}")
    else:
        parts += headline_words(record)
    if record.metric_dropped:
        dropped = record.metric_dropped
        parts.append(f"DROPPED {dropped['predictions']} of {dropped['of']} predictions")
    if record.flops.gmacs_per_frame is not None:
        parts.append(f"{record.flops.gmacs_per_frame:.1f} GMACs/frame")
    if timing is not None:
        return "  ".join([*parts, f"FPS: {timing}"])
    parts += speed_words(record)
    if record.speed.fps_authors is not None:
        parts.append(f"{record.speed.fps_authors:.2f} FPS authors")
    return "  ".join(parts)
