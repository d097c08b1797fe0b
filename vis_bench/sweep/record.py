"""One record per sweep cell, built in one place (the type is vis_bench/records/cell.py's `CellRecord`).

A record is one JSON line of `records.jsonl`: the cell's identity and axes, what ran (isolated or
not, the deformable-attention core, the dtype, threads, device), its outcome (status and reason),
and its measurements. Metrics (AP, AR...) and their bootstrap intervals (`AP_ci`: [low, high],
fractions like the metrics) sit at the top level, as tables read them; `bootstrap` says how the
intervals were drawn and `video_matches_path` where the per-video matching is, for paired
comparisons. Everything a table, plot, leaderboard or regression check shows comes from these
fields.

A record describes itself: `config` is the resolved config of its run (dataset, methods, sweep
and measure sections: warmup, repeats, threads, cell_timeout_s...), the dict whose hash is
`config_hash`, and `dataset_identity` what the run folder's run.json holds. A record copied out of
its folder still says how it was made. Records written before these fields lack them
(`report.settings.with_configs` fills `config` from the folder's configs/<hash>.yaml).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from vis_bench.config import MeasureConfig
from vis_bench.measure.precision import confidence_text, target_missed
from vis_bench.measure.provenance import finish_provenance, start_provenance
from vis_bench.records import INTERVAL_SUFFIX, WARNING, CellRecord
from vis_bench.records.parts import Bootstrap, ErrorBreakdown, Provenance, Speed
from vis_bench.sweep.cells import Cell
from vis_bench.sweep.label_space import unchecked_warning
from vis_bench.sweep.measured import CellMeasurements
from vis_bench.sweep.rounds import PendingCell, speed_summary
from vis_bench.sweep.scoring import CellScore
from vis_bench.sweep.worker import CellOutcome

RANDOM_WEIGHTS_NOTE = "random weights (no checkpoint): AP is not meaningful"


@dataclass
class RunInfo:
    """What every record of one `run` call shares."""

    run: str
    config_hash: str
    dataset_id: str
    dataset_label: str
    isolated: bool
    world_size: int = 1
    #: the resolved config (`BenchConfig.to_dict()`), embedded in every record
    config: dict[str, Any] | None = None
    #: the dataset's identity (kind, seed, videos, annotation digest...), as in run.json
    dataset_identity: dict[str, Any] | None = None


def _notes(cell: Cell, spec_notes: str, measured: CellMeasurements) -> str:
    notes = [n for n in (spec_notes, cell.method.label) if n]
    if measured.input_scale:  # on every page (report/warnings.py)
        notes.append(f"{WARNING} {measured.input_scale}")
    if measured.frames_oriented:
        notes.append(
            f"{measured.frames_oriented} frame(s) turned upright by their EXIF orientation, as "
            "viewers show them"
        )
    if cell.method.checkpoint is None:
        notes.append(RANDOM_WEIGHTS_NOTE)
    unchecked = unchecked_warning(cell.method)
    if unchecked is not None:
        notes.append(unchecked)
    space = measured.label_space
    if space is not None and not str(space.mapping).startswith("same label space"):
        notes.append(f"classes mapped from {space.model}: {space.mapping}")
    load = measured.checkpoint_load
    if load is not None and load.partial:
        notes.append(
            f"partial checkpoint load: {load.missing} missing, {load.unexpected} unexpected, "
            f"{load.mismatched} mis-shaped key(s) (checkpoint_strict: false)"
        )
    return "; ".join(notes)


def make_record(
    cell: Cell,
    info: RunInfo,
    started: str,
    spec_notes: str,
    outcome: CellOutcome | None = None,
    score: CellScore | None = None,
    error: str | None = None,
    details: str | None = None,
) -> CellRecord:
    """The record of a finished cell (`outcome`: the worker's typed parts, put in as they are)
    or a failed one (`error`, `details`)."""
    measured = outcome.measurements if outcome is not None else CellMeasurements()
    record = CellRecord(
        key=cell.key(info.dataset_id),
        run=info.run,
        config_hash=info.config_hash,
        dataset=info.dataset_id,
        dataset_label=info.dataset_label,
        method=cell.method.name,
        method_label=cell.method.label,
        variant=cell.method.variant,
        entry=cell.method.entry,
        twin=cell.twin,
        checkpoint=cell.method.checkpoint,
        checkpoint_file=cell.method.fingerprint(),
        checkpoint_strict=cell.method.checkpoint_strict,
        checkpoint_source=cell.method.checkpoint_source,
        options=cell.method.options,
        clip_length=cell.clip_length,
        stride=cell.stride,
        resolution=cell.resolution,
        device=cell.device,
        dtype=cell.dtype,
        isolated=info.isolated,
        started=started,
        finished=_now(),
        status="ok" if outcome is not None else "failed",
        notes=_notes(cell, spec_notes, measured),
        error=error,
        traceback=details,
        world_size=info.world_size,
        results_path=outcome.results_path if outcome is not None else None,
        num_videos=outcome.num_videos if outcome is not None else None,
        num_frames=outcome.num_frames if outcome is not None else None,
        num_predictions=outcome.num_predictions if outcome is not None else None,
        seconds_end_to_end=outcome.seconds_end_to_end if outcome is not None else None,
        model_options=measured.model_options or dict(cell.method.model_options),
        backbone=measured.backbone,
        execution=measured.execution,
        speed=measured.speed,
        protocols=measured.protocols,
        checkpoint_load=measured.checkpoint_load,
        environment=measured.environment,
        provenance=measured.provenance or _this_process_provenance(),
        label_space=measured.label_space,
        flops=measured.flops,
        memory=measured.memory,
        video_frames=cell.video_frames,
        prompts=measured.prompts,
        objects_tracked=measured.objects_tracked,
        harness=measured.harness,
        stream=measured.stream,
        energy=measured.energy,
        config=info.config,
        dataset_identity=info.dataset_identity,
    )
    return _apply_score(record, score) if score is not None else record


def _this_process_provenance() -> Provenance:
    """The code state as this process sees it, for a cell whose worker gave none (it failed
    before measuring): the same checkout, so a failed record too says which code it ran."""
    return Provenance.from_json(finish_provenance(start_provenance()))


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def finish_record(
    pending: PendingCell, measure: MeasureConfig, session: str, fastest: dict[str, float]
) -> CellRecord:
    """A pending cell's record once its rounds are done: its speed, or why it failed
    (`fastest`: the machine's best reference speed per device over the sweep's rounds)."""
    record = pending.record
    assert record is not None, "ranks that write no records finish none"
    timings = {**(record.timings or {}), "timed_rounds": round(pending.worker_seconds, 4)}
    record = dataclasses.replace(record, finished=_now(), timings=timings)
    if pending.failure is not None or not pending.rounds:
        error = pending.failure or "no timed round finished"
        return dataclasses.replace(record, status="failed", error=error)
    device = str(pending.rounds[0].reference_before.get("device"))
    speed = speed_summary(pending.rounds, measure, session, fastest.get(device, 0.0))
    return dataclasses.replace(record, speed=_measured_speed(record, speed))


def _measured_speed(record: CellRecord, timed: Speed) -> Speed:
    """The record's speed once timed (`timed`: `speed_summary`'s): the rounds' medians as the
    end-to-end and model FPS of the protocols the cell measured (both where it declared none);
    a median the record does not take stays in the rounds' summary, as records always kept it."""
    wanted = set(record.protocols or ("end_to_end", "model"))
    medians = {"fps_end_to_end": ("end_to_end", "fps"), "fps_model": ("model", "fps_model")}
    taken, kept = {}, {}
    for attr, (protocol, key) in medians.items():
        median = getattr(timed, attr)
        taken[attr] = median if protocol in wanted else None
        if taken[attr] != median:
            kept[key] = median
    summary = timed.rounds
    assert summary is not None, "speed_summary always summarises the rounds"
    return dataclasses.replace(
        record.speed,
        **taken,
        rounds=dataclasses.replace(summary, extra={**summary.extra, **kept}),
        load=timed.load,
    )


