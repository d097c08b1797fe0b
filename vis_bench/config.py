"""Benchmark configuration: YAML -> typed dataclasses, with errors that name the key and the file.

A config is data (lm-evaluation-harness style): which dataset, which methods, which sweep axes,
what to measure, where to write. Unknown keys and wrong types are errors, never silently ignored,
because a typo in a sweep axis would otherwise produce a plausible but wrong table.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vis_bench.errors import InputError

DATASET_KINDS = ("synthetic", "ytvis2019", "ytvis2021", "ovis")
DTYPES = ("fp32", "fp16", "bf16")


@dataclass
class DatasetConfig:
    """Where videos come from: the project's synthetic set, or a real dataset given by path."""

    kind: str = "synthetic"
    #: real datasets: the annotation JSON and the folder holding `file_names`
    annotations: str | None = None
    frames: str | None = None
    #: keep only the first N videos (None: all); handy for quick sweeps on real data
    max_videos: int | None = None
    #: synthetic data: generator options, cached under `cache_dir` keyed by their hash
    videos: int = 6
    seed: int = 0
    min_frames: int = 8
    max_frames: int = 14
    #: share of the synthetic tracks that enter or leave the frame (the generator's default)
    enter_leave: float = 0.6
    cache_dir: str = ".cache/vis_bench"


@dataclass
class MethodConfig:
    """One method of the sweep: registry name, optional checkpoint, the method's own options."""

    name: str
    checkpoint: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    #: free text carried into tables, e.g. "random weights"
    label: str | None = None


@dataclass
class SweepConfig:
    """Axes of the sweep; every combination is one cell."""

    #: frames per clip; "all" = the whole video in one clip (offline inference)
    clip_length: list[int | str] = field(default_factory=lambda: ["all"])
    #: frames between clip starts; None = ceil(T / 2) (half-overlapping clips)
    stride: list[int | None] = field(default_factory=lambda: [None])
    #: explicit (T, S) pairs; when given it replaces the clip_length x stride product
    clip_schedule: list[list[int]] | None = None
    #: test-time shorter side in pixels; None = the method's own default
    resolution: list[int | None] = field(default_factory=lambda: [None])
    device: list[str] = field(default_factory=lambda: ["cpu"])
    dtype: list[str] = field(default_factory=lambda: ["fp32"])


@dataclass
class MeasureConfig:
    """Which measurements to take and how (warm-up and repeats apply to model-only timing)."""

    ap: bool = True
    fps: bool = True
    flops: bool = True
    memory: bool = True
    warmup: int = 1
    repeats: int = 3
    threads: int | None = None


