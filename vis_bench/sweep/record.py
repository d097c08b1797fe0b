"""One record per sweep cell, built in one place.

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
from dataclasses import dataclass, field
from typing import Any

from vis_bench.sweep.cells import Cell
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


@dataclass
class CellRecord:
    """The typed record of one cell (see the module docstring)."""

    key: str
    run: str
    config_hash: str
    dataset: str
    dataset_label: str
    method: str
    method_label: str | None
    #: the released checkpoint the method entry named (`method.variant`), None for a method name
    variant: str | None
    checkpoint: str | None
    checkpoint_file: str | None
    checkpoint_strict: bool
    options: dict[str, Any]
    clip_length: int | str
    stride: int | None
    resolution: int | None
    device: str
    dtype: str
    isolated: bool
    started: str
    finished: str
    status: str
    notes: str = ""
    error: str | None = None
    traceback: str | None = None
    world_size: int = 1
    results_path: str | None = None
    num_videos: int | None = None
    num_frames: int | None = None
    num_predictions: int | None = None
    metrics: dict[str, float | None] = field(default_factory=dict)
    #: bootstrap intervals of the metrics ({"AP_ci": [low, high], ...}), top level like them
    intervals: dict[str, list[float] | None] = field(default_factory=dict)
    bootstrap: dict[str, Any] | None = None
    video_matches_path: str | None = None
    #: AP per category name (fractions; None where the category has no ground truth)
    per_category_ap: dict[str, float | None] | None = None
    #: AP50, and the AP50 each error type would add if fixed alone (`errors` command, TIDE)
    error_breakdown: dict[str, Any] | None = None
    #: YouTube-VIS 2022 (a `ytvis2022` dataset): each set's statistics and videos, by set
    #: (`S` short, `L` long); the 2022 figures (mAP, mAP_S, ..., AR10_L) are among the metrics
    video_sets: dict[str, Any] | None = None
    #: every summary line per group of categories (`dataset.category_groups`)
    category_groups: dict[str, dict[str, float | None]] | None = None
    #: FPS end to end and of the model stage of the same pass: the medians of the cell's timed
    #: rounds (`speed` holds the rounds, their range and the machine's reference speed)
    fps_end_to_end: float | None = None
    fps_model: float | None = None
    #: FPS by the protocol the method's authors used (`measure.protocols: [..., authors]`)
    fps_authors: float | None = None
    #: `infer_clip` alone on one clip (`measure.protocols: [..., single_clip]`), a separate
    #: measurement from the end-to-end pass
    fps_single_clip: float | None = None
    #: the timed rounds (sweep/rounds.py `speed_summary`): FPS median and range, CPU per wall
    #: second, the machine's reference speed and its spread, the noisy and loaded verdicts, the
    #: check that the timed predictions were the accuracy pass's, and every round as measured
    speed: dict[str, Any] | None = None
    #: per protocol measured: its FPS, its declaration as data and what this machine applied
    #: of it (measure/protocols.py), so a copied record still says what each FPS timed
    protocols: dict[str, Any] | None = None
    #: per-frame latency of a live stream replayed from the clips' timings (`measure.stream`)
    stream: dict[str, Any] | None = None
    #: joules of the end-to-end region and per frame, or why the machine cannot tell
    energy: dict[str, Any] | None = None
    #: the accuracy pass's own seconds (one pass over every video; not an FPS figure)
    seconds_end_to_end: float | None = None
    gmacs_per_frame: float | None = None
    gmacs_per_frame_by_module: dict[str, float] | None = None
    params: int | None = None
    peak_rss_mb: float | None = None
    rss_after_build_mb: float | None = None
    activation_peak_mb: float | None = None
    cuda_max_allocated_mb: float | None = None
    model_options: dict[str, Any] | None = None
    backbone: str | None = None
    execution: dict[str, Any] | None = None
    load: dict[str, Any] | None = None
    checkpoint_load: dict[str, Any] | None = None
    environment: dict[str, Any] | None = None
    #: the code state (commit, dirty, the diff's sha256), machine and command that made the record
    provenance: dict[str, Any] | None = None
    #: the model's label space and how it met the dataset's (when the method entry names one)
    label_space: dict[str, Any] | None = None
    #: videos cut to their first N frames (long-video memory runs), None = whole videos
    video_frames: int | None = None
    #: the harness's own time (decoding, stitching, encoding) and its stitching state
    harness: dict[str, Any] | None = None
    #: the resolved config of the run, whose hash is `config_hash` (see the module docstring)
    config: dict[str, Any] | None = None
    #: the dataset's identity, as the run folder's run.json holds it
    dataset_identity: dict[str, Any] | None = None
    #: seconds per phase of the cell (sweep/timings.py): worker start-up, model build,
    #: warm-up, inference, model-only timing, FLOPs, measurements, write, scoring, bootstrap
    timings: dict[str, float] | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON line: every field, with the metrics and their intervals at the top level."""
        data = dataclasses.asdict(self)
        metrics = data.pop("metrics")
        intervals = data.pop("intervals")
        return {**data, **metrics, **intervals}


