"""The parts of a cell's record (cell.py): one frozen dataclass per nested object of a
records.jsonl line, each read from its JSON and written back to the keys it was read from.

A part names the keys vis-bench writes; any other key of the object stays in `extra`, and a named
key the object lacked is remembered in `absent`, so that an older or newer record is written back
as it was read (cell.py says why). The speed, memory and FLOPs figures, which the JSON keeps at
the top level, are grouped here too (`Speed`, `Memory`, `Flops`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

Json = dict[str, Any]
P = TypeVar("P", bound="Part")

#: the part fields every part has besides its named JSON keys
_BOOKKEEPING = ("extra", "absent")


def plain_json(value: Any) -> Any:
    """A part's value as JSON data (nested parts as dicts, tuples of parts as lists)."""
    if isinstance(value, Part):
        return value.to_json()
    if isinstance(value, tuple):
        return [plain_json(v) for v in value]
    return value


@dataclass(frozen=True)
class Part:
    """A nested part of a record: its named keys as attributes, the keys it does not name
    (`extra`, kept as written) and which named keys its JSON lacked (`absent`, an older record),
    so `to_json` gives back what `from_json` read."""

    extra: Mapping[str, Any] = field(default_factory=dict, kw_only=True, repr=False, compare=False)
    absent: frozenset[str] = field(default=frozenset(), kw_only=True, repr=False, compare=False)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The JSON keys this part names."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.name not in _BOOKKEEPING)

    @classmethod
    def _value(cls, name: str, value: Any) -> Any:
        """A named key's value as the attribute holds it (a part overrides this for its own
        nested parts)."""
        return value

    @classmethod
    def from_json(cls: type[P], data: Any) -> P | None:
        """The part of a JSON object (None for a record without it: null, absent)."""
        if not isinstance(data, Mapping):
            return None
        names = cls.names()
        return cls(
            **{name: cls._value(name, data[name]) for name in names if name in data},
            extra={k: v for k, v in data.items() if k not in names},
            absent=frozenset(name for name in names if name not in data),
        )

    def to_json(self) -> Json:
        """The JSON object: the named keys it was read with (all, for a part made now), then the
        others as written."""
        out = {k: plain_json(getattr(self, k)) for k in self.names() if k not in self.absent}
        return {**out, **self.extra}


def part_json(part: Part | None) -> Json | None:
    return None if part is None else part.to_json()


@dataclass(frozen=True)
class Execution(Part):
    """What ran: device, dtype and threads as the worker saw them, the deformable-attention core,
    the method's fast paths and what of them differed from its defaults, feature reuse, compile."""

    device: str | None = None
    dtype: str | None = None
    threads: int | None = None
    deform_attn_core: list[str] | None = None
    fast_paths: list[str] | None = None
    fast_paths_env: str | None = None
    feature_reuse: bool | None = None
    #: what of the cell's execution differed from its method's defaults (a fast path off)
    non_default: list[str] | None = None
    compile: Any = None
    #: the accuracy pass's threads where it shared the cores with other cells' passes
    #: (measure.accuracy_passes); `threads` is what the timed rounds used
    accuracy_pass_threads: int | None = None


@dataclass(frozen=True)
class Load(Part):
    """The machine's load while the cell was timed: 1-minute load readings, CPU steal, the
    threads, and the loaded verdict (some round ran with the load more than half a core above
    the threads)."""

    load1_start: float | None = None
    load1_end: float | None = None
    load1_max: float | None = None
    cpu_steal_share: float | None = None
    threads: int | None = None
    loaded: bool | None = None
    rounds_loaded: int | None = None


@dataclass(frozen=True)
class Round(Part):
    """One timed round of a cell: its FPS and model-stage FPS, its seconds and each stage's,
    whether its figures are used (the rest as measured: readings, load, the check)."""

    round: int | None = None
    fps: float | None = None
    fps_model: float | None = None
    seconds: float | None = None
    stages: Mapping[str, float] | None = None
    used: bool | None = None
    #: at full machine speed (measure/precision.py): what a paired ratio may use
    counted: bool | None = None


