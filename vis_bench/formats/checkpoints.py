"""Checkpoint files: reading any format once, and the project's own format.

Three on-disk layouts are understood, all read with `torch.load(weights_only=True)`:
* the project's format, {"format": "vis-bench", "method": registry name, "config": the method's
  options, "state_dict": tensors, "training": provenance (optional), "base": optional}. Because
  the file carries the options its model was built with, a sweep can name just the checkpoint.
  A file with a "base" ({"file": a name in its own folder, "sha256": that file's digest,
  "removed": keys of the base the model has not}) stores only the tensors that differ from that
  file's: a training stage that freezes the earlier stages ships what it trained, not another
  copy of them (a tracker stage over its segmenter's file, say);
* the authors' release format, a dict with the weights under "model" (training files also pickle an
  `argparse.Namespace` under "args"; detectron2 conversions may store numpy arrays);
* a bare state dict.

`open_checkpoint` reads a file once into a `CheckpointContents`; the harness takes the options from
it and hands the same object to the method's `load_checkpoint`, which loads the state dict strictly
(vis_bench/api/checkpoints.py).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vis_bench.atomic import atomic_file
from vis_bench.errors import InputError
from vis_bench.hashing import file_sha256
from vis_bench.shipped import resolve as resolve_shipped

PROJECT_FORMAT = "vis-bench"
RELEASE_FORMAT = "release"
STATE_DICT_FORMAT = "state_dict"


class CheckpointError(InputError):
    """A checkpoint that cannot be read or loaded into the model; names the file and keys."""


@dataclass
class CheckpointContents:
    """What one checkpoint file holds, whatever its layout."""

    path: str
    format: str
    state_dict: dict[str, torch.Tensor]
    #: project format only: the registry name and the options the model was built with
    method: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] | None = None
    #: project format with a base: the files whose tensors were merged under this one's, nearest first
    bases: list[str] = field(default_factory=list)

    def check_method(self, method: str) -> None:
        """A project-format file written for another method is an error naming both."""
        if self.format == PROJECT_FORMAT and self.method not in (None, method):
            raise CheckpointError(
                f"checkpoint is for method {self.method!r}, not {method!r}",
                path=self.path,
                field="method",
            )


def resolve_checkpoint(path: str | Path) -> Path:
    """`path` as given if it exists (absolute, or relative to the working directory), else the
    weights vis-bench ships under that name (`results/checkpoints/...`: vis_bench.shipped), so
    the shipped configs work from any directory; else `path` unchanged (reported missing)."""
    return resolve_shipped(path)


def checkpoint_fingerprint(path: str | Path | None) -> str | None:
    """Size and modification time of a checkpoint file ("bytes:mtime_ns"), None without one:
    part of a sweep cell's identity, so a file retrained or replaced under the same path is not
    taken for a finished cell when a sweep resumes."""
    if path is None:
        return None
    try:
        stat = resolve_checkpoint(path).stat()
    except OSError:
        return None  # missing: the config check reports it
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def _safe_globals() -> list[Any]:
    """Classes a weights-only load may meet in the authors' files: argparse.Namespace (training
    checkpoints) and numpy's array reconstruction (detectron2 conversions)."""
    core = getattr(np, "_core", None) or np.core
    allowed: list[Any] = [argparse.Namespace, np.ndarray, np.dtype, core.multiarray._reconstruct]
    allowed += [type(np.dtype(t)) for t in ("f2", "f4", "f8", "i4", "i8", "u1")]
    return allowed


