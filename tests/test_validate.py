"""Pre-submission validation: each check reports its location; the zip holds results.json."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from vis_bench.cli import main
from vis_bench.eval.submission.archive import write_submission_zip
from vis_bench.eval.submission.validate import load_split_info, validate_results
from vis_bench.formats import rle
from vis_bench.formats.categories import OVIS

H, W = 4, 6


def _seg(shape=(H, W)):
    return rle.encode(np.ones(shape, np.uint8))


def _distinct(i: int):
    """A mask of its own for each i (the pixels of i's bits): predictions that are no copies."""
    bits = np.array([(i + 1) >> k & 1 for k in range(H * W)], np.uint8).reshape(H, W)
    return rle.encode(bits)


def _ok(**overrides):
    entry = {"video_id": 1, "category_id": 2, "score": 0.5, "segmentations": [_seg(), None, _seg()]}
    entry.update(overrides)
    return entry


@pytest.fixture
def split(tmp_path):
    # A public split file: videos and categories, no annotations.
    data = {
        "videos": [{"id": 1, "height": H, "width": W, "length": 3, "file_names": ["a", "b", "c"]}],
        "categories": [{"id": 2, "name": "cat"}],
    }
    path = tmp_path / "valid.json"
    path.write_text(json.dumps(data))
    return load_split_info(path)


@pytest.fixture
def check(split, tmp_path):
    def _check(results):
        path = tmp_path / "results.json"
        path.write_text(results if isinstance(results, str) else json.dumps(results))
        return validate_results(split, path)

    return _check


def _codes(report):
    return sorted({(p.severity, p.code) for p in report.problems})


def test_clean_file_has_no_problems(check):
    report = check([_ok(), _ok(score=1, segmentations=[_distinct(0), None, None])])
    assert report.problems == [] and report.ok(strict=True)


def test_not_json_and_not_a_list_and_empty(check):
    assert _codes(check("[{")) == [("error", "json")]
    assert _codes(check({"a": 1})) == [("error", "not-a-list")]
    assert _codes(check([])) == [("error", "empty")]


def test_unknown_video_names_index_and_video(check):
    report = check([_ok(), _ok(video_id=99)])
    (problem,) = report.errors
    assert (problem.code, problem.index, problem.video_id, problem.field) == (
        "unknown-video",
        1,
        99,
        "video_id",
    )
    assert "result 1, video_id 99, field 'video_id'" in str(problem)


def test_missing_fields_each_reported(check):
    entry = _ok()
    del entry["score"], entry["segmentations"]
    report = check([entry])
    assert sorted(p.field for p in report.errors) == ["score", "segmentations"]


def test_frame_count_differs_from_video_length(check):
    """The metric scores only the frames both lists cover: the rest would be lost silently."""
    report = check([_ok(segmentations=[_seg()])])
    assert _codes(report) == [("error", "frame-count")]
    assert not report.ok()
    assert "never scored" in report.errors[0].message


def test_mask_size_differs_names_the_frame(check):
    report = check([_ok(segmentations=[_seg(), _seg((W, H)), None])])
    (problem,) = report.problems
    assert (problem.code, problem.frame) == ("mask-size", 1)


def test_polygons_and_uncompressed_rle_rejected(check):
    poly = _ok(segmentations=[[[0, 0, 3, 0, 3, 3]], None, None])
    unc = _ok(segmentations=[None, rle.encode_uncompressed(np.ones((H, W), np.uint8)), None])
    report = check([poly, unc])
    assert [(p.code, p.index, p.frame) for p in report.errors] == [
        ("polygon", 0, 0),
        ("uncompressed-rle", 1, 1),
    ]
    assert "compressed RLE" in str(report.errors[0])


@pytest.mark.parametrize(
    "score, severity",
    [
        (float("nan"), "error"),
        (float("inf"), "error"),
        ("0.5", "error"),
        (1.5, "warning"),
        (-0.1, "warning"),
    ],
)
def test_scores_must_be_finite_in_unit_interval(check, score, severity):
    report = check([_ok(score=score)])
    assert [(p.severity, p.field) for p in report.problems] == [(severity, "score")]


def test_unknown_category_is_an_error(check):
    """The metric would drop the prediction: validate fails rather than warns."""
    report = check([_ok(category_id=77)])
    assert _codes(report) == [("error", "unknown-category")]
    assert report.errors[0].field == "category_id" and "never scores" in report.errors[0].message


def test_more_than_100_results_per_video_and_category(check):
    report = check(
        [_ok(score=i / 200, segmentations=[_distinct(i), None, None]) for i in range(101)]
    )
    assert _codes(report) == [("warning", "too-many")]


def test_zip_has_results_json_at_root(tmp_path):
    res = tmp_path / "results.json"
    res.write_text(json.dumps([_ok()]))
    out = write_submission_zip(res, tmp_path / "out" / "submission.zip")
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == ["results.json"]
        assert archive.read("results.json") == res.read_bytes()


def test_validate_command_exit_codes_and_zip(split, tmp_path, capsys):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps([_ok()]))
    bad.write_text(json.dumps([_ok(video_id=5)]))
    zip_path = tmp_path / "sub.zip"
    assert main(["validate", "--gt", split.path, str(good), "--zip", str(zip_path)]) == 0
    assert zipfile.ZipFile(zip_path).namelist() == ["results.json"]
    zip_path.unlink()
    assert main(["validate", "--gt", split.path, str(bad), "--zip", str(zip_path)]) == 1
    out = capsys.readouterr().out
    assert "result 0, video_id 5" in out and "not writing" in out
    assert not zip_path.exists()


