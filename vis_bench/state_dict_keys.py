"""A method's state-dict layout without building its weights, and a checkpoint compared with it.

Models are built on the meta device (`torch.device("meta")`): every parameter has its shape and
no storage, so a Swin-L model costs no memory. Checkpoints are memory-mapped
(`torch.load(weights_only=True, mmap=True)`): reading their keys and shapes touches no weights.
The key lists use the golden files' JSON format: `[key, shape]` per entry, state-dict order.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vis_bench.checkpoints import PROJECT_FORMAT, CheckpointError, project_state_dict
from vis_bench.errors import InputError
from vis_bench.registry import get_method

KeyList = list[list[Any]]  # [[key, [d0, d1, ...]], ...]


def meta_model(method: str, options: Mapping[str, Any]) -> nn.Module:
    """The model `method` builds with `options`, on the meta device (shapes only)."""
    plugin_class = get_method(method)
    with torch.device("meta"):
        plugin = plugin_class.build(dict(options))
    model = getattr(plugin, "model", None)
    if not isinstance(model, nn.Module):
        raise InputError(f"method {method!r} keeps no torch model to list", field="--method")
    return model


def key_list(state_dict: Mapping[str, torch.Tensor]) -> KeyList:
    return [[key, list(value.shape)] for key, value in state_dict.items()]


def format_key_list(entries: KeyList) -> str:
    """One `[key, shape]` entry per line, as the golden files are written."""
    return "[\n" + ",\n".join(json.dumps(entry) for entry in entries) + "\n]\n"


def _numpy_globals() -> list[Any]:
    """What detectron2-converted checkpoints pickle besides tensors (numpy arrays)."""
    core = getattr(np, "_core", None) or np.core
    dtypes = [type(np.dtype(code)) for code in ("f2", "f4", "f8", "i4", "i8", "u1")]
    return [np.ndarray, np.dtype, core.multiarray._reconstruct, *dtypes]


def load_mmap(path: Path) -> Any:
    """torch.load(weights_only=True, mmap=True); files in the pre-zip format (no mmap) are read
    whole. argparse.Namespace (authors' training files) and numpy arrays are allowed."""
    if not path.is_file():
        raise CheckpointError("checkpoint file not found", path=str(path))
    allowed = [argparse.Namespace, *_numpy_globals()]
    try:
        with torch.serialization.safe_globals(allowed):
            try:
                return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            except RuntimeError as err:
                if "mmap" not in str(err):
                    raise
                return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # unpickling errors come in many types; keep their text
        raise CheckpointError(f"cannot read checkpoint: {err}", path=str(path)) from err


def checkpoint_state_dict(
    obj: Any, path: Path, method: str | None = None
) -> tuple[dict[str, torch.Tensor], str, dict]:
    """(tensors, format name, project config) of a loaded checkpoint object; a project file
    written for another method than `method` is a CheckpointError."""
    config: dict[str, Any] = {}
    if isinstance(obj, Mapping) and obj.get("format") == PROJECT_FORMAT:
        weights = project_state_dict(obj, path, method)
        fmt, config = PROJECT_FORMAT, dict(obj.get("config") or {})
    elif isinstance(obj, Mapping) and isinstance(obj.get("model"), Mapping):
        fmt, weights = "release", obj["model"]
    elif isinstance(obj, Mapping):
        fmt, weights = "state_dict", obj
    else:
        raise CheckpointError(f"expected a dict, found {type(obj).__name__}", path=str(path))
    if not isinstance(weights, Mapping):
        raise CheckpointError("state dict is not a mapping", path=str(path), field="state_dict")
    tensors = {}
    for key, value in weights.items():
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(value)
        if isinstance(value, torch.Tensor):
            tensors[key] = value
    if not tensors:
        raise CheckpointError(
            "no tensors found: expected weights under 'model' (release format), "
            f"a {PROJECT_FORMAT!r} file, or a bare state dict",
            path=str(path),
        )
    return tensors, fmt, config


@dataclass
class KeyComparison:
    """How a state dict differs from a model's: what strict loading would complain about."""

    compared: int
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    misshaped: list[tuple[str, list[int], list[int]]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.unexpected or self.misshaped)

    def format_lines(self) -> list[str]:
        lines = []
        for title, keys in (("missing", self.missing), ("unexpected", self.unexpected)):
            lines.append(f"{len(keys)} {title} key(s)" + (":" if keys else ""))
            lines += [f"  {key}" for key in keys]
        lines.append(f"{len(self.misshaped)} mis-shaped key(s)" + (":" if self.misshaped else ""))
        lines += [f"  {key}: checkpoint {ckpt}, model {own}" for key, ckpt, own in self.misshaped]
        return lines


def compare_with_model(model: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> KeyComparison:
    """Missing, unexpected and mis-shaped keys of `state_dict` against a (meta) `model`.

    The model's own loading hooks decide (e.g. a frozen BatchNorm ignoring
    `num_batches_tracked`), as in a real load: the entries are assigned without copying, so
    neither side's weights are read.
    """
    own = model.state_dict()
    misshaped = [
        (key, list(value.shape), list(own[key].shape))
        for key, value in state_dict.items()
        if key in own and tuple(value.shape) != tuple(own[key].shape)
    ]
    bad = {key for key, _, _ in misshaped}
    loadable = {k: v for k, v in state_dict.items() if k not in bad}
    result = model.load_state_dict(loadable, strict=False, assign=True)
    missing = [k for k in result.missing_keys if k not in bad]
    return KeyComparison(len(state_dict), missing, list(result.unexpected_keys), misshaped)


def parse_options(items: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` strings (values parsed as YAML) -> method options."""
    import yaml

    options: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise InputError(f"option {item!r} is not of the form KEY=VALUE", field="--set")
        key, raw = item.split("=", 1)
        options[key.strip()] = yaml.safe_load(raw)
    return options
