"""Training configuration: YAML -> typed dataclasses, with errors naming the key and the file.

Anything left at null takes the method's published recipe (`MethodPlugin.training_recipe`), so
a config states only where it departs from the authors; the tiny configs say why they do.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vis_bench.api.options import build_dataclass
from vis_bench.config import DatasetConfig
from vis_bench.config_overrides import read_yaml_config
from vis_bench.errors import InputError
from vis_bench.formats.checkpoints import is_checkpoint_location, resolve_checkpoint


@dataclass
class ClipConfig:
    """How training clips are cut and augmented (the whole clip shares one flip and scale)."""

    frames: int = 5
    #: the first `image_stage` fraction of the steps trains on one-frame clips (images), for a
    #: method whose authors train on still images beside the videos; the rest on `frames`-frame
    #: clips
    image_stage: float = 0.0
    #: this fraction of the steps, spread evenly over the whole run, trains on one-frame clips:
    #: a joint training that draws COCO images and video clips side by side from start to end
    #: (a concatenated dataset), rather than images first
    image_mix: float = 0.0
    #: shorter side drawn per clip from these (pixels); the longer side is capped at max_size
    scales: list[int] = field(default_factory=lambda: [128])
    max_size: int | None = None
    flip: bool = True
    #: colour channels permuted and inverted at random per clip (`clips.recoloured`)
    recolour: bool = False


@dataclass
class OptimConfig:
    """AdamW with a step schedule; null fields take the method's recipe."""

    iterations: int = 1000
    #: clips per optimiser step (gradients accumulated clip by clip)
    batch_clips: int = 1
    lr: float | None = None
    backbone_lr_mult: float | None = None
    weight_decay: float | None = None
    clip_max_norm: float | None = None
    #: fractions of `iterations` where the rate is multiplied by the recipe's drop factor
    lr_drops: list[float] | None = None
    warmup_iters: int | None = None
    #: the two-stage warm-up's second stage (the backbone's), in steps
    backbone_warmup_iters: int | None = None
    #: layer-wise rate decay of a ViT's blocks (1: none)
    layer_decay: float | None = None


@dataclass
class TrainConfig:
    """One training run of one method."""

    name: str
    method: str
    dataset: DatasetConfig
    options: dict[str, Any] = field(default_factory=dict)
    clip: ClipConfig = field(default_factory=ClipConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    seed: int = 0
    threads: int | None = None
    #: start from these weights (any format the method loads)
    init_checkpoint: str | None = None
    #: start the backbone from these weights (`pretrain` output), as ImageNet weights are used
    backbone_init: str | None = None
    #: the trained weights (project format)
    output: str = "results/checkpoints/model.pth"
    #: store the output weights as float16 (the shipped tiny models)
    half_weights: bool = False
    #: store only the weights that differ from init_checkpoint, which the output names (and its
    #: sha256) as its base: a stage that freezes the earlier ones ships only what it trained
    changes_over_init: bool = False
    #: resumable training state; null: .cache/vis_bench/train/<name>
    work_dir: str | None = None
    checkpoint_every: int = 200
    notes: str = ""
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("source")
        return data

    def config_hash(self) -> str:
        """Hash of what determines the trained weights (not where they are written)."""
        data = self.to_dict()
        for key in (
            "output",
            "work_dir",
            "checkpoint_every",
            "notes",
            "threads",
            "changes_over_init",
        ):
            data.pop(key)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]

    @property
    def state_dir(self) -> Path:
        return Path(self.work_dir or f".cache/vis_bench/train/{self.name}")


_TOP_KEYS = {f.name for f in dataclasses.fields(TrainConfig)} - {"source"}


