"""The config's `measure:` section: which measurements a run takes and how, and its checks.

Kept apart from config.py (which reads the whole file and checks the dataset and sweep) because
the speed settings are one subject of their own (docs/fps.md) and grow with every protocol;
`vis_bench.config` re-exports `MeasureConfig`, so callers import it from there as before.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from dataclasses import dataclass, field

from vis_bench.api.timing import COMPILE_MODES, PROTOCOL_NAMES
from vis_bench.errors import InputError


@dataclass
class MeasureConfig:
    """Which measurements to take and how (docs/fps.md says what the speed settings do)."""

    ap: bool = True
    fps: bool = True
    flops: bool = True
    memory: bool = True
    #: untimed clips before a timed pass (one-time costs stay out of every FPS)
    warmup: int = 1
    #: repeats of the `single_clip` protocol
    repeats: int = 3
    #: timed rounds per cell after every cell's accuracy pass, interleaved across the sweep's
    #: cells (A B C A B C ...) so that a change in the machine's load hits every cell alike
    rounds: int = 3
    #: ... and timed again (interleaved) until its FPS's 95 % interval is within this share of
    #: the figure (0: exactly `rounds` rounds), up to `max_rounds` rounds (never fewer than
    #: `rounds`) or `cell_budget_s` seconds of its round workers (docs/fps.md, "Precision")
    precision: float = 0.03
    max_rounds: int = 8
    cell_budget_s: float = 20.0
    #: a round times whole videos in dataset order until it has at least this many frames and
    #: seconds (and at least one video); the first round fixes the videos for the later ones.
    #: 30 frames: more than one video of a typical clip-sized set, so a round is a sample of
    #: the method's work, not of one video's
    round_frames: int = 30
    round_seconds: float = 1.0
    #: FPS is marked noisy when the machine's reference speed moved by more than this share
    #: ((max - min) / median) over the cell's rounds
    noisy_threshold: float = 0.25
    threads: int | None = None
    #: how the cells' workers' OpenMP threads wait at a barrier (OMP_WAIT_POLICY, set for the
    #: worker processes before their OpenMP runtime starts): passive threads sleep, so a
    #: machine shared with other work slows the sweep in proportion to the load instead of
    #: spinning threads taking turns; active spins; null leaves the environment's (an
    #: OMP_WAIT_POLICY already set in the environment always wins). Recorded per cell.
    omp_wait_policy: str | None = "passive"
    #: every cell run twice (twin 1 and twin 2, each with its own key): an A/A check whose
    #: twins' agreement shows the timing's noise (tables.md, the console)
    twins: bool = False
    #: a cell's worker still running after this many seconds is stopped and the cell recorded
    #: as failed ("timed out after N s"); null: no limit
    cell_timeout_s: float | None = 7200.0
    #: bootstrap replicates over videos for each scored cell's AP, AP50, AP75 and AR10 intervals
    #: and for the paired comparisons of the reports (0: no intervals, no paired marks)
    bootstrap: int = 1000
    bootstrap_seed: int = 0
    #: a method declaring per-frame stages computes them once per frame under overlapping
    #: clips; false recomputes every clip's frames (a published FPS may be defined either way)
    feature_reuse: bool = True
    #: the timing protocols measured per cell (docs/timing_protocols.md): end_to_end (the
    #: reference: every frame to its RLE), model (the model stage of that same pass),
    #: single_clip (`infer_clip` alone on one clip, median of repeats) and
    #: authors (the protocol the method's spec declares its authors used)
    protocols: list[str] = field(default_factory=lambda: ["end_to_end", "model"])
    #: per-frame latency of a live stream, replayed from the end-to-end run's clip timings
    stream: bool = False
    #: the stream's frame rate (frames dropped at that rate are counted); null: each frame
    #: arrives as soon as the method can take it
    stream_fps: float | None = None
    #: joules of the end-to-end region where the machine can tell (NVML on a GPU, powercap on
    #: a CPU); elsewhere the record says why not
    energy: bool = True
    #: torch.compile for the end-to-end and model protocols (off by default; a method's
    #: `authors` protocol compiles when it declares so); its compile time is kept apart
    compile: bool = False
    compile_mode: str = "default"
    #: torch.compile's `dynamic`: null lets it choose (static first), true or false forces it
    compile_dynamic: bool | None = None
    #: a part that fails to compile runs eagerly (counted in the record's `frames_failed`);
    #: false makes such a failure fail the cell
    compile_suppress_errors: bool = True
    #: threads decoding frames and resizing them to the model's size ahead of the model
    #: (inference/input_workers.py): an integer, or auto (per device: on a CPU the cores the
    #: model's threads leave free, at least 1); 0 keeps the serial path (one thread decodes,
    #: the main thread resizes)
    input_workers: int | str = "auto"
    #: cells whose accuracy passes run at once, each worker with its share of the threads (1:
    #: one after another). Nothing timed comes from an accuracy pass when FPS comes from the
    #: rounds, so on a CPU whose model threads do not use the cores fully this shortens a sweep
    #: without touching its FPS; it applies only then (FPS on, no stream, protocols
    #: end_to_end and model, a CPU device): sweep/accuracy_passes.py
    accuracy_passes: int = 1


#: measure fields that must be at least this (a count of runs, threads or seconds)
_MEASURE_MINIMUM = {
    "warmup": 0,
    "repeats": 1,
    "threads": 1,
    "accuracy_passes": 1,
    "cell_timeout_s": 1e-9,
    "rounds": 1,
    "max_rounds": 1,
    "precision": 0,
    "cell_budget_s": 0,
    "round_frames": 1,
    "round_seconds": 0,
    "noisy_threshold": 0,
}


def check_measure(measure: MeasureConfig, source: str, given: Collection[str] = ()) -> None:
    """The section's ranges and combinations; `given` names the keys the user wrote (the file
    or `--set`), for the checks of a value set against another's default."""
    for key, least in _MEASURE_MINIMUM.items():
        value = getattr(measure, key)
        if value is not None and value < least:
            what = "a positive number" if least > 0 else "a number >= 0"
            nullable = " or null" if key in ("threads", "cell_timeout_s") else ""
            raise InputError(
                f"must be {what}{nullable}, got {value}",
                path=source,
                field=f"measure.{key}",
            )
    if measure.omp_wait_policy not in (None, "passive", "active"):
        raise InputError(
            f"must be passive, active or null, got {measure.omp_wait_policy!r}",
            path=source,
            field="measure.omp_wait_policy",
        )
    workers = measure.input_workers
    if workers != "auto" and not (
        isinstance(workers, int) and not isinstance(workers, bool) and workers >= 0
    ):
        raise InputError(
            f"must be an integer >= 0 or auto, got {workers!r}",
            path=source,
            field="measure.input_workers",
        )
    if measure.bootstrap < 0:
        raise InputError(
            f"must be a number of replicates >= 0 (0 turns the intervals off), got "
            f"{measure.bootstrap}",
            path=source,
            field="measure.bootstrap",
        )
    _check_rounds(measure, source, given)
    _check_speed(measure, source)