def _notes(
    cell: Cell,
    spec_notes: str,
    checkpoint_load: dict[str, Any] | None,
    label_space: dict[str, Any] | None = None,
) -> str:
    notes = [n for n in (spec_notes, cell.method.label) if n]
    if cell.method.checkpoint is None:
        notes.append(RANDOM_WEIGHTS_NOTE)
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
    flops = measured.get("flops") or {}
    memory = measured.get("memory") or {}
    record = CellRecord(
        key=cell.key(info.dataset_id),
        run=info.run,
        config_hash=info.config_hash,
        dataset=info.dataset_id,
        dataset_label=info.dataset_label,
        method=cell.method.name,
        method_label=cell.method.label,
        variant=cell.method.variant,
        checkpoint=cell.method.checkpoint,
        checkpoint_file=cell.method.fingerprint(),
        checkpoint_strict=cell.method.checkpoint_strict,
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
            cell, spec_notes, measured.get("checkpoint_load"), measured.get("label_space")
        ),
        error=error,
        traceback=details,
        world_size=info.world_size,
        model_options=measured.get("model_options") or dict(cell.method.model_options),
        backbone=measured.get("backbone"),
        execution=measured.get("execution"),
        load=measured.get("load"),
        checkpoint_load=measured.get("checkpoint_load"),
        environment=measured.get("environment"),
        provenance=measured.get("provenance"),
        label_space=measured.get("label_space"),
        gmacs_per_frame=flops.get("gmacs_per_frame"),
        gmacs_per_frame_by_module=flops.get("gmacs_per_frame_by_module"),
        params=measured.get("params"),
        peak_rss_mb=memory.get("peak_rss_mb"),
        rss_after_build_mb=memory.get("rss_after_build_mb"),
        activation_peak_mb=memory.get("activation_peak_mb"),
        cuda_max_allocated_mb=memory.get("cuda_max_allocated_mb"),
        video_frames=cell.video_frames,
        harness=measured.get("harness"),
        stream=measured.get("stream"),
        energy=measured.get("energy"),
        config=info.config,
        dataset_identity=info.dataset_identity,
    )
    if score is not None:
        _apply_score(record, score)
    if outcome is not None:
        record.results_path = outcome.results_path
        record.num_videos = outcome.num_videos
        record.num_frames = outcome.num_frames
        record.num_predictions = outcome.num_predictions
        record.seconds_end_to_end = outcome.seconds_end_to_end
        _apply_protocols(record, outcome, measured.get("protocols"))
    return record


def _apply_protocols(
    record: CellRecord, outcome: CellOutcome, protocols: dict[str, Any] | None
) -> None:
    """Each protocol's declaration as the worker made it; the FPS the accuracy pass's worker
    timed (single clip, the authors'). End to end and model come from the rounds
    (`finish_record`)."""
    if protocols is None:
        return
    record.protocols = {name: dict(entry) for name, entry in protocols.items()}
    times = sorted(outcome.single_clip_times)
    if "single_clip" in record.protocols and times:
        seconds = statistics.median(times)
        record.fps_single_clip = _rate(outcome.single_clip_frames, seconds)
        record.protocols["single_clip"].update(
            fps=record.fps_single_clip, frames=outcome.single_clip_frames, seconds=seconds
        )
    authors = record.protocols.get("authors")
    record.fps_authors = authors.get("fps") if authors else None


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


def speed_words(record: dict[str, Any]) -> list[str]:
    """A record's speed as the console prints it: FPS with its range over the rounds, the
    model stage's, and the marks (loaded, noisy) in words."""
    speed = record.get("speed") or {}
    words = []
    if record.get("fps_end_to_end") is not None:
        spread = speed.get("fps_range")
        span = f" [{spread[0]:.2f}, {spread[1]:.2f}]" if spread else ""
        words.append(f"{record['fps_end_to_end']:.2f}{span} FPS e2e")
    if record.get("fps_model") is not None:
        words.append(f"{record['fps_model']:.2f} FPS model")
    if speed.get("reference_gflops"):
        words.append(f"machine {speed['reference_gflops']:.0f} GFLOP/s")
    if (record.get("load") or {}).get("loaded"):
        words.append("LOADED (other work competed for the cores)")
    if speed.get("noisy"):
        words.append(f"NOISY (machine speed moved {100 * speed['reference_spread']:.0f}%)")
    return words


def _apply_score(record: CellRecord, score: CellScore) -> None:
    record.metrics = dict(score.metrics)
    record.intervals = dict(score.intervals)
    record.bootstrap = score.bootstrap
    record.video_matches_path = score.video_matches_path
    record.per_category_ap = score.per_category_ap
    record.error_breakdown = score.error_breakdown
    record.video_sets = score.video_sets
    record.category_groups = score.category_groups


def _rate(frames: int, seconds: float) -> float | None:
    return frames / seconds if seconds > 0 else None
