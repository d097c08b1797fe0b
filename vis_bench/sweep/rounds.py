"""A sweep's timed rounds: every cell timed again and again, the cells interleaved.

Timed one after another, cells turn a change in the machine's load into a difference between
methods: method A is timed on a quiet machine, method B after a training job started. So the
sweep first runs every cell's accuracy pass (predictions, AP, memory, FLOPs), then times the
cells in rounds, A B C, A B C, ..., each (cell, round) in a fresh worker (timed_round.py), so a
load change hits every cell alike; ratios between two cells are then taken round by round
(paired), and each cell's FPS is the median of its rounds at full machine speed with a 95 %
interval, more rounds following until that interval is narrow enough (measure/precision.py).

A cell with a timed round that failed, or whose predictions were not the accuracy pass's, fails.
A cell waiting for its rounds keeps its accuracy pass in its folder (`accuracy_pass.json`), so a
sweep interrupted during the rounds resumes without predicting again.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from vis_bench.atomic import write_atomic
from vis_bench.config import MeasureConfig
from vis_bench.distributed import DistContext
from vis_bench.measure.precision import Precision, needs_more, precision_of
from vis_bench.records import CellRecord
from vis_bench.records.parts import Load, Round, Rounds, Speed
from vis_bench.sweep.cells import Cell
from vis_bench.sweep.isolation import CellFailed, run_in_process, run_isolated
from vis_bench.sweep.prediction_check import Check, VideoPredictions
from vis_bench.sweep.timed_round import RoundJob, RoundOutcome, time_round

#: a cell's accuracy pass, kept in its folder until its rounds are done
PENDING_FILE = "accuracy_pass.json"


@dataclass
class PendingCell:
    """A cell whose accuracy pass is done and whose timed rounds are not."""

    cell: Cell
    folder: Path
    #: the record the accuracy pass made (None on ranks that write no records)
    record: CellRecord | None
    #: the accuracy pass's predictions per video, as every round's are checked against them
    expected: dict[int, VideoPredictions]
    #: this rank's videos when videos are sharded over ranks (None: every video)
    share: list[int] | None = None
    #: the videos every round times, chosen by the first round
    videos: list[int] | None = None
    rounds: list[RoundOutcome] = field(default_factory=list)
    failure: str | None = None
    #: wall seconds of this cell's round workers, start-up to answer (the run's time breakdown)
    worker_seconds: float = 0.0

    def save(self) -> None:
        """Keep the accuracy pass beside the cell's predictions (a resumed sweep reads it)."""
        expected = {str(k): v.as_json() for k, v in self.expected.items()}
        record = self.record.to_json() if self.record is not None else None
        data = {"record": record, "expected": expected}
        write_atomic(self.folder / PENDING_FILE, orjson.dumps(data))

    def forget(self) -> None:
        (self.folder / PENDING_FILE).unlink(missing_ok=True)


def saved_pending(cell: Cell, folder: Path, key: str) -> PendingCell | None:
    """The accuracy pass a previous sweep left for this cell (None: none, or another cell's)."""
    path = folder / PENDING_FILE
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    record = data.get("record")
    if not isinstance(record, dict) or record.get("key") != key:
        return None
    expected = data.get("expected") or {}
    return PendingCell(
        cell,
        folder,
        CellRecord.from_json(record),
        {int(k): VideoPredictions.from_json(v) for k, v in expected.items()},
    )


def session_id() -> str:
    """What pairs the rounds of one sweep call: rounds of two cells with the same session and
    index ran one after the other, under the same conditions as far as the schedule can make it."""
    return f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"


@dataclass
class RoundRunner:
    """How a round's worker is started, and what it runs on."""

    source: Any
    measure: MeasureConfig
    device_for: Callable[[str], str]
    isolate: bool = True
    ctx: DistContext | None = None

    def job(self, pending: PendingCell, index: int) -> RoundJob:
        opener = self.source.opener() if hasattr(self.source, "opener") else self.source
        videos = pending.videos if pending.videos is not None else pending.share
        return RoundJob(
            pending.cell,
            opener,
            self.measure,
            self.device_for(pending.cell.device),
            index,
            pending.expected,
            videos=videos,
            choose=pending.videos is None,
        )

    def time(self, pending: PendingCell, index: int) -> RoundOutcome | str:
        """One round of one cell: its outcome, or why it failed."""
        job = self.job(pending, index)
        error, outcome = None, None
        try:
            if self.isolate:
                outcome = run_isolated(job, self.measure.cell_timeout_s, target=time_round)
            else:
                outcome = run_in_process(job, target=time_round)
        except CellFailed as err:
            error = f"timed round {index}: {err.reason}"
        return self._gathered(outcome, error)

    def _gathered(self, outcome: RoundOutcome | None, error: str | None) -> RoundOutcome | str:
        """Under videos sharding every rank timed its share: rank 0 merges them."""
        ctx = self.ctx
        if ctx is None or not ctx.shards_videos:
            return outcome if error is None else error  # type: ignore[return-value]
        parts = ctx.all_gather((outcome, error))
        errors = [e for _, e in parts if e is not None]
        if errors:
            return errors[0]
        return merge_ranks([o for o, _ in parts])


