"""`eval --per-frame`: every frame scored as a one-frame video, so tracks that swap objects
between frames keep a perfect image-level AP while their video AP falls to zero."""

from __future__ import annotations

import json
import zipfile

import pytest

from tests.helpers.box_rle import box_rle
from vis_bench.cli import main
from vis_bench.eval.frame_split import split_ground_truth, split_results

H, W = 6, 8
LEFT, RIGHT, NOTHING = (0, 6, 0, 4), (0, 6, 4, 8), (0, 0, 0, 0)


def _rle(box: tuple[int, int, int, int]) -> dict:
    return box_rle(box, H, W)


def _track(aid: int, boxes: list) -> dict:
    return {
        "id": aid,
        "video_id": 1,
        "category_id": 1,
        "iscrowd": 0,
        "segmentations": [None if b is None else _rle(b) for b in boxes],
        "areas": [None if b is None else 24 for b in boxes],
        "occlusion": [None if b is None else "slight_occlusion" for b in boxes],
    }


def _gt() -> dict:
    return {
        "videos": [{"id": 1, "height": H, "width": W, "length": 2, "file_names": ["a", "b"]}],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [_track(1, [LEFT, LEFT]), _track(2, [RIGHT, None])],
    }


def _result(boxes: list, score: float = 0.9) -> dict:
    segs = [None if b is None else _rle(b) for b in boxes]
    return {"video_id": 1, "category_id": 1, "score": score, "segmentations": segs}


def test_split_gives_one_video_per_frame_and_keeps_per_track_fields():
    gt, ids = split_ground_truth(_gt())
    assert ids == {(1, 0): 1, (1, 1): 2}
    assert [(v["id"], v["length"], v["file_names"]) for v in gt["videos"]] == [
        (1, 1, ["a"]),
        (2, 1, ["b"]),
    ]
    # the right-hand object is absent on frame 1: no annotation of that frame
    assert [(a["video_id"], a["areas"], a["occlusion"]) for a in gt["annotations"]] == [
        (1, [24], ["slight_occlusion"]),
        (2, [24], ["slight_occlusion"]),
        (1, [24], ["slight_occlusion"]),
    ]


def test_split_results_drop_absent_and_empty_frames():
    _, ids = split_ground_truth(_gt())
    results = split_results([_result([LEFT, None]), _result([NOTHING, RIGHT], 0.4)], ids)
    assert [(r["video_id"], r["score"]) for r in results] == [(1, 0.9), (2, 0.4)]


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def _ap(capsys) -> float:
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("| AP "))
    return float(line.split("|")[2])


def test_swapped_tracks_score_zero_as_videos_and_full_per_frame(tmp_path, capsys):
    """Two objects on two frames; each predicted track follows one object on frame 0 and the
    other on frame 1 (both objects present on both frames here)."""
    gt = _gt()
    gt["annotations"] = [_track(1, [LEFT, LEFT]), _track(2, [RIGHT, RIGHT])]
    gt_path = _write(tmp_path, "gt.json", gt)
    swapped = [_result([LEFT, RIGHT], 0.9), _result([RIGHT, LEFT], 0.8)]
    res_path = _write(tmp_path, "res.json", swapped)
    assert main(["eval", "--gt", str(gt_path), "--results", str(res_path)]) == 0
    assert _ap(capsys) == 0.0
    args = ["eval", "--gt", str(gt_path), "--results", str(res_path), "--per-frame"]
    assert main(args) == 0
    assert _ap(capsys) == 100.0


@pytest.mark.parametrize("flag", [["--bootstrap", "10"], ["--per-video", "x.json"]])
def test_per_frame_refuses_video_unit_options(tmp_path, capsys, flag):
    gt_path = _write(tmp_path, "gt.json", _gt())
    res_path = _write(tmp_path, "res.json", [_result([LEFT, LEFT])])
    args = ["eval", "--gt", str(gt_path), "--results", str(res_path), "--per-frame", *flag]
    assert main(args) != 0
    assert f"{flag[0]} is not available with --per-frame" in capsys.readouterr().err


def test_per_frame_names_a_bad_results_file_as_given(tmp_path, capsys):
    gt_path = _write(tmp_path, "gt.json", _gt())
    bad = [{"video_id": 7, "category_id": 1, "score": 0.5, "segmentations": [None, None]}]
    res_path = _write(tmp_path, "res.json", bad)
    assert main(["eval", "--gt", str(gt_path), "--results", str(res_path), "--per-frame"]) != 0
    err = capsys.readouterr().err
    assert str(res_path) in err and "split per frame" not in err


def test_a_short_areas_list_the_metric_accepts_is_cut_without_error(tmp_path, capsys):
    """The metric takes a track whose `areas` stops early (it reads the masks); the split cuts
    what the list has and leaves the rest empty instead of failing on the missing entry."""
    gt = _gt()
    gt["annotations"] = [{**_track(1, [LEFT, LEFT]), "areas": [24]}]
    gt_path = _write(tmp_path, "gt.json", gt)
    res_path = _write(tmp_path, "res.json", [_result([LEFT, LEFT])])
    args = ["eval", "--gt", str(gt_path), "--results", str(res_path), "--per-frame"]
    assert main(args) == 0
    assert _ap(capsys) == 100.0


def test_a_submission_zip_is_read_as_its_results(tmp_path, capsys):
    gt_path = _write(tmp_path, "gt.json", _gt())
    res_path = _write(tmp_path, "results.json", [_result([LEFT, LEFT]), _result([RIGHT, None])])
    archive = tmp_path / "submission.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(res_path, "results.json")
    args = ["eval", "--gt", str(gt_path), "--results", str(archive), "--per-frame"]
    assert main(args) == 0
    assert _ap(capsys) == 100.0
