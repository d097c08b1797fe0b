"""Per-track diagnosis: best-overlap pairing, empty visible frames, entering/leaving tracks."""

from __future__ import annotations

import json
import math

import numpy as np

from vis_bench.cli import main
from vis_bench.eval.analysis.diagnose import diagnose, summarize
from vis_bench.eval.metric.loading import ground_truth_from_dict, results_from_list
from vis_bench.formats import rle

H, W = 6, 8


def _mask(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    m = np.zeros((H, W), np.uint8)
    m[y0:y1, x0:x1] = 1
    return m


def _encode(frames: list[np.ndarray | None]) -> list:
    return [None if m is None else rle.encode(m) for m in frames]


LEFT, RIGHT = _mask(0, 3, 0, 3), _mask(3, 6, 5, 8)
EMPTY = np.zeros((H, W), np.uint8)


def _gt() -> dict:
    """Video 1: a track visible in all 4 frames (left) and one absent from the first (right)."""
    return {
        "videos": [{"id": 1, "height": H, "width": W, "length": 4}],
        "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
        "annotations": [
            {
                "id": 10,
                "video_id": 1,
                "category_id": 1,
                "iscrowd": 0,
                "segmentations": _encode([LEFT] * 4),
                "areas": [9] * 4,
            },
            {
                "id": 11,
                "video_id": 1,
                "category_id": 2,
                "iscrowd": 0,
                "segmentations": _encode([None, RIGHT, RIGHT, RIGHT]),
                "areas": [None, 9, 9, 9],
            },
        ],
    }


def _results() -> list[dict]:
    return [
        # the left track, right class, exact in every frame
        {"video_id": 1, "category_id": 1, "score": 0.9, "segmentations": _encode([LEFT] * 4)},
        # the right track with the wrong class, empty in two of its three visible frames
        {
            "video_id": 1,
            "category_id": 1,
            "score": 0.8,
            "segmentations": _encode([EMPTY, RIGHT, EMPTY, EMPTY]),
        },
    ]


def test_each_track_gets_its_best_overlap_and_its_lost_frames():
    gt = ground_truth_from_dict(_gt())
    left, right = diagnose(gt, results_from_list(_results(), gt))
    assert (left.best_result, left.video_iou, left.class_correct) == (0, 1.0, True)
    assert not left.enters_or_leaves and left.empty_visible_frames == 0
    assert right.enters_or_leaves and right.visible_frames == 3
    assert right.best_result == 1 and not right.class_correct
    assert right.empty_visible_frames == 2
    assert math.isclose(right.video_iou, 9 / 27) and right.median_frame_iou == 1.0


def test_summary_separates_always_visible_and_entering_tracks():
    gt = ground_truth_from_dict(_gt())
    summary = summarize(diagnose(gt, results_from_list(_results(), gt)))
    assert summary["all"]["tracks"] == 2
    assert summary["always visible"]["found"] == 1.0
    assert summary["enters or leaves"]["found"] == 0.0
    assert math.isclose(summary["all"]["empty_visible_frames"], 2 / 7)
    assert math.isclose(summary["enters or leaves"]["empty_visible_frames"], 2 / 3)
    assert summary["all"]["class_correct"] == 0.5


def test_a_video_without_predictions_leaves_its_tracks_unfound():
    gt = ground_truth_from_dict(_gt())
    tracks = diagnose(gt, results_from_list([], gt))
    assert all(t.best_result is None and t.video_iou == 0.0 for t in tracks)
    assert [t.empty_visible_frames for t in tracks] == [4, 3]


def test_diagnose_command_prints_the_groups_and_writes_json(tmp_path, capsys):
    gt_path, res_path, out = tmp_path / "gt.json", tmp_path / "res.json", tmp_path / "d.json"
    gt_path.write_text(json.dumps(_gt()))
    res_path.write_text(json.dumps(_results()))
    args = ["diagnose", "--gt", str(gt_path), "--results", str(res_path)]
    assert main([*args, "--out", str(out)]) == 0
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "enters or leaves" in printed and "66.7%" in printed
    written = json.loads(out.read_text())
    assert written["tracks"][1]["empty_visible_frames"] == 2
    assert written["summary"]["always visible"]["found"] == 1.0
