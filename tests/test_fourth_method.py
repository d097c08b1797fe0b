"""A fourth method moves in without touching the harness: the toy method, defined entirely in
tests/helpers/toy_method.py with @register_method, is listed, trained and swept like the others."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import tests.helpers.toy_method  # noqa: F401  (registers "toy")
from tests.helpers.memory_source import MemorySource
from tests.helpers.quick_rounds import QUICK_ROUNDS
from vis_bench.cli import main
from vis_bench.config import DatasetConfig, parse_config
from vis_bench.formats.checkpoints import read_project_checkpoint
from vis_bench.sweep import run_sweep
from vis_bench.train.config import ClipConfig, OptimConfig, TrainConfig
from vis_bench.train.trainer import train

HARNESS = Path(__file__).resolve().parents[1] / "vis_bench"


def test_the_harness_names_no_method():
    """No file of vis_bench/ mentions a method package (the registry finds them)."""
    for path in HARNESS.rglob("*.py"):
        text = path.read_text()
        for name in (
            "vis_bench.methods.seqformer",
            "vis_bench.methods.ifc",
            "vis_bench.methods.mssts",
            "vis_bench.methods.mask2former_vis",
            "vis_bench.methods.minvis",
        ):
            assert name not in text, (path, name)


def test_it_is_listed_with_its_declaration(capsys):
    assert main(["methods", "toy"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("toy: test-only toy method")
    assert "options: ballast_mb=0, fail_build=False, label=1, misbehave=None" in out
    assert "training: yes" in out


@pytest.mark.slow
def test_it_trains_for_a_few_steps_and_its_checkpoint_sweeps(tmp_path):
    config = TrainConfig(
        name="toy",
        method="toy",
        dataset=DatasetConfig(
            kind="synthetic", videos=2, min_frames=4, max_frames=5, cache_dir=str(tmp_path / "c")
        ),
        clip=ClipConfig(frames=3, scales=[32]),
        optim=OptimConfig(iterations=3),
        output=str(tmp_path / "toy.pth"),
        work_dir=str(tmp_path / "work"),
        checkpoint_every=2,
    )
    outcome = train(config, progress=False, log=lambda _: None)
    assert outcome.iterations == 3
    trained = read_project_checkpoint(config.output)
    assert trained.method == "toy" and set(trained.state_dict) >= {"conv.weight", "conv.bias"}
    assert not torch.equal(trained.state_dict["conv.bias"], torch.nn.Conv2d(3, 1, 1).bias)
    sweep = parse_config(
        {
            "name": "toy",
            "dataset": {"kind": "synthetic"},
            "methods": [{"name": "toy", "checkpoint": config.output}],
            "measure": {**QUICK_ROUNDS, "warmup": 0, "repeats": 1},
        }
    )
    (record,) = run_sweep(sweep, MemorySource(), tmp_path / "run", log=lambda s: None)
    assert record["status"] == "ok" and record["checkpoint_load"]["format"] == "vis-bench"
