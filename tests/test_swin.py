"""The Swin backbone against the fixture made with the authors' SwinTransformer (outputs 1e-5,
intermediates 5e-5, shift masks exact), through the function and `parity --backbone swin`."""

from __future__ import annotations

import shutil

import pytest
import torch

from vis_bench.cli import main
from vis_bench.methods.common.swin import SwinTransformer, relative_position_index
from vis_bench.methods.common.swin_parity import run_parity

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def fixture_dir(golden_dir):
    return golden_dir / "backbones" / "public"


def test_public_fixture_passes_with_every_map_compared(fixture_dir):
    report = run_parity(fixture_dir)
    assert report.passed, report.format()
    names = {check.name for check in report.checks}
    assert {"output 0", "output 1", "output 2", "output 3"} <= names
    assert {f"attn_mask.layers.{i}" for i in range(4)} <= names
    assert "layers.2.downsample" in names
    assert not report.produced_only


def test_parity_command_passes_and_writes_what_it_produced(fixture_dir, tmp_path, capsys):
    out = tmp_path / "swin.pt"
    code = main(["parity", "--backbone", "swin", "--fixture", str(fixture_dir), "--out", str(out)])
    assert code == 0, capsys.readouterr().out
    produced = torch.load(out, weights_only=True)
    assert list(produced["outputs"]) == ["0", "1", "2", "3"]
    assert produced["outputs"]["3"].shape == (2, 256, 4, 5)


def _copy(fixture_dir, tmp_path, *names):
    target = tmp_path / "fixture"
    target.mkdir()
    for name in names:
        shutil.copy(fixture_dir / name, target / name)
    return target


def test_a_fixture_without_expected_outputs_fails(fixture_dir, tmp_path, capsys):
    fixture = _copy(fixture_dir, tmp_path, "meta.json", "state_dict.pt", "inputs.pt")
    assert main(["parity", "--backbone", "swin", "--fixture", str(fixture)]) == 1
    printed = capsys.readouterr().out
    assert "nothing to compare: outputs.pt, intermediates.pt missing" in printed
    assert printed.rstrip().endswith("FAIL")


def test_a_moved_output_fails(fixture_dir, tmp_path, capsys):
    fixture = _copy(fixture_dir, tmp_path, "meta.json", "state_dict.pt", "inputs.pt", "outputs.pt")
    outputs = torch.load(fixture / "outputs.pt", weights_only=True)
    outputs["2"][0, 0, 0, 0] += 2e-5  # above the 1e-5 tolerance
    torch.save(outputs, fixture / "outputs.pt")
    assert main(["parity", "--backbone", "swin", "--fixture", str(fixture)]) == 1
    printed = capsys.readouterr().out
    assert "output 2" in printed and "MISMATCH" in printed
    assert "intermediates.pt missing" in printed  # reported, not compared


def test_method_and_backbone_are_exclusive(fixture_dir):
    with pytest.raises(SystemExit):
        main(["parity", "--method", "seqformer", "--backbone", "swin", "--fixture", "x"])


def test_relative_position_index_of_a_2x2_window():
    # tokens (0,0) (0,1) (1,0) (1,1); row = (dy + 1) * 3 + (dx + 1)
    assert relative_position_index(2).tolist() == [
        [4, 3, 1, 0],
        [5, 4, 2, 1],
        [7, 6, 4, 3],
        [8, 7, 5, 4],
    ]


def test_small_maps_keep_the_window_and_odd_sizes_round_up():
    torch.manual_seed(0)
    model = SwinTransformer(
        embed_dim=8, depths=(2, 1), num_heads=(1, 2), window_size=6, out_indices=(0, 1)
    ).eval()
    assert model.layers[1].blocks[0].attn.relative_position_bias_table.shape == (121, 2)
    with torch.no_grad():
        out = model(torch.randn(1, 3, 13, 9))
    assert [tuple(v.shape) for v in out.values()] == [(1, 8, 4, 3), (1, 16, 2, 2)]
