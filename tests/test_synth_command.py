"""`run_bench.py synth`: options map onto the generator and bad options are reported."""

from __future__ import annotations

import json

from vis_bench.cli import main


def test_synth_writes_named_splits(tmp_path, capsys):
    out = tmp_path / "data"
    argv = ["synth", "--out", str(out), "--split", "train=2", "--split", "valid=1"]
    argv += ["--height", "40", "--width", "56", "--min-frames", "2", "--max-frames", "3"]
    assert main(argv) == 0
    assert "train.json (2 videos)" in capsys.readouterr().out
    train = json.loads((out / "train.json").read_text())
    assert {(v["height"], v["width"]) for v in train["videos"]} == {(40, 56)}
    assert all(2 <= v["length"] <= 3 for v in train["videos"])
    frame = out / "JPEGImages" / train["videos"][0]["file_names"][0]
    assert frame.is_file()


def test_synth_single_split_name_and_sizes(tmp_path):
    out = tmp_path / "data"
    argv = ["synth", "--out", str(out), "--videos", "2", "--split", "valid", "--sizes", "40x56"]
    assert main([*argv, "--max-frames", "3", "--min-frames", "2"]) == 0
    assert len(json.loads((out / "valid.json").read_text())["videos"]) == 2


def test_synth_errors_exit_2(tmp_path, capsys):
    out = tmp_path / "data"
    assert main(["synth", "--out", str(out), "--height", "40"]) == 2
    assert "--height and --width together" in capsys.readouterr().err
    assert main(["synth", "--out", str(out), "--split", "a", "--split", "b"]) == 2
    assert "give each a count" in capsys.readouterr().err
    out.mkdir()
    assert main(["synth", "--out", str(out), "--videos", "1"]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_synth_occlusion_writes_ovis_labels(tmp_path, capsys):
    out = tmp_path / "data"
    argv = ["synth", "--out", str(out), "--videos", "2", "--sizes", "40x56"]
    argv += ["--min-frames", "3", "--max-frames", "4"]
    assert main([*argv, "--occlusion", "0.5"]) == 0
    tracks = json.loads((out / "annotations.json").read_text())["annotations"]
    assert tracks and all(len(t["occlusion"]) == len(t["segmentations"]) for t in tracks)
    assert main([*argv, "--overwrite", "--occlusion", "2"]) == 2
    assert "occlusion" in capsys.readouterr().err


def test_a_synth_folder_is_dataset_kind_synth_and_no_other(tmp_path):
    """Its pages call it synth, never a real dataset whose published numbers would be set
    beside it; a real kind on a synth folder (and synth on another file) is refused."""
    import pytest

    from vis_bench.config import parse_config
    from vis_bench.errors import InputError
    from vis_bench.inference.sources import open_source

    out = tmp_path / "data"
    argv = ["synth", "--out", str(out), "--videos", "2", "--height", "40", "--width", "56"]
    assert main([*argv, "--min-frames", "2", "--max-frames", "3"]) == 0

    def config(kind, annotations=out / "annotations.json"):
        dataset = {"kind": kind, "annotations": str(annotations), "frames": str(out / "JPEGImages")}
        return parse_config({"name": "s", "dataset": dataset, "methods": ["ifc"]}, "s.yaml")

    source = open_source(config("synth").dataset)
    assert source.label() == "synth annotations.json (2 videos)"
    assert source.dataset_id.startswith("synth:")
    with pytest.raises(InputError, match="written by `run_bench.py synth`.*dataset.kind: synth"):
        open_source(config("ytvis2019").dataset, "s.yaml")
    other = tmp_path / "other.json"
    data = json.loads((out / "annotations.json").read_text())
    other.write_text(json.dumps({**data, "info": {"description": "someone's own"}}))
    with pytest.raises(InputError, match="kind synth is a folder written by"):
        open_source(config("synth", other).dataset, "s.yaml")


def test_synth_layout_burst_is_a_burst_sweep_dataset_named_synthetic(tmp_path, capsys):
    """`synth --layout burst` writes all_classes.json and frames/ a `dataset.kind: burst` sweep
    opens; its records are named synth-burst, so a BURST published number never matches them,
    where the same files without the synth mark would be matched."""
    import pytest

    from vis_bench.config import parse_config
    from vis_bench.errors import InputError
    from vis_bench.inference.sources import open_source
    from vis_bench.published import Published, published_match

    out = tmp_path / "burst"
    argv = ["synth", "--out", str(out), "--layout", "burst", "--videos", "2", "--sizes", "40x56"]
    assert main([*argv, "--min-frames", "2", "--max-frames", "3"]) == 0
    assert "all_classes.json (2 sequences)" in capsys.readouterr().out
    gt = json.loads((out / "all_classes.json").read_text())
    assert gt["info"]["layout"] == "burst" and len(gt["sequences"]) == 2

    def source(kind, annotations=out / "all_classes.json"):
        dataset = {"kind": kind, "annotations": str(annotations), "frames": str(out / "frames")}
        config = parse_config({"name": "b", "dataset": dataset, "methods": ["ifc"]}, "b.yaml")
        return open_source(config.dataset, "b.yaml")

    synthetic = source("burst")
    assert synthetic.dataset_id.startswith("synth-burst:all_classes.json:")
    assert synthetic.label().startswith("synth-burst all_classes.json (2 videos)")
    assert len(synthetic.videos()) == 2
    entry = {
        "id": "ifc-burst",
        "method": "ifc",
        "setting": {
            "dataset": "burst",
            "split": "val",
            "backbone": None,
            "clip_length": "all",
            "stride": None,
            "resolution": None,
        },
        "metrics": {"HOTA_all": 44.5},
    }
    published = Published([entry])

    def matched(dataset_id):
        record = {"method": "ifc", "dataset": dataset_id, "clip_length": "all"}
        return published_match(record, published)

    assert matched(synthetic.dataset_id) is None
    unmarked = tmp_path / "unmarked" / "all_classes.json"
    unmarked.parent.mkdir()
    unmarked.write_text(json.dumps({**gt, "info": {}}))
    real = source("burst", unmarked)
    assert real.dataset_id.startswith("burst:all_classes.json:")
    assert matched(real.dataset_id.replace("all_classes.json", "val.json")) is entry
    with pytest.raises(InputError, match="all_classes.json: field 'videos'"):
        source("synth")  # BURST's layout is read by kind burst only


def test_synth_layout_burst_refuses_what_burst_cannot_hold(tmp_path, capsys):
    out = tmp_path / "burst"
    assert main(["synth", "--out", str(out), "--layout", "burst", "--novel-categories", "1"]) == 2
    assert "--novel-categories" in capsys.readouterr().err
    assert (
        main(["synth", "--out", str(out), "--layout", "burst", "--split", "a=1", "--split", "b=1"])
        == 2
    )
    assert not out.exists()
