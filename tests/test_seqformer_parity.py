"""`run_bench.py parity --method seqformer` against the golden fixture made with the official code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from vis_bench.cli import main
from vis_bench.methods.families.seqformer.parity import run_parity

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
    report = run_parity(fixture, None)
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
    report = run_parity(fixture, None)
    failed = {c.name for c in report.checks if not c.passed}
    assert failed == {"postprocess.crafted_branches", "postprocess.official_outputs"}


def test_parity_cannot_pass_on_a_fixture_without_expected_outputs(golden_dir, tmp_path, capsys):
    """Even an all-zero state dict would "pass" if nothing were compared: it must fail."""
    fixture = _copy_fixture(
        golden_dir, tmp_path / "fx", ("meta.json", "state_dict.pt", "inputs.pt")
    )
    state = torch.load(fixture / "state_dict.pt", weights_only=True)
    torch.save({k: torch.zeros_like(v) for k, v in state.items()}, fixture / "state_dict.pt")
    out = tmp_path / "out.pt"
    report = run_parity(fixture, out)
    assert not report.passed and report.compared == 0
    assert "nothing to compare: outputs.pt, postprocess_expected.json missing" in report.format()
    assert "pred_masks" in report.produced_only
    assert torch.load(out, weights_only=True)["pred_masks"].shape == (1, 10, 3, 16, 24)
    code = main(["parity", "--method", "seqformer", "--fixture", str(fixture)])
    assert code == 1 and "nothing to compare" in capsys.readouterr().out


def test_an_expected_output_the_model_did_not_produce_fails(golden_dir, tmp_path):
    fixture = _copy_fixture(golden_dir, tmp_path / "fx")
    expected = torch.load(fixture / "outputs.pt", weights_only=True)
    expected["intermediate"]["decoder_attention"] = torch.zeros(3)
    torch.save(expected, fixture / "outputs.pt")
    report = run_parity(fixture, None)
    failed = [c for c in report.checks if not c.passed]
    assert [c.name for c in failed] == ["intermediate.decoder_attention"]
    assert "not produced" in failed[0].detail


def test_a_method_without_a_reference_says_so(golden_dir, capsys):
    code = main(["parity", "--method", "mssts", "--fixture", str(_fixture(golden_dir))])
    assert code == 2  # an input error, as every exit status of docs/commands.md
    captured = capsys.readouterr()
    assert "'mssts' has no reference implementation" in captured.err
    assert "--method" in captured.err and "PASS" not in captured.out


def test_another_methods_fixture_is_an_error_not_a_traceback(golden_dir, capsys):
    code = main(["parity", "--method", "seqformer", "--fixture", str(golden_dir / "ifc/public")])
    assert code == 2
    assert "not a SeqFormer-family parity fixture" in capsys.readouterr().err


def test_parity_also_holds_with_the_pure_pytorch_core(golden_dir):
    """The default core is the compiled kernel; the reference core must reproduce too."""
    from vis_bench.methods.common.ms_deform_attn_core import use_ms_deform_attn_core

    with use_ms_deform_attn_core(None):
        report = run_parity(_fixture(golden_dir), None)
    assert report.passed, report.format()