def read_checkpoint(path: str | Path, mmap: bool = False) -> Any:
    """The unpickled object of a checkpoint file (weights only); errors name the file."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError("is a folder, not a checkpoint file: give the file", path=str(path))
    if not path.is_file():
        raise CheckpointError("checkpoint file not found", path=str(path))
    if not _looks_saved_by_torch(path):
        raise CheckpointError(
            "not a checkpoint: torch.save writes a zip archive (or, before PyTorch 1.6, a "
            "pickle), and this file is neither; give the .pth/.pt file of a trained or released "
            "model",
            path=str(path),
        )
    try:
        with torch.serialization.safe_globals(_safe_globals()):
            return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as err:  # pickle errors name the offending global; keep that text
        if mmap and "mmap" in str(err):  # legacy (non-zip) files cannot be memory-mapped
            return read_checkpoint(path, mmap=False)
        raise CheckpointError(
            f"cannot read checkpoint: {_first_lines(err)}", path=str(path)
        ) from err


#: how a file torch.save wrote begins: a zip archive, or a legacy pickle (protocol 2 and up)
_TORCH_MAGIC = (b"PK\x03\x04", b"\x80")


def _looks_saved_by_torch(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4).startswith(_TORCH_MAGIC)


def _first_lines(err: Exception) -> str:
    """torch.load's message without its general advice (re-running with weights_only=False,
    which would run the file's code, or filing an issue with PyTorch): what went wrong."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    kept = [
        line
        for line in lines
        if "weights_only=False" not in line
        and "file an issue" not in line.lower()
        and not line.startswith(("Please", "In PyTorch 2.6", "Check the documentation"))
    ]
    return " ".join(kept or lines[:1])


def is_project_checkpoint(obj: Any) -> bool:
    """The one test for the project's format."""
    return isinstance(obj, Mapping) and obj.get("format") == PROJECT_FORMAT


def contents_of(obj: Any, path: str | Path, depth: int = 0) -> CheckpointContents:
    """A loaded checkpoint object as CheckpointContents (tensors only; numpy arrays converted;
    a project file's base, if it has one, merged under it)."""
    path = str(path)
    if is_project_checkpoint(obj):
        weights, fmt = obj.get("state_dict"), PROJECT_FORMAT
    elif isinstance(obj, Mapping) and isinstance(obj.get("model"), Mapping):
        weights, fmt = obj["model"], RELEASE_FORMAT
    elif isinstance(obj, Mapping) and obj and all(_is_array(v) for v in obj.values()):
        weights, fmt = obj, STATE_DICT_FORMAT
    else:
        found = sorted(obj)[:10] if isinstance(obj, Mapping) else type(obj).__name__
        raise CheckpointError(
            "unrecognised checkpoint layout: expected weights under 'model' (release format), "
            f"a {PROJECT_FORMAT!r} file with 'state_dict', or a bare state dict; found {found}",
            path=path,
        )
    if not isinstance(weights, Mapping):
        raise CheckpointError("the state dict is not a mapping", path=path, field="state_dict")
    bad = [k for k, v in weights.items() if not _is_array(v)]
    if bad:
        raise CheckpointError(f"non-tensor entries in the state dict: {bad[:5]}", path=path)
    state_dict = {
        k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in weights.items()
    }
    if fmt != PROJECT_FORMAT:
        return CheckpointContents(path, fmt, state_dict)
    contents = CheckpointContents(
        path,
        fmt,
        state_dict,
        method=obj.get("method"),
        config=dict(obj.get("config") or {}),
        training=obj.get("training"),
    )
    if obj.get("base") is not None:
        _merge_base(contents, obj["base"], depth)
    return contents


#: how many files a chain of bases may hold (a cycle, or a mistake, stops here)
MAX_BASES = 8


def _merge_base(contents: CheckpointContents, base: Any, depth: int) -> None:
    """Put the base file's tensors under `contents`' own (which stores only what differs)."""
    here = Path(contents.path)
    if not isinstance(base, Mapping) or not {"file", "sha256"} <= set(base):
        raise CheckpointError(
            "'base' must name the file this one stores the changes of and its sha256",
            path=str(here),
            field="base",
        )
    if depth >= MAX_BASES:
        raise CheckpointError(
            f"more than {MAX_BASES} files in a chain of bases (a file that is its own base?)",
            path=str(here),
            field="base",
        )
    base_path = here.parent / str(base["file"])
    if not base_path.is_file():
        raise CheckpointError(
            f"stores only the weights that differ from {base['file']}, which is not beside it "
            f"({base_path}): put that file in the same folder",
            path=str(here),
            field="base.file",
        )
    found = file_sha256(base_path)
    if found != base["sha256"]:
        raise CheckpointError(
            f"{base_path} is not the file this checkpoint was written over (sha256 {found[:12]}, "
            f"expected {str(base['sha256'])[:12]}): put the original {base['file']} beside it",
            path=str(here),
            field="base.sha256",
        )
    below = contents_of(read_checkpoint(base_path, mmap=True), base_path, depth + 1)
    if below.format != PROJECT_FORMAT:
        raise CheckpointError(
            f"its base {base_path} is not a {PROJECT_FORMAT!r} checkpoint", path=str(here)
        )
    removed = set(base.get("removed") or ())
    merged = {k: v for k, v in below.state_dict.items() if k not in removed}
    merged.update(contents.state_dict)
    contents.state_dict = merged
    contents.bases = [str(base_path), *below.bases]


