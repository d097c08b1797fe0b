"""The Python API and the eval command: errors name file and field, odd inputs are handled."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vis_bench.cli import main
from vis_bench.errors import InputError
from vis_bench.eval.api import evaluate_files, evaluate_predictions
from vis_bench.eval.metric.loading import load_ground_truth
from vis_bench.eval.metric.params import STAT_NAMES
from vis_bench.formats import rle

H, W = 6, 8


def _mask(y0, y1, x0, x1):
    m = np.zeros((H, W), np.uint8)
    m[y0:y1, x0:x1] = 1
    return m


def _gt(n_frames=2):
    m = _mask(1, 4, 1, 5)
    return {
        "videos": [{"id": 7, "height": H, "width": W, "length": n_frames}],
        "categories": [{"id": 3, "name": "cat"}, {"id": 4, "name": "dog"}],
        "annotations": [
            {
                "id": 1,
                "video_id": 7,
                "category_id": 3,
                "iscrowd": 0,
                "segmentations": [rle.encode_uncompressed(m)] * n_frames,
                "areas": [int(m.sum())] * n_frames,
            }
        ],
    }


def _result(score=0.9, category=3, video=7, masks=None):
    masks = masks if masks is not None else [_mask(1, 4, 1, 5)] * 2
    return {
        "video_id": video,
        "category_id": category,
        "score": score,
        "segmentations": [None if m is None else rle.encode(m) for m in masks],
    }


@pytest.fixture
def write(tmp_path):
    def _write(name, data):
        path = tmp_path / name
        path.write_text(data if isinstance(data, str) else json.dumps(data))
        return path

    return _write


def test_perfect_result_scores_one(write):
    result = evaluate_files(write("gt.json", _gt()), write("res.json", [_result()]))
    assert result.stats["AP"] == pytest.approx(1.0)
    assert result.stats["APm"] == -1.0
    assert result.per_category_ap[4] == -1.0  # listed but never annotated: excluded
    assert set(result.timings) == {"load", "evaluate", "accumulate", "summarize", "total"}


def test_empty_results_list_scores_zero_instead_of_crashing(write):
    # Documented deviation: the official evaluator raises IndexError on [].
    result = evaluate_files(write("gt.json", _gt()), write("res.json", []))
    assert result.stats["AP"] == 0.0 and result.stats["AR100"] == 0.0
    assert result.stats["APl"] == -1.0


def test_unknown_category_is_dropped_silently(write):
    res = [_result(), _result(score=0.95, category=99)]
    result = evaluate_files(write("gt.json", _gt()), write("res.json", res))
    assert result.stats["AP"] == pytest.approx(1.0)


def test_malformed_json_names_the_file(write):
    path = write("res.json", "[{")
    with pytest.raises(InputError, match="res.json.*not valid JSON"):
        evaluate_files(write("gt.json", _gt()), path)


def test_missing_score_names_result_index_and_field(write):
    bad = _result()
    del bad["score"]
    with pytest.raises(InputError, match=r"result 1 \(video_id 7\) has no 'score'") as err:
        evaluate_files(write("gt.json", _gt()), write("res.json", [_result(), bad]))
    assert err.value.field == "score"


def test_unknown_video_id_names_result_and_video(write):
    with pytest.raises(InputError, match="result 0 has video_id 12345") as err:
        evaluate_files(write("gt.json", _gt()), write("res.json", [_result(video=12345)]))
    assert err.value.field == "video_id"


def test_polygon_and_uncompressed_results_are_rejected_clearly(write):
    gt = write("gt.json", _gt())
    poly = _result()
    poly["segmentations"][1] = [[1, 1, 4, 1, 4, 4, 1, 4]]
    with pytest.raises(InputError, match=r"segmentations\[1\] is a list of polygons"):
        evaluate_files(gt, write("res.json", [poly]))
    unc = _result()
    unc["segmentations"][0] = rle.encode_uncompressed(_mask(1, 4, 1, 5))
    with pytest.raises(InputError, match="uncompressed RLE"):
        evaluate_files(gt, write("res2.json", [unc]))


def test_gt_missing_iscrowd_names_annotation(write):
    gt = _gt()
    del gt["annotations"][0]["iscrowd"]
    with pytest.raises(InputError, match=r"annotations\[0\] has no 'iscrowd'"):
        evaluate_files(write("gt.json", gt), write("res.json", [_result()]))


def test_gt_polygons_and_compressed_rle_are_accepted(write):
    gt = _gt()
    ann = gt["annotations"][0]
    # Same square as polygon (pixel corners) and as compressed RLE.
    ann["segmentations"] = [[[1, 1, 5, 1, 5, 4, 1, 4]], rle.encode(_mask(1, 4, 1, 5))]
    result = evaluate_files(write("gt.json", gt), write("res.json", [_result()]))
    assert result.ious()["7:3"]["iou"][0][0] > 0.5


def test_eval_command_writes_exactly_the_twelve_keys(write, tmp_path, capsys):
    out = tmp_path / "sub" / "stats.json"
    gt, res = write("gt.json", _gt()), write("res.json", [_result()])
    code = main(
        ["eval", "--gt", str(gt), "--results", str(res), "--out", str(out), "--per-category"]
    )
    assert code == 0
    stats = json.loads(out.read_text())
    assert list(stats) == list(STAT_NAMES)
    assert stats["AP"] == pytest.approx(1.0)
    printed = capsys.readouterr().out
    assert "AP50" in printed and "dog" in printed
    assert not list(out.parent.glob(".stats.json.*"))  # no temp file left behind


def test_eval_command_reports_input_errors_without_traceback(write, capsys):
    gt, res = write("gt.json", _gt()), write("res.json", "not json")
    assert main(["eval", "--gt", str(gt), "--results", str(res)]) == 2
    err = capsys.readouterr().err
    assert "res.json" in err and "Traceback" not in err


def test_in_memory_predictions_score_like_the_file(golden_dir):
    case = golden_dir / "ytvis_eval" / "public" / "case_06"
    from_files = evaluate_files(case / "gt.json", case / "results.json")
    gt = load_ground_truth(case / "gt.json")
    in_memory = evaluate_predictions(gt, json.loads((case / "results.json").read_text()))
    assert in_memory.stats == from_files.stats


def test_duplicate_gt_annotation_ids_are_rejected(write):
    gt = _gt()
    gt["annotations"].append(dict(gt["annotations"][0], category_id=4))
    with pytest.raises(InputError, match=r"annotations\[1\] repeats annotation id 1"):
        evaluate_files(write("gt.json", gt), write("res.json", [_result()]))
