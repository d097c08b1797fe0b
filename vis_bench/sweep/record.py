"""One record per sweep cell, built in one place (the type is vis_bench/records.py's `CellRecord`).

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
(`report.records.with_configs` fills `config` from the folder's configs/<hash>.yaml).
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from dataclasses import dataclass
from typing import Any

from vis_bench.measure.precision import confidence_text, target_missed
from vis_bench.record_parts import (
    Bootstrap,
    CheckpointLoad,
    Energy,
    Environment,
    ErrorBreakdown,
    Execution,
    Flops,
    Harness,
    LabelSpace,
    Load,
    Memory,
    Provenance,
    Speed,
    Stream,
)
from vis_bench.records import INTERVAL_SUFFIX, CellRecord
from vis_bench.report.warnings import WARNING
from vis_bench.sweep.cells import Cell
from vis_bench.sweep.label_space import unchecked_warning
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


def _notes(
    cell: Cell,
    spec_notes: str,
    checkpoint_load: dict[str, Any] | None,
    label_space: dict[str, Any] | None = None,
    frames_oriented: int | None = None,
    input_scale: str | None = None,
) -> str:
    notes = [n for n in (spec_notes, cell.method.label) if n]
    if input_scale:  # on every page (report/warnings.py)
        notes.append(f"{WARNING} {input_scale}")
    if frames_oriented:
        notes.append(
            f"{frames_oriented} frame(s) turned upright by their EXIF orientation, as viewers "
            "show them"
        )
    if cell.method.checkpoint is None:
        notes.append(RANDOM_WEIGHTS_NOTE)
    unchecked = unchecked_warning(cell.method)
    if unchecked is not None:
        notes.append(unchecked)
    if label_space and not label_space["mapping"].startswith("same label space"):
        notes.append(f"classes mapped from {label_space['model']}: {label_space['mapping']}")
    if checkpoint_load and checkpoint_load.get("partial"):
        notes.append(
            f"partial checkpoint load: {checkpoint_load['missing']} missing, "
            f"{checkpoint_load['unexpected']} unexpected, {checkpoint_load['mismatched']} "
            "mis-shaped key(s) (checkpoint_strict: false)"
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
    """The record of a finished cell (`outcome`) or a failed one (`error`, `details`)."""
    measured = outcome.measurements if outcome is not None else {}
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
        finished=time.strftime("%Y-%m-%dT%H:%M:%S"),
        status="ok" if outcome is not None else "failed",
        notes=_notes(
            cell,
            spec_notes,
            measured.get("checkpoint_load"),
            measured.get("label_space"),
            measured.get("frames_oriented"),
            measured.get("input_scale"),
        ),
        error=error,
        traceback=details,
        world_size=info.world_size,
        model_options=measured.get("model_options") or dict(cell.method.model_options),
        backbone=measured.get("backbone"),
        execution=Execution.from_json(measured.get("execution")),
        speed=Speed(load=Load.from_json(measured.get("load"))),
        checkpoint_load=CheckpointLoad.from_json(measured.get("checkpoint_load")),
        environment=Environment.from_json(measured.get("environment")),
        provenance=Provenance.from_json(measured.get("provenance")),
        label_space=LabelSpace.from_json(measured.get("label_space")),
        flops=_flops(measured),
        memory=_memory(measured),
        video_frames=cell.video_frames,
        harness=Harness.from_json(measured.get("harness")),
        stream=Stream.from_json(measured.get("stream")),
        energy=Energy.from_json(measured.get("energy")),
        config=info.config,
        dataset_identity=info.dataset_identity,
    )
    if score is not None:
        record = _apply_score(record, score)
    if outcome is not None:
        record = dataclasses.replace(
            record,
            results_path=outcome.results_path,
            num_videos=outcome.num_videos,
            num_frames=outcome.num_frames,
            num_predictions=outcome.num_predictions,
            seconds_end_to_end=outcome.seconds_end_to_end,
        )
        record = _apply_protocols(record, outcome, measured.get("protocols"))
    return record


def _flops(measured: dict[str, Any]) -> Flops:
    """The worker's FLOPs measurement and parameter count as the record's part."""
    flops = measured.get("flops") or {}
    return Flops(
        flops.get("gmacs_per_frame"), flops.get("gmacs_per_frame_by_module"), measured.get("params")
    )


def _memory(measured: dict[str, Any]) -> Memory:
    """The worker's memory measurement as the record's part."""
    memory = measured.get("memory") or {}
    return Memory(
        memory.get("peak_rss_mb"),
        memory.get("rss_after_build_mb"),
        memory.get("activation_peak_mb"),
        memory.get("cuda_max_allocated_mb"),
    )


def _apply_protocols(
    record: CellRecord, outcome: CellOutcome, protocols: dict[str, Any] | None
) -> CellRecord:
    """Each protocol's declaration as the worker made it; the FPS the accuracy pass's worker
    timed (single clip, the authors'). End to end and model come from the rounds
    (`finish_record`)."""
    if protocols is None:
        return record
    entries = {name: dict(entry) for name, entry in protocols.items()}
    times = sorted(outcome.single_clip_times)
    if "single_clip" in entries and times:
        seconds = statistics.median(times)
        entries["single_clip"].update(
            fps=_rate(outcome.single_clip_frames, seconds),
            frames=outcome.single_clip_frames,
            seconds=seconds,
        )
    fps = {
        f"fps_{name}": (entries.get(name) or {}).get("fps") for name in ("authors", "single_clip")
    }
    # the entries' FPS are the record's: read back through the JSON, each lands in `speed` once
    return CellRecord.from_json({**record.to_json(), **fps, "protocols": entries})


def finish_record(
    pending: Any, measure: Any, session: str, fastest: dict[str, float]
) -> dict[str, Any]:
    """A pending cell's record once its rounds are done: its speed, or why it failed
    (`fastest`: the machine's best reference speed per device over the sweep's rounds)."""
    from vis_bench.sweep.rounds import speed_summary

    record = dict(pending.record)
    record["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    timings = dict(record.get("timings") or {})
    timings["timed_rounds"] = round(pending.worker_seconds, 4)
    record["timings"] = timings
    if pending.failure is not None or not pending.rounds:
        record.update(status="failed", error=pending.failure or "no timed round finished")
        return record
    device = str(pending.rounds[0].reference_before.get("device"))
    speed = speed_summary(pending.rounds, measure, session, fastest.get(device, 0.0))
    record["speed"] = speed
    record["load"] = _rounds_load(pending.rounds)
    wanted = set(record.get("protocols") or {"end_to_end": {}, "model": {}})
    record["fps_end_to_end"] = speed["fps"] if "end_to_end" in wanted else None
    record["fps_model"] = speed["fps_model"] if "model" in wanted else None
    for name, key in (("end_to_end", "fps"), ("model", "fps_model")):
        if name in (record.get("protocols") or {}):
            record["protocols"][name].update(
                fps=speed[key], range=speed[f"{key}_range"], rounds=speed["rounds_timed"]
            )
    return record


def _rounds_load(rounds: list[Any]) -> dict[str, Any]:
    """The machine's load over the rounds: first and last readings, the highest, the most CPU
    steal, and whether any round ran on a loaded machine."""
    loads = [r.load for r in rounds]
    peaks = [v for load in loads for v in (load.get("load1_start"), load.get("load1_end")) if v]
    steal = [load["cpu_steal_share"] for load in loads if load.get("cpu_steal_share") is not None]
    return {
        "load1_start": loads[0].get("load1_start"),
        "load1_end": loads[-1].get("load1_end"),
        "load1_max": max(peaks, default=None),
        "cpu_steal_share": max(steal, default=None),
        "threads": loads[0].get("threads"),
        "loaded": any(bool(load.get("loaded")) for load in loads),
        "rounds_loaded": sum(bool(load.get("loaded")) for load in loads),
    }


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


def _rate(frames: int, seconds: float) -> float | None:
    return frames / seconds if seconds > 0 else None
