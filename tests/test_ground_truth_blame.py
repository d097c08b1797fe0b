"""A broken ground truth is named as the file at fault (its path, the JSON field and the fix),
never blamed on the results file, by every command that reads one beside results."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from vis_bench.cli import main

H, W, FRAMES = 8, 10, 3


def _rle() -> dict:
    mask = np.zeros((H, W), dtype=np.uint8, order="F")
    mask[1:5, 2:7] = 1
    rle = mask_utils.encode(mask)
    return {"size": rle["size"], "counts": rle["counts"].decode("ascii")}


GOOD_GT = {
    "videos": [
        {"id": vid, "height": H, "width": W, "length": FRAMES, "file_names": ["a", "b", "c"]}
        for vid in (1, 2, 3, 4)
    ],
    "categories": [{"id": 1, "name": "cat"}],
    "annotations": [
        {"id": vid, "video_id": vid, "category_id": 1, "iscrowd": 0,
         "segmentations": [_rle()] * FRAMES, "areas": [20] * FRAMES}
        for vid in (1, 2, 3, 4)
    ],
}  # fmt: skip
RESULTS = [
    {"video_id": vid, "category_id": 1, "score": 0.9, "segmentations": [_rle()] * FRAMES}
    for vid in (1, 2, 3, 4)
]


def _length_disagrees(gt):
    gt["videos"][3]["length"] = 5


def _video_id_repeated(gt):
    gt["videos"][3]["id"] = 2
    gt["annotations"][3]["video_id"] = 2


def _track_too_long(gt):
    gt["annotations"][2]["segmentations"].append(None)


def _annotation_id_repeated(gt):
    gt["annotations"][2]["id"] = 1


def _video_not_listed(gt):
    del gt["videos"][3]


REFUSED = [
    (_length_disagrees, "videos[3].length", "make `length` equal the number of file_names (3)"),
    (_video_id_repeated, "videos[3].id", "give each video its own id"),
    (_track_too_long, "annotations[2].segmentations", "give one entry per frame"),
    (_annotation_id_repeated, "annotations[2].id", "annotation ids must be unique"),
    (_video_not_listed, "annotations[3].video_id", "add video 4 to `videos`"),
]


def _files(tmp_path, break_gt, results=RESULTS):
    gt = copy.deepcopy(GOOD_GT)
    break_gt(gt)
    gt_path, res_path = tmp_path / "gt.json", tmp_path / "results.json"
    gt_path.write_text(json.dumps(gt))
    res_path.write_text(json.dumps(results))
    return str(gt_path), str(res_path)


@pytest.mark.parametrize(("break_gt", "field", "fix"), REFUSED)
@pytest.mark.parametrize("cached", [False, True])
def test_eval_refuses_a_broken_ground_truth_naming_it(
    tmp_path, capsys, break_gt, field, fix, cached
):
    gt, results = _files(tmp_path, break_gt)
    argv = ["eval", "--gt", gt, "--results", results]
    if cached:  # the second run reads the ground truth from the cache where one was written
        argv += ["--gt-cache", str(tmp_path / "cache")]
        assert main(argv) == 2
        capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {gt}: field '{field}'") and fix in err
    assert "fix the results" not in err


@pytest.mark.parametrize(("break_gt", "field", "fix"), REFUSED)
def test_compare_names_the_ground_truth_too(tmp_path, capsys, break_gt, field, fix):
    gt, results = _files(tmp_path, break_gt)
    assert main(["compare", "--gt", gt, "--a", results, "--b", results, "--bootstrap", "5"]) == 2
    err = capsys.readouterr().err
    assert f"{gt}: field '{field}'" in err and fix in err


@pytest.mark.parametrize(("break_gt", "field"), [(_length_disagrees, "videos[3].length"),
                                                  (_video_id_repeated, "videos[3].id")])  # fmt: skip
def test_validate_names_the_split_file_it_checks_against(tmp_path, capsys, break_gt, field):
    gt, results = _files(tmp_path, break_gt)
    assert main(["validate", "--gt", gt, results]) == 2
    err = capsys.readouterr().err
    assert f"error: {gt}: field '{field}'" in err and "results.json" not in err


def test_a_category_the_ground_truth_uses_but_does_not_list_is_its_fault(tmp_path, capsys):
    def unlisted(gt):
        gt["annotations"][3]["category_id"] = 7

    results = copy.deepcopy(RESULTS)
    results[3]["category_id"] = 7
    gt, res = _files(tmp_path, unlisted, results)
    assert main(["eval", "--gt", gt, "--results", res]) == 1
    err = capsys.readouterr().err
    assert f"error: {gt}: category_id 7 is used by the ground truth's annotations" in err
    assert "annotations[3].category_id" in err and f"field categories of {gt}" in err
    assert "fix the ground truth," in err and f"{res}:" not in err
    assert "map the model's class indices" not in err
    assert main(["validate", "--gt", gt, res]) == 1
    out = capsys.readouterr().out
    assert f"category_id 7 is used by the annotations of {gt}" in out
    assert f"add category 7 to the categories of {gt}" in out and "map the model" not in out


def test_a_video_size_the_ground_truths_masks_disagree_with_is_its_fault(tmp_path, capsys):
    def wrong_size(gt):
        gt["videos"][1].update(height=20, width=5)

    gt, res = _files(tmp_path, wrong_size)
    assert main(["eval", "--gt", gt, "--results", res]) == 1
    err = capsys.readouterr().err
    assert f"error: {gt}: the ground truth's own masks in video 2 are 8x10" in err
    assert "says 20x5" in err and "fix the ground truth," in err and f"{res}:" not in err


def test_results_at_fault_are_still_blamed_on_the_results(tmp_path, capsys):
    results = copy.deepcopy(RESULTS)
    results[3]["segmentations"] = results[3]["segmentations"][:2]  # 2 entries for 3 frames
    results[2]["category_id"] = 9  # neither listed nor used by the ground truth
    gt, res = _files(tmp_path, lambda gt: None, results)
    assert main(["eval", "--gt", gt, "--results", res]) == 1
    err = capsys.readouterr().err
    assert f"error: {res}: 1 of 4 predictions have a category_id" in err
    assert "video 4: 2 entries for 3 frames" in err and "fix the results," in err
    assert f"{gt}:" not in err