@dataclass(frozen=True)
class Rounds(Part):
    """The cell's timed rounds (sweep/rounds.py `speed_summary`, the JSON's `speed`): the FPS
    range, CPU per wall second, the machine's reference speed, how far it moved and the noisy
    verdict, the check of the timed predictions and every round. The medians themselves are the
    record's `speed.fps_end_to_end` and `speed.fps_model`."""

    session: str | None = None
    fps_range: list[float] | None = None
    #: the FPS's interval (order statistics of the rounds used), its confidence (95 % from 6
    #: rounds on), its half-width as a share of the FPS, the target, and whether the cell can
    #: be compared (measure/precision.py)
    fps_ci: list[float] | None = None
    fps_ci_confidence: float | None = None
    fps_precision: float | None = None
    precision_target: float | None = None
    wider_than_target: bool | None = None
    rounds_counted: int | None = None
    comparable: bool | None = None
    not_comparable: str | None = None
    #: frames per CPU second of the process, times its threads (median of the rounds used)
    fps_cpu_time: float | None = None
    fps_model_range: list[float] | None = None
    cpu_per_wall: float | None = None
    reference_gflops: float | None = None
    reference_fastest_gflops: float | None = None
    reference_spread: float | None = None
    noisy: bool | None = None
    noisy_threshold: float | None = None
    rounds_timed: int | None = None
    rounds_used: list[int] | None = None
    rounds_at_full_speed: int | None = None
    videos: int | None = None
    frames: int | None = None
    predictions_checked: Mapping[str, Any] | None = None
    rounds: tuple[Round, ...] = ()

    @classmethod
    def _value(cls, name: str, value: Any) -> Any:
        if name == "rounds" and isinstance(value, list):
            return tuple(r for r in map(Round.from_json, value) if r is not None)
        return value


@dataclass(frozen=True)
class ProtocolEntry(Part):
    """One timing protocol of the cell: its declaration as data, what this machine applied of it,
    why it has no number; its FPS is the record's (`speed`), never held here."""

    protocol: Mapping[str, Any] | None = None
    applied: Mapping[str, Any] | None = None
    not_measured: str | None = None
    frames: int | None = None
    seconds: float | None = None
    compile: Any = None


@dataclass(frozen=True)
class Speed:
    """How fast the cell ran, each figure once: FPS end to end and of the model stage (the
    medians of the timed rounds), by the authors' protocol and of one clip alone, the rounds'
    summary (`rounds`, None for a record made before timed rounds) and the machine's load."""

    fps_end_to_end: float | None = None
    fps_model: float | None = None
    fps_authors: float | None = None
    fps_single_clip: float | None = None
    rounds: Rounds | None = None
    load: Load | None = None

    def fps(self, protocol: str) -> float | None:
        """The FPS of a protocol by its name (end_to_end, model, authors, single_clip)."""
        return getattr(self, PROTOCOL_FPS[protocol]) if protocol in PROTOCOL_FPS else None

    @property
    def loaded(self) -> bool:
        """Some timed round ran on a loaded machine."""
        return bool(self.load is not None and self.load.loaded)

    @property
    def noisy(self) -> bool:
        """The machine's reference speed moved beyond the threshold over the rounds."""
        return bool(self.rounds is not None and self.rounds.noisy)


#: protocol name -> the `Speed` attribute (and top-level JSON key) of its FPS
PROTOCOL_FPS = {
    "end_to_end": "fps_end_to_end",
    "model": "fps_model",
    "authors": "fps_authors",
    "single_clip": "fps_single_clip",
}
#: protocol name -> the rounds' range of its FPS (what its entry repeats, cell.py `to_json`)
PROTOCOL_RANGE = {"end_to_end": "fps_range", "model": "fps_model_range"}


@dataclass(frozen=True)
class Memory:
    """Memory in MiB: the worker's peak RSS, its RSS after the model was built, the activation
    peak, and the most PyTorch allocated on a GPU."""

    peak_rss_mb: float | None = None
    rss_after_build_mb: float | None = None
    activation_peak_mb: float | None = None
    cuda_max_allocated_mb: float | None = None


