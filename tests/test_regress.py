"""AP regression: the shipped baseline reproduces, a broken model fails, comparisons are right."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from vis_bench.checkpoints import resolve_checkpoint
from vis_bench.cli import main
from vis_bench.config import parse_config
from vis_bench.errors import InputError
from vis_bench.report.baseline import Baseline, compare, read_baseline

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "results" / "baselines" / "synthetic.json"
CELL = {
    "method": "m",
    "checkpoint": "m.pth",
    "options": {},
    "clip_length": "all",
    "stride": None,
    "resolution": 128,
    "device": "cpu",
    "dtype": "fp32",
}


def _baseline(metrics: dict) -> Baseline:
    config = parse_config({"name": "b", "dataset": {"kind": "synthetic"}, "methods": ["ifc"]})
    return Baseline("b.json", config, [{**CELL, "metrics": metrics}], {})


def test_compare_gates_ap_drops_beyond_the_tolerance_only():
    base = _baseline({"AP": 0.500, "AP50": 0.800, "AR1": 0.400})
    within = compare(base, [{**CELL, "status": "ok", "AP": 0.4975, "AP50": 0.81, "AR1": 0.1}], 0.3)
    assert within.regressions == [] and within.missing == []
    assert set(within.table["metric"]) == {"AP", "AP50", "AR1"}  # AR is shown, not gated
    row = within.table.set_index("metric").loc["AP"]
    assert row["baseline"] == pytest.approx(50.0) and row["delta"] == pytest.approx(-0.25)
    beyond = compare(base, [{**CELL, "status": "ok", "AP": 0.496, "AP50": 0.8, "AR1": 0.4}], 0.3)
    assert len(beyond.regressions) == 1 and beyond.regressions[0].startswith("m T=all AP:")


def test_compare_reports_failed_and_missing_cells():
    base = _baseline({"AP": 0.5})
    failed = compare(base, [{**CELL, "status": "failed", "error": "boom"}], 0.3)
    assert failed.missing == ["m T=all: boom"]
    assert compare(base, [], 0.3).missing == ["m T=all: did not run"]


def test_a_file_that_is_not_a_baseline_is_refused(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"cells": []}))
    with pytest.raises(InputError, match="not a vis-bench baseline"):
        read_baseline(path)


def test_shipped_baseline_lists_the_shipped_checkpoints():
    baseline = read_baseline(SHIPPED)
    assert {c["method"] for c in baseline.cells} == {"seqformer", "ifc", "mssts"}
    assert baseline.config.measure.threads == 1
    for cell in baseline.cells:
        assert (REPO / cell["checkpoint"]).is_file()
        # every shipped model has learned: untrained weights score AP 0.0 on this split
        # (the AP 30 target is not reached yet; docs/training.md)
        assert cell["metrics"]["AP"] >= 0.05


def test_shipped_checkpoints_are_found_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    found = resolve_checkpoint("results/checkpoints/ifc_tiny.pth")
    assert found == REPO / "results" / "checkpoints" / "ifc_tiny.pth"
    assert resolve_checkpoint("mine.pth") == Path("mine.pth")  # reported missing by the caller
    (tmp_path / "results" / "checkpoints").mkdir(parents=True)
    (tmp_path / "results" / "checkpoints" / "ifc_tiny.pth").write_bytes(b"")
    assert resolve_checkpoint(
        "results/checkpoints/ifc_tiny.pth"
    ).resolve().parent.parent.parent == (
        tmp_path.resolve()
    )  # the working directory's own file wins


@pytest.mark.slow
def test_shipped_baseline_reproduces(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    assert main(["regress", "--baseline", str(SHIPPED)]) == 0
    assert "no regression" in capsys.readouterr().out


@pytest.mark.slow
def test_a_zeroed_mask_head_fails_the_regression(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    data = json.loads(SHIPPED.read_text())
    cell = next(c for c in data["cells"] if c["method"] == "ifc")
    checkpoint = torch.load(REPO / cell["checkpoint"], weights_only=True)
    for key, value in checkpoint["state_dict"].items():
        if key.startswith("detr.mask_head."):
            value.zero_()
    broken = tmp_path / "broken.pth"
    torch.save(checkpoint, broken)
    method = next(m for m in data["config"]["methods"] if m["name"] == "ifc")
    method["checkpoint"] = cell["checkpoint"] = str(broken)
    data["config"]["methods"] = [method]
    data["cells"] = [cell]
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(data))
    assert main(["regress", "--baseline", str(path)]) == 1
    assert "REGRESSION ifc T=all AP:" in capsys.readouterr().out
