"""A new user's further settings, files and failure points, each given a clear outcome: a
malformed or binary YAML config is one line naming the file, the line and the column; an empty
frame file is named as empty; YouTube-VIS 2022 sets in a sweep's config that overlap, leave a
video out, name one twice or name an unknown video are refused before any cell runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.tracked import tracked
from vis_bench.cli import main
from vis_bench.config import DatasetConfig, load_config
from vis_bench.errors import InputError

# -- a malformed config file -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("name: x\ndataset:\n  frames: [a\nmethods: [ifc]\n", "line 4, column 8"),
        ("name: x\ndataset: {kind: synth\n", "line 3, column 1"),
        ("name: x\n\tdataset: 1\n", "line 2, column 1"),
    ],
)
def test_a_malformed_yaml_config_is_one_line_with_its_line_and_column(
    tmp_path, capsys, text, where
):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    assert main(["run", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert f"{path}: not valid YAML: {where}: " in err


def test_a_key_given_twice_is_refused_not_silently_replaced(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "name: x\nsweep:\n  clip_length: [all]\nmethods: [ifc]\nsweep:\n  stride: [2]\n"
    )
    with pytest.raises(InputError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message and "line 5, column 1" in message
    assert "key 'sweep' given twice (lines 2 and 5)" in message


def test_every_shipped_config_has_each_key_once():
    from vis_bench.config_overrides import read_yaml_config

    configs = tracked("configs/**/*.yaml", "examples/**/*.yaml")  # not a config of one's own
    assert configs
    for path in configs:
        read_yaml_config(path)  # raises on a key given twice


def test_a_binary_config_file_is_an_input_error_not_an_internal_one(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(InputError) as err:
        load_config(path)
    assert str(path) in str(err.value) and "not a text file" in str(err.value)


# -- an empty frame file -----------------------------------------------------------------------


def test_an_empty_frame_file_is_named_as_empty(tmp_path):
    from vis_bench.data.frames import read_frame

    frame = tmp_path / "00003.jpg"
    frame.write_bytes(b"")
    with pytest.raises(InputError) as err:
        read_frame(frame, 4, 4, field="videos[id=1].file_names[3]")
    message = str(err.value)
    assert str(frame) in message and "file_names[3]" in message
    assert "empty (0 bytes)" in message and "again" in message


# -- YouTube-VIS 2022 sets in a sweep's config -------------------------------------------------


def _ground_truth(tmp_path: Path) -> Path:
    videos = [
        {"id": i, "width": 4, "height": 4, "length": 1, "file_names": [f"v{i}/0.jpg"]}
        for i in (1, 2, 3)
    ]
    gt = {"videos": videos, "categories": [{"id": 1, "name": "a"}], "annotations": []}
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))
    return path


@pytest.mark.parametrize(
    ("short", "long", "key", "words"),
    [
        ([1, 99], [2, 3], "dataset.short_videos", "not in the ground truth"),
        ([1, 1], [2, 3], "dataset.short_videos", "listed more than once"),
        ([1, 2], [2, 3], "dataset.long_videos", "in both the short and the long set"),
        ([1], [2], "dataset.short_videos", "in neither the short nor the long set (ids 3)"),
    ],
)
def test_2022_sets_that_would_score_a_video_twice_or_never_are_refused_before_any_cell(
    tmp_path, short, long, key, words
):
    from vis_bench.sweep.scoring import Scorer

    dataset = DatasetConfig(kind="ytvis2022", short_videos=short, long_videos=long)
    with pytest.raises(InputError) as err:
        Scorer(_ground_truth(tmp_path), dataset=dataset, config_path="c.yaml")
    assert err.value.field == key and err.value.path == "c.yaml"
    assert words in str(err.value)


def test_2022_sets_covering_each_video_once_are_taken(tmp_path):
    from vis_bench.sweep.scoring import Scorer

    dataset = DatasetConfig(kind="ytvis2022", short_videos=[1, 3], long_videos=[2])
    Scorer(_ground_truth(tmp_path), dataset=dataset)  # no error


# -- a frame folder with a sub-folder ----------------------------------------------------------


def test_a_sub_folder_beside_the_frames_is_named_not_left_out(tmp_path):
    import numpy as np
    from PIL import Image

    from vis_bench.data.frames import frame_files

    for i in range(2):
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / f"{i:05d}.jpg")
    (tmp_path / ".thumbnails").mkdir()  # hidden: skipped, as hidden files are
    assert [p.name for p in frame_files(tmp_path)] == ["00000.jpg", "00001.jpg"]
    (tmp_path / "extra").mkdir()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "extra" / "00002.jpg")
    with pytest.raises(InputError) as err:
        frame_files(tmp_path, field="--video")
    assert str(tmp_path) in str(err.value) and "--video" in str(err.value)
    assert "1 sub-folder(s) beside the frames: extra" in str(err.value)


# -- a full disk while the plots are written ---------------------------------------------------


def test_a_plot_that_cannot_be_written_names_its_file_and_leaves_nothing(tmp_path, monkeypatch):
    import errno

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from vis_bench.report.plots import _save

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")  # as matplotlib's: no file

    monkeypatch.setattr(Figure, "savefig", full)
    fig = plt.figure()
    path = tmp_path / "plots" / "ap_vs_fps.png"
    with pytest.raises(OSError) as err:
        _save(fig, path)
    assert err.value.filename == str(path) and err.value.errno == errno.ENOSPC
    assert list(path.parent.iterdir()) == [] and not plt.fignum_exists(fig.number)


# -- `--set` with a list item in brackets ------------------------------------------------------


def test_a_set_key_with_a_bracketed_index_names_the_dotted_form(tmp_path):
    from vis_bench.config_overrides import apply_overrides

    data = {"methods": [{"name": "ifc"}]}
    with pytest.raises(InputError) as err:
        apply_overrides(data, ["methods[0].checkpoint_strict=false"], "c.yaml")
    assert err.value.field == "--set methods[0].checkpoint_strict=false"
    assert "--set methods.0.checkpoint_strict=false" in str(err.value)
    apply_overrides(data, ["methods.0.checkpoint_strict=false"], "c.yaml")
    assert data["methods"][0]["checkpoint_strict"] is False


# -- frames converted to another format than the annotations name ------------------------------


def test_frames_on_disk_under_another_suffix_are_named_with_the_fix(tmp_path):
    import numpy as np
    from PIL import Image

    from vis_bench.data.dataset import load_dataset

    video = {"id": 1, "width": 4, "height": 4, "length": 1, "file_names": ["v/00000.jpg"]}
    gt = {"videos": [video], "categories": [{"id": 1, "name": "a"}], "annotations": []}
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "frames" / "v").mkdir(parents=True)
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "frames" / "v" / "00000.webp")
    with pytest.raises(InputError) as err:
        load_dataset(tmp_path / "gt.json", tmp_path / "frames").check_frames_exist()
    message = str(err.value)
    assert "1 of 1 frame files" in message and "00000.webp is there" in message
    assert "dataset.frames" in message and "--frames" in message


# -- a gzip-compressed annotation or results file ----------------------------------------------


def test_a_gzip_compressed_json_is_named_as_such(tmp_path):
    import gzip

    from vis_bench.jsonio import read_json

    path = tmp_path / "annotations.json.gz"
    with gzip.open(path, "wt") as handle:
        handle.write('{"videos": []}')
    with pytest.raises(InputError) as err:
        read_json(path, "annotation file")
    assert str(path) in str(err.value) and "gzip-compressed" in str(err.value)
    assert "gunzip" in str(err.value)
