"""Checkpoint files: reading any layout once, and the project's own format.

The containers (torch.save zip or legacy pickle, detectron2's model-zoo pickle, safetensors, a
Hugging Face folder) are read by vis_bench/formats/containers.py, never running what a file
names. Three layouts of what they hold are understood:
* the project's format, {"format": "vis-bench", "method": registry name, "config": the method's
  options, "state_dict": tensors, "training": provenance (optional), "base": optional}. Because
  the file carries the options its model was built with, a sweep can name just the checkpoint.
  A file with a "base" ({"file": a name in its own folder, "sha256": that file's digest,
  "removed": keys of the base the model has not}) stores only the tensors that differ from that
  file's: a training stage that freezes the earlier stages ships what it trained, not another
  copy of them (a tracker stage over its segmenter's file, say);
* the authors' release format, a dict with the weights under "model" (or "state_dict", or an
  EMA copy alone under "model_ema"; which entry was read is said): a training file also holds
  the optimizer, the scheduler, an `argparse.Namespace` under "args", which are left aside (and
  said so); a detectron2 model-zoo pickle holds numpy arrays;
* a bare state dict (a safetensors file is one).

A state dict saved from a `DistributedDataParallel`-wrapped model carries `module.` on every key;
it is stripped (as fvcore's checkpointer does) and said so. Floating tensors stored in another
dtype than float32 (a float16 copy) are reported with their dtype; the loader casts them to the
model's. `open_checkpoint` reads a file once into a `CheckpointContents`; the harness takes the
options from it and hands the same object to the method's `load_checkpoint`, which loads the
state dict strictly (vis_bench/api/checkpoints.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vis_bench.atomic import atomic_file
from vis_bench.errors import InputError
from vis_bench.formats.containers import (
    HF_WEIGHT_FILES,
    ContainerError,
    RawFile,
    read_container,
)
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
    #: how the file was stored (containers.py: torch.save zip, detectron2 model-zoo pickle, ...)
    container: str = ""
    #: what reading did besides taking the tensors (a training file's other parts left aside,
    #: `module.` stripped), one line each
    notes: list[str] = field(default_factory=list)
    #: the state dict's `_metadata` versions (module prefix -> version), where the file keeps
    #: them: the authors' loaders rename old files' keys by them
    versions: dict[str, int] | None = None
    #: floating dtypes the file stores its tensors in (a float16 copy says so)
    dtypes: list[str] = field(default_factory=list)
    #: the file whose bytes hold the weights (a Hugging Face folder's model.safetensors)
    file: str = ""
    #: a Hugging Face folder's config.json (the method's `foreign_checkpoint` hook reads it)
    hf_config: dict[str, Any] | None = None
    #: what a method's conversion made of a file in another library's layout (e.g. Transformers')
    converted_from: str = ""

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


def folder_weights(folder: Path) -> Path | None:
    """The file a Hugging Face model folder keeps its weights in (model.safetensors, its shards'
    index, or an older folder's pytorch_model.bin), None for any other folder."""
    return next((folder / n for n in HF_WEIGHT_FILES if (folder / n).is_file()), None)


def is_checkpoint_location(path: Path) -> bool:
    """What every command takes as a checkpoint: a file, or a Hugging Face model folder (the
    same forms `open_checkpoint` reads)."""
    return path.is_file() or (path.is_dir() and folder_weights(path) is not None)


def checkpoint_fingerprint(path: str | Path | None) -> str | None:
    """Size and modification time of a checkpoint file ("bytes:mtime_ns"), None without one:
    part of a sweep cell's identity, so a file retrained or replaced under the same path is not
    taken for a finished cell when a sweep resumes."""
    if path is None:
        return None
    resolved = resolve_checkpoint(path)
    if resolved.is_dir():  # a Hugging Face folder: its weights file
        resolved = folder_weights(resolved) or resolved
    try:
        stat = resolved.stat()
    except OSError:
        return None  # missing: the config check reports it
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def read_raw(path: str | Path, mmap: bool = False) -> RawFile:
    """The container's object and how it was stored (containers.py); errors name the file."""
    try:
        return read_container(path, mmap=mmap)
    except ContainerError as err:
        raise CheckpointError(str(err), path=str(path)) from err


def read_checkpoint(path: str | Path, mmap: bool = False) -> Any:
    """The unpickled object of a checkpoint file (weights only); errors name the file."""
    return read_raw(path, mmap).obj


def is_project_checkpoint(obj: Any) -> bool:
    """The one test for the project's format."""
    return isinstance(obj, Mapping) and obj.get("format") == PROJECT_FORMAT


#: the entries a release file may keep its weights under, the first present read: the
#: model's own (detectron2's and most authors' `model`, or `state_dict`), else an EMA copy kept
#: alone; which one was read is said
WEIGHT_ENTRIES = ("model", "state_dict", "model_ema", "state_dict_ema", "ema")
#: the top-level parts of a training file besides its weights (left aside, and said so)
TRAINING_PARTS = ("optimizer", "scheduler", "lr_scheduler", "iteration", "epoch", "args")
DDP_PREFIX = "module."


def contents_of(obj: Any, path: str | Path, depth: int = 0) -> CheckpointContents:
    """A loaded checkpoint object (or a `RawFile`) as CheckpointContents (tensors only; numpy
    arrays converted; a project file's base, if it has one, merged under it)."""
    raw = obj if isinstance(obj, RawFile) else None
    obj = raw.obj if raw is not None else obj
    path = str(path)
    if is_project_checkpoint(obj):
        weights, fmt = obj.get("state_dict"), PROJECT_FORMAT
    elif isinstance(obj, Mapping) and weight_entry(obj) is not None:
        weights, fmt = obj[weight_entry(obj)], RELEASE_FORMAT
    elif isinstance(obj, Mapping) and obj and all(_is_array(v) for v in obj.values()):
        weights, fmt = obj, STATE_DICT_FORMAT
    else:
        found = sorted(map(str, obj))[:10] if isinstance(obj, Mapping) else type(obj).__name__
        raise CheckpointError(
            f"unrecognised checkpoint layout: expected weights under one of {WEIGHT_ENTRIES} "
            "(release format), "
            f"a {PROJECT_FORMAT!r} file with 'state_dict', or a bare state dict; found {found}",
            path=path,
        )
    if not isinstance(weights, Mapping):
        raise CheckpointError("the state dict is not a mapping", path=path, field="state_dict")
    bad = [k for k, v in weights.items() if not _is_array(v)]
    if bad:
        raise CheckpointError(f"non-tensor entries in the state dict: {bad[:5]}", path=path)
    state_dict = {
        str(k): _tensor_of(v) if isinstance(v, np.ndarray) else v for k, v in weights.items()
    }
    versions = _versions(weights)
    notes = list(raw.notes) if raw is not None else []
    notes += _wrapper_notes(obj) if fmt == RELEASE_FORMAT else []
    if state_dict and all(k.startswith(DDP_PREFIX) for k in state_dict):
        state_dict = {k[len(DDP_PREFIX) :]: v for k, v in state_dict.items()}
        if versions is not None:
            versions = {_strip_ddp(k): v for k, v in versions.items()}
        notes.append(
            f"stripped {DDP_PREFIX!r} from every key (a state dict saved from a "
            "DistributedDataParallel-wrapped model)"
        )
    contents = CheckpointContents(
        path,
        fmt,
        state_dict,
        container=raw.container if raw is not None else "",
        notes=notes,
        versions=versions,
        dtypes=sorted(
            {
                str(v.dtype).replace("torch.", "")
                for v in state_dict.values()
                if v.is_floating_point()
            }
        ),
        file=str(raw.file) if raw is not None else path,
        hf_config=raw.hf_config if raw is not None else None,
    )
    if fmt != PROJECT_FORMAT:
        return contents
    contents.method = obj.get("method")
    contents.config = dict(obj.get("config") or {})
    contents.training = obj.get("training")
    if obj.get("base") is not None:
        _merge_base(contents, obj["base"], depth)
    return contents


def weight_entry(obj: Mapping) -> str | None:
    """The entry of a release file its weights are read from (`WEIGHT_ENTRIES`, the first
    present), None for a file that keeps none."""
    return next((k for k in WEIGHT_ENTRIES if isinstance(obj.get(k), Mapping)), None)


def _wrapper_notes(obj: Mapping) -> list[str]:
    """Which entry the weights were read from, the other weight entries not read (an EMA copy
    beside the model's own), and what a training file holds besides (left aside)."""
    entry = weight_entry(obj)
    others = [k for k in WEIGHT_ENTRIES if k != entry and isinstance(obj.get(k), Mapping)]
    line = f"weights read from the file's {entry!r} entry"
    if others:
        line += f", not from {' or '.join(repr(k) for k in others)} (also in the file)"
    notes = [line]
    parts = [str(k) for k in obj if k != entry and not str(k).startswith("__")]
    if any(k in TRAINING_PARTS for k in parts):
        notes.append(f"a training file: kept its {entry!r} part, left aside {', '.join(parts)}")
    return notes


def _versions(weights: Any) -> dict[str, int] | None:
    """`_metadata` versions of a saved state dict (module prefix -> version), None without."""
    metadata = getattr(weights, "_metadata", None)
    if not isinstance(metadata, Mapping):
        return None
    return {
        str(k): int(v["version"])
        for k, v in metadata.items()
        if isinstance(v, Mapping) and isinstance(v.get("version"), int)
    }


def _strip_ddp(prefix: str) -> str:
    if prefix == DDP_PREFIX[:-1]:
        return ""
    return prefix[len(DDP_PREFIX) :] if prefix.startswith(DDP_PREFIX) else prefix


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


def _tensor_of(array: np.ndarray) -> torch.Tensor:
    """A numpy array as a tensor: native byte order, contiguous, writable (a protocol 5 pickle's
    arrays view read-only bytes)."""
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    array = np.ascontiguousarray(array)
    if not array.flags.writeable:
        array = array.copy()
    return torch.from_numpy(array)


def _is_array(value: Any) -> bool:
    return torch.is_tensor(value) or isinstance(value, np.ndarray)


def open_checkpoint(path: str | Path) -> CheckpointContents:
    """Read a checkpoint file of any understood layout, once (memory-mapped where possible)."""
    return contents_of(read_raw(path, mmap=True), path)


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