def _check_rounds(measure: MeasureConfig, source: str, given: Collection[str]) -> None:
    """A `max_rounds` the user set below `rounds` would be ignored (every cell is timed in
    `rounds` rounds at least), so the cap the user wrote would not hold: refused. `rounds` above
    the default `max_rounds` alone is no conflict (the cap is then `rounds`)."""
    if "max_rounds" in given and measure.max_rounds < measure.rounds:
        raise InputError(
            f"measure.max_rounds {measure.max_rounds} is below measure.rounds {measure.rounds}: every "
            f"cell is timed in at least measure.rounds rounds, so this cap would be ignored; set "
            f"measure.max_rounds >= {measure.rounds} (e.g. --set measure.max_rounds="
            f"{max(measure.rounds, MeasureConfig.max_rounds)}), or lower measure.rounds",
            path=source,
            field="measure.max_rounds",
        )


def _check_speed(measure: MeasureConfig, source: str) -> None:
    """Protocols by name, once each; a frame rate above 0; a mode torch.compile knows."""
    for name in measure.protocols:
        if name not in PROTOCOL_NAMES:
            close = difflib.get_close_matches(str(name), PROTOCOL_NAMES, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InputError(
                f"{name!r} is not a timing protocol{hint}; use any of {', '.join(PROTOCOL_NAMES)}",
                path=source,
                field="measure.protocols",
            )
    if len(set(measure.protocols)) != len(measure.protocols):
        raise InputError(
            f"lists a protocol twice: {measure.protocols}", path=source, field="measure.protocols"
        )
    if measure.stream_fps is not None and not measure.stream_fps > 0:
        raise InputError(
            f"must be a frame rate > 0 or null (as fast as taken), got {measure.stream_fps}",
            path=source,
            field="measure.stream_fps",
        )
    if measure.compile_mode not in COMPILE_MODES:
        raise InputError(
            f"{measure.compile_mode!r} is not one of {COMPILE_MODES}",
            path=source,
            field="measure.compile_mode",
        )
