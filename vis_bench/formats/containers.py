"""The file containers checkpoints come in, each read without running anything the file names.

* `torch.save` files, zip (PyTorch >= 1.6) or legacy pickle: `torch.load(weights_only=True)`, with
  the few classes the authors' files pickle beside tensors allowed (an `argparse.Namespace`, numpy
  arrays under numpy 1's and numpy 2's module names);
* detectron2 model-zoo `.pkl` files: a plain `pickle.dump` of `{"model": {name: numpy array},
  "__author__": ...}` (detectron2's `Checkpointer` reads them with `encoding="latin1"`). torch's
  weights-only unpickler cannot read them (protocol 4 frames, numpy globals), and `pickle.load`
  would run any global the file names, so `ModelZooUnpickler` allows numpy's array
  reconstruction (numpy 1 and 2 names), `numpy.ndarray`, `numpy.dtype`, `collections.OrderedDict`
  and `_codecs.encode` (how protocol 2 writes bytes) and refuses any other global by its name;
* `.safetensors` (the `safetensors` package checks the header against the file's size), alone or
  in a Hugging Face folder beside its `config.json`;
* any of these gzip-compressed (`.pth.gz`): decompressed to a temporary file and read from it,
  which the container's name says.

Never `weights_only=False`: a file that needs it is refused with the global it names.
"""

from __future__ import annotations

import argparse
import json
import pickle
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

TORCH_ZIP = "torch.save zip"
TORCH_LEGACY = "torch.save legacy pickle"
MODEL_ZOO_PICKLE = "detectron2 model-zoo pickle"
SAFETENSORS = "safetensors"
#: the file names a Hugging Face model folder holds its weights and options under
HF_WEIGHTS = "model.safetensors"
HF_CONFIG = "config.json"
HF_INDEX = "model.safetensors.index.json"
HF_LEGACY_WEIGHTS = "pytorch_model.bin"
#: what a Hugging Face folder's weights are read from, in the order tried
HF_WEIGHT_FILES = (HF_WEIGHTS, HF_INDEX, HF_LEGACY_WEIGHTS)
#: the first bytes of a gzip file (RFC 1952)
GZIP_MAGIC = b"\x1f\x8b"
#: what a legacy torch.save file pickles first (torch/serialization.py MAGIC_NUMBER)
TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
#: a safetensors header larger than this is not one (the format's own limit is 100 MB)
SAFETENSORS_HEADER_LIMIT = 100_000_000


class ContainerError(Exception):
    """The file cannot be read as any checkpoint container; the message says why."""


@dataclass
class RawFile:
    """One checkpoint file as read: the object it holds and how it was stored."""

    obj: Any
    container: str
    #: the file the weights were read from (a folder's model.safetensors)
    file: Path
    #: a Hugging Face folder's (or a safetensors file's neighbouring) config.json
    hf_config: dict[str, Any] | None = None
    #: a safetensors file's header metadata
    metadata: dict[str, str] = field(default_factory=dict)
    #: what reading the container did (decompressed a gzip file), one line each
    notes: list[str] = field(default_factory=list)


#: globals a model-zoo pickle may name: numpy's array (and dtype) reconstruction, the mapping
#: detectron2 saves, and how protocol 2 writes bytes
MODEL_ZOO_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("collections", "OrderedDict"),
    ("_codecs", "encode"),
}


