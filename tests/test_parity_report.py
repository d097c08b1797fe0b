"""A parity report passes only on real comparisons: no missing expected file, no empty tensor."""

from __future__ import annotations

from pathlib import Path

import torch

from vis_bench.parity import ParityReport


def test_a_report_with_matching_outputs_passes():
    report = ParityReport("m", "f")
    report.add_tensor("x", torch.ones(3), torch.ones(3), atol=0.0)
    assert report.passed and report.compared == 1


def test_a_missing_expected_file_fails_even_when_the_rest_matches(tmp_path: Path):
    (tmp_path / "outputs.pt").write_bytes(b"")
    report = ParityReport("m", str(tmp_path))
    present = report.expect_files(tmp_path, ("outputs.pt", "postprocess.pt"))
    assert present == ["outputs.pt"]
    report.add_tensor("x", torch.ones(3), torch.ones(3), atol=0.0)
    assert not report.passed
    text = report.format()
    assert "expected-output files missing: postprocess.pt" in text and text.endswith("FAIL")
    assert report.to_json()["missing_files"] == ["postprocess.pt"]


def test_an_empty_tensor_is_not_a_passing_comparison():
    report = ParityReport("m", "f")
    check = report.add_tensor("x", torch.ones(0, 4), torch.ones(0, 4), atol=1.0)
    assert check.structural and "empty" in check.detail
    assert report.compared == 0 and not report.passed  # empty tensors alone prove nothing
    report.add_tensor("z", torch.ones(2), torch.ones(2), atol=0.0)
    assert report.passed  # an empty leaf beside real comparisons is fine when shapes agree
    assert not report.add_tensor("y", torch.ones(0, 3), torch.ones(0, 4), atol=1.0).passed
    assert not report.passed