def merge_ranks(parts: list[RoundOutcome]) -> RoundOutcome:
    """Ranks that timed their shares of a round at once: all their frames over the slowest
    rank's seconds; each stage the longest any rank spent in it."""
    slowest = max(parts, key=lambda p: p.seconds)
    stages = {name: max(p.stages.get(name, 0.0) for p in parts) for name in slowest.stages}
    stages["other"] = max(0.0, slowest.seconds - sum(v for k, v in stages.items() if k != "other"))
    return RoundOutcome(
        round_index=slowest.round_index,
        videos=sorted(v for p in parts for v in p.videos),
        frames=sum(p.frames for p in parts),
        seconds=slowest.seconds,
        cpu_seconds=sum(p.cpu_seconds for p in parts),
        stages=stages,
        reference_before=slowest.reference_before,
        reference_after=slowest.reference_after,
        load=slowest.load,
        gpu=slowest.gpu,
        compile_excluded_s=max(p.compile_excluded_s for p in parts),
        check=merged_check([p.check for p in parts]),
        finished=slowest.finished,
    )


def merged_check(checks: list[Check]) -> Check:
    """The checks of the ranks' shares of one round as one."""
    return Check(
        identical=sum(c.identical for c in checks),
        equivalent=sum(c.equivalent for c in checks),
        different=sorted(v for c in checks for v in c.different),
        max_score_difference=max((c.max_score_difference for c in checks), default=0.0),
        max_area_difference=max((c.max_area_difference for c in checks), default=0),
    )


def run_rounds(
    pending: list[PendingCell],
    runner: RoundRunner,
    measure: MeasureConfig,
    on_round: Callable[[int, PendingCell], None] | None = None,
) -> None:
    """Rounds over the pending cells in order (A B C, A B C, ...) until each has its figure
    (measure/precision.py `needs_more`: `measure.rounds` at least, then more, still
    interleaved, while its interval is wider than `measure.precision` or too few rounds count,
    within `measure.max_rounds` and `measure.cell_budget_s`); each cell's outcomes are kept in
    it, and a cell whose round fails or does other work than its accuracy pass is left out of
    the later rounds with the reason. The passes are numbered as rounds: cells timed in the same
    pass share its index, which is what pairs their ratios."""
    index = 0
    while True:
        index += 1
        fastest = fastest_reference(pending)
        due = [
            cell
            for cell in pending
            if cell.failure is None
            and needs_more(cell.rounds, _fastest_for(cell, fastest), measure, cell.worker_seconds)
        ]
        ctx = runner.ctx
        if ctx is not None and ctx.shards_videos:  # every rank times its share of these cells
            chosen = ctx.broadcast([pending.index(c) for c in due] if ctx.is_main else None)
            due = [pending[i] for i in chosen]
        if not due:
            return
        for cell in due:
            _time_one(cell, runner, index, on_round)


def _fastest_for(cell: PendingCell, fastest: dict[str, float]) -> float:
    device = str(cell.rounds[0].reference_before.get("device")) if cell.rounds else ""
    return fastest.get(device, 0.0)


def _time_one(
    cell: PendingCell,
    runner: RoundRunner,
    index: int,
    on_round: Callable[[int, PendingCell], None] | None,
) -> None:
    """One round of one cell, kept in it (or its failure)."""
    if on_round is not None:
        on_round(index, cell)
    began = time.perf_counter()
    outcome = runner.time(cell, index)
    cell.worker_seconds += time.perf_counter() - began
    if isinstance(outcome, str):
        cell.failure = outcome
    elif outcome.check.different:
        cell.failure = (
            f"timed round {index} predicted other results than the accuracy pass for "
            f"video(s) {outcome.check.different[:5]}: the timed pass did not do the work the "
            "scored predictions came from"
        )
    else:
        cell.rounds.append(outcome)
        if cell.videos is None:
            cell.videos = _chosen(outcome, cell)


