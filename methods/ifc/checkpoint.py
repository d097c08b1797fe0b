"""Loading the authors' detectron2 checkpoints (`{"model": state_dict, ...}`) into IFCModel.

Key names are the authors' (the model mirrors them), so loading is a checked copy: missing and
unexpected keys are listed, a shape mismatch stops with the key, both shapes and the file.
Files are read with `torch.load(weights_only=True)`; checkpoints that store numpy arrays (some
detectron2 conversions do) are allowed through by naming only numpy's array-reconstruction globals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vis_bench.checkpoints import PROJECT_FORMAT, project_state_dict
from vis_bench.checkpoints import CheckpointError as SharedCheckpointError


class CheckpointError(SharedCheckpointError):
    """A checkpoint that cannot be loaded into the model (bad file, shape mismatch)."""


@dataclass
class LoadReport:
    """What a checkpoint load did; `format()` is printed by the plugin."""

    path: str
    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def format(self) -> str:
        lines = [f"checkpoint {self.path}: {len(self.loaded)} tensors loaded"]
        if self.missing:
            lines.append(
                f"  missing in checkpoint ({len(self.missing)}): " + ", ".join(self.missing)
            )
        if self.unexpected:
            lines.append(
                f"  unexpected in checkpoint, ignored ({len(self.unexpected)}): "
                + ", ".join(self.unexpected)
            )
        return "\n".join(lines)


def _numpy_safe_globals() -> list:
    globals_ = [np.ndarray, np.dtype]
    core = getattr(np, "_core", None) or np.core
    globals_.append(core.multiarray._reconstruct)
    globals_.extend(type(np.dtype(t)) for t in ("f4", "f8", "i8", "i4", "u1", "f2"))
    return globals_


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint file: the `"model"` entry when present, else the whole dict."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    try:
        with torch.serialization.safe_globals(_numpy_safe_globals()):
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle errors come in many types
        raise CheckpointError(
            f"{path}: cannot be read as a weights-only checkpoint: {err}"
        ) from err
    if isinstance(obj, dict) and obj.get("format") == PROJECT_FORMAT:
        obj = project_state_dict(obj, path, method="ifc")
    elif isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj = obj["model"]
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: expected a dict of tensors (or one under 'model')")
    out = {}
    for key, value in obj.items():
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(value)
        if isinstance(value, torch.Tensor):
            out[key] = value
    return out


def load_into(
    model: nn.Module, state: dict[str, torch.Tensor], path: str = "<memory>"
) -> LoadReport:
    """Copy `state` into `model`; shape mismatches raise, missing/unexpected are reported."""
    own = model.state_dict()
    report = LoadReport(str(path))
    for key, value in state.items():
        if key not in own:
            report.unexpected.append(key)
            continue
        if tuple(own[key].shape) != tuple(value.shape):
            raise CheckpointError(
                f"{path}: shape mismatch for {key!r}: checkpoint {tuple(value.shape)}, "
                f"model {tuple(own[key].shape)}"
            )
        report.loaded.append(key)
    report.missing = [k for k in own if k not in state]
    with torch.no_grad():
        for key in report.loaded:
            own[key].copy_(state[key].to(own[key].dtype))
    return report


def load_checkpoint(model: nn.Module, path: str | Path) -> LoadReport:
    """Read `path` and load it into `model` (see `load_into`)."""
    return load_into(model, read_state_dict(path), str(path))
