"""A worker builds its method and loads the checkpoint on one torch thread, then gives the cell
its threads back: hundreds of small tensor operations (initialisation, a copy and a cast per
weight) each woke the OpenMP threads, which on a shared 2-core machine cost every (cell, round)
several times the one-thread build. The weights are the same bit for bit."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

import vis_bench.formats.checkpoints as checkpoints
from vis_bench.config import load_config
from vis_bench.sweep import resolve_methods
from vis_bench.sweep.methods import MethodEntry
from vis_bench.sweep.worker import build_plugin, import_plugin

REPO = Path(__file__).resolve().parents[1]


def _entry(name: str) -> MethodEntry:
    config = load_config(REPO / "configs" / "default.yaml", [], None)
    return next(e for e in resolve_methods(config) if e.name == name)


def _built_on_the_cells_threads(entry: MethodEntry) -> dict[str, torch.Tensor]:
    """The build as it was: every operation on the threads the cell runs with."""
    torch.manual_seed(0)
    plugin = import_plugin(entry.plugin).build(dict(entry.model_options))
    if entry.checkpoint_path is not None:
        contents = checkpoints.open_checkpoint(entry.checkpoint_path)
        plugin.load_checkpoint(contents, entry.checkpoint_strict)
    return plugin.model.state_dict()


@pytest.fixture
def two_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


@pytest.mark.slow  # four builds, twice each
@pytest.mark.usefixtures("two_threads")
@pytest.mark.parametrize("name", ["videomt", "minvis"])
@pytest.mark.parametrize("weights", ["checkpoint", "seeded random"])
def test_the_one_thread_build_gives_the_same_weights_and_the_threads_back(name, weights):
    entry = _entry(name)
    if weights == "seeded random":
        entry = dataclasses.replace(entry, checkpoint_path=None)
    plugin, _ = build_plugin(entry)
    assert torch.get_num_threads() == 2
    expected = _built_on_the_cells_threads(entry)
    built = plugin.model.state_dict()
    assert list(built) == list(expected)
    assert all(torch.equal(built[k], expected[k]) for k in expected)


@pytest.mark.usefixtures("two_threads")
def test_the_checkpoint_is_read_and_loaded_on_one_thread(monkeypatch):
    seen: list[int] = []
    read = checkpoints.open_checkpoint

    def reading(path):
        seen.append(torch.get_num_threads())
        return read(path)

    monkeypatch.setattr(checkpoints, "open_checkpoint", reading)
    build_plugin(_entry("videomt"))
    assert seen == [1]
    assert torch.get_num_threads() == 2