def test_golden_malformed_case_names_what_scoring_would_drop(golden_dir):
    case = golden_dir / "ytvis_eval" / "public" / "case_08"
    report = validate_results(load_split_info(case / "gt.json"), case / "results.json")
    assert {p.code for p in report.errors} == {"frame-count", "unknown-category"}
    assert {p.code for p in report.warnings} == {"mask-size"}


# -- OVIS ------------------------------------------------------------------------------------


def _ovis_split(tmp_path, annotations=None, categories=None):
    data = {
        "videos": [{"id": 1, "height": H, "width": W, "length": 3, "file_names": ["a", "b", "c"]}],
        "categories": categories or OVIS.as_json(),
        "annotations": annotations,
    }
    path = tmp_path / "ovis.json"
    path.write_text(json.dumps(data))
    return load_split_info(path)


def _write(tmp_path, results):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results))
    return path


def test_ovis_split_makes_frame_count_mismatch_an_error(tmp_path, split):
    short = [_ok(segmentations=[_seg(), None])]
    report = validate_results(_ovis_split(tmp_path), _write(tmp_path, short))
    assert report.metric == "ovis" and _codes(report) == [("error", "frame-count")]
    assert "OVIS evaluator aborts" in report.errors[0].message
    # The YouTube-VIS rules (another split) score it, on the frames both lists cover only.
    assert _codes(validate_results(split, _write(tmp_path, short))) == [("error", "frame-count")]
    forced = validate_results(split, _write(tmp_path, short), metric="ovis")
    assert _codes(forced) == [("error", "frame-count")]


def test_ovis_result_occlusion_fields_must_parse(tmp_path):
    good = _ok(occlusion=["no_occlusion", None, "severe_occlusion"])
    bad = _ok(occlusion=[None, None, None], segmentations=[_distinct(0), None, None])
    report = validate_results(_ovis_split(tmp_path), _write(tmp_path, [good, bad]))
    assert _codes(report) == [("error", "bad-occlusion")]
    assert report.errors[0].index == 1 and report.errors[0].field == "occlusion"


def test_ovis_ground_truth_labels_are_checked(tmp_path):
    def track(aid, crowd=0, **extra):
        return {"id": aid, "video_id": 1, "category_id": 2, "iscrowd": crowd, **extra}

    annotations = [
        track(1, occlusion=["no_occlusion"] * 3),
        track(2),  # non-crowd without labels
        track(3, crowd=1),  # crowd without labels: fine
        track(4, occlusion=["partly", None, None]),
        {**track(5), "category_id": 99},  # unlisted category: never read
    ]
    cats = [{"id": 2, "name": "cat"}]  # not OVIS's names: the labels make it an OVIS split
    split = _ovis_split(tmp_path, annotations, cats)
    report = validate_results(split, _write(tmp_path, [_ok()]))
    found = sorted((p.code, p.annotation_id) for p in report.errors)
    assert found == [("gt-occlusion", 4), ("gt-occlusion-missing", 2)]
    assert "ground-truth annotation id 4" in str(report.errors[-1])


def test_validate_command_names_the_rules_and_zips_for_ovis(tmp_path, capsys):
    split = _ovis_split(tmp_path)
    res = _write(tmp_path, [_ok()])
    zip_path = tmp_path / "submission.zip"
    assert main(["validate", "--gt", split.path, str(res), "--zip", str(zip_path)]) == 0
    assert "OVIS evaluator's rules" in capsys.readouterr().out
    assert zipfile.ZipFile(zip_path).namelist() == ["results.json"]
