"""A round's worker starts with what every round imports already imported by the fork server:
the kernel loader (torch.utils.cpp_extension, with setuptools), the measure modules read around
the timed region and PIL's frame decoders, which each (cell, round) otherwise imported again."""

from __future__ import annotations

import sys

import pytest

from vis_bench.sweep.isolation import run_isolated

#: what a timed round of the default run imported after its worker started, before the preload
ROUND_IMPORTS = [
    "torch.utils.cpp_extension",
    "vis_bench.measure.compile",
    "vis_bench.measure.environment",
    "vis_bench.measure.gpu_state",
    "vis_bench.measure.load",
    "vis_bench.measure.reference",
    "PIL.JpegImagePlugin",
]


def _imported_at_start(job: object, progress: object = None) -> list[str]:
    """A worker's target: which of `ROUND_IMPORTS` it found imported when it started."""
    return [name for name in ROUND_IMPORTS if name in sys.modules]


class _Job:
    environ: dict[str, str] = {}


@pytest.mark.slow  # starts a fork server (torch and the harness imported)
def test_a_worker_starts_with_what_a_round_imports_already_imported():
    found = run_isolated(_Job(), timeout_s=120, target=_imported_at_start)
    assert found == ROUND_IMPORTS


def _parent_pid(job: object, progress: object = None) -> int:
    """A worker's target: its parent process (the fork server, or the sweep that spawned it)."""
    import os

    return os.getppid()


class _CudaJob:
    environ: dict[str, str] = {}
    device = "cuda:0"


@pytest.mark.slow  # spawns an interpreter that imports the harness
def test_a_cell_on_an_accelerator_gets_a_spawned_worker_not_a_fork_of_the_server():
    """A fork of a server where importing the preloaded modules initialised CUDA cannot use
    CUDA (on a GPU every CUDA cell failed so); a spawned worker's parent is the sweep itself."""
    import os

    assert run_isolated(_CudaJob(), timeout_s=120, target=_parent_pid) == os.getpid()
    assert run_isolated(_Job(), timeout_s=120, target=_parent_pid) != os.getpid()