def parse_train_config(data: Any, source: str = "<config>") -> TrainConfig:
    """Validate a parsed YAML document and turn it into a TrainConfig."""
    if not isinstance(data, dict):
        raise InputError("the training config must be a YAML mapping", path=source)
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise InputError(
            f"unknown key; known top-level keys: {', '.join(sorted(_TOP_KEYS))}",
            path=source,
            field=unknown[0],
        )
    require_keys(data, ("method", "dataset"), source)
    optim = data.get("optim")
    config = TrainConfig(
        name=str(data.get("name", Path(source).stem)),
        method=str(data["method"]),
        dataset=build_dataclass(DatasetConfig, data["dataset"], "dataset", source),
        options=_mapping(data.get("options"), source, "options"),
        clip=build_dataclass(ClipConfig, data.get("clip"), "clip", source),
        optim=build_dataclass(OptimConfig, optim, "optim", source),
        source=source,
        **{
            k: data[k]
            for k in _TOP_KEYS - {"name", "method", "dataset", "options", "clip", "optim"}
            if k in data
        },
    )
    _expand_paths(config, source)
    _check(config, source)
    return config


def _expand_paths(config: TrainConfig, source: str) -> None:
    """`~` and environment variables in the paths the config names (config_paths.expand_path)."""
    from vis_bench.config import DATASET_PATH_KEYS
    from vis_bench.config_paths import expand_fields

    expand_fields(config.dataset, DATASET_PATH_KEYS, "dataset", source)
    expand_fields(config, ("init_checkpoint", "backbone_init", "output", "work_dir"), "", source)


def require_keys(data: dict[str, Any], keys: tuple[str, ...], source: str) -> None:
    """InputError naming the first of `keys` missing from a config mapping."""
    for key in keys:
        if key not in data:
            raise InputError("required key is missing", path=source, field=key)


def _mapping(value: Any, source: str, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(f"expected a mapping, got {value!r}", path=source, field=where)
    return dict(value)


def _check(config: TrainConfig, source: str) -> None:
    clip, optim = config.clip, config.optim
    checks = [
        (clip.frames >= 1, "clip.frames", "needs at least one frame"),
        (0 <= clip.image_stage < 1, "clip.image_stage", "a fraction of the steps in [0, 1)"),
        (0 <= clip.image_mix < 1, "clip.image_mix", "a fraction of the steps in [0, 1)"),
        (
            not (clip.image_stage and clip.image_mix),
            "clip.image_mix",
            "set image_stage (images first) or image_mix (images throughout), not both",
        ),
        (
            bool(clip.scales) and min(clip.scales) >= 32,
            "clip.scales",
            "shorter sides of at least 32 px",
        ),
        (optim.iterations >= 1, "optim.iterations", "needs at least one iteration"),
        (optim.batch_clips >= 1, "optim.batch_clips", "needs at least one clip per step"),
        (
            optim.layer_decay is None or 0 < optim.layer_decay <= 1,
            "optim.layer_decay",
            "a factor in (0, 1] per block below the top one",
        ),
        (config.checkpoint_every >= 1, "checkpoint_every", "must be positive"),
        (
            not config.changes_over_init or bool(config.init_checkpoint),
            "changes_over_init",
            "stores the changes over init_checkpoint: name that file, or set it false",
        ),
        (
            not config.changes_over_init
            or Path(config.output).resolve().parent
            == resolve_checkpoint(config.init_checkpoint or "").resolve().parent,
            "output",
            "a file stored as changes over init_checkpoint is written in that file's folder "
            "(it finds its base by name there)",
        ),
        (
            all(0 < f < 1 for f in optim.lr_drops or []),
            "optim.lr_drops",
            "fractions of the schedule strictly between 0 and 1",
        ),
    ]
    for ok, where, message in checks:
        if not ok:
            raise InputError(message, path=source, field=where)
    for key in ("backbone_init", "init_checkpoint"):
        value = getattr(config, key)
        found = resolve_checkpoint(value) if value else None
        # a run may start from any checkpoint a sweep takes (a Hugging Face folder too); a
        # backbone is `pretrain`'s file
        if found is not None and not (
            is_checkpoint_location(found) if key == "init_checkpoint" else found.is_file()
        ):
            raise InputError(
                f"no file at {value}: give the right path, or create it first (the tiny "
                "configs' backbone: python run_bench.py pretrain --config configs/tiny/backbone.yaml; "
                "an earlier training stage: python run_bench.py train --config <the config whose "
                "output it is>)",
                path=source,
                field=key,
            )


def load_train_config(path: str | Path, overrides: list[str] | None = None) -> TrainConfig:
    """Read, override and validate a training YAML file."""
    data = read_yaml_config(path, overrides, "training config")
    return parse_train_config(data, str(path))