def _is_array(value: Any) -> bool:
    return torch.is_tensor(value) or isinstance(value, np.ndarray)


def open_checkpoint(path: str | Path) -> CheckpointContents:
    """Read a checkpoint file of any understood layout, once (memory-mapped where possible)."""
    return contents_of(read_checkpoint(path, mmap=True), path)


def save_project_checkpoint(
    state_dict: Mapping[str, torch.Tensor],
    path: str | Path,
    method: str,
    config: Mapping[str, Any],
    training: Mapping[str, Any] | None = None,
    half: bool = False,
    base: str | Path | None = None,
) -> None:
    """Write weights in the project format, atomically; `half` stores floating tensors as
    float16 (the shipped tiny models: half the bytes, loaded back into float32 parameters).
    With `base` (a project-format file, written beside the output) only the tensors that differ
    from the base's are stored, and the file names the base by its sha256."""
    tensors = _stored_tensors(state_dict, half)
    payload: dict[str, Any] = {
        "format": PROJECT_FORMAT,
        "method": method,
        "config": dict(config),
        "state_dict": tensors,
    }
    if base is not None:
        payload["base"], payload["state_dict"] = _changes_over(tensors, Path(base), Path(path))
    if training is not None:
        payload["training"] = dict(training)
    with atomic_file(path) as tmp:
        torch.save(payload, tmp)


def _stored_tensors(state_dict: Mapping[str, torch.Tensor], half: bool) -> dict[str, torch.Tensor]:
    """Detached copies (float16 with `half`); a tensor the model registers under two names (a
    head a decoder shares with the model that owns it) stays one tensor, which torch.save writes
    once."""
    copies: dict[tuple, torch.Tensor] = {}
    tensors = {}
    for key, value in state_dict.items():
        value = value.detach()
        identity = (
            value.untyped_storage().data_ptr(),
            value.storage_offset(),
            tuple(value.shape),
            tuple(value.stride()),
            value.dtype,
        )
        if identity not in copies:
            copies[identity] = (
                value.half() if half and value.is_floating_point() else value
            ).clone()
        tensors[key] = copies[identity]
    return tensors


def _changes_over(
    tensors: dict[str, torch.Tensor], base: Path, output: Path
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The "base" entry naming `base` and the tensors of `tensors` that differ from its own."""
    if base.resolve().parent != output.resolve().parent:
        raise CheckpointError(
            f"a checkpoint stored over a base must be written in the base's folder "
            f"({base.parent}), where it finds the base again by name",
            path=str(output),
        )
    below = read_project_checkpoint(base)
    changed = {
        k: v
        for k, v in tensors.items()
        if k not in below.state_dict or not _same_tensor(v, below.state_dict[k])
    }
    entry = {
        "file": base.name,
        "sha256": file_sha256(base),
        "removed": sorted(set(below.state_dict) - set(tensors)),
    }
    return entry, changed


def _same_tensor(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)


def read_project_checkpoint(path: str | Path) -> CheckpointContents:
    """A project-format file; any other layout is an error naming the file."""
    contents = open_checkpoint(path)
    if contents.format != PROJECT_FORMAT:
        raise CheckpointError(
            f"not a {PROJECT_FORMAT!r} checkpoint ({contents.format} layout)",
            path=str(path),
            field="format",
        )
    return contents
