"""No silent zero: predictions the metric drops or cuts are counted, named, and fail the command."""

from __future__ import annotations

import json

import pytest

from tests.helpers.box_rle import box_rle
from vis_bench.cli import main
from vis_bench.eval.api import evaluate_files

H, W, FRAMES = 8, 10, 3


def _rle(box: tuple[int, int, int, int]) -> dict:
    return box_rle(box, H, W)


@pytest.fixture
def gt_path(tmp_path):
    seg = _rle((1, 5, 2, 7))
    gt = {
        "videos": [
            {"id": vid, "height": H, "width": W, "length": FRAMES, "file_names": ["a", "b", "c"]}
            for vid in (1, 2)
        ],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
        "annotations": [
            {"id": aid, "video_id": vid, "category_id": 1, "iscrowd": 0,
             "segmentations": [seg] * FRAMES, "areas": [20] * FRAMES}
            for aid, vid in ((1, 1), (2, 2))
        ],
    }  # fmt: skip
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))
    return path


def _write(tmp_path, name, predictions):
    path = tmp_path / name
    path.write_text(json.dumps(predictions))
    return path


def _prediction(video_id, category_id, frames=FRAMES):
    seg = _rle((1, 5, 2, 7))
    return {
        "video_id": video_id,
        "category_id": category_id,
        "score": 0.9,
        "segmentations": [seg] * frames,
    }


def test_every_category_unknown_fails_eval_and_names_ids_and_field(gt_path, tmp_path, capsys):
    # class indices off by one: every prediction says 7 or 8, the split lists 1 and 2
    results = _write(
        tmp_path, "res.json", [_prediction(1, 7), _prediction(2, 8), _prediction(2, 8)]
    )
    assert main(["eval", "--gt", str(gt_path), "--results", str(results)]) == 1
    err = capsys.readouterr().err
    assert "3 of 3 predictions have a category_id" in err
    assert "7 (x1), 8 (x2)" in err and "field category_id" in err and "--allow-dropped" in err
    assert main(["eval", "--gt", str(gt_path), "--results", str(results), "--allow-dropped"]) == 0
    assert "warning:" in capsys.readouterr().err


def test_clean_results_exit_zero_and_say_nothing_dropped(gt_path, tmp_path, capsys):
    results = _write(tmp_path, "res.json", [_prediction(1, 1), _prediction(2, 1)])
    assert main(["eval", "--gt", str(gt_path), "--results", str(results)]) == 0
    assert "dropped" not in capsys.readouterr().err
    assert not evaluate_files(gt_path, results).dropped.any


def test_wrong_frame_count_is_named_with_video_and_lengths(gt_path, tmp_path, capsys):
    results = _write(tmp_path, "res.json", [_prediction(1, 1, frames=2), _prediction(2, 1)])
    dropped = evaluate_files(gt_path, results).dropped
    assert dropped.frame_count == {(1, 2, 3): 1} and dropped.unknown_category == {}
    assert main(["eval", "--gt", str(gt_path), "--results", str(results)]) == 1
    err = capsys.readouterr().err
    assert "video 1: 2 entries for 3 frames" in err and "field segmentations" in err


def test_stats_are_still_written_and_official(gt_path, tmp_path):
    """Counting changes no number: the dropped prediction is left out exactly as before."""
    kept = _write(tmp_path, "kept.json", [_prediction(1, 1), _prediction(2, 1)])
    both = _write(tmp_path, "both.json", [_prediction(1, 1), _prediction(2, 1), _prediction(1, 9)])
    out = tmp_path / "stats.json"
    assert main(["eval", "--gt", str(gt_path), "--results", str(both), "--out", str(out)]) == 1
    assert json.loads(out.read_text()) == evaluate_files(gt_path, kept).stats


def test_compare_fails_when_either_side_drops(gt_path, tmp_path, capsys):
    good = _write(tmp_path, "a.json", [_prediction(1, 1), _prediction(2, 1)])
    bad = _write(tmp_path, "b.json", [_prediction(1, 5), _prediction(2, 5)])
    argv = ["compare", "--gt", str(gt_path), "--a", str(good), "--b", str(bad), "--bootstrap", "20"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"B ({bad})" in err and "2 of 2 predictions" in err and f"A ({good})" not in err
    assert main([*argv, "--allow-dropped"]) == 0


def test_validate_fails_when_every_prediction_would_be_dropped(gt_path, tmp_path, capsys):
    results = _write(tmp_path, "res.json", [_prediction(1, 7), _prediction(2, 7)])
    assert main(["validate", "--gt", str(gt_path), str(results)]) == 1
    out = capsys.readouterr().out
    assert out.count("category_id 7 is not in the split's categories") == 2
    assert "2 errors" in out
