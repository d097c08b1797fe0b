"""`sizes`: parameters and per-frame GMACs of each configured model, beside the quoted counts."""

from __future__ import annotations

import json

import pytest
import yaml

from vis_bench.cli import main
from vis_bench.methods.seqformer.plugin import SeqFormerPlugin

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = {"hidden_dim": 32, "dim_feedforward": 64, "enc_layers": 1, "dec_layers": 1}


def _config(tmp_path, **extra) -> str:
    cfg = {
        "name": "small models",
        "output": str(tmp_path / "sizes"),
        "input": {"frames": 2, "height": 32, "width": 48},
        "notes": ["a note"],
        "models": [
            {
                "method": "seqformer",
                "options": {"backbone": "tiny", "num_queries": 6, **SMALL},
                "authors_code": 123,
                "paper": {"value": 2_500_000, "counts": "state dict", "source": "a paper"},
            },
            {
                "method": "ifc",
                "label": "ifc tiny",
                "options": {"backbone": "tiny", "hidden_dim": 32, "num_queries": 5},
                "input": {"frames": 3},
            },
        ],
        **extra,
    }
    path = tmp_path / "sizes.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def test_table_counts_every_model_and_writes_json_and_markdown(tmp_path, capsys):
    out = str(tmp_path / "sizes")
    assert main(["sizes", "--config", _config(tmp_path), "--out", out]) == 0
    rows = json.loads((tmp_path / "sizes.json").read_text())["rows"]
    seqformer = SeqFormerPlugin.build({"backbone": "tiny", "num_queries": 6, **SMALL}).model
    assert rows[0]["parameters"] == sum(p.numel() for p in seqformer.parameters())
    assert rows[0]["state_dict_numbers"] == sum(v.numel() for v in seqformer.state_dict().values())
    assert [r["input"] for r in rows] == ["2x32x48", "3x32x48"]
    assert all(0 < r["backbone_gmacs_per_frame"] < r["gmacs_per_frame"] for r in rows)
    markdown = (tmp_path / "sizes.md").read_text()
    assert "| seqformer | tiny |" in markdown and "| ifc | ifc tiny |" in markdown
    assert "| 0.00 | 2.50 (state dict) |" in markdown  # authors' code 123 parameters
    assert "- a note" in markdown and "- a paper" in markdown
    assert "wrote" in capsys.readouterr().out


def test_a_bad_row_is_an_input_error(tmp_path, capsys):
    path = _config(tmp_path)
    cfg = yaml.safe_load((tmp_path / "sizes.yaml").read_text())
    cfg["models"][1]["input"] = {"frames": 0}
    (tmp_path / "sizes.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["sizes", "--config", path]) == 2
    assert "models[1].input.frames" in capsys.readouterr().err