def _chosen(outcome: RoundOutcome, cell: PendingCell) -> list[int]:
    """The videos the later rounds time: the first round's (this rank's, when sharded)."""
    if cell.share is not None:
        chosen = set(outcome.videos)
        return [v for v in cell.share if v in chosen]
    return list(outcome.videos)


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _range(values: list[float]) -> list[float] | None:
    return [min(values), max(values)] if values else None


def fastest_reference(cells: list[PendingCell]) -> dict[str, float]:
    """Per device, the machine's best reference speed over every round of the sweep: the speed
    it had when nothing else competed (as far as this sweep saw)."""
    best: dict[str, float] = {}
    for cell in cells:
        for outcome in cell.rounds:
            device = str(outcome.reference_before.get("device"))
            best[device] = max(best.get(device, 0.0), outcome.reference_gflops)
    return best


def speed_summary(
    rounds: list[RoundOutcome], measure: MeasureConfig, session: str, fastest: float
) -> Speed:
    """A cell's speed: FPS end to end and of the model stage (the medians of the rounds used)
    with the rounds' summary (`Rounds`: the interval, the rounds it comes from and whether it
    can be compared, measure/precision.py: one rule for every cell; CPU time beside wall time
    and the CPU-time FPS; the machine's reference speed and whether it moved enough to call the
    figures noisy; every round as measured), and the machine's load over the rounds."""
    from vis_bench.measure.reference import spread

    precision = precision_of(rounds, fastest, measure)
    used = [r for r in rounds if r.round_index in precision.used]
    fps = [r.fps for r in used if r.fps is not None]
    model = [r.fps_model for r in used if r.fps_model is not None]
    readings = [
        float(reading["gflops"])
        for r in rounds
        for reading in (r.reference_before, r.reference_after)
        if reading.get("gflops")
    ]
    moved = spread(readings)
    cpu_share = [r.cpu_seconds / r.seconds for r in used if r.seconds > 0]
    cpu_fps = [r.frames / r.cpu_seconds * _threads(r) for r in used if r.cpu_seconds > 0]
    summary = Rounds(
        session=session,
        fps_range=_range(fps),
        **precision.as_dict(),
        fps_model_range=_range(model),
        cpu_per_wall=_median(cpu_share),
        fps_cpu_time=_median(cpu_fps),
        reference_gflops=_median([r.reference_gflops for r in used]),
        reference_fastest_gflops=fastest,
        reference_spread=moved,
        noisy=bool(moved is not None and moved > measure.noisy_threshold),
        noisy_threshold=measure.noisy_threshold,
        rounds_timed=len(rounds),
        rounds_used=precision.used,
        rounds_at_full_speed=len(precision.counted),
        videos=len(rounds[0].videos) if rounds else 0,
        frames=rounds[0].frames if rounds else 0,
        predictions_checked={
            "rounds": len(rounds),
            "videos": len(rounds[0].videos) if rounds else 0,
            "equal_to_accuracy_pass": True,
            **merged_check([r.check for r in rounds if r.check is not None]).as_dict(),
        },
        rounds=tuple(_round(r, precision) for r in rounds),
    )
    return Speed(
        precision.fps, _median(model), rounds=summary, load=rounds_load(rounds) if rounds else None
    )


def _round(outcome: RoundOutcome, precision: Precision) -> Round:
    """One round as the record keeps it: as measured, whether its figures are used, counted."""
    used, counted = outcome.round_index in precision.used, outcome.round_index in precision.counted
    part = Round.from_json({**outcome.as_dict(), "used": used, "counted": counted})
    assert part is not None
    return part


def rounds_load(rounds: list[RoundOutcome]) -> Load:
    """The machine's load over the rounds: first and last readings, the highest, the most CPU
    steal, and whether any round ran on a loaded machine."""
    loads = [r.load for r in rounds]
    peaks = [v for load in loads for v in (load.get("load1_start"), load.get("load1_end")) if v]
    steal = [load["cpu_steal_share"] for load in loads if load.get("cpu_steal_share") is not None]
    return Load(
        load1_start=loads[0].get("load1_start"),
        load1_end=loads[-1].get("load1_end"),
        load1_max=max(peaks, default=None),
        cpu_steal_share=max(steal, default=None),
        threads=loads[0].get("threads"),
        loaded=any(bool(load.get("loaded")) for load in loads),
        rounds_loaded=sum(bool(load.get("loaded")) for load in loads),
    )


def _threads(outcome: RoundOutcome) -> int:
    return int(outcome.load.get("threads") or 1)
