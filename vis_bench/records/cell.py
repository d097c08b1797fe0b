"""The typed record of one sweep cell: what a line of records.jsonl holds, read back as that type.

A record is written as one flat JSON line (the layout external readers know: the cell's identity
and axes, its outcome, its metrics and their bootstrap intervals at the top level, FPS, memory and
FLOPs figures at the top level, and nested objects for the rest). In memory it is a `CellRecord`
whose parts are typed: `speed` (FPS end to end, of the model stage, by the authors' protocol and
of a single clip, the timed rounds' summary with the machine's reference speed and the noisy
verdict, the machine's load with the loaded verdict), `memory`, `flops`, `execution`, the
protocols' declarations, the live stream, energy, the environment, the provenance, the checkpoint
load, the bootstrap. Every report reads attributes of these, never a key of the JSON.

One name for each number: the JSON repeats the end-to-end FPS (`fps_end_to_end`, the timed
rounds' `speed.fps` and `protocols.end_to_end.fps`), and likewise the model stage's, the authors'
and the single clip's FPS, the rounds' FPS range and count and the loaded verdict; the typed view
holds each once (`record.speed.fps_end_to_end`, `record.speed.rounds.fps_range`,
`record.speed.load.loaded`), and `to_json` writes the repeats back from it. A repeat that does not
equal its number (a cell whose protocols left end to end out keeps its rounds' median) stays as
written, among the part's `extra` keys.

`CellRecord.from_json(line)` reads every record vis-bench has written: older records lack fields
(their parts are None, their figures None), and `to_json` gives back the keys the line had, with
the values it had (`written` keeps which top-level fields the line held; a part keeps the keys it
does not name in `extra` and which of its named keys were absent). A record made now writes every
field, as records always have.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vis_bench.records.parts import (
    PROTOCOL_FPS,
    PROTOCOL_RANGE,
    Bootstrap,
    CheckpointLoad,
    Energy,
    Environment,
    ErrorBreakdown,
    Execution,
    Flops,
    Harness,
    Json,
    LabelSpace,
    Load,
    Memory,
    Part,
    ProtocolEntry,
    Provenance,
    Rounds,
    Speed,
    Stream,
    part_json,
    plain_json,
)

#: the top-level keys of a record's JSON line, in the order a record made now writes them (the
#: metrics and their `<metric>_ci` intervals follow); `repeat` only where a report set it
LAYOUT = (
    "key", "run", "config_hash", "dataset", "dataset_label", "method", "method_label", "variant",
    "entry", "twin", "checkpoint", "checkpoint_file", "checkpoint_strict", "checkpoint_source",
    "options", "clip_length", "stride",
    "resolution", "device", "dtype", "isolated", "started", "finished", "status", "notes",
    "error", "traceback", "world_size", "results_path", "num_videos", "num_frames",
    "num_predictions", "metric_dropped", "bootstrap", "video_matches_path", "per_category_ap", "error_breakdown",
    "video_sets", "category_groups", "fps_end_to_end", "fps_model", "fps_authors",
    "fps_single_clip", "speed", "protocols", "stream", "energy", "seconds_end_to_end",
    "gmacs_per_frame", "gmacs_per_frame_by_module", "gmacs_per_frame_split", "params",
    "peak_rss_mb",
    "rss_after_build_mb", "activation_peak_mb", "cuda_max_allocated_mb", "model_options",
    "backbone", "execution", "load", "checkpoint_load", "environment", "provenance",
    "label_space", "video_frames", "prompts", "objects_tracked", "harness", "config",
    "dataset_identity", "timings",
)  # fmt: skip
#: a key written only where set (records of repeated runs, gathered by a report)
REPEAT = "repeat"
#: the top-level keys whose value is a part (JSON key -> its type)
_PARTS: dict[str, type[Part]] = {
    "bootstrap": Bootstrap,
    "error_breakdown": ErrorBreakdown,
    "stream": Stream,
    "energy": Energy,
    "execution": Execution,
    "checkpoint_load": CheckpointLoad,
    "environment": Environment,
    "provenance": Provenance,
    "label_space": LabelSpace,
    "harness": Harness,
}
_MEMORY = tuple(f.name for f in dataclasses.fields(Memory))
_FLOPS = tuple(f.name for f in dataclasses.fields(Flops))
INTERVAL_SUFFIX = "_ci"
#: how a record's note that must be on every page starts (report/warnings.py gathers them)
WARNING = "WARNING:"


@dataclass(frozen=True)
class CellRecord:
    """The typed record of one cell (see the module docstring)."""

    key: str | None = None
    run: str | None = None
    config_hash: str | None = None
    dataset: str | None = None
    dataset_label: str | None = None
    method: str | None = None
    method_label: str | None = None
    #: the released checkpoint the method entry named (`method.variant`), None for a method name
    variant: str | None = None
    #: what tells this cell from a twin with the same method, checkpoint and options (the
    #: entry's label or place, sweep/methods.py `told_apart`); None for a lone entry
    entry: str | None = None
    #: 1 or 2 in a `measure.twins` run (the same cell timed twice, an A/A check)
    twin: int | None = None
    checkpoint: str | None = None
    checkpoint_file: str | None = None
    checkpoint_strict: bool = True
    #: where the checkpoint was found: {"path", "found" (config folder, command line, absolute,
    #: shipped) and, for the shipped weights taken by name, their "sha256"}
    checkpoint_source: Mapping[str, str] | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    clip_length: int | str | None = None
    stride: int | None = None
    resolution: int | None = None
    device: str | None = None
    dtype: str | None = None
    isolated: bool = False
    started: str | None = None
    finished: str | None = None
    status: str = "failed"
    notes: str = ""
    error: str | None = None
    traceback: str | None = None
    world_size: int = 1
    results_path: str | None = None
    num_videos: int | None = None
    num_frames: int | None = None
    num_predictions: int | None = None
    #: predictions the metric dropped or cut when it scored the cell (an unknown category_id, a
    #: frame list or mask size other than the video's): {"predictions": how many, "of": all,
    #: "lines": what and the fix}; None when it scored every prediction as given
    metric_dropped: Mapping[str, Any] | None = None
    #: metric name -> value (fractions; AP, AP50, ..., mAP, AP_occ_light...), top level in JSON
    metrics: Mapping[str, float | None] = field(default_factory=dict)
    #: metric name -> its bootstrap interval [low, high] (the JSON's `<metric>_ci`)
    intervals: Mapping[str, list[float] | None] = field(default_factory=dict)
    bootstrap: Bootstrap | None = None
    video_matches_path: str | None = None
    #: AP per category name (fractions; None where the category has no ground truth)
    per_category_ap: Mapping[str, float | None] | None = None
    #: AP50, and the AP50 each error type would add if fixed alone (`errors` command, TIDE)
    error_breakdown: ErrorBreakdown | None = None
    #: YouTube-VIS 2022 (a `ytvis2022` dataset): each set's statistics and videos, by set
    #: (`S` short, `L` long); the 2022 figures (mAP, mAP_S, ..., AR10_L) are among the metrics
    video_sets: Mapping[str, Mapping[str, Any]] | None = None
    #: every summary line per group of categories (`dataset.category_groups`)
    category_groups: Mapping[str, Mapping[str, float | None]] | None = None
    speed: Speed = field(default_factory=Speed)
    #: per protocol measured: its declaration and what this machine applied of it (its FPS is
    #: `speed`'s); None for a record made before protocols
    protocols: Mapping[str, ProtocolEntry] | None = None
    stream: Stream | None = None
    energy: Energy | None = None
    #: the accuracy pass's own seconds (one pass over every video; not an FPS figure)
    seconds_end_to_end: float | None = None
    flops: Flops = field(default_factory=Flops)
    memory: Memory = field(default_factory=Memory)
    model_options: Mapping[str, Any] | None = None
    backbone: str | None = None
    execution: Execution | None = None
    checkpoint_load: CheckpointLoad | None = None
    environment: Environment | None = None
    provenance: Provenance | None = None
    label_space: LabelSpace | None = None
    #: videos cut to their first N frames (long-video memory runs), None = whole videos
    video_frames: int | None = None
    #: a prompted method's number of prompts (its label space's first categories), None for a
    #: method without; and the objects it tracked per frame: {"mean", "max", "frames"}
    prompts: int | None = None
    objects_tracked: Mapping[str, Any] | None = None
    harness: Harness | None = None
    #: the resolved config of the run, whose hash is `config_hash`
    config: Mapping[str, Any] | None = None
    #: the dataset's identity, as the run folder's run.json holds it
    dataset_identity: Mapping[str, Any] | None = None
    #: seconds per phase of the cell (sweep/phase_clock.py)
    timings: Mapping[str, float] | None = None
    #: which of repeated runs of one config this record is (set by a report that gathers them)
    repeat: int | None = None
    #: top-level keys vis-bench does not name, kept as written
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    #: the LAYOUT keys the record's line held: all for a record made now, fewer for an older one
    written: frozenset[str] = field(default=frozenset(LAYOUT), repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def shown_method(self) -> str:
        """The method as every table names it: with what tells it from a twin, if any."""
        name = str(self.method)
        if self.entry is not None:
            name += f" ({self.entry})"
        space = self.label_space
        if space is not None and space.scored_categories is not None:  # no silent 0 AP
            name += f" [{space.scored_categories} of {space.dataset_categories} categories]"
        return name if self.twin is None else f"{name} twin {self.twin}"

    def has(self, name: str) -> bool:
        """Whether the record's line held the top-level field `name` (an older record lacks
        some; a table shows a column only where some record has it)."""
        return name in self.written

    def metric(self, name: str) -> float | None:
        """A metric's value (fraction), None where not measured."""
        return self.metrics.get(name)

    def interval(self, name: str) -> list[float] | None:
        """A metric's bootstrap interval [low, high] as recorded (None: none)."""
        return self.intervals.get(name)

    @property
    def non_default(self) -> list[str]:
        """What of the cell's execution differed from its method's defaults (e.g. a fast path
        off); such a cell's speed, GMACs and memory are not the default's."""
        return list(self.execution.non_default or []) if self.execution is not None else []

    def setting(self) -> Json:
        """What a published entry is matched on (vis_bench.published.published_match)."""
        return {
            "method": self.method,
            "variant": self.variant,
            "dataset": self.dataset,
            "model_options": self.model_options,
            "options": self.options,
            "clip_length": self.clip_length,
            "stride": self.stride,
            "resolution": self.resolution,
        }

    def with_config(self, config: Mapping[str, Any]) -> CellRecord:
        """The record holding `config` (an older record's, read from its run folder)."""
        return dataclasses.replace(self, config=config, written=self.written | {"config"})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CellRecord:
        """The record of a JSON line (any vis-bench's: absent fields take their defaults)."""
        known = {k: data[k] for k in LAYOUT if k in data and k not in _ELSEWHERE}
        for name, part in _PARTS.items():
            if name in known:
                known[name] = part.from_json(known[name])
        speed = _speed_from_json(data)
        protocols = data.get("protocols")
        if isinstance(protocols, Mapping):
            known["protocols"] = {
                name: _entry_from_json(name, entry, speed) for name, entry in protocols.items()
            }
        metrics, intervals, extra = {}, {}, {}
        for k, v in data.items():
            if k in LAYOUT or k == REPEAT:
                continue
            if k.endswith(INTERVAL_SUFFIX):
                intervals[k[: -len(INTERVAL_SUFFIX)]] = v
            elif v is None or (isinstance(v, int | float) and not isinstance(v, bool)):
                metrics[k] = v
            else:
                extra[k] = v
        return cls(
            **known,
            metrics=metrics,
            intervals=intervals,
            speed=speed,
            flops=Flops(**{k: data.get(k) for k in _FLOPS}),
            memory=Memory(**{k: data.get(k) for k in _MEMORY}),
            repeat=data.get(REPEAT),
            extra=extra,
            written=frozenset(k for k in LAYOUT if k in data),
        )

    def to_json(self) -> Json:
        """The JSON line: every field the record holds (all for a record made now), the
        metrics and their intervals at the top level, each repeated figure written back."""
        out: Json = {}
        for name in LAYOUT:
            if name not in self.written:
                continue
            if name in _MEMORY:
                out[name] = getattr(self.memory, name)
            elif name in _FLOPS:
                out[name] = getattr(self.flops, name)
            elif name in _DERIVED:
                out[name] = self._derived_json(name)
            else:
                value = getattr(self, name)
                out[name] = plain_json(value) if isinstance(value, Part) else _copy(value)
        if self.repeat is not None:
            out[REPEAT] = self.repeat
        out.update(self.metrics)
        out.update({f"{k}{INTERVAL_SUFFIX}": v for k, v in self.intervals.items()})
        out.update(self.extra)
        return out

    def _derived_json(self, name: str) -> Any:
        speed = self.speed
        if name in PROTOCOL_FPS.values():
            return getattr(speed, name)
        if name == "load":
            return part_json(speed.load)
        if name == "speed":
            return _rounds_json(speed)
        if self.protocols is None:  # "protocols"
            return None
        return {name: _entry_json(name, e, speed) for name, e in self.protocols.items()}


