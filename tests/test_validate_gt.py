"""`validate --gt FILE` alone checks a ground truth: every problem named with its video, frame
and field, never a traceback; the golden and synthetic ground truths have no error."""

from __future__ import annotations

import copy
import json

import pytest

from vis_bench.cli import main
from vis_bench.data.synthetic import generate_dataset
from vis_bench.eval.submission.validate_gt import validate_ground_truth

H, W = 3, 4
#: a 3x4 frame with its first column set: runs of 0 zeros, 3 ones, 9 zeros
MASK = {"size": [H, W], "counts": [0, 3, 9]}


def _good() -> dict:
    return {
        "videos": [
            {"id": 7, "height": H, "width": W, "length": 2, "file_names": ["v/0.jpg", "v/1.jpg"]}
        ],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
        "annotations": [
            {
                "id": 11,
                "video_id": 7,
                "category_id": 1,
                "iscrowd": 0,
                "segmentations": [MASK, None],
                "areas": [3, None],
                "bboxes": [[0, 0, 1, 3], None],
            }
        ],
    }


def _broken(change) -> dict:
    data = copy.deepcopy(_good())
    change(data)
    return data


def _set(path: str, value):
    """A change setting `path` (dots and list indices: `annotations.0.areas`) to `value`."""

    def change(data):
        *head, last = path.split(".")
        target = data
        for key in head:
            target = target[int(key)] if key.isdigit() else target[key]
        if value is _DELETE:
            del target[int(last) if last.isdigit() else last]
        else:
            target[int(last) if last.isdigit() else last] = value

    return change


_DELETE = object()
ANN = "annotations.0"

#: (case, change, (code, video id, frame, field) the report must name)
MALFORMED = [
    ("duplicate video id", lambda d: d["videos"].append(dict(d["videos"][0])),
     ("duplicate-id", None, None, "videos[1].id")),
    ("length differs from file_names", _set("videos.0.length", 3),
     ("length", 7, None, "videos[0].length")),
    ("non-positive width", _set("videos.0.width", 0), ("bad-size", 7, None, "videos[0].width")),
    ("duplicate annotation id", lambda d: d["annotations"].append(dict(d["annotations"][0])),
     ("duplicate-id", None, None, "annotations[1].id")),
    ("unknown video", _set(f"{ANN}.video_id", 8),
     ("unknown-video", 8, None, "annotations[0].video_id")),
    ("category not listed", _set(f"{ANN}.category_id", 5),
     ("unknown-category", 7, None, "annotations[0].category_id")),
    ("segmentations shorter than the video", _set(f"{ANN}.segmentations", [MASK]),
     ("frame-count", 7, None, "annotations[0].segmentations")),
    ("mask of another size", _set(f"{ANN}.segmentations.1", {"size": [4, 4], "counts": [16]}),
     ("mask-size", 7, 1, "annotations[0].segmentations")),
    ("runs not covering the frame", _set(f"{ANN}.segmentations.0", {"size": [H, W], "counts": [0, 3]}),
     ("bad-rle", 7, 0, "annotations[0].segmentations")),
    ("areas missing", _set(f"{ANN}.areas", _DELETE),
     ("missing-field", 7, None, "annotations[0].areas")),
    ("iscrowd missing", _set(f"{ANN}.iscrowd", _DELETE),
     ("missing-field", 7, None, "annotations[0].iscrowd")),
    ("areas one entry short", _set(f"{ANN}.areas", [3]),
     ("frame-count", 7, None, "annotations[0].areas")),
    ("area not a number", _set(f"{ANN}.areas.0", "3"), ("bad-area", 7, 0, "annotations[0].areas")),
    ("undecodable compressed RLE", _set(f"{ANN}.segmentations.0", {"size": [H, W], "counts": "zzzz"}),
     ("bad-rle", 7, 0, "annotations[0].segmentations")),
    ("malformed polygon", _set(f"{ANN}.segmentations.0", [[1, 2, 3]]),
     ("bad-mask", 7, 0, "annotations[0].segmentations")),
    ("duplicate category id", _set("categories.1.id", 1),
     ("duplicate-id", None, None, "categories[1].id")),
    ("frame listed twice", _set("videos.0.file_names", ["v/0.jpg", "v/0.jpg"]),
     ("bad-file-names", 7, None, "videos[0].file_names")),
    ("iscrowd not 0 or 1", _set(f"{ANN}.iscrowd", 2), ("bad-iscrowd", 7, None, "annotations[0].iscrowd")),
]  # fmt: skip


def _write(tmp_path, data, name="gt.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_a_well_formed_ground_truth_has_no_problem(tmp_path):
    assert validate_ground_truth(str(_write(tmp_path, _good()))).problems == []


@pytest.mark.parametrize(("case", "change", "named"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_each_problem_is_named_with_its_video_frame_and_field(tmp_path, case, change, named):
    report = validate_ground_truth(str(_write(tmp_path, _broken(change))))
    found = [(p.code, p.video_id, p.frame, p.field) for p in report.errors]
    assert named in found, f"{case}: {found}"


@pytest.mark.parametrize(
    ("case", "change", "named"), MALFORMED[:12], ids=[m[0] for m in MALFORMED[:12]]
)
def test_the_command_prints_the_problem_and_fails(tmp_path, capsys, case, change, named):
    path = _write(tmp_path, _broken(change))
    assert main(["validate", "--gt", str(path)]) == 1
    out = capsys.readouterr().out
    code, video, frame, field = named
    line = next(line for line in out.splitlines() if f"field {field!r}" in line)
    assert line.startswith("error: ")
    if video is not None:
        assert f"video_id {video}" in line
    if frame is not None:
        assert f"frame {frame}" in line


@pytest.mark.parametrize(
    ("text", "code"),
    [("{not json", "json"), ("[1, 2]", "not-an-object"), ('{"videos": []}', "missing-list")],
)
def test_unreadable_files_are_errors_not_tracebacks(tmp_path, capsys, text, code):
    path = _write(tmp_path, text)
    assert [p.code for p in validate_ground_truth(str(path)).errors] == [code]
    assert main(["validate", "--gt", str(path)]) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_an_area_that_disagrees_with_the_mask_is_a_warning(tmp_path):
    report = validate_ground_truth(str(_write(tmp_path, _broken(_set(f"{ANN}.areas.0", 5)))))
    assert report.errors == [] and [p.code for p in report.warnings] == ["area"]


def test_golden_and_synthetic_ground_truths_have_no_error(golden_dir, tmp_path):
    for case in sorted((golden_dir / "ytvis_eval" / "public").iterdir()):
        report = validate_ground_truth(str(case / "gt.json"))
        assert report.errors == [], (case.name, [str(p) for p in report.errors][:3])
    generate_dataset(tmp_path / "synth", videos=3, seed=1)
    report = validate_ground_truth(str(tmp_path / "synth" / "annotations.json"))
    assert report.problems == []


def test_zip_needs_a_results_file(tmp_path, capsys):
    assert main(["validate", "--gt", str(_write(tmp_path, _good())), "--zip", "x.zip"]) == 2
    assert "--zip" in capsys.readouterr().err
