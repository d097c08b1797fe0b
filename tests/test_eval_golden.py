"""Every public golden case: our metric equals the official evaluator's recorded outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.helpers.rle_kernel import require_rle_kernel
from vis_bench.eval.api import evaluate_files
from vis_bench.eval.metric.params import STAT_NAMES

CASES = [f"case_{i:02d}" for i in range(1, 9)]


@pytest.fixture(scope="module")
def public_dir(golden_dir):
    return golden_dir / "ytvis_eval" / "public"


@pytest.fixture(scope="module", params=["rle-kernel", "pycocotools"])
def evaluated(public_dir, request):
    """Each case evaluated once per test module (they are small), once with the compiled RLE
    kernel computing the masks' areas and intersections and once with pycocotools."""
    if request.param == "rle-kernel":
        require_rle_kernel()  # skips without a C compiler, fails on a broken build
    cache = {}

    def get(case):
        if case not in cache:
            folder = public_dir / case
            expected = json.loads((folder / "expected.json").read_text())
            with pytest.MonkeyPatch.context() as patch:
                patch.setenv("VIS_BENCH_RLE_KERNEL", "1" if request.param == "rle-kernel" else "0")
                result = evaluate_files(folder / "gt.json", folder / "results.json")
            cache[case] = (result, expected)
        return cache[case]

    return get


def _mean_over_recall(precision: np.ndarray) -> np.ndarray:
    """[T, R, K, A, M] -> [T, K, A, M]; -1 where a setting is undefined."""
    undefined = (precision == -1).all(axis=1)
    return np.where(undefined, -1.0, precision.mean(axis=1))


def test_all_public_cases_are_present(public_dir):
    assert sorted(p.name for p in public_dir.iterdir() if p.is_dir()) == CASES


@pytest.mark.parametrize("case", CASES)
def test_stats_match_official(evaluated, case):
    result, expected = evaluated(case)
    assert expected["stat_names"] == list(STAT_NAMES)
    for name in STAT_NAMES:
        got, want = result.stats[name], expected["stats_by_name"][name]
        assert abs(got - want) <= 1e-9, f"{case}: first differing stat {name}: {got!r} != {want!r}"


@pytest.mark.parametrize("case", CASES)
def test_axes_match_official(evaluated, case):
    result, expected = evaluated(case)
    assert result.cat_ids == expected["cat_ids"]
    assert result.video_ids == expected["vid_ids"]
    assert list(result.precision.shape) == expected["precision_shape"]
    assert list(result.recall.shape) == expected["recall_shape"]


@pytest.mark.parametrize("case", CASES)
def test_recall_and_precision_arrays_match_official(evaluated, case):
    result, expected = evaluated(case)
    np.testing.assert_allclose(result.recall, np.array(expected["recall"]), rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        _mean_over_recall(result.precision),
        np.array(expected["precision_mean_over_recall_thresholds"]),
        rtol=0,
        atol=1e-9,
    )
    assert int((result.precision > -1).sum()) == expected["precision_count_valid"]
    assert abs(float(result.precision.sum()) - expected["precision_sum"]) <= 1e-6


@pytest.mark.parametrize("case", CASES)
def test_ious_match_official(evaluated, case):
    result, expected = evaluated(case)
    ours = result.ious()
    assert sorted(ours) == sorted(expected["ious"]), f"{case}: (video, category) keys differ"
    for key, want in expected["ious"].items():
        got = ours[key]
        assert got["gt_ids"] == want["gt_ids"], f"{case}: first differing ious key {key} (gt_ids)"
        assert got["dt_ids"] == want["dt_ids"], f"{case}: first differing ious key {key} (dt_ids)"
        got_iou, want_iou = np.array(got["iou"], float), np.array(want["iou"], float)
        assert got_iou.shape == want_iou.shape, f"{case}: first differing ious key {key} (shape)"
        if want_iou.size:
            diff = np.abs(got_iou - want_iou).max()
            assert diff <= 1e-12, f"{case}: first differing ious key {key} (max diff {diff})"


@pytest.mark.parametrize("case", CASES)
def test_zero_union_warnings_match_official_count(evaluated, case):
    result, expected = evaluated(case)
    if "mask_size_warnings" in expected:
        assert len(result.warnings) == expected["mask_size_warnings"]
