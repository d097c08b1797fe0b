"""A CodaLab submission zip is read as the results JSON it holds, by every command that reads
results; an archive with no JSON or several is refused, naming its members."""

from __future__ import annotations

import json
import zipfile

import pytest

from tests.helpers.box_rle import box_rle
from vis_bench.cli import main
from vis_bench.errors import InputError
from vis_bench.formats.results_file import read_results

H, W, FRAMES = 8, 10, 3


def _rle(box: tuple[int, int, int, int]) -> dict:
    return box_rle(box, H, W)


@pytest.fixture
def files(tmp_path):
    videos = [
        {"id": vid, "height": H, "width": W, "length": FRAMES, "file_names": ["a", "b", "c"]}
        for vid in (1, 2)
    ]
    gt = {
        "videos": videos,
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [
            {"id": vid, "video_id": vid, "category_id": 1, "iscrowd": 0,
             "segmentations": [_rle((1, 5, 2, 7))] * FRAMES, "areas": [20] * FRAMES}
            for vid in (1, 2)
        ],
    }  # fmt: skip
    results = [
        {"video_id": 1, "category_id": 1, "score": 0.9, "segmentations": [_rle((1, 5, 2, 7))] * 3},
        {"video_id": 2, "category_id": 1, "score": 0.8, "segmentations": [_rle((0, 4, 2, 7))] * 3},
    ]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "results.json").write_text(json.dumps(results))
    return tmp_path / "gt.json", tmp_path / "results.json"


def _zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _stats(tmp_path, gt, results, name):
    out = tmp_path / f"{name}.stats.json"
    assert main(["eval", "--gt", str(gt), "--results", str(results), "--out", str(out)]) == 0
    return json.loads(out.read_text())


def test_eval_and_validate_read_the_zip_validate_wrote(files, tmp_path, capsys):
    gt, results = files
    submission = tmp_path / "submission.zip"
    assert main(["validate", "--gt", str(gt), str(results), "--zip", str(submission)]) == 0
    assert _stats(tmp_path, gt, submission, "zip") == _stats(tmp_path, gt, results, "json")
    capsys.readouterr()
    assert main(["validate", "--gt", str(gt), str(submission)]) == 0
    assert "2 predictions, 0 errors" in capsys.readouterr().out
    # validating the zip and packing it again packs the JSON, not the zip
    again = tmp_path / "again.zip"
    assert main(["validate", "--gt", str(gt), str(submission), "--zip", str(again)]) == 0
    assert zipfile.ZipFile(again).read("results.json") == results.read_bytes()


def test_one_json_in_a_folder_is_read_and_archiver_junk_ignored(files, tmp_path):
    gt, results = files
    packed = _zip(
        tmp_path / "folder.zip",
        {
            "submission/results.json": results.read_bytes(),
            "__MACOSX/submission/._results.json": b"\x00\x05junk",
            "submission/readme.txt": b"notes",
        },
    )
    assert read_results(packed) == json.loads(results.read_text())
    assert _stats(tmp_path, gt, packed, "folder")["AP"] > 0
    assert main(["compare", "--gt", str(gt), "--a", str(packed), "--b", str(results),
                 "--bootstrap", "20"]) == 0  # fmt: skip


@pytest.mark.parametrize(
    ("members", "words"),
    [
        ({"readme.txt": b"x", "pred/masks.bin": b"y"}, ["no .json member", "readme.txt, pred/masks.bin"]),
        ({}, ["no .json member", "it is empty"]),
        ({"results.json": b"[]", "old/results.json": b"[]"}, ["2 .json members", "results.json, old/results.json"]),
    ],
)  # fmt: skip
def test_a_zip_without_exactly_one_json_is_refused_naming_its_members(
    files, tmp_path, capsys, members, words
):
    gt, _ = files
    packed = _zip(tmp_path / "bad.zip", members)
    with pytest.raises(InputError) as err:
        read_results(packed)
    assert err.value.path == str(packed)
    for word in words + ["results.json` at the archive's root"]:
        assert word in str(err.value)
    assert main(["eval", "--gt", str(gt), "--results", str(packed)]) == 2
    message = capsys.readouterr().err
    assert all(word in message for word in words) and "UTF-8" not in message
    assert main(["validate", "--gt", str(gt), str(packed)]) == 1
    assert words[0] in capsys.readouterr().out
