"""The metric's error messages give advice that works: doing what they say fixes the file."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from vis_bench.errors import InputError
from vis_bench.eval.api import evaluate_files
from vis_bench.formats import rle


@pytest.fixture()
def case(golden_dir):
    return golden_dir / "ytvis_eval" / "public" / "case_01"


def _first_frame(results: list[dict]) -> tuple[int, int]:
    for i, result in enumerate(results):
        for t, seg in enumerate(result["segmentations"]):
            if seg:
                return i, t
    raise AssertionError("no mask in the case")


def test_uncompressed_rle_advice_produces_a_file_that_scores(case, tmp_path):
    results = json.loads((case / "results.json").read_text())
    expected = evaluate_files(case / "gt.json", case / "results.json").stats
    i, t = _first_frame(results)
    mask = rle.decode(results[i]["segmentations"][t])
    results[i]["segmentations"][t] = rle.encode_uncompressed(mask)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(results))
    with pytest.raises(InputError, match=r"vis_bench\.formats\.rle\.to_json\(rle\)"):
        evaluate_files(case / "gt.json", broken)
    # the advice, done literally: every entry through to_json, then json.dump
    fixed = [
        {**r, "segmentations": [rle.to_json(s) if s else s for s in r["segmentations"]]}
        for r in results
    ]
    repaired = tmp_path / "fixed.json"
    repaired.write_text(json.dumps(fixed))
    stats = evaluate_files(case / "gt.json", repaired).stats
    assert all(math.isclose(stats[k], expected[k], abs_tol=1e-12) for k in expected)


def test_a_binary_mask_is_named_as_such_and_encode_fixes_it(case, tmp_path):
    results = json.loads((case / "results.json").read_text())
    i, t = _first_frame(results)
    mask = rle.decode(results[i]["segmentations"][t])
    results[i]["segmentations"][t] = mask.astype(int).tolist()
    broken = tmp_path / "mask.json"
    broken.write_text(json.dumps(results))
    with pytest.raises(InputError) as err:
        evaluate_files(case / "gt.json", broken)
    height, width = mask.shape
    assert f"a binary mask given as a {height}x{width} list of 0/1 rows" in str(err.value)
    assert "polygon" not in str(err.value)
    results[i]["segmentations"][t] = rle.encode(np.array(results[i]["segmentations"][t]))
    broken.write_text(json.dumps(results))
    assert evaluate_files(case / "gt.json", broken).stats["AP"] >= 0


def test_polygons_are_still_called_polygons():
    assert rle.describe_list_entry([[1.0, 2.0, 3.0, 4.5, 5.0, 6.0]]) == "a list of polygons"


def test_a_non_finite_score_is_scored_officially_with_a_warning(case, tmp_path, capsys):
    from vis_bench.cli import main

    results = json.loads((case / "results.json").read_text())
    results[3]["score"] = float("nan")
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(results))  # Python writes NaN, as a careless exporter would
    result = evaluate_files(case / "gt.json", path)
    warning = [w for w in result.warnings if "has score nan" in w]
    assert len(warning) == 1 and warning[0].startswith("result 3 (video_id")
    # the case also holds predictions of a category the GT does not list (dropped, see
    # tests/test_eval_dropped.py): allowed here, this test is about the NaN warning
    argv = ["eval", "--gt", str(case / "gt.json"), "--results", str(path), "--allow-dropped"]
    assert main(argv) == 0
    assert "result 3 (video_id" in capsys.readouterr().err
