"""The TIDE-style error breakdown on constructed cases whose errors are known by construction."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from vis_bench.cli import main
from vis_bench.eval.analysis.errors import classify_errors, error_breakdown
from vis_bench.eval.metric.loading import ground_truth_from_dict, results_from_list

H, W, FRAMES = 20, 20, 3
#: boxes as (y0, y1, x0, x1)
OBJECT = (2, 12, 2, 12)  # 100 pixels
ELSEWHERE = (14, 20, 14, 20)  # disjoint from OBJECT
QUARTER = (2, 7, 2, 7)  # 25 of OBJECT's pixels: IoU 0.25


def _rle(box):
    mask = np.zeros((H, W), dtype=np.uint8, order="F")
    y0, y1, x0, x1 = box
    mask[y0:y1, x0:x1] = 1
    rle = mask_utils.encode(mask)
    return {"size": rle["size"], "counts": rle["counts"].decode("ascii")}


def _gt(tracks):
    """tracks: (video id, category id, box) with the object on every frame."""
    videos = sorted({v for v, _, _ in tracks})
    data = {
        "videos": [{"id": v, "height": H, "width": W, "length": FRAMES} for v in videos],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
        "annotations": [
            {"id": i + 1, "video_id": v, "category_id": c, "iscrowd": 0,
             "segmentations": [_rle(box)] * FRAMES, "areas": [100] * FRAMES}
            for i, (v, c, box) in enumerate(tracks)
        ],
    }  # fmt: skip
    return ground_truth_from_dict(data)


def _pred(video, category, score, frames):
    return {"video_id": video, "category_id": category, "score": score, "segmentations": frames}


def _every(box):
    return [_rle(box)] * FRAMES


def _breakdown(gt, predictions):
    return error_breakdown(gt, results_from_list(predictions, gt))


def test_perfect_predictions_have_no_errors():
    gt = _gt([(1, 1, OBJECT), (2, 2, OBJECT)])
    out = _breakdown(gt, [_pred(1, 1, 0.9, _every(OBJECT)), _pred(2, 2, 0.8, _every(OBJECT))])
    assert out.ap50 == pytest.approx(1.0)
    assert set(out.counts.values()) == {0} and set(out.gains.values()) == {0.0}


def test_wrong_category_is_a_cls_error_and_fixing_it_recovers_ap():
    gt = _gt([(1, 1, OBJECT)])
    out = _breakdown(gt, [_pred(1, 2, 0.9, _every(OBJECT))])
    assert out.counts["cls"] == 1 and out.counts["miss"] == 0  # the cls fix would take it
    assert out.ap50 == pytest.approx(0.0) and out.gains["cls"] == pytest.approx(1.0)


def test_misplaced_masks_are_spatial_localisation():
    gt = _gt([(1, 1, OBJECT)])
    out = _breakdown(gt, [_pred(1, 1, 0.9, _every(QUARTER))])
    (error,) = out.errors
    assert (error.kind, error.video_iou) == ("loc", pytest.approx(0.25))
    assert out.gains["loc"] == pytest.approx(1.0)
    assert out.gains["loc_spatial"] == pytest.approx(1.0) and out.gains["loc_temporal"] == 0.0


def test_masks_on_too_few_frames_are_temporal_localisation():
    gt = _gt([(1, 1, OBJECT)])
    # the right mask on the first frame only: video IoU 1/3
    out = _breakdown(gt, [_pred(1, 1, 0.9, [_rle(OBJECT), None, None])])
    assert [e.kind for e in out.errors] == ["loc"]
    assert out.gains["loc_temporal"] == pytest.approx(1.0) and out.gains["loc_spatial"] == 0.0


def test_a_duplicate_between_two_true_positives_costs_precision():
    gt = _gt([(1, 1, OBJECT), (2, 1, OBJECT)])
    predictions = [
        _pred(1, 1, 0.9, _every(OBJECT)),
        _pred(1, 1, 0.8, _every(OBJECT)),  # the same track again
        _pred(2, 1, 0.7, _every(OBJECT)),
    ]
    out = _breakdown(gt, predictions)
    assert [(e.result, e.kind) for e in out.errors] == [(1, "dupe")]
    assert out.ap50 < 1.0 and out.ap50 + out.gains["dupe"] == pytest.approx(1.0)


def test_a_confident_prediction_on_nothing_is_background():
    gt = _gt([(1, 1, OBJECT)])
    out = _breakdown(gt, [_pred(1, 1, 0.9, _every(ELSEWHERE)), _pred(1, 1, 0.5, _every(OBJECT))])
    assert [(e.result, e.kind) for e in out.errors] == [(0, "bkg")]
    assert out.ap50 + out.gains["bkg"] == pytest.approx(1.0) and out.gains["bkg"] > 0


def test_wrong_category_and_poor_place_is_both():
    gt = _gt([(1, 1, OBJECT), (2, 1, OBJECT)])
    out = _breakdown(gt, [_pred(1, 2, 0.9, _every(QUARTER)), _pred(2, 1, 0.5, _every(OBJECT))])
    assert [e.kind for e in out.errors] == ["both"]
    # the "both" prediction is of category 2, which has no track: removing it changes no AP,
    # while its track is missed (no fix of cls or loc would take it)
    # recall 1/2 covers 51 of the 101 recall points
    assert out.counts["miss"] == 1 and out.gains["miss"] == pytest.approx(50 / 101)


def test_a_track_nobody_predicted_is_missed():
    gt = _gt([(1, 1, OBJECT), (2, 1, OBJECT)])
    found = classify_errors(gt, results_from_list([_pred(1, 1, 0.9, _every(OBJECT))], gt))
    assert found.missed == [1] and found.errors == []
    out = _breakdown(gt, [_pred(1, 1, 0.9, _every(OBJECT))])
    # recall 1/2 covers 51 of the 101 recall points; without the missed track recall is 1
    assert out.ap50 == pytest.approx(51 / 101) and out.gains["miss"] == pytest.approx(50 / 101)


def test_a_cls_fix_onto_a_taken_track_removes_the_prediction():
    gt = _gt([(1, 1, OBJECT)])
    predictions = [_pred(1, 1, 0.5, _every(OBJECT)), _pred(1, 2, 0.9, _every(OBJECT))]
    out = _breakdown(gt, predictions)
    assert [(e.result, e.kind) for e in out.errors] == [(1, "cls")]
    # category 2 has no track, so its wrong prediction costs category 1 nothing: AP50 is 1
    assert out.ap50 == pytest.approx(1.0) and out.gains["cls"] == 0.0


def test_errors_command_prints_and_writes(tmp_path, capsys):
    gt_data = {
        "videos": [{"id": 1, "height": H, "width": W, "length": FRAMES}],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [
            {"id": 7, "video_id": 1, "category_id": 1, "iscrowd": 0,
             "segmentations": _every(OBJECT), "areas": [100] * FRAMES}
        ],
    }  # fmt: skip
    (tmp_path / "gt.json").write_text(json.dumps(gt_data))
    (tmp_path / "res.json").write_text(json.dumps([_pred(1, 1, 0.9, _every(QUARTER))]))
    out = tmp_path / "errors.json"
    argv = ["errors", "--gt", str(tmp_path / "gt.json"), "--results", str(tmp_path / "res.json")]
    assert main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "AP50 0.00" in printed and "localisation" in printed
    written = json.loads(out.read_text())
    assert written["gains"]["loc"] == pytest.approx(1.0) and written["counts"]["loc"] == 1
    assert written["missed_annotation_ids"] == []
