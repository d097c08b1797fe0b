"""The project's own checkpoint format: weights plus what is needed to rebuild the model.

{"format": "vis-bench", "method": registry name, "config": the method's options,
"state_dict": tensors, "training": provenance (optional)}. Readable with
`torch.load(weights_only=True)`; written atomically. Because the file carries the options the
model was built with, a sweep can name just the checkpoint and get the right architecture.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from vis_bench.atomic import atomic_file
from vis_bench.errors import InputError

PROJECT_FORMAT = "vis-bench"
#: the checkout's root: relative checkpoint paths not found in the working directory are looked
#: up here, so the shipped configs (results/checkpoints/...) work from any directory
REPO_ROOT = Path(__file__).resolve().parents[1]


def resolve_checkpoint(path: str | Path) -> Path:
    """`path` as given if it exists (absolute, or relative to the working directory), else the
    same relative path inside the vis-bench checkout if it exists there, else `path` unchanged
    (the caller reports it missing)."""
    path = Path(path)
    if path.is_absolute() or path.exists():
        return path
    shipped = REPO_ROOT / path
    return shipped if shipped.exists() else path


def checkpoint_fingerprint(path: str | Path | None) -> str | None:
    """Size and modification time of a checkpoint file ("bytes:mtime_ns"), None without one:
    part of a sweep cell's identity, so a file retrained or replaced under the same path is not
    taken for a finished cell when a sweep resumes."""
    if path is None:
        return None
    try:
        stat = resolve_checkpoint(path).stat()
    except OSError:
        return None  # missing: the cell reports it when it runs
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def save_project_checkpoint(
    state_dict: Mapping[str, torch.Tensor],
    path: str | Path,
    method: str,
    config: Mapping[str, Any],
    training: Mapping[str, Any] | None = None,
    half: bool = False,
) -> None:
    """Write weights in the project format; `half` stores floating tensors as float16 (the
    shipped tiny models: half the bytes, loaded back into float32 parameters)."""
    tensors = {
        k: (v.detach().half() if half and v.is_floating_point() else v.detach()).clone()
        for k, v in state_dict.items()
    }
    payload: dict[str, Any] = {
        "format": PROJECT_FORMAT,
        "method": method,
        "config": dict(config),
        "state_dict": tensors,
    }
    if training is not None:
        payload["training"] = dict(training)
    with atomic_file(path) as tmp:
        torch.save(payload, tmp)


def project_checkpoint_info(path: str | Path) -> dict[str, Any] | None:
    """`method`, `config` and `training` of a project-format file; None for other formats
    (release checkpoints) or unreadable files, which the method's own loader then reports."""
    try:
        obj = torch.load(Path(path), map_location="cpu", weights_only=True, mmap=True)
    except Exception:
        return None
    if not isinstance(obj, Mapping) or obj.get("format") != PROJECT_FORMAT:
        return None
    return {key: obj.get(key) for key in ("method", "config", "training")}


class CheckpointError(InputError):
    """A checkpoint that cannot be read or loaded into the model; names the file and keys."""


def read_checkpoint(path: str | Path) -> Any:
    """torch.load with weights_only=True, allowing argparse.Namespace (authors' training files)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError("checkpoint file not found", path=str(path))
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle errors name the offending global; keep that text
        raise CheckpointError(f"cannot read checkpoint: {err}", path=str(path)) from err


def project_state_dict(obj: Any, path: str | Path, method: str | None = None) -> Any | None:
    """The `state_dict` entry of a loaded project-format checkpoint, None for any other format.

    A project file written for another method is a CheckpointError (`method` None: any method).
    """
    if not isinstance(obj, Mapping) or obj.get("format") != PROJECT_FORMAT:
        return None
    if method is not None and obj.get("method") not in (None, method):
        raise CheckpointError(
            f"checkpoint is for method {obj.get('method')!r}, not {method!r}",
            path=str(path),
            field="method",
        )
    return obj.get("state_dict")


def read_project_checkpoint(path: str | Path) -> dict[str, Any]:
    """A project-format file's contents; errors name the file and what is wrong."""
    obj = read_checkpoint(path)
    if not isinstance(obj, Mapping) or obj.get("format") != PROJECT_FORMAT:
        raise CheckpointError(
            f"not a {PROJECT_FORMAT!r} checkpoint", path=str(path), field="format"
        )
    return dict(obj)