def speed_words(record: CellRecord) -> list[str]:
    """A record's speed as the console prints it: FPS with its 95% interval (the range over the
    rounds for an older record), its precision and rounds, whether it can be compared, the
    model stage's, and the marks (loaded, noisy) in words."""
    speed = record.speed
    rounds = speed.rounds
    words = []
    if speed.fps_end_to_end is not None:
        interval = rounds.fps_ci if rounds is not None else None
        spread = interval or (rounds.fps_range if rounds is not None else None)
        span = f" [{spread[0]:.2f}, {spread[1]:.2f}]" if spread else ""
        words.append(f"{speed.fps_end_to_end:.2f}{span} FPS e2e")
        if rounds is not None and rounds.fps_precision is not None:
            counted = rounds.rounds_counted
            of = (
                f"{counted} of {rounds.rounds_timed}" if counted != rounds.rounds_timed else counted
            )
            confidence = confidence_text(rounds.fps_ci_confidence)
            words.append(f"±{100 * rounds.fps_precision:.1f}% ({of} rounds{confidence})")
            target = rounds.precision_target
            if target_missed(rounds.wider_than_target, rounds.fps_ci_confidence, target):
                words.append(f"WIDER than the {100 * rounds.precision_target:g}% target")
    if rounds is not None and rounds.comparable is False:
        words.append(rounds.not_comparable or "not comparable")
    if speed.fps_model is not None:
        words.append(f"{speed.fps_model:.2f} FPS model")
    if rounds is not None and rounds.reference_gflops:
        words.append(f"machine {rounds.reference_gflops:.0f} GFLOP/s")
    if speed.loaded:
        words.append("LOADED (other work competed for the cores)")
    if speed.noisy and rounds is not None:
        words.append(f"NOISY (machine speed moved {100 * (rounds.reference_spread or 0):.0f}%)")
    return words


