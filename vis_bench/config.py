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

from vis_bench.api.options import build_dataclass, unknown_key_message
from vis_bench.config_measure import MeasureConfig, check_measure
from vis_bench.config_overrides import (
    Origin,
    apply_overrides,
    expand_method_shorthand,
    keep_named_entry,
    override_origins,
    read_yaml_config,
    rebased,
)
from vis_bench.config_sweep import SweepConfig, check_method_clip_lengths
from vis_bench.errors import InputError
from vis_bench.eval.benchmarks import KINDS, YTVIS_READER

#: synthetic: generated on first use from the config's options; synth: a folder written by
#: `run_bench.py synth` (given by path, like the real datasets that follow); then every declared
#: kind in YouTube-VIS layout (eval/benchmarks.py: ytvis2019, ytvis2021, ytvis2022, scored on its
#: short and long sets apart (`short_videos`, `long_videos`), ovis, lvvis) and every declared
#: kind of its own layout that says which videos a model runs on (burst), each read and scored
#: as its declaration says; `custom`: a YouTube-VIS-layout dataset of one's own (e.g.
#: `import-vos`'s folder)
DATASET_KINDS = (
    "synthetic",
    "synth",
    *(kind.name for kind in KINDS if kind.reader == YTVIS_READER or kind.videos is not None),
    "custom",
)
#: dataset keys left out of the resolved config (and its hash) while unset, so configs that do
#: not use them keep the hash they had before the keys existed
OPTIONAL_DATASET_KEYS = (
    "short_videos", "long_videos", "category_groups", "novel_categories", "vocabulary",
    "score_threshold", "remove_overlap",
)  # fmt: skip
#: dataset keys every kind takes
COMMON_DATASET_KEYS = ("kind", "max_videos", "cache_dir", "category_groups", "vocabulary")
#: the synthetic generator's options: only `synthetic` takes them
GENERATOR_KEYS = (
    "videos", "seed", "min_frames", "max_frames", "enter_leave", "occlusion", "sizes", "long_video",
    "novel_categories",
)  # fmt: skip
#: the files of a dataset given by path: every kind but `synthetic` takes them
FILE_KEYS = ("annotations", "frames", "split", "split_part")
#: YouTube-VIS 2022's short and long sets: only `ytvis2022` takes them
VIDEO_SET_KEYS = ("short_videos", "long_videos")
#: how a model's YouTube-VIS-format results become BURST predictions (`eval --score-threshold`,
#: `--remove-overlap`): only `burst` takes them
CONVERSION_KEYS = ("score_threshold", "remove_overlap")


@dataclass
class DatasetConfig:
    """Where videos come from: the project's synthetic set, a folder `synth` wrote, or a real
    dataset given by path."""

    kind: str = "synthetic"
    #: real datasets: the annotation JSON and the folder holding `file_names` (`annotations` may
    #: name `import-vos`'s output folder: its annotations.json, and frames/ unless `frames` is set)
    annotations: str | None = None
    frames: str | None = None
    #: real datasets, instead of `annotations`: a split manifest written by `run_bench.py split`
    #: (the file or its folder); `split_part` names the part to run on. Both files are checked
    #: against the manifest's sha256 when the config is loaded.
    split: str | None = None
    split_part: str = "holdout"
    #: keep only the first N videos (None: all); handy for quick sweeps on real data
    max_videos: int | None = None
    #: synthetic data: generator options, cached under `cache_dir` keyed by their hash
    videos: int = 6
    seed: int = 0
    min_frames: int = 8
    max_frames: int = 14
    #: share of the synthetic tracks that enter or leave the frame (the generator's default)
    enter_leave: float = 0.6
    #: synthetic data with OVIS occlusion labels: the share of tracks another object crosses
    #: in front of (null: no labels, YouTube-VIS layout)
    occlusion: float | None = None
    cache_dir: str = ".cache/vis_bench"
    #: synthetic data: frame sizes "HxW" drawn from per video (null: the generator's small mix)
    sizes: list[str] | None = None
    #: synthetic data: objects enter, leave and re-enter over long videos (synthetic_long.py)
    long_video: bool = False
    #: synthetic data in the LV-VIS layout: the last N categories novel, the rest base (null: no
    #: `partition`); cells are then scored with the LV-VIS metric (base and novel numbers)
    novel_categories: int | None = None
    #: ytvis2022: the short and the long set, each its ground-truth file (gt_short.json,
    #: gt_long.json) or a list of video ids; cells get the 2022 scoring's figures (mAP, AP_S, AP_L)
    short_videos: str | list[int] | None = None
    long_videos: str | list[int] | None = None
    #: every AP/AR line per group of categories: a JSON file or mapping (group -> category ids),
    #: or a field of the ground truth's categories (LV-VIS: partition)
    category_groups: str | dict[str, list[int]] | None = None
    #: a model mapped by name that names only part of the dataset's categories is scored on
    #: those (`named`, the default: its figures say so, `[k of n categories]`) or on all
    #: (`whole`: every category it cannot name counts as missed)
    vocabulary: str | None = None
    #: burst: results scoring <= T are dropped, and per video higher-scoring masks are painted
    #: over lower ones, before the BURST metric (null: neither, as `eval --metric burst`)
    score_threshold: float | None = None
    remove_overlap: bool | None = None