class ModelZooUnpickler(pickle.Unpickler):
    """`pickle.Unpickler` that resolves only `MODEL_ZOO_GLOBALS`: arrays, dtypes, mappings."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in MODEL_ZOO_GLOBALS:
            raise ContainerError(
                f"refused: the pickle names {module}.{name}, which a weights file never needs "
                "(a model-zoo pickle holds numpy arrays only); nothing in it was run"
            )
        if module == "collections":
            import collections

            return collections.OrderedDict
        if module == "_codecs":
            import codecs

            return codecs.encode
        if name in ("ndarray", "dtype"):
            return getattr(np, name)
        core = getattr(np, "_core", None) or np.core
        part = core.multiarray if module.endswith("multiarray") else core.numeric
        return getattr(part, name)


def read_container(path: str | Path, mmap: bool = False) -> RawFile:
    """The object a checkpoint file (or Hugging Face folder) holds; ContainerError says why not."""
    path = Path(path)
    if path.is_dir():
        return _read_hf_folder(path)
    if not path.is_file():
        raise ContainerError("checkpoint file not found")
    head = _head(path, 16)
    if head.startswith(GZIP_MAGIC):
        return _read_gzip(path)
    if head.startswith(b"PK\x03\x04"):
        return RawFile(_torch_load(path, mmap), TORCH_ZIP, path)
    if head.startswith(b"\x80") or _looks_like_text_pickle(path, head):
        return _read_pickle(path)
    if _looks_like_safetensors(head):
        return _read_safetensors(path, _neighbour_config(path))
    raise ContainerError(
        "not a checkpoint: neither a torch.save file (zip archive or pickle), a detectron2 "
        "model-zoo .pkl nor a .safetensors file; give the .pth/.pkl/.safetensors file of a "
        "trained or released model"
    )


def _read_gzip(path: Path) -> RawFile:
    """A gzip-compressed checkpoint (`model.pth.gz`): decompressed into a temporary file (the
    containers need a seekable file) and read into memory from there; the container's name and
    a note say so, and how to keep a plain copy instead."""
    import gzip
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory(prefix="vis_bench_gunzip_") as folder:
        plain = Path(folder) / path.name.removesuffix(".gz")
        try:
            with gzip.open(path, "rb") as packed, open(plain, "wb") as out:
                shutil.copyfileobj(packed, out, 1 << 20)
        except (OSError, EOFError) as err:
            raise ContainerError(f"gzip-compressed, but cannot be decompressed: {err}") from err
        if _head(plain, 2) == GZIP_MAGIC:
            raise ContainerError("gzip-compressed twice: decompress it (gunzip) and give the file")
        try:
            inner = read_container(plain, mmap=False)
        except ContainerError as err:
            raise ContainerError(f"gzip-compressed, and what it holds is {err}") from err
    inner.container = f"gzip-compressed {inner.container}"
    inner.file = path
    inner.notes.append(
        f"gzip-compressed: decompressed to a temporary file and read into memory; `gunzip -k "
        f"{path.name}` keeps a plain copy, which is read memory-mapped (faster, less memory)"
    )
    return inner


def _looks_like_text_pickle(path: Path, head: bytes) -> bool:
    """A pickle of protocol 0 or 1 (Python 2's default): no header, a first opcode that starts
    a dict, list, tuple or global, and the STOP opcode last."""
    if not head[:1] or head[:1] not in b"(}]c":
        return False
    with open(path, "rb") as handle:
        handle.seek(-1, 2)
        return handle.read(1) == b"."


def _head(path: Path, size: int) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(size)


def _read_hf_folder(path: Path) -> RawFile:
    """A Hugging Face model folder: model.safetensors, its shards (with their index), or an
    older folder's pytorch_model.bin, beside config.json."""
    config = _neighbour_config(path / HF_CONFIG)
    weights = path / HF_WEIGHTS
    if weights.is_file():
        return _read_safetensors(weights, config)
    index = path / HF_INDEX
    if index.is_file():
        return _read_shards(index, config)
    legacy = path / HF_LEGACY_WEIGHTS
    if legacy.is_file():
        return RawFile(_torch_load(legacy, True), TORCH_ZIP, legacy, config)
    raise ContainerError(
        f"is a folder, not a checkpoint file: give the file (or a Hugging Face model "
        f"folder, which holds {HF_WEIGHTS} and {HF_CONFIG})"
    )


def _read_shards(index: Path, config: dict[str, Any] | None) -> RawFile:
    """Weights split over several safetensors files, as model.safetensors.index.json maps."""
    try:
        weight_map = json.loads(index.read_text())["weight_map"]
        files = sorted({str(name) for name in weight_map.values()})
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise ContainerError(f"{index} is not a safetensors index: {err}") from err
    tensors: dict[str, Any] = {}
    for name in files:
        shard = index.parent / name
        if Path(name).name != name or not shard.is_file():
            raise ContainerError(f"{index} names the shard {name!r}, which is not beside it")
        tensors.update(_read_safetensors(shard, config).obj)
    return RawFile(tensors, SAFETENSORS, index, config)


def _neighbour_config(weights: Path) -> dict[str, Any] | None:
    """The config.json beside a safetensors file (a Hugging Face folder), None without one."""
    config = weights if weights.name == HF_CONFIG else weights.parent / HF_CONFIG
    if not config.is_file():
        return None
    try:
        data = json.loads(config.read_text())
    except (OSError, ValueError) as err:
        raise ContainerError(f"{config} is not readable JSON: {err}") from err
    if not isinstance(data, dict):
        raise ContainerError(f"{config} is not a JSON object")
    return data


def _looks_like_safetensors(head: bytes) -> bool:
    """8 bytes of header length, then the JSON header's opening brace."""
    return len(head) >= 9 and head[8:9] == b"{"


def _read_safetensors(path: Path, hf_config: dict[str, Any] | None) -> RawFile:
    from safetensors import SafetensorError, safe_open

    size = path.stat().st_size
    (header_size,) = struct.unpack("<Q", _head(path, 8).ljust(8, b"\0"))
    if header_size > min(size - 8, SAFETENSORS_HEADER_LIMIT):
        raise ContainerError(
            f"corrupt safetensors file: its header claims {header_size} bytes, the file has {size}"
        )
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = dict(handle.metadata() or {})
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except (SafetensorError, ValueError, RuntimeError, OSError) as err:
        raise ContainerError(f"corrupt safetensors file: {err}") from err
    return RawFile(tensors, SAFETENSORS, path, hf_config, metadata)


def _read_pickle(path: Path) -> RawFile:
    """A legacy torch.save file (its first pickle is torch's magic number) or a plain pickle
    (detectron2's model zoo), told apart by that first object."""
    try:
        with open(path, "rb") as handle:
            unpickler = ModelZooUnpickler(handle, encoding="latin1")
            first = unpickler.load()
            if first == TORCH_LEGACY_MAGIC:
                return RawFile(_torch_load(path, False), TORCH_LEGACY, path)
            return RawFile(first, MODEL_ZOO_PICKLE, path)
    except ContainerError:
        raise
    except (pickle.UnpicklingError, EOFError) as err:
        raise ContainerError(f"truncated or corrupt pickle: {err or 'ran out of data'}") from err
    except (ValueError, TypeError, AttributeError, IndexError, KeyError, MemoryError) as err:
        raise ContainerError(f"corrupt pickle: {type(err).__name__}: {err}") from err


def _torch_load(path: Path, mmap: bool) -> Any:
    try:
        with torch.serialization.safe_globals(_torch_safe_globals()):
            return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as err:  # pickle errors name the offending global; keep that text
        if mmap and "mmap" in str(err):  # legacy (non-zip) files cannot be memory-mapped
            return _torch_load(path, False)
        raise ContainerError(f"cannot read checkpoint: {_first_lines(err)}") from err


def _torch_safe_globals() -> list[Any]:
    """Classes a weights-only load may meet in the authors' files: argparse.Namespace (training
    checkpoints) and numpy's array reconstruction under numpy 2's name and numpy 1's (a file
    pickled under numpy 1 names `numpy.core.multiarray._reconstruct`)."""
    core = getattr(np, "_core", None) or np.core
    rebuild = core.multiarray._reconstruct
    allowed: list[Any] = [argparse.Namespace, np.ndarray, np.dtype, rebuild]
    allowed.append((rebuild, "numpy.core.multiarray._reconstruct"))
    allowed += [type(np.dtype(t)) for t in ("f2", "f4", "f8", "i4", "i8", "u1", "b1")]
    return allowed


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
