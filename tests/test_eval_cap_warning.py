"""`eval` says when the 100-per-(video, category) cap hides predictions, with validate's words,
and whether a hidden one would have been a true positive."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from vis_bench.cli import main
from vis_bench.eval.metric.result_checks import cap_message

H, W, FRAMES = 16, 16, 2


def _rle(y0: int, x0: int, size: int = 4) -> dict:
    mask = np.zeros((H, W), dtype=np.uint8, order="F")
    mask[y0 : y0 + size, x0 : x0 + size] = 1
    rle = mask_utils.encode(mask)
    return {"size": rle["size"], "counts": rle["counts"].decode("ascii")}


def _prediction(seg: dict, score: float) -> dict:
    return {"video_id": 1, "category_id": 1, "score": score, "segmentations": [seg] * FRAMES}


@pytest.fixture
def gt_path(tmp_path):
    gt = {
        "videos": [{"id": 1, "height": H, "width": W, "length": FRAMES, "file_names": ["a", "b"]}],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [
            {"id": 1, "video_id": 1, "category_id": 1, "iscrowd": 0,
             "segmentations": [_rle(0, 0)] * FRAMES, "areas": [16] * FRAMES}
        ],
    }  # fmt: skip
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))
    return path


def _misses(n: int) -> list[dict]:
    """n predictions far from the GT box, each its own mask (no duplicates)."""
    return [_prediction(_rle(8 + k % 8, 8 + k // 8 % 8, 1 + k // 64), 0.9) for k in range(n)]


def _eval(gt_path, tmp_path, predictions, capsys) -> str:
    results = tmp_path / "results.json"
    results.write_text(json.dumps(predictions))
    assert main(["eval", "--gt", str(gt_path), "--results", str(results)]) == 0
    return capsys.readouterr().err


def test_a_true_positive_below_the_cap_is_named(gt_path, tmp_path, capsys):
    # 100 misses score higher than the one good prediction: the metric never sees it, AP is 0
    predictions = [*_misses(100), _prediction(_rle(0, 0), 0.1)]
    err = _eval(gt_path, tmp_path, predictions, capsys)
    assert cap_message(101, 1) in err  # validate's own words
    assert "1 of them would have matched a ground-truth track" in err
    assert "keep the 100 best-scored predictions" in err
    results = tmp_path / "results.json"
    assert main(["validate", "--gt", str(gt_path), str(results)]) == 0
    assert cap_message(101, 1) in capsys.readouterr().out


def test_over_the_cap_without_a_lost_match_says_so(gt_path, tmp_path, capsys):
    predictions = [_prediction(_rle(0, 0), 0.95), *_misses(100)]
    err = _eval(gt_path, tmp_path, predictions, capsys)
    assert cap_message(101, 1) in err
    assert "none of them would have matched a ground-truth track" in err


def test_within_the_cap_nothing_is_said(gt_path, tmp_path, capsys):
    predictions = [*_misses(99), _prediction(_rle(0, 0), 0.1)]
    assert "best-scored" not in _eval(gt_path, tmp_path, predictions, capsys)
