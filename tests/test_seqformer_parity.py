"""`run_bench.py parity --method seqformer` against the golden fixture made with the official code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from vis_bench.cli import main
from vis_bench.methods.seqformer.plugin import SeqFormerPlugin

FIXTURE_FILES = (
    "meta.json",
    "state_dict.pt",
    "inputs.pt",
    "outputs.pt",
    "postprocess_inputs.pt",
    "postprocess_expected.json",
)


pytestmark = pytest.mark.usefixtures("one_thread")


def _fixture(golden_dir: Path) -> Path:
    return golden_dir / "seqformer" / "public"


def _copy_fixture(golden_dir: Path, dest: Path, files=FIXTURE_FILES) -> Path:
    dest.mkdir()
    for name in files:
        shutil.copy(_fixture(golden_dir) / name, dest / name)
        (dest / name).chmod(0o644)
    return dest


def test_parity_command_passes_and_writes_outputs(golden_dir, tmp_path, capsys):
    out = tmp_path / "produced.pt"
    code = main(
        [
            "parity",
            "--method",
            "seqformer",
            "--fixture",
            str(_fixture(golden_dir)),
            "--out",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "PASS" in printed and "MISMATCH" not in printed
    produced = torch.load(out, weights_only=True)
    expected = torch.load(_fixture(golden_dir) / "outputs.pt", weights_only=True)
    assert set(produced) == set(expected) | {"postprocess"}
    assert set(produced["intermediate"]) == set(expected["intermediate"])
    for key in ("pred_logits", "pred_boxes", "pred_masks"):
        assert produced[key].shape == expected[key].shape
    cases = json.loads((_fixture(golden_dir) / "postprocess_expected.json").read_text())
    assert produced["postprocess"] == cases


def test_parity_detects_a_changed_weight(golden_dir, tmp_path):
    fixture = _copy_fixture(golden_dir, tmp_path / "fx")
    state = torch.load(fixture / "state_dict.pt", weights_only=True)
    state["detr.class_embed.1.bias"] = state["detr.class_embed.1.bias"] + 0.01
    torch.save(state, fixture / "state_dict.pt")
    report = SeqFormerPlugin.run_parity(fixture, None)
    failed = {c.name for c in report.checks if not c.passed}
    assert not report.passed
    assert "pred_logits" in failed
    assert "pred_boxes" not in failed  # the class head of the last layer does not move boxes


def test_parity_detects_a_postprocess_difference(golden_dir, tmp_path):
    fixture = _copy_fixture(golden_dir, tmp_path / "fx")
    cases = json.loads((fixture / "postprocess_expected.json").read_text())
    cases["crafted_branches"][0]["score"] += 1e-5
    cases["official_outputs"] = cases["official_outputs"][::-1]
    (fixture / "postprocess_expected.json").write_text(json.dumps(cases))
    report = SeqFormerPlugin.run_parity(fixture, None)
    failed = {c.name for c in report.checks if not c.passed}
    assert failed == {"postprocess.crafted_branches", "postprocess.official_outputs"}


def test_parity_without_expected_files_only_produces(golden_dir, tmp_path):
    fixture = _copy_fixture(
        golden_dir, tmp_path / "fx", ("meta.json", "state_dict.pt", "inputs.pt")
    )
    out = tmp_path / "out.pt"
    report = SeqFormerPlugin.run_parity(fixture, out)
    assert report.passed
    assert [c.name for c in report.checks] == ["state_dict keys"]
    assert "pred_masks" in report.produced_only
    assert torch.load(out, weights_only=True)["pred_masks"].shape == (1, 10, 3, 16, 24)


def test_parity_also_holds_with_the_pure_pytorch_core(golden_dir):
    """The default core is the compiled kernel; the reference core must reproduce too."""
    from vis_bench.methods.common.ms_deform_attn_core import use_ms_deform_attn_core

    with use_ms_deform_attn_core(None):
        report = SeqFormerPlugin.run_parity(_fixture(golden_dir), None)
    assert report.passed, report.format()