@dataclass
class MethodConfig:
    """One method of the sweep: registry name, optional checkpoint, the method's own options."""

    name: str
    checkpoint: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    #: false: load what fits a checkpoint that does not match the model (the record says so)
    checkpoint_strict: bool = True
    #: the label space the model was trained on (ytvis2019, ytvis2021, ovis, synthetic); when
    #: given, it is checked against the dataset's categories before any cell runs
    label_space: str | None = None
    #: "strict": the spaces must be the same; "by_name": map model classes to the dataset's
    #: classes of the same name (or `category_aliases`), dropping the rest, and say so
    category_map: str = "strict"
    category_aliases: dict[str, str] = field(default_factory=dict)

    def check(self, where: str, source: str) -> None:
        if self.category_map not in ("strict", "by_name"):
            raise InputError(
                f"{self.category_map!r} is not 'strict' or 'by_name'",
                path=source,
                field=f"{where}.category_map",
            )

    #: free text carried into tables, e.g. "random weights"
    label: str | None = None
    #: this method's clip lengths, some of `sweep.clip_length` (null: all of them); e.g. [all]
    #: for a method whose tracks do not depend on the clip schedule, to skip cells that would
    #: repeat its AP
    clip_length: list[int | str] | None = None


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
    #: fields the command line gave (or took from another place of the file): field -> where
    #: the user wrote it, for error messages (`rebased`); not a YAML key
    origins: dict[str, Origin] = field(default_factory=dict)
    #: what loading it left out of the file, for the command to say (not a YAML key)
    load_notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for key in ("source", "origins", "load_notes"):
            data.pop(key)
        for key in OPTIONAL_DATASET_KEYS:
            if data["dataset"][key] is None:
                del data["dataset"][key]
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


def _check_split(dataset: DatasetConfig, source: str) -> None:
    """A dataset named by a split manifest: a real kind, no second annotation file, and a
    part whose file matches the manifest."""
    from vis_bench.data.holdout import PARTS, resolve_split

    if dataset.kind == "synthetic":
        raise InputError(
            "a split manifest names part of a real dataset; set dataset.kind to the dataset it "
            "was made from (e.g. ytvis2019)",
            path=source,
            field="dataset.split",
        )
    if dataset.annotations is not None:
        raise InputError(
            "give either dataset.annotations or dataset.split (whose manifest names the "
            "annotation file), not both",
            path=source,
            field="dataset.annotations",
        )
    if dataset.split_part not in PARTS:
        raise InputError(
            f"must be one of {PARTS}, got {dataset.split_part!r}",
            path=source,
            field="dataset.split_part",
        )
    try:
        resolve_split(dataset.split, dataset.split_part)
    except InputError as err:
        raise InputError(
            f"{err} (a split and its manifest are written by `run_bench.py split`)",
            path=source,
            field="dataset.split",
        ) from None


def _check_video_sets(dataset: DatasetConfig, source: str) -> None:
    """YouTube-VIS 2022 needs both sets; no other kind takes them."""
    for key in ("short_videos", "long_videos"):
        given = getattr(dataset, key) is not None
        if given != (dataset.kind == "ytvis2022"):
            raise InputError(
                "YouTube-VIS 2022 is scored on its short and long sets: give both (a set's "
                "ground-truth file, e.g. gt_short.json, or a list of video ids)"
                if not given
                else "only a ytvis2022 dataset is scored on short and long sets; set "
                "dataset.kind: ytvis2022 or drop the key",
                path=source,
                field=f"dataset.{key}",
            )


