"""A model input far from the frames' size (8x the frames, or a sliver of them) is warned about:
once per run on the console, in every record's notes and so on every page, and by `predict`;
the default run's sizes stay quiet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import tests.helpers.toy_method  # noqa: F401  (registers "toy")
from vis_bench.api.preprocessing import Preprocessing
from vis_bench.cli import main
from vis_bench.data.synthetic import DEFAULT_SIZES
from vis_bench.inference.input_scale import INPUT_SIZE, input_scale_warning
from vis_bench.records.store import read_records

REPO = Path(__file__).resolve().parents[1]


def _config(
    tmp_path: Path, resolution: list, sizes: list[str] | None = None, clips: tuple = ("all", 2)
) -> Path:
    dataset = {"kind": "synthetic", "videos": 2, "min_frames": 3, "max_frames": 4}
    data = {
        "name": "scale",
        "dataset": {**dataset, "sizes": sizes, "cache_dir": str(tmp_path / "cache")},
        "methods": [{"name": "toy"}],
        "sweep": {"clip_length": list(clips), "resolution": resolution},
        "measure": {"fps": False, "flops": False, "memory": False, "bootstrap": 0},
        "output": str(tmp_path / "runs"),
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_an_input_8x_the_frames_is_said_once_and_kept_on_every_page(tmp_path, capsys):
    path = _config(tmp_path, [1024], sizes=["128x160"])
    assert main(["run", "--config", str(path), "--in-process"]) == 0
    out = capsys.readouterr().out
    said = [line for line in out.splitlines() if line.startswith(f"WARNING: {INPUT_SIZE}")]
    assert len(said) == 1, said  # two cells, one warning (then the summary's note)
    assert "sweep.resolution 1024 upsamples the frames (128x160 HxW) 8.0x" in said[0]
    assert f"note: {said[0]}" in out
    records = read_records(tmp_path / "runs" / "scale")
    assert len(records) == 2
    assert all(f"WARNING: {INPUT_SIZE}" in r["notes"] for r in records)
    for page in ("tables.md", "leaderboard.md"):
        text = (tmp_path / "runs" / "scale" / page).read_text()
        assert "sweep.resolution 1024 upsamples the frames" in text, page


def test_an_input_a_sliver_of_the_frames_is_said(tmp_path, capsys):
    path = _config(tmp_path, [32, 200], sizes=["400x600"], clips=("all",))
    assert main(["run", "--config", str(path), "--in-process"]) == 0
    out = capsys.readouterr().out
    said = [line for line in out.splitlines() if line.startswith(f"WARNING: {INPUT_SIZE}")]
    assert len(said) == 1  # 200 px of 400 is no warning
    assert "sweep.resolution 32 downsamples the frames (400x600 HxW) to 1/12.5" in said[0]
    notes = {r["resolution"]: r["notes"] for r in read_records(tmp_path / "runs" / "scale")}
    assert INPUT_SIZE in notes[32] and INPUT_SIZE not in notes[200]


def test_the_limits_and_the_methods_own_size():
    rule = Preprocessing(shorter_side=360)
    assert input_scale_warning(rule, 256, [(128, 160)]) is None  # 2x: at the limit
    assert input_scale_warning(rule, 260, [(128, 160)]) is not None
    assert input_scale_warning(rule, 135, [(1080, 1920)]) is None  # 1/8: at the limit
    assert input_scale_warning(rule, 128, [(1080, 1920)]) is not None
    own = input_scale_warning(rule, None, [(96, 128), (120, 160)])
    assert own is not None and "null (the method's own, 360 px)" in own
    assert "3.0x to 3.8x" in own and "96x128 to 120x160 HxW" in own
    assert "; " not in own  # one note of a record's
    capped = Preprocessing(shorter_side=360, resize="pil-bilinear", max_size=400)
    assert input_scale_warning(capped, 1000, [(100, 100)]) is not None  # 4x even capped
    assert input_scale_warning(capped, 1000, [(100, 400)]) is None  # the cap keeps it at 1x


def test_the_default_runs_sizes_are_quiet():
    config = yaml.safe_load((REPO / "configs" / "default.yaml").read_text())
    sizes = [tuple(size) for size in DEFAULT_SIZES]
    rule = Preprocessing(shorter_side=360, resize="pil-bilinear", max_size=1333)
    for resolution in config["sweep"]["resolution"]:
        assert input_scale_warning(rule, resolution, sizes) is None


def test_predict_says_it_and_keeps_it_in_predict_json(tmp_path, capsys):
    from PIL import Image

    (tmp_path / "frames").mkdir()
    Image.new("RGB", (64, 48), (90, 120, 200)).save(tmp_path / "frames" / "00000.jpg")
    argv = ["predict", "--method", "ifc", "--video", str(tmp_path / "frames")]
    argv += ["--resolution", "512", "--out", str(tmp_path / "out"), "--sheet-frames", "1"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "warning: input far from the frames' size: --resolution 512 upsamples" in out
    summary = json.loads((tmp_path / "out" / "predict.json").read_text())
    assert len(summary["warnings"]) == 1 and "10.7x" in summary["warnings"][0]


@pytest.mark.parametrize("resolution", [None, 144])
def test_predict_is_quiet_near_the_frames_size(tmp_path, capsys, resolution):
    from PIL import Image

    (tmp_path / "frames").mkdir()
    Image.new("RGB", (160, 128), (90, 120, 200)).save(tmp_path / "frames" / "00000.jpg")
    argv = ["predict", "--method", "ifc", "--video", str(tmp_path / "frames")]
    argv += ["--out", str(tmp_path / "out"), "--sheet-frames", "1"]
    argv += ["--resolution", str(resolution)] if resolution else []
    assert main(argv) == 0
    assert INPUT_SIZE not in capsys.readouterr().out
    assert "warnings" not in json.loads((tmp_path / "out" / "predict.json").read_text())