@dataclass
class BenchConfig:
    """A whole benchmark run."""

    name: str
    dataset: DatasetConfig
    methods: list[MethodConfig]
    sweep: SweepConfig = field(default_factory=SweepConfig)
    measure: MeasureConfig = field(default_factory=MeasureConfig)
    output: str = "results/runs"
    notes: str = ""
    #: where it was read from (for error messages and provenance); not a YAML key
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("source")
        return data

    def config_hash(self) -> str:
        """Stable short hash of everything that defines the run (not where it was read from)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


_SECTION_TYPES = {
    "dataset": DatasetConfig,
    "sweep": SweepConfig,
    "measure": MeasureConfig,
}


def _type_ok(value: Any, annotation: str) -> bool:
    """Check a YAML value against a dataclass field annotation written as a string."""
    if value is None:
        return "None" in annotation
    checks = {
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "str": lambda v: isinstance(v, str),
        "bool": lambda v: isinstance(v, bool),
        "dict": lambda v: isinstance(v, dict),
    }
    alternatives = [part.split("[")[0].strip() for part in annotation.split("|")]
    if "list" in alternatives:
        return isinstance(value, list)
    return any(checks.get(alt, lambda v: False)(value) for alt in alternatives)


def build_section(cls: type, data: Any, where: str, source: str) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping, got {type(data).__name__}", path=source, field=where)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "source"}
    for key in data:
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise InputError(
                f"unknown key; known keys here: {known}", path=source, field=f"{where}.{key}"
            )
    kwargs = {}
    for name, f in fields.items():
        if name not in data:
            continue
        value = data[name]
        if not _type_ok(value, str(f.type)):
            raise InputError(
                f"expected {f.type}, got {value!r} ({type(value).__name__})",
                path=source,
                field=f"{where}.{name}",
            )
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise InputError(str(err), path=source, field=where) from err


def _check_axes(sweep: SweepConfig, source: str) -> None:
    for axis in ("clip_length", "stride", "resolution", "device", "dtype"):
        values = getattr(sweep, axis)
        if not values:
            raise InputError("needs at least one value", path=source, field=f"sweep.{axis}")
    for value in sweep.clip_length:
        if not (value == "all" or (isinstance(value, int) and value > 0)):
            raise InputError(
                f"{value!r} is not a positive integer or 'all'",
                path=source,
                field="sweep.clip_length",
            )
    for value in sweep.stride:
        if value is not None and not (isinstance(value, int) and value > 0):
            raise InputError(
                f"{value!r} is not a positive integer or null", path=source, field="sweep.stride"
            )
    for pair in sweep.clip_schedule or []:
        if not (
            isinstance(pair, list)
            and len(pair) == 2
            and all(isinstance(v, int) and v > 0 for v in pair)
            and pair[1] <= pair[0]
        ):
            raise InputError(
                f"{pair!r} is not a [T, S] pair of positive integers with S <= T",
                path=source,
                field="sweep.clip_schedule",
            )
    for value in sweep.resolution:
        if value is not None and not (isinstance(value, int) and value >= 32):
            raise InputError(
                f"{value!r} is not a shorter side in pixels (>= 32) or null",
                path=source,
                field="sweep.resolution",
            )
    for value in sweep.dtype:
        if value not in DTYPES:
            raise InputError(f"{value!r} is not one of {DTYPES}", path=source, field="sweep.dtype")
    for value in sweep.device:
        if not isinstance(value, str) or not (value == "cpu" or value.startswith("cuda")):
            raise InputError(
                f"{value!r} is not 'cpu' or 'cuda[:N]'", path=source, field="sweep.device"
            )


def _check_dataset(dataset: DatasetConfig, source: str, base: Path) -> None:
    if dataset.kind not in DATASET_KINDS:
        raise InputError(
            f"{dataset.kind!r} is not one of {DATASET_KINDS}", path=source, field="dataset.kind"
        )
    if dataset.kind == "synthetic":
        return
    for key in ("annotations", "frames"):
        value = getattr(dataset, key)
        if value is None:
            raise InputError(
                f"a {dataset.kind} dataset needs its path; set it in the file or with "
                f"--set dataset.{key}=PATH",
                path=source,
                field=f"dataset.{key}",
            )


def parse_config(data: Any, source: str = "<config>") -> BenchConfig:
    """Validate a parsed YAML document and turn it into a BenchConfig."""
    if not isinstance(data, dict):
        raise InputError("the config must be a YAML mapping", path=source)
    top = {"name", "dataset", "methods", "sweep", "measure", "output", "notes"}
    for key in data:
        if key not in top:
            raise InputError(
                f"unknown key; known top-level keys: {', '.join(sorted(top))}",
                path=source,
                field=key,
            )
    if "methods" not in data or not data["methods"]:
        raise InputError("at least one method is needed", path=source, field="methods")
    if data["methods"] == "all":
        from vis_bench.registry import available_methods

        data = {**data, "methods": available_methods()}
    if not isinstance(data["methods"], list):
        raise InputError("expected a list of methods", path=source, field="methods")
    methods = []
    for i, item in enumerate(data["methods"]):
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or "name" not in item:
            raise InputError(
                "each method needs at least a `name`", path=source, field=f"methods[{i}]"
            )
        methods.append(build_section(MethodConfig, item, f"methods[{i}]", source))
    sections = {
        key: build_section(cls, data.get(key), key, source) for key, cls in _SECTION_TYPES.items()
    }
    name = data.get("name", Path(source).stem)
    output = data.get("output", "results/runs")
    notes = data.get("notes", "")
    for key, value in (("name", name), ("output", output), ("notes", notes)):
        if not isinstance(value, str):
            raise InputError(f"expected a string, got {value!r}", path=source, field=key)
    config = BenchConfig(
        name=name,
        methods=methods,
        output=output,
        notes=notes,
        source=source,
        **sections,
    )
    _check_axes(config.sweep, source)
    _check_dataset(config.dataset, source, Path(source).parent)
    return config


def apply_overrides(data: dict[str, Any], overrides: list[str], source: str) -> dict[str, Any]:
    """Apply `key.sub=value` overrides (value parsed as YAML) to a raw config mapping."""
    for item in overrides:
        if "=" not in item:
            raise InputError(f"override {item!r} is not of the form key=value", field="--set")
        key, raw = item.split("=", 1)
        value = yaml.safe_load(raw)
        parts = key.strip().split(".")
        node = data
        for part in parts[:-1]:
            if part.isdigit() and isinstance(node, list):
                node = node[int(part)]
                continue
            node = node.setdefault(part, {})
            if not isinstance(node, dict | list):
                raise InputError(f"cannot set {key!r}: {part!r} is not a mapping", field="--set")
        last = parts[-1]
        if isinstance(node, list) and last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value
    return data


def read_yaml_config(
    path: str | Path, overrides: list[str] | None = None, kind: str = "config"
) -> dict[str, Any]:
    """A YAML config file as a mapping with `--set` overrides applied; a missing file or bad
    YAML is an InputError naming the file (`kind` says which config, e.g. "training config")."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{kind} file not found", path=str(path))
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise InputError(f"not valid YAML: {err}", path=str(path)) from err
    return apply_overrides(data or {}, overrides or [], str(path))


def load_config(path: str | Path, overrides: list[str] | None = None) -> BenchConfig:
    """Read, override and validate a YAML config file."""
    return parse_config(read_yaml_config(path, overrides), str(path))