def _resolve_imported_folder(dataset: DatasetConfig, source: str) -> None:
    """`annotations` naming `import-vos`'s output folder: its annotations.json, and its frames/
    unless `frames` names another folder."""
    if dataset.annotations is None or not Path(dataset.annotations).is_dir():
        return
    from vis_bench.data.vos_import import ANNOTATIONS_FILE, OUTPUT_FRAMES_DIR

    folder = Path(dataset.annotations)
    if not (folder / ANNOTATIONS_FILE).is_file():
        raise InputError(
            f"a folder, but without {ANNOTATIONS_FILE}; name the annotation file, or the folder "
            "import-vos wrote",
            path=source,
            field="dataset.annotations",
        )
    dataset.annotations = str(folder / ANNOTATIONS_FILE)
    if dataset.frames is None:
        dataset.frames = str(folder / OUTPUT_FRAMES_DIR)


def dataset_keys(kind: str) -> tuple[str, ...]:
    """The dataset keys a kind uses; any other is refused as an unknown key is."""
    if kind == "synthetic":
        return COMMON_DATASET_KEYS + GENERATOR_KEYS
    sets = VIDEO_SET_KEYS if kind == "ytvis2022" else ()
    conversion = CONVERSION_KEYS if kind == "burst" else ()
    return COMMON_DATASET_KEYS + FILE_KEYS + sets + conversion


def _check_kind_keys(given: Any, kind: str, source: str) -> None:
    """A key the dataset's kind does not use (`videos:` under a `synth` dataset) is an error:
    ignoring it would run another sweep than the file describes. Null (unset) passes, and so
    does a key at its default in a resolved config, which lists every key (a run folder's
    configs/<hash>.yaml)."""
    if not isinstance(given, dict) or kind not in DATASET_KINDS:
        return
    used = dataset_keys(kind)
    defaults = {f.name: f.default for f in dataclasses.fields(DatasetConfig)}
    resolved = set(defaults) - set(OPTIONAL_DATASET_KEYS) <= set(given)
    for key, value in given.items():
        if key in used or key not in defaults or value is None:
            continue
        if resolved and value == defaults[key]:
            continue
        if key in GENERATOR_KEYS:
            fewer = (
                " (to run only the first N videos, use dataset.max_videos: N)"
                if key == "videos"
                else ""
            )
            why = (
                f"only synthetic data has generator options; a {kind} dataset takes its videos "
                f"as they are: drop dataset.{key}{fewer}"
            )
        elif key in VIDEO_SET_KEYS:
            why = (
                "only a ytvis2022 dataset is scored on short and long sets; set "
                "dataset.kind: ytvis2022 or drop the key"
            )
        elif key in CONVERSION_KEYS:
            why = (
                "only a burst dataset converts a model's results to BURST predictions; set "
                "dataset.kind: burst or drop the key"
            )
        else:
            why = (
                f"a {kind} dataset is generated from its generator options and reads no files; "
                f"`{key}` names files of a real dataset: drop the key, or set dataset.kind to the "
                f"dataset they are ({', '.join(k for k in DATASET_KINDS if k != 'synthetic')})"
            )
        raise InputError(why, path=source, field=f"dataset.{key}")


def _resolve_dataset_paths(
    dataset: DatasetConfig, source: str, origins: dict[str, Origin] | None
) -> None:
    """The dataset's input files as the run reads them: a config file's relative paths joined
    to its folder, so the config means the same files from any working directory (the command
    line's paths stay relative to the working directory). `cache_dir` is where outputs go and
    stays relative to the working directory."""
    from vis_bench.config_paths import config_relative
    from vis_bench.shipped import resolve

    if not resolve(source).is_file():
        return  # a config built in code: no file whose folder would anchor it
    for key in ("annotations", "frames", "split", "short_videos", "long_videos"):
        value = getattr(dataset, key)
        if isinstance(value, str) and not value.lstrip().startswith("["):
            setattr(dataset, key, config_relative(value, f"dataset.{key}", source, origins))
    groups = dataset.category_groups
    if isinstance(groups, str):  # a file, or the name of a field of the categories
        path = config_relative(groups, "dataset.category_groups", source, origins)
        if Path(path).exists() or groups.lower().endswith(".json"):
            dataset.category_groups = path


