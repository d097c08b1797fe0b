"""IFC reproduces the authors' outputs on the golden fixture (forward, post-processing, matching)."""

from __future__ import annotations

import pytest
import torch

from vis_bench.cli import main


@pytest.mark.slow
def test_parity_command_passes_on_public_fixture(golden_dir, tmp_path, capsys):
    out = tmp_path / "ifc_parity.pt"
    rc = main(
        [
            "parity",
            "--method",
            "ifc",
            "--fixture",
            str(golden_dir / "ifc/public"),
            "--out",
            str(out),
        ]
    )
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "MISMATCH" not in text
    produced = torch.load(out, weights_only=True)
    expected = torch.load(golden_dir / "ifc/public/forward.pt", weights_only=True)
    assert set(produced["outputs_eval"]) == set(expected["outputs_eval"])
    assert (
        produced["outputs_eval"]["pred_masks"].shape == expected["outputs_eval"]["pred_masks"].shape
    )
    results = produced["matching"]["synthetic_near_online"]["results"]
    assert results and set(results[0]) == {"video_id", "score", "category_id", "segmentations"}


@pytest.mark.slow
def test_parity_detects_a_changed_weight(golden_dir, tmp_path):
    """The comparison can fail: perturb one stored weight and the forward check must break."""
    import shutil

    from vis_bench.methods.ifc.parity import run_parity

    src = golden_dir / "ifc/public"
    dst = tmp_path / "fixture"
    shutil.copytree(src, dst)
    (dst / "state_dict.pt").chmod(0o644)
    state = torch.load(dst / "state_dict.pt", weights_only=True)
    state["detr.class_embed.layers.1.bias"] = state["detr.class_embed.layers.1.bias"] + 0.01
    torch.save(state, dst / "state_dict.pt")
    report = run_parity(dst, None)
    assert not report.passed
    failed = {c.name for c in report.checks if not c.passed}
    assert "forward pred_logits" in failed


def test_another_methods_fixture_is_an_error_not_a_traceback(golden_dir, capsys):
    from vis_bench.cli import main

    code = main(["parity", "--method", "ifc", "--fixture", str(golden_dir / "seqformer/public")])
    assert code == 2
    assert "not an IFC parity fixture" in capsys.readouterr().err
