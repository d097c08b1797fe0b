"""Checkpoint reading and strict-but-explained state-dict loading shared by the methods.

Two on-disk formats are understood:
* the authors' release format, a dict with the weights under "model" (training checkpoints also
  pickle an `argparse.Namespace` under "args"), and a bare state dict;
* the project's own format, {"format": "vis-bench", "method", "config", "state_dict"}.

Files are always read with `torch.load(weights_only=True)`; `argparse.Namespace` is the one
extra class allowed, so a training checkpoint loads without unpickling arbitrary code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vis_bench.checkpoints import (  # noqa: F401  (CheckpointError, read_checkpoint: re-exported)
    PROJECT_FORMAT,
    CheckpointError,
    project_state_dict,
    read_checkpoint,
    save_project_checkpoint,
)


@dataclass
class LoadReport:
    """What loading a state dict into a model did."""

    path: str
    format: str
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.missing and not self.unexpected

    def format_text(self, limit: int = 20) -> str:
        """Human-readable summary listing (up to `limit` of) the missing and unexpected keys."""
        lines = [f"checkpoint {self.path} ({self.format} format)"]
        for title, keys in (("missing", self.missing), ("unexpected", self.unexpected)):
            if keys:
                shown = ", ".join(keys[:limit]) + (
                    f", ... (+{len(keys) - limit})" if len(keys) > limit else ""
                )
                lines.append(f"  {len(keys)} {title} key(s): {shown}")
        if self.clean:
            lines.append("  all keys matched")
        return "\n".join(lines)


def extract_state_dict(
    obj: Any, path: str | Path, method: str | None = None
) -> tuple[dict[str, torch.Tensor], str]:
    """The state dict inside a loaded checkpoint and the name of its format."""
    if isinstance(obj, Mapping) and obj.get("format") == PROJECT_FORMAT:
        state_dict, fmt = project_state_dict(obj, path, method), PROJECT_FORMAT
    elif isinstance(obj, Mapping) and isinstance(obj.get("model"), Mapping):
        state_dict, fmt = obj["model"], "release"
    elif isinstance(obj, Mapping) and obj and all(torch.is_tensor(v) for v in obj.values()):
        state_dict, fmt = obj, "state_dict"
    else:
        keys = sorted(obj)[:10] if isinstance(obj, Mapping) else type(obj).__name__
        raise CheckpointError(
            "unrecognised checkpoint layout: expected weights under 'model' (release format), "
            f"a {PROJECT_FORMAT!r} file with 'state_dict', or a bare state dict; found {keys}",
            path=str(path),
        )
    if not isinstance(state_dict, Mapping):
        raise CheckpointError("state dict is not a mapping", path=str(path), field="state_dict")
    bad = [k for k, v in state_dict.items() if not torch.is_tensor(v)]
    if bad:
        raise CheckpointError(f"non-tensor entries in the state dict: {bad[:5]}", path=str(path))
    return dict(state_dict), fmt


def load_state_dict_checked(
    model: nn.Module,
    state_dict: Mapping[str, torch.Tensor],
    path: str | Path,
    fmt: str = "state_dict",
    strict: bool = True,
) -> LoadReport:
    """Load `state_dict` into `model`.

    A shape mismatch always raises, naming the key, both shapes and the file. Missing or
    unexpected keys raise when `strict`, otherwise they are only reported.
    """
    own = model.state_dict()
    for key, value in state_dict.items():
        if key in own and tuple(own[key].shape) != tuple(value.shape):
            raise CheckpointError(
                f"shape mismatch for {key!r}: checkpoint has {tuple(value.shape)}, "
                f"model expects {tuple(own[key].shape)}",
                path=str(path),
                field=key,
            )
    result = model.load_state_dict(dict(state_dict), strict=False)
    report = LoadReport(str(path), fmt, list(result.missing_keys), list(result.unexpected_keys))
    if strict and not report.clean:
        raise CheckpointError(
            "checkpoint does not match the model:\n" + report.format_text(), path=str(path)
        )
    return report


def save_checkpoint(
    model: nn.Module, path: str | Path, method: str, config: Mapping[str, Any]
) -> None:
    """Write the project's own format (loadable with weights_only=True)."""
    save_project_checkpoint(model.state_dict(), path, method, config)
