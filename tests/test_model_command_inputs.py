"""`flops`, `sizes` and `profile` take their inputs and outputs as the other model commands do:
`flops` and `sizes` write where `--out` says and never over the committed table by default; `profile` runs the
weights and options of `--config`'s entry or `--checkpoint`."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from vis_bench.cli import main

REPO = Path(__file__).resolve().parents[1]


def _one_cell_flops_config(tmp_path: Path) -> Path:
    cfg = yaml.safe_load((REPO / "configs/ifc_encoder_flops.yaml").read_text())
    cfg["cells"] = cfg["cells"][:1]
    cfg["variants"] = [{"arguments": {"comm": "ifc"}, "label": "IFC", "paper": [5.52]}]
    path = tmp_path / "one.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_flops_without_out_leaves_the_committed_table_alone(tmp_path, monkeypatch, capsys):
    config = _one_cell_flops_config(tmp_path)
    committed = tmp_path / "results" / "tables"
    committed.mkdir(parents=True)
    (committed / "ifc_encoder_flops.md").write_text("committed\n")
    monkeypatch.chdir(tmp_path)
    assert main(["flops", "--config", str(config)]) == 0
    assert (committed / "ifc_encoder_flops.md").read_text() == "committed\n"
    assert sorted(p.name for p in committed.iterdir()) == ["ifc_encoder_flops.md"]
    stem = tmp_path / "results" / "runs" / "flops" / "ifc_encoder_flops"
    assert all(stem.with_suffix(s).is_file() for s in (".md", ".csv", ".json"))
    assert "`--out results/tables/ifc_encoder_flops` rewrites it" in capsys.readouterr().out
    out = tmp_path / "elsewhere" / "table"
    assert main(["flops", "--config", str(config), "--out", str(out)]) == 0
    assert out.with_suffix(".json").is_file()


def test_sizes_without_out_leaves_the_committed_table_alone(tmp_path, monkeypatch, capsys):
    from vis_bench.measure import model_sizes

    config = {
        "name": "tiny",
        "output": "results/tables/model_sizes",
        "input": {"frames": 1, "height": 64, "width": 64},
        "models": [{"method": "ifc", "options": {"backbone": "tiny"}, "label": "tiny"}],
    }
    path = tmp_path / "sizes.yaml"
    path.write_text(yaml.safe_dump(config))
    row = {"method": "ifc", "label": "tiny", "parameters": 10, "state_dict_numbers": 12}
    row |= {"authors_code": None, "paper": None, "input": "1x64x64", "gmacs_per_frame": 0.5}
    row |= {"backbone_gmacs_per_frame": None}
    monkeypatch.setattr(model_sizes, "measure_row", lambda *args: row)
    committed = tmp_path / "results" / "tables"
    committed.mkdir(parents=True)
    (committed / "model_sizes.md").write_text("committed\n")
    monkeypatch.chdir(tmp_path)
    assert main(["sizes", "--config", str(path)]) == 0
    assert sorted(p.name for p in committed.iterdir()) == ["model_sizes.md"]
    assert (committed / "model_sizes.md").read_text() == "committed\n"
    stem = tmp_path / "results" / "runs" / "sizes" / "model_sizes"
    assert all(stem.with_suffix(s).is_file() for s in (".md", ".json"))
    assert "`--out results/tables/model_sizes` rewrites it" in capsys.readouterr().out
    out = tmp_path / "elsewhere" / "table"
    assert main(["sizes", "--config", str(path), "--out", str(out)]) == 0
    assert out.with_suffix(".json").is_file() and out.with_suffix(".md").is_file()
    assert main(["sizes", "--config", str(path), "--out", str(committed / "model_sizes")]) == 0
    assert (committed / "model_sizes.md").read_text() != "committed\n"


@pytest.fixture
def profiled(monkeypatch):
    """The plugin `profile` would profile (the profiler itself not run)."""
    seen = {}

    def capture(plugin, **kwargs):
        seen["plugin"] = plugin
        raise KeyboardInterrupt  # stop before the profile: only the model is checked here

    import vis_bench.measure.profiler as profiler

    monkeypatch.setattr(profiler, "profile_method", capture)
    return seen


def test_profile_runs_the_configs_weights(tmp_path, profiled, capsys):
    argv = ["profile", "--method", "ifc", "--out-dir", str(tmp_path), "--clip", "2"]
    assert main([*argv, "--config", str(REPO / "configs/default.yaml")]) == 130
    assert "ifc: results/checkpoints/ifc_tiny.pth" in capsys.readouterr().out
    loaded = profiled["plugin"].model.state_dict()
    assert main(argv) == 130  # neither flag: random weights, as before
    assert "random weights" in capsys.readouterr().out
    random = profiled["plugin"].model.state_dict()
    assert any(not torch.equal(loaded[k], random[k]) for k in loaded)


def test_profile_checkpoint_of_another_method_names_the_flag(tmp_path, capsys):
    checkpoint = REPO / "results/checkpoints/minvis_tiny.pth"
    argv = ["profile", "--method", "ifc", "--checkpoint", str(checkpoint)]
    assert main([*argv, "--out-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "field '--checkpoint'" in err and "'minvis', not 'ifc'" in err
