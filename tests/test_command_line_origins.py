"""What the command line gives is blamed on the command line, and a sweep says before its first
cell what it will not do well: `--checkpoint` and `--set` errors name the flag (not a config file
and an entry index the user never wrote), `--set method=NAME` keeps the config's entry of that
name (its checkpoint too), a method without a checkpoint is announced before any cell runs, and
clip lengths and strides that would skip frames are refused when the config is read."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import tests.helpers.toy_method  # noqa: F401  (registers "toy")
from tests.helpers.quick_rounds import QUICK_ROUNDS
from vis_bench.cli import main
from vis_bench.config import load_config
from vis_bench.errors import InputError
from vis_bench.records.store import read_records
from vis_bench.sweep import resolve_methods

REPO = Path(__file__).resolve().parents[1]
IFC = str(REPO / "results" / "checkpoints" / "ifc_tiny.pth")


def _config(tmp_path: Path, methods: list, **sweep) -> Path:
    data = {
        "name": "origins",
        "dataset": {
            "kind": "synthetic",
            "videos": 2,
            "min_frames": 3,
            "max_frames": 4,
            "cache_dir": str(tmp_path / "cache"),
        },
        "methods": methods,
        "sweep": {"clip_length": ["all"], "resolution": [32], **sweep},
        "measure": {**QUICK_ROUNDS, "warmup": 0, "repeats": 1, "flops": False, "bootstrap": 0},
        "output": str(tmp_path / "runs"),
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_set_method_keeps_the_entry_of_that_name_with_its_checkpoint(tmp_path):
    path = _config(tmp_path, [{"name": "toy"}, {"name": "ifc", "checkpoint": IFC}])
    config = load_config(path, ["method=ifc"])
    (entry,) = config.methods
    assert entry.name == "ifc" and entry.checkpoint == IFC
    # a name the config has no entry for runs bare, as before
    (bare,) = load_config(path, ["method=minvis"]).methods
    assert bare.name == "minvis" and bare.checkpoint is None
    # with --checkpoint the user names the weights: the entry (its options belong to its own
    # file) is left out, and loading says so
    config = load_config(path, ["method=ifc"], checkpoint=str(tmp_path / "other.pth"))
    (given,) = config.methods
    assert given.checkpoint == str(tmp_path / "other.pth") and given.options == {}
    (note,) = config.load_notes
    assert f"{path}'s methods[1]" in note and IFC in note and "is left out" in note


def test_a_kept_entrys_error_names_its_own_place_in_the_file(tmp_path):
    gone = tmp_path / "gone.pth"
    path = _config(tmp_path, [{"name": "toy"}, {"name": "ifc", "checkpoint": str(gone)}])
    with pytest.raises(InputError) as caught:
        resolve_methods(load_config(path, ["method=ifc"]))
    # the file's own entry (methods[1]), not the index it has after the override (methods[0])
    assert caught.value.path == str(path) and caught.value.field == "methods[1].checkpoint"


@pytest.mark.parametrize(
    "flags, named",
    [
        (["--set", "method=ifc", "--checkpoint", "MISSING"], "'--checkpoint'"),
        (["--set", "methods.1.checkpoint=MISSING"], "'--set methods.1.checkpoint=MISSING'"),
        (["--set", "sweep.resolution=[7]"], "'--set sweep.resolution=[7]'"),
    ],
)
def test_a_flags_error_names_the_flag_not_the_config(tmp_path, capsys, flags, named):
    path = _config(tmp_path, [{"name": "toy"}, {"name": "toy", "options": {"label": 2}}])
    missing = str(tmp_path / "missing.pth")
    argv = ["run", "--config", str(path), *(f.replace("MISSING", missing) for f in flags)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert named.replace("MISSING", missing) in err and "Traceback" not in err
    assert str(path) not in err  # the user did not write this in the file


def test_predict_names_its_checkpoint_flag(tmp_path, capsys):
    from PIL import Image

    (tmp_path / "frames").mkdir()
    Image.new("RGB", (64, 48)).save(tmp_path / "frames" / "00000.jpg")
    argv = ["predict", "--method", "ifc", "--video", str(tmp_path / "frames")]
    assert main([*argv, "--checkpoint", str(tmp_path / "none.pth")]) == 2
    err = capsys.readouterr().err
    assert "field '--checkpoint': checkpoint not found" in err and "default.yaml" not in err


def test_a_method_without_a_checkpoint_is_announced_before_the_first_cell(tmp_path, capsys):
    path = _config(tmp_path, [{"name": "toy"}])
    assert main(["run", "--config", str(path), "--set", "method=toy", "--in-process"]) == 0
    out = capsys.readouterr().out
    warning = out.index("methods[0] (toy) names no checkpoint")
    assert "random weights" in out[warning:]
    assert warning < out.index("toy            T=all")  # before the first cell's line


def test_clip_lengths_and_strides_that_give_no_cell_are_refused_at_load(tmp_path, capsys):
    path = _config(tmp_path, [{"name": "toy"}], clip_length=[5], stride=[10])
    assert main(["run", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "sweep.stride" in err and "stride 10 is longer than clip length 5" in err
    assert "sweep.clip_schedule" in err  # the way to list the pairs wanted
    assert not read_records(tmp_path / "runs" / "origins")  # nothing ran, nothing written
    assert not (tmp_path / "runs" / "origins" / "tables.md").exists()
    # one pair of several that would be dropped is refused as well
    path = _config(tmp_path, [{"name": "toy"}], clip_length=["all", 5], stride=[10])
    assert main(["run", "--config", str(path)]) == 2
    assert "stride 10 is longer than clip length 5" in capsys.readouterr().err
    # explicit pairs say exactly what runs
    path = _config(tmp_path, [{"name": "toy"}], clip_schedule=[[5, 5], ["all"]])
    assert len(load_config(path).sweep.clip_schedule) == 2