@dataclass(frozen=True)
class Flops:
    """GMACs per frame (whole model, by module and, for a prompted method, its shared part and
    its part per prompt with the prompt count) and the parameter count."""

    gmacs_per_frame: float | None = None
    gmacs_per_frame_by_module: Mapping[str, float] | None = None
    params: int | None = None
    gmacs_per_frame_split: Mapping[str, float] | None = None


@dataclass(frozen=True)
class Stream(Part):
    """The live-stream replay (measure/stream.py): latency percentiles and their bounds, the time
    to the first result, frames dropped at the stream's rate (`fps`: that rate)."""

    arrival: str | None = None
    fps: float | None = None
    frames: int | None = None
    videos: int | None = None
    dropped: int | None = None
    first_result_ms: float | None = None
    latency_ms: Mapping[str, float] | None = None
    latency_bound_ms: Mapping[str, float | None] | None = None
    bound_confidence: float | None = None
    frames_for_p99_bound: int | None = None
    replayed_from: str | None = None


@dataclass(frozen=True)
class Energy(Part):
    """Joules of the end-to-end region and per frame, or why the machine could not tell."""

    joules: float | None = None
    joules_per_frame: float | None = None
    source: str | None = None
    region: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Environment(Part):
    """The machine and software the cell ran on."""

    cpu: str | None = None
    cpu_count: int | None = None
    gpu_name: str | None = None
    driver: str | None = None
    threads: int | None = None
    #: how the worker's OpenMP threads waited (OMP_WAIT_POLICY: PASSIVE, ACTIVE or default)
    omp_wait_policy: str | None = None
    torch: str | None = None
    python: str | None = None
    platform: str | None = None
    git_commit: str | None = None

    @property
    def machine(self) -> str | None:
        """The GPU's name, else the CPU's."""
        return self.gpu_name or self.cpu


@dataclass(frozen=True)
class Provenance(Part):
    """The code state (commit, dirty, the diff's sha256), machine and command that made it."""

    commit: str | None = None
    dirty: bool | None = None
    diff_sha256: str | None = None
    machine: Any = None
    command: Any = None


@dataclass(frozen=True)
class CheckpointLoad(Part):
    """How the checkpoint's tensors met the model: loaded, missing, unexpected, mis-shaped."""

    path: str | None = None
    format: str | None = None
    strict: bool | None = None
    loaded: int | None = None
    missing: int | None = None
    unexpected: int | None = None
    mismatched: int | None = None
    partial: bool | None = None


@dataclass(frozen=True)
class Bootstrap(Part):
    """How the metrics' intervals were drawn, and where the replicate values are."""

    replicates: int | None = None
    seed: int | None = None
    confidence: float | None = None
    method: str | None = None
    unit: str | None = None
    seconds: float | None = None
    values_path: str | None = None


@dataclass(frozen=True)
class LabelSpace(Part):
    """The model's label space and how it met the dataset's."""

    model: str | None = None
    mapping: str | None = None
    dropped_predictions: int | None = None
    #: scored on the categories the model names, of the dataset's listed ones (absent: all)
    scored_categories: int | None = None
    dataset_categories: int | None = None


@dataclass(frozen=True)
class Harness(Part):
    """The harness's own time (decoding, stitching, encoding) and its stitching state."""

    #: threads decoding and resizing frames ahead of the model (0: the serial path; absent in
    #: records made before the input workers)
    input_workers: int | None = None
    #: glibc kept freed memory in the process during the pass (the harness's default unless a
    #: method's `reuse_memory` switch was off; absent in records made before it)
    freed_memory_kept: bool | None = None
    #: each window linked on a thread of its own while the next one's model ran, its linking
    #: and post-processing stages beside the model's (absent in records made before it)
    linking_thread: bool | None = None
    overhead_s: float | None = None
    overhead_s_per_frame: float | None = None
    overhead_share: float | None = None
    stitch_state_peak_mb: float | None = None


@dataclass(frozen=True)
class ErrorBreakdown(Part):
    """AP50 and the AP50 each error type would add if fixed alone, with each type's count."""

    ap50: float | None = None
    gains: Mapping[str, float | None] | None = None
    counts: Mapping[str, int] | None = None