def _copy(value: Any) -> Any:
    """A mapping field as a plain dict (JSON data), other values as they are."""
    return dict(value) if isinstance(value, Mapping) else value


#: top-level keys read into `speed` (or rebuilt from it): the FPS, the rounds, the load
_DERIVED = frozenset({*PROTOCOL_FPS.values(), "speed", "load", "protocols"})
#: top-level keys that are no attribute of the record itself (its speed's, memory's, FLOPs')
_ELSEWHERE = _DERIVED | set(_MEMORY) | set(_FLOPS)


def _speed_from_json(data: Mapping[str, Any]) -> Speed:
    """The record's speed: its FPS figures, the rounds without the repeats of those figures."""
    fps = {attr: data.get(attr) for attr in PROTOCOL_FPS.values()}
    load = Load.from_json(data.get("load"))
    rounds = data.get("speed")
    if isinstance(rounds, Mapping):
        repeats = {
            "fps": fps["fps_end_to_end"],
            "fps_model": fps["fps_model"],
            "loaded": load.loaded if load is not None else None,
        }
        rounds = {k: v for k, v in rounds.items() if k not in repeats or v != repeats[k]}
    return Speed(**fps, rounds=Rounds.from_json(rounds), load=load)


def _rounds_json(speed: Speed) -> Json | None:
    if speed.rounds is None:
        return None
    out = speed.rounds.to_json()
    repeats = {
        "fps": speed.fps_end_to_end,
        "fps_model": speed.fps_model,
        "loaded": speed.load.loaded if speed.load is not None else None,
    }
    return {**{k: v for k, v in repeats.items() if k not in out}, **out}


def _entry_repeats(name: str, speed: Speed) -> Json:
    """What a protocol entry repeats of the record's speed: its FPS, and for the protocols the
    rounds time, the FPS range and the rounds."""
    repeats: Json = {"fps": speed.fps(name)}
    if speed.rounds is not None and name in PROTOCOL_RANGE:
        repeats["range"] = getattr(speed.rounds, PROTOCOL_RANGE[name])
        repeats["rounds"] = speed.rounds.rounds_timed
    return repeats


def _entry_from_json(name: str, entry: Any, speed: Speed) -> ProtocolEntry | None:
    if not isinstance(entry, Mapping):
        return None
    repeats = _entry_repeats(name, speed)
    return ProtocolEntry.from_json(
        {k: v for k, v in entry.items() if k not in repeats or v != repeats[k]}
    )


def _entry_json(name: str, entry: ProtocolEntry | None, speed: Speed) -> Json | None:
    if entry is None:
        return None
    out = entry.to_json()
    return {**{k: v for k, v in _entry_repeats(name, speed).items() if k not in out}, **out}
