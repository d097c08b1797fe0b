"""`run_bench.py flops` reproduces the IFC paper's encoder FLOPs table (all 16 cells)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from vis_bench.cli import main

CONFIG = Path(__file__).resolve().parents[1] / "configs/ifc_encoder_flops.yaml"


def test_ifc_cell_exact_integer():
    from vis_bench.methods.ifc.flops import encoder_flops

    report, tokens = encoder_flops("ifc", 360, 640, 5)
    assert tokens == 240
    assert report.total == 5_515_653_120  # 3 x (5 x 357,183,488 + 52,633,600)
    assert encoder_flops("none", 720, 1280, 5)[1] == 920  # 23 x 40: ceil at every stride 2


@pytest.mark.slow
def test_flops_command_reproduces_all_cells(tmp_path, capsys):
    out = tmp_path / "ifc_encoder_flops"
    assert main(["flops", "--config", str(CONFIG), "--output", str(out)]) == 0
    table = pd.read_csv(out.with_suffix(".csv"))
    assert len(table) == 16
    for row in table.itertuples():
        assert f"{row.measured_macs / 1e9:.2f}" == f"{row.paper_gmacs:.2f}", row
        assert f"{row.measured_gmacs:.2f}" == f"{row.paper_gmacs:.2f}", row
    full = table[
        (table.arguments == "comm=full_thw") & (table.height == 720) & (table.frames == 36)
    ]
    assert float(full.measured_gmacs.iloc[0]) == pytest.approx(1815.3787, abs=1e-4)
    assert "| IFC (M=8) | 5.52 | 5.5157 |" in out.with_suffix(".md").read_text()


def test_flops_config_errors_name_key_and_file(tmp_path, capsys):
    cfg = yaml.safe_load(CONFIG.read_text())
    cfg["cells"][1]["frmes"] = 36
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(cfg))
    assert main(["flops", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "frmes" in err and str(bad) in err and "cells[1]" in err


def test_flops_command_fails_when_paper_value_differs(tmp_path, capsys):
    cfg = yaml.safe_load(CONFIG.read_text())
    cfg["cells"] = cfg["cells"][:1]
    cfg["variants"] = [{"arguments": {"comm": "ifc"}, "label": "IFC", "paper": [5.53]}]
    path = tmp_path / "one.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["flops", "--config", str(path), "--output", str(tmp_path / "t")]) == 1


def test_a_measurement_the_method_does_not_offer_is_an_error(tmp_path, capsys):
    cfg = yaml.safe_load(CONFIG.read_text())
    cfg["method"] = "seqformer"
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["flops", "--config", str(path)]) == 2
    assert "offers no measurement 'encoder_flops'" in capsys.readouterr().err


def test_an_argument_the_measurement_does_not_take_is_named(tmp_path, capsys):
    cfg = yaml.safe_load(CONFIG.read_text())
    cfg["variants"][0]["arguments"]["comms"] = "ifc"
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["flops", "--config", str(path)]) == 2
    assert "unknown argument(s) ['comms']" in capsys.readouterr().err
