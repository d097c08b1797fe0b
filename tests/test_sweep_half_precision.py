"""A half-precision cell runs the compiled deformable-attention kernel in that dtype, and its record
says what ran; a partial checkpoint load, asked for, is on record too."""

from __future__ import annotations

import shutil

import pytest
import torch

import tests.helpers.toy_method  # noqa: F401  (registers "toy")
from tests.helpers.memory_source import MemorySource
from vis_bench.config import parse_config
from vis_bench.sweep import run_sweep

TINY_SEQFORMER = {
    "backbone": "tiny",
    "hidden_dim": 32,
    "dim_feedforward": 64,
    "nheads": 4,
    "enc_layers": 1,
    "dec_layers": 1,
    "num_queries": 5,
}
#: the compiled kernel needs a C++ compiler; without one the op runs the reference (and says so)
EXPECTED_CORE = ["compiled-cpu"] if shutil.which("c++") or shutil.which("g++") else ["reference"]


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
def test_a_half_precision_cell_runs_the_compiled_kernel_and_records_it(tmp_path, dtype):
    config = parse_config(
        {
            "name": "half",
            "dataset": {"kind": "synthetic"},
            "methods": [{"name": "seqformer", "options": TINY_SEQFORMER}],
            "sweep": {"clip_length": [4], "dtype": [dtype], "resolution": [32]},
            "measure": {"warmup": 0, "repeats": 1, "flops": False},
        }
    )
    (record,) = run_sweep(config, MemorySource(lengths=(5,)), tmp_path, log=lambda s: None)
    assert record["status"] == "ok", record.get("error")
    assert record["dtype"] == dtype and record["execution"]["dtype"] == dtype
    assert record["execution"]["deform_attn_core"] == EXPECTED_CORE


def _partial_config(weights, strict: bool = False):
    config = parse_config(
        {
            "name": "partial",
            "dataset": {"kind": "synthetic"},
            "methods": [{"name": "ifc", "checkpoint": str(weights), "checkpoint_strict": strict}],
            "sweep": {"clip_length": ["all"], "resolution": [32]},
            "measure": {"warmup": 0, "repeats": 1, "flops": False, "fps": False},
        }
    )
    config.methods[0].options = IFC_TINY
    return config


IFC_TINY = {"backbone": "tiny", "hidden_dim": 32, "num_queries": 3}


def test_an_asked_for_partial_load_is_recorded(tmp_path):
    from vis_bench.api.registration import get_method

    weights = tmp_path / "most.pth"
    state = get_method("ifc").build(IFC_TINY).model.state_dict()
    kept = dict(list(state.items())[2:])  # two tensors missing
    torch.save({**kept, "extra.weight": torch.zeros(1), "extra.bias": torch.zeros(1)}, weights)
    (record,) = run_sweep(
        _partial_config(weights), MemorySource(lengths=(3,)), tmp_path, log=lambda s: None
    )
    assert record["status"] == "ok", record.get("error")
    load = record["checkpoint_load"]
    assert load["partial"] and load["strict"] is False and load["unexpected"] == 2
    assert load["missing"] == 2
    assert "partial checkpoint load" in record["notes"]


def test_a_partial_load_that_fills_too_little_fails_the_cell(tmp_path):
    """checkpoint_strict: false is for a file that mostly fits, not for a foreign one."""
    weights = tmp_path / "conv.pth"
    torch.save(torch.nn.Conv2d(3, 1, 1).state_dict(), weights)
    (record,) = run_sweep(
        _partial_config(weights), MemorySource(lengths=(3,)), tmp_path, log=lambda s: None
    )
    assert record["status"] == "failed"
    assert "fills only 0% of the ifc model's tensors" in record["error"]
    assert "at least 50%" in record["error"]