#: the dataset's fields that may name files or folders (a list of video ids is no path)
DATASET_PATH_KEYS = (
    "annotations", "frames", "split", "short_videos", "long_videos", "category_groups", "cache_dir",
)  # fmt: skip


def _expand_paths(config: BenchConfig, source: str) -> None:
    """`~` and environment variables in every path the config names (config_paths.expand_path),
    before relative paths are read from the config's folder."""
    from vis_bench.config_paths import expand_fields

    expand_fields(config.dataset, DATASET_PATH_KEYS, "dataset", source)
    expand_fields(config, ("output",), "", source)
    for i, method in enumerate(config.methods):
        expand_fields(method, ("checkpoint",), f"methods[{i}]", source)


def _check_max_videos(value: Any, source: str) -> None:
    """`max_videos` keeps the first N videos in file order: N must be a positive integer (0 and
    negative numbers used to mean "all" and "all but the last N", silently)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(
            f"must be a positive number of videos (the first N in file order) or null for all, "
            f"got {value!r}; e.g. dataset.max_videos: 3",
            path=source,
            field="dataset.max_videos",
        )


def _check_dataset(dataset: DatasetConfig, source: str, base: Path) -> None:
    if dataset.kind not in DATASET_KINDS:
        raise InputError(
            f"{dataset.kind!r} is not one of {DATASET_KINDS}", path=source, field="dataset.kind"
        )
    _check_max_videos(dataset.max_videos, source)
    if dataset.vocabulary not in (None, "named", "whole"):
        raise InputError(
            f"must be named (score a model on the categories it names) or whole, got "
            f"{dataset.vocabulary!r}",
            path=source,
            field="dataset.vocabulary",
        )
    _check_video_sets(dataset, source)
    _resolve_imported_folder(dataset, source)
    if dataset.occlusion is not None and not 0.0 <= dataset.occlusion <= 1.0:
        raise InputError(
            f"must be a share in 0..1 or null, got {dataset.occlusion}",
            path=source,
            field="dataset.occlusion",
        )
    if dataset.split is not None:
        _check_split(dataset, source)
    elif dataset.split_part != DatasetConfig.split_part:
        raise InputError(
            "names a part of a split manifest, but no dataset.split is given: give the "
            "manifest (dataset.split) or drop the key",
            path=source,
            field="dataset.split_part",
        )
    if dataset.kind == "synthetic":
        return
    if dataset.sizes is not None or dataset.long_video:
        key = "sizes" if dataset.sizes is not None else "long_video"
        raise InputError(
            f"only synthetic data has generator options; a {dataset.kind} dataset takes its "
            "videos as they are",
            path=source,
            field=f"dataset.{key}",
        )
    for key in ("frames",) if dataset.split is not None else ("annotations", "frames"):
        value = getattr(dataset, key)
        if value is None:
            raise InputError(
                f"a {dataset.kind} dataset needs its path; set it in the file or with "
                f"--set dataset.{key}=PATH",
                path=source,
                field=f"dataset.{key}",
            )


#: the keys a config file's top level takes
TOP_KEYS = ("name", "dataset", "methods", "sweep", "measure", "output", "notes")


def _check_top_keys(data: dict[str, Any], source: str) -> None:
    """An unknown top-level key is an error; a mapping under one may be meant to hold a YAML
    anchor, which a key starting with x- holds (config_overrides.ANCHORS_PREFIX)."""
    for key in data:
        if key in TOP_KEYS:
            continue
        message = unknown_key_message(key, sorted(TOP_KEYS), "known top-level keys")
        if isinstance(data[key], dict | list) and "did you mean" not in message:
            message += (
                " (a mapping kept for its YAML anchor goes under a key starting with x-, e.g. "
                f"x-{key}, which is no setting)"
            )
        raise InputError(message, path=source, field=key)


def parse_config(
    data: Any,
    source: str = "<config>",
    *,
    resolved: bool = False,
    origins: dict[str, Origin] | None = None,
) -> BenchConfig:
    """Validate a parsed YAML document and turn it into a BenchConfig.

    The dataset's relative paths are read from the folder of the file `source` (config_paths),
    except those the command line gave (`origins`). `resolved`: the config a record carries
    (`BenchConfig.to_dict()`: paths already resolved, every dataset key, the ones its kind does
    not use at their defaults), not a file a user wrote."""
    if not isinstance(data, dict):
        raise InputError("the config must be a YAML mapping", path=source)
    _check_top_keys(data, source)
    if "methods" not in data or not data["methods"]:
        raise InputError("at least one method is needed", path=source, field="methods")
    if data["methods"] == "all":
        from vis_bench.api.registration import available_methods

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
        methods.append(build_dataclass(MethodConfig, item, f"methods[{i}]", source))
    sections = {
        key: build_dataclass(cls, data.get(key), key, source) for key, cls in _SECTION_TYPES.items()
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
    if not resolved:
        _expand_paths(config, source)
        raw = data.get("dataset")
        _check_kind_keys(raw, raw.get("kind", "synthetic") if isinstance(raw, dict) else "", source)
        _resolve_dataset_paths(config.dataset, source, origins)
    elif origins is None:
        config.origins = stored_checkpoint_origins(config.methods)
    _check_dataset(config.dataset, source, Path(source).parent)
    given = data.get("measure") if not resolved else None
    check_measure(config.measure, source, given if isinstance(given, dict) else ())
    check_method_clip_lengths([m.clip_length for m in config.methods], config.sweep, source)
    if config.measure.ap and any(n is not None for n in config.sweep.video_frames):
        raise InputError(
            "cut videos cannot be scored against their whole ground truth; set measure.ap: "
            "false (memory and speed against video length need no AP)",
            path=source,
            field="sweep.video_frames",
        )
    return config


def stored_checkpoint_origins(methods: list[MethodConfig]) -> dict[str, Origin]:
    """A config a record or baseline carries names its checkpoints as the run that wrote it
    read them: from the working directory, the shipped weights by their repository paths (as
    the command line does), not from the folder of the JSON file that now holds it."""
    return {
        f"methods[{i}].checkpoint": Origin(None, f"methods[{i}].checkpoint")
        for i, entry in enumerate(methods)
        if entry.checkpoint
    }


def load_config(
    path: str | Path, overrides: list[str] | None = None, checkpoint: str | None = None
) -> BenchConfig:
    """Read, override and validate a YAML config file, for running it on this machine.

    `checkpoint` is the file of the config's one method (`run --checkpoint FILE`). An error in
    a field the command line gave names the flag, not the resolved config (`rebased`)."""
    source = str(path)
    data = read_yaml_config(path)
    overrides, origins, notes = keep_named_entry(data, list(overrides or []), source, checkpoint)
    data = apply_overrides(data, expand_method_shorthand(overrides), source)
    origins.update(override_origins(overrides))
    if checkpoint is not None:
        origins["methods[0].checkpoint"] = Origin(None, "--checkpoint")
        methods = data.get("methods")
        if not isinstance(methods, list) or len(methods) != 1:
            raise InputError(
                "--checkpoint gives the file of a single method, but the config lists "
                f"{len(methods) if isinstance(methods, list) else 'all'} methods: add "
                "--set method=NAME, or set one entry's file with --set methods.N.checkpoint=FILE",
                path=str(path),
                field="--checkpoint",
            )
        entry = methods[0] if isinstance(methods[0], dict) else {"name": methods[0]}
        methods[0] = {**entry, "checkpoint": checkpoint}
    try:
        config = parse_config(data, source, origins=origins)
        check_devices_available(config.sweep.device, source)
    except InputError as err:
        raise rebased(err, origins) from None
    config.origins = origins
    config.load_notes = notes
    return config


def check_devices_available(devices: list[str], source: str) -> None:
    """A CUDA device this PyTorch build or machine lacks fails here, not in every cell. (Only a
    config about to run is checked: records made on a GPU machine still read anywhere.)"""
    wanted = [d for d in devices if d.startswith("cuda")]
    if not wanted:
        return
    import torch

    if not torch.cuda.is_available():
        why = (
            "this PyTorch build has no CUDA support"
            if torch.version.cuda is None
            else "no CUDA device is visible"
        )
        raise InputError(
            f"{wanted[0]!r} cannot run here: {why} (torch {torch.__version__}); use "
            "--set sweep.device=[cpu], or run on a machine with a GPU and a CUDA build",
            path=source,
            field="sweep.device",
        )
    count = torch.cuda.device_count()
    for device in wanted:
        index = int(device.split(":", 1)[1]) if ":" in device else 0
        if index >= count:
            raise InputError(
                f"{device!r} does not exist: this machine has {count} CUDA device(s), "
                f"cuda:0..cuda:{count - 1}",
                path=source,
                field="sweep.device",
            )
