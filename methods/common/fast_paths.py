"""Inference-time fast paths shared by every method, each one switchable for measurement.

A benchmark's FPS should compare methods, not implementation effort, so the speed-ups live in
the shared parts (ResNet, convolutions, FFNs, deformable attention, mask heads) and every
method gets them alike. Each is an inference-time transformation that leaves outputs within the
parity tolerances; none touches the parameters or the state dict:

- `fold_bn`: a frozen BatchNorm is folded into the preceding convolution's weight and bias
  (computed once, cached beside the convolution and recomputed if a weight changes);
- `fuse_conv`: a convolution's bias, ReLU and residual add run inside the convolution (oneDNN
  post-ops on CPU in float32); where that kernel cannot run, ReLU and the add run in place;
- `channels_last`: on CPU the ResNet and the convolutions after it (EoMT's upscale too) run in
  NHWC layout;
- `lean_linear`: FFN and projection layers without temporaries: bias and ReLU inside the matrix
  product (oneDNN on CPU in float32, else ReLU in place), residual adds in place, and the two
  projections deformable attention computes from one query merged into one product;
- `lean_attention`: deformable attention skips masking values when no token is padded and forms
  its sampling locations in one contiguous pass instead of a six-dimensional broadcast;
- `query_masks`: mask heads run only for the queries post-processing keeps (SeqFormer's top-k
  (query, class) pairs, IFC's queries whose argmax is an object);
- `inference_mode`: `infer_clip` runs under `torch.inference_mode` instead of `no_grad`;
- `reuse_memory`: on CPU, freed activation memory stays in the process for the next clip instead
  of being unmapped and page-faulted in again (a process-wide glibc setting,
  vis_bench/api/host_memory.py, which the harness also turns on for its own buffers unless a
  method chose; it trades some resident memory for time).

Switches are read in one place, `paths_from_env`, from `VIS_BENCH_FAST_PATHS`: unset or "all"
turns every path on, "none" turns all off, and a comma-separated list names the paths to use,
or with a leading "-" the ones to leave out of all (e.g. "all,-channels_last").

Nothing here runs in training: the paths are attached to a model by `prepare_for_inference`
(the plugins call it through `ensure_prepared` on their first `infer_clip`), and a module uses
them only in eval mode with autograd off (`active_paths`). A model never prepared, a module in
training mode or a forward that records gradients runs the original code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from vis_bench.api import InputError
from vis_bench.api.execution import harness_compiles
from vis_bench.api.host_memory import reuse_freed_memory

ENV_VAR = "VIS_BENCH_FAST_PATHS"
#: the attribute `prepare_for_inference` sets on every module of a prepared model
_ATTR = "_vis_bench_fast_paths"


@dataclass(frozen=True)
class FastPaths:
    """Which inference fast paths are on (see the module docstring for what each does)."""

    fold_bn: bool = True
    fuse_conv: bool = True
    channels_last: bool = True
    lean_linear: bool = True
    lean_attention: bool = True
    query_masks: bool = True
    inference_mode: bool = True
    reuse_memory: bool = True

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def all_on(cls) -> FastPaths:
        return cls()

    @classmethod
    def all_off(cls) -> FastPaths:
        return cls(**dict.fromkeys(cls.names(), False))

    def without(self, name: str) -> FastPaths:
        """These paths with `name` switched off (the benchmark's ablations)."""
        return dataclasses.replace(self, **{name: False})

    def enabled(self) -> list[str]:
        return [name for name in self.names() if getattr(self, name)]


#: what an unprepared model, a module in training mode or a gradient-recording forward uses
OFF = FastPaths.all_off()


def parse_fast_paths(value: str | None) -> FastPaths:
    """Parse "all", "none", "a,b" (only these) or "all,-a,-b" (all but these)."""
    text = (value or "all").strip().lower()
    if text in ("", "all", "1", "on"):
        return FastPaths.all_on()
    if text in ("none", "0", "off"):
        return FastPaths.all_off()
    items = [item.strip() for item in text.split(",") if item.strip()]
    base = FastPaths.all_on() if "all" in items else FastPaths.all_off()
    chosen = {name: getattr(base, name) for name in FastPaths.names()}
    for item in items:
        if item == "all":
            continue
        name = item[1:] if item.startswith("-") else item
        if name not in chosen:
            raise InputError(
                f"unknown fast path {name!r} in {value!r}; use all, none, or a comma-separated "
                f"list of {', '.join(FastPaths.names())} (a leading '-' leaves one out of all)",
                field=ENV_VAR,
            )
        chosen[name] = not item.startswith("-")
    return FastPaths(**chosen)


def paths_from_env(environ: Mapping[str, str] | None = None) -> FastPaths:
    """The switches of this process: `VIS_BENCH_FAST_PATHS` (default: every path on)."""
    env = os.environ if environ is None else environ
    return parse_fast_paths(env.get(ENV_VAR))


def prepare_for_inference(model: nn.Module, paths: FastPaths | None = None) -> FastPaths:
    """Attach `paths` (default: `paths_from_env()`) to every module of `model`.

    Called again it replaces the switches (the benchmark alternates them in one process).
    Parameters, buffers and the state dict are left as they are; derived tensors (folded
    weights) are cached on first use. A model on CPU also sets `reuse_memory` for the process.
    """
    paths = paths_from_env() if paths is None else paths
    for module in model.modules():
        object.__setattr__(module, _ATTR, paths)
    first = next(model.parameters(), None)
    if first is not None and first.device.type == "cpu":
        reuse_freed_memory(paths.reuse_memory)
    return paths


def ensure_prepared(model: nn.Module) -> FastPaths:
    """The model's switches, preparing it from the environment on the first call."""
    paths = getattr(model, _ATTR, None)
    if paths is None:
        paths = prepare_for_inference(model)
    return paths


def prepared_paths(model: nn.Module) -> FastPaths | None:
    """The switches a model was prepared with, or None."""
    return getattr(model, _ATTR, None)


def active_paths(module: nn.Module) -> FastPaths:
    """The paths `module` may use now: its prepared ones in eval mode without autograd, else OFF."""
    paths = getattr(module, _ATTR, None)
    if paths is None or module.training or torch.is_grad_enabled():
        return OFF
    return paths


@contextlib.contextmanager
def inference_context(paths: FastPaths) -> Iterator[None]:
    """`torch.inference_mode` when that path is on, else `torch.no_grad`; `no_grad` too while
    the harness compiles the forward (inference tensors break torch.compile's tracing)."""
    inference = paths.inference_mode and not harness_compiles()
    with torch.inference_mode() if inference else torch.no_grad():
        yield


def _version_key(tensors: tuple[torch.Tensor, ...]) -> tuple[Any, ...]:
    # new storage (load, .to(), .half()) or an in-place change (copy_ in load_state_dict)
    # changes one of these; inference tensors have no version counter (and cannot be changed
    # in place outside inference mode)
    return tuple(
        (id(t), t.data_ptr(), None if t.is_inference() else t._version, t.dtype, t.device)
        for t in tensors
    )


def cached_derived(
    owner: nn.Module,
    name: str,
    sources: tuple[torch.Tensor, ...],
    build: Callable[[], Any],
) -> Any:
    """`build()` cached on `owner` under `name` until any tensor of `sources` changes.

    The cache is a plain attribute (not a buffer), so state dicts and checkpoints never see it.
    While torch.compile traces, `build()` goes into the graph instead: reading the cache's key
    (storage pointers, version counters) would break the graph at every call.
    """
    if torch.compiler.is_compiling():
        with torch.no_grad():
            return build()
    key = _version_key(sources)
    cached = owner.__dict__.get(name)
    if cached is not None and cached[0] == key:
        return cached[1]
    with torch.no_grad():
        value = build()
    owner.__dict__[name] = (key, value)
    return value


class RecordsFastPaths:
    """Plugin mixin: the record's `execution` names the fast paths this model ran with, the
    environment variable that chose them, and (`non_default`) the paths that were off, so a
    record made with paths off cannot pass for one made with all on (GMACs/frame depend on
    `query_masks`, peak memory on `reuse_memory`)."""

    model: nn.Module

    def execution_info(self) -> dict[str, Any]:
        base = getattr(super(), "execution_info", None)
        info = dict(base()) if base is not None else {}
        paths = getattr(self.model, _ATTR, None) or paths_from_env()
        off = [name for name in FastPaths.names() if not getattr(paths, name)]
        info["fast_paths"] = [name for name in FastPaths.names() if getattr(paths, name)]
        info["fast_paths_env"] = os.environ.get(ENV_VAR)
        info["non_default"] = list(info.get("non_default", [])) + [
            f"fast path {name} off" for name in off
        ]
        return info