def dropped_note(record: CellRecord, dropped: Any) -> str:
    """The warning every page of the run starts with when the metric dropped or cut some of a
    cell's predictions (a DroppedPredictions): which cell, how many, what and the fix. One
    note: no "; " inside, as notes are split on it."""
    what = " / ".join(line.replace("; ", ", ") for line in dropped.messages())
    return (
        f"{WARNING} {record.shown_method} T={record.clip_length} S={record.stride}: the metric "
        f"dropped or cut {dropped.n_affected} of {dropped.n_results} predictions ({what}): its "
        "numbers are not those of the predictions as given, and `run` exits 1: fix the "
        "method's output, or pass --allow-dropped to `run` if that is intended"
    )


def _apply_score(record: CellRecord, score: CellScore) -> CellRecord:
    if score.dropped is not None:
        dropped = score.dropped
        note = dropped_note(record, dropped)
        record = dataclasses.replace(
            record,
            notes="; ".join(n for n in (record.notes, note) if n),
            metric_dropped={
                "predictions": dropped.n_affected,
                "of": dropped.n_results,
                "lines": dropped.messages(),
            },
        )
    return dataclasses.replace(
        record,
        metrics=dict(score.metrics),
        # the score names them as the JSON does (`AP_ci`); the record by their metric
        intervals={k.removesuffix(INTERVAL_SUFFIX): v for k, v in score.intervals.items()},
        bootstrap=Bootstrap.from_json(score.bootstrap),
        video_matches_path=score.video_matches_path,
        per_category_ap=score.per_category_ap,
        error_breakdown=ErrorBreakdown.from_json(score.error_breakdown),
        video_sets=score.video_sets,
        category_groups=score.category_groups,
    )
