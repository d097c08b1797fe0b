"""Build-on-first-use of the compiled kernels, with a one-time warning when that is impossible.

Extensions go to torch's extension cache (TORCH_EXTENSIONS_DIR, default
~/.cache/torch_extensions), one build per source version and torch installation (see
`build_name`). The kernels register private ops (`torch.ops.vis_bench_msda_cpu`,
`torch.ops.vis_bench_msda_cuda`) that the public op in `op.py` calls. Set VIS_BENCH_NO_EXT=1 to
skip compiling and use the PyTorch reference.
"""

from __future__ import annotations

import hashlib
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import torch

CSRC = Path(__file__).resolve().parent / "csrc"
CPU_SOURCES = [CSRC / "ms_deform_attn_cpu.cpp"]
CUDA_SOURCES = [CSRC / "ms_deform_attn_cuda.cu"]
CPU_NAMESPACE = "vis_bench_msda_cpu"
CUDA_NAMESPACE = "vis_bench_msda_cuda"

_lock = threading.Lock()
_loaded: dict[str, Any] = {}  # backend -> torch.ops namespace, or None after a failure
_warned: set[str] = set()


def build_name(namespace: str, sources: list[Path]) -> str:
    """The extension's cache name: its op namespace plus a digest of its sources (their paths
    and contents) and of the torch installation it is built against.

    torch's extension cache is keyed by name alone, so two checkouts of different versions on one
    machine would otherwise rebuild over each other's library, and a process could load the
    other's kernel. Two virtual environments of the same checkout would too: each writes its own
    include paths into the build file, so each process of the other rebuilds the library while
    the first may be loading it (a failed load falls back to the slow reference). So would two
    checkouts of one version at two paths: the build file names its sources by path, and each
    checkout's first use rebuilt the other's library (tens of seconds on 2 cores, paid again at
    every switch). With the digest each checkout, source version and torch installation has its
    own build.
    """
    digest = hashlib.sha256()
    for source in sources:
        digest.update(f"{source.resolve()}\0".encode())
        digest.update(source.read_bytes())
    digest.update(f"{torch.__version__}\0{Path(torch.__file__).resolve().parent}".encode())
    return f"{namespace}_{digest.hexdigest()[:12]}"


def _compile(backend: str) -> None:
    """Compile and load one backend's extension (raises on any failure)."""
    from torch.utils import cpp_extension

    if backend == "cpu":
        cpp_extension.load(
            name=build_name(CPU_NAMESPACE, CPU_SOURCES),
            sources=[str(s) for s in CPU_SOURCES],
            extra_cflags=["-O3", "-fopenmp"],
            extra_ldflags=["-fopenmp"],
            is_python_module=False,
            verbose=False,
        )
    elif backend == "cuda":
        cpp_extension.load(
            name=build_name(CUDA_NAMESPACE, CUDA_SOURCES),
            sources=[str(s) for s in CUDA_SOURCES],
            extra_cflags=["-O3"],
            extra_cuda_cflags=["-O3"],
            is_python_module=False,
            verbose=False,
        )
    else:
        raise RuntimeError(f"no compiled kernel for device type {backend!r}")


def warn_once(key: str, message: str) -> None:
    """One warning per process and reason: a slow fallback should be noticed, not spam logs."""
    if key in _warned:
        return
    _warned.add(key)
    warnings.warn(message, RuntimeWarning, stacklevel=4)


def kernels(device_type: str) -> Any | None:
    """The compiled ops namespace for `device_type`, building it on first use; None to fall back."""
    if device_type in _loaded:
        return _loaded[device_type]
    with _lock:
        if device_type in _loaded:
            return _loaded[device_type]
        namespace = CPU_NAMESPACE if device_type == "cpu" else CUDA_NAMESPACE
        reason = None
        if os.environ.get("VIS_BENCH_NO_EXT", "") not in ("", "0"):
            reason = "VIS_BENCH_NO_EXT is set"
        elif device_type == "cuda" and not torch.version.cuda:
            reason = "this torch build has no CUDA"
        else:
            try:
                _compile(device_type)
            except Exception as err:  # missing compiler, failed build, unsupported device...
                lines = str(err).strip().splitlines() or [type(err).__name__]
                reason = f"the build failed ({type(err).__name__}: {lines[-1][:300]})"
        if reason is None:
            _loaded[device_type] = getattr(torch.ops, namespace)
        else:
            _loaded[device_type] = None
            warn_once(
                f"fallback-{device_type}",
                f"ms_deform_attn: compiled {device_type} kernel unavailable ({reason}); "
                "using the much slower pure-PyTorch reference",
            )
        return _loaded[device_type]


def reset() -> None:
    """Forget build results and warnings (tests simulate build failures with this)."""
    with _lock:
        _loaded.clear()
        _warned.clear()
