"""A fixture's files: its tensors read, its weights loaded with their keys checked, what a run
produced written when asked.

Every parity module loads its weights through `load_fixture_weights`, so a renamed, missing or
extra key is reported the same way for every method.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from vis_bench.atomic import atomic_file
from vis_bench.errors import InputError
from vis_bench.formats.checkpoints import open_checkpoint
from vis_bench.parity.report import ParityReport


def load_fixture_file(path: Path) -> Any:
    """A fixture's `.pt` file (weights only, on CPU)."""
    return torch.load(path, map_location="cpu", weights_only=True)


def load_fixture_weights(
    report: ParityReport,
    model: torch.nn.Module,
    path: Path,
    *,
    check_order: bool = False,
    check_name: str = "state_dict keys",
) -> dict[str, torch.Tensor]:
    """Load a fixture's state dict into `model`; one structural check says whether keys match.

    Every parity module loads its weights here, so a renamed, missing or extra key is reported
    the same way for every method (counts and the first names of each kind) instead of each
    module checking keys its own way. The file is read by the one checkpoint reader, so it may
    come in any container a checkpoint does (torch.save, a model-zoo pickle, safetensors).
    Floating tensors load as float32 (fixtures store float16).
    `check_order` also requires the fixture's key order (the authors' module order). A tensor
    whose shape does not fit the built model is an input error. Returns the loaded tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("fixture file missing", path=str(path))
    stored = open_checkpoint(path).state_dict
    state = {k: v.float() if v.is_floating_point() else v for k, v in stored.items()}
    try:
        load = model.load_state_dict(state, strict=False)
    except RuntimeError as err:
        raise InputError(f"weights do not fit the built model: {err}", path=str(path)) from err
    problems = []
    if load.missing_keys:
        problems.append(f"{len(load.missing_keys)} missing {load.missing_keys[:5]}")
    if load.unexpected_keys:
        problems.append(f"{len(load.unexpected_keys)} unexpected {load.unexpected_keys[:5]}")
    if check_order and not problems:
        own = list(model.state_dict())
        moved = [a for a, b in zip(state, own, strict=False) if a != b]
        if moved:
            problems.append(f"same keys in another order; first differences: {moved[:3]}")
    report.add_exact(check_name, not problems, "; ".join(problems), structural=True)
    return state


def save_produced(obj: Any, path: Path | None) -> None:
    """Write what the model produced (atomically), when asked to."""
    if path is None:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as tmp:
        torch.save(obj, tmp)
