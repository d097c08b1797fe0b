"""Every public OVIS golden case: our metric equals the official OVIS evaluator's outputs.

Compared as tests/fixtures/golden/ovis_eval/README.md says: the 18 stats by name and order,
every GT's occlusion score and mean area, the per-pair IoUs, and the recall and precision arrays
over all 16 (area, occlusion) pairs (we fill all of them, like the official code), through the
Python API and through `run_bench.py eval`.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO_ROOT

from vis_bench.cli import main
from vis_bench.eval.api import evaluate_files
from vis_bench.eval.metric.iou import compute_pairs
from vis_bench.eval.metric.loading import load_ground_truth, load_results
from vis_bench.eval.metric.matching import match_settings, outside
from vis_bench.eval.metric.params import (
    AREA_LABELS,
    AREA_RANGES,
    MAX_DETS,
    OCCLUSION_RANGE_LABELS,
    OCCLUSION_RANGES,
    OVIS_STAT_NAMES,
    STAT_NAMES,
)
from vis_bench.eval.metric.summary import OVIS_STATS
from vis_bench.eval.ovis.matching import match_ovis, occlusion_outside
from vis_bench.eval.rle import bulk_rle

CASES = [f"case_{i:02d}" for i in range(1, 5)]


@pytest.fixture(scope="module")
def public_dir(golden_dir):
    return golden_dir / "ovis_eval" / "public"


@pytest.fixture(scope="module", params=["rle-kernel", "pycocotools"])
def evaluated(public_dir, request):
    """Each case evaluated once per module and mask backend (the IoUs are shared code)."""
    if request.param == "rle-kernel" and not bulk_rle.available():
        pytest.skip("the compiled RLE kernel is not built (no C compiler at install time)")
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
    """Drop the recall axis (1): its mean, or -1 where the setting is undefined."""
    undefined = (precision == -1).all(axis=1)
    return np.where(undefined, -1.0, precision.mean(axis=1))


def test_all_public_cases_are_present(public_dir):
    assert sorted(p.name for p in public_dir.iterdir() if p.is_dir()) == CASES


@pytest.mark.parametrize("case", CASES)
def test_stats_match_official_by_name_and_order(evaluated, case):
    result, expected = evaluated(case)
    assert result.metric == "ovis"  # chosen from the occlusion labels, not asked for
    assert expected["stat_names"] == list(OVIS_STAT_NAMES) == list(result.stats)
    for name in OVIS_STAT_NAMES:
        got, want = result.stats[name], expected["stats_by_name"][name]
        assert abs(got - want) <= 1e-9, f"{case}: first differing stat {name}: {got!r} != {want!r}"


def test_stat_definitions_match_the_official_summary_arguments(public_dir):
    expected = json.loads((public_dir / "case_01" / "expected.json").read_text())
    ours = [
        {"ap": int(p), "iouThr": iou, "areaRng": area, "occRng": occ, "maxDets": m}
        for _, p, iou, area, occ, m in OVIS_STATS
    ]
    assert ours == expected["stat_params"]


@pytest.mark.parametrize("case", CASES)
def test_occlusion_scores_match_official(evaluated, case):
    result, expected = evaluated(case)
    ours = result.occlusion.gt_occ_score
    assert sorted(ours) == sorted(int(k) for k in expected["gt_occ_scores"])
    for key, want in expected["gt_occ_scores"].items():
        got = ours[int(key)]
        assert abs(got - want) <= 1e-12, f"{case}: first differing gt_occ_scores {key}: {got}"


@pytest.mark.parametrize("case", CASES)
def test_mean_areas_match_official(evaluated, case):
    result, expected = evaluated(case)
    ours = result.gt_avg_areas()
    assert sorted(ours) == sorted(int(k) for k in expected["gt_avg_areas"])
    for key, want in expected["gt_avg_areas"].items():
        assert abs(ours[int(key)] - want) <= 1e-9, f"{case}: gt_avg_areas {key}"


@pytest.mark.parametrize("case", CASES)
def test_axes_match_official(evaluated, case):
    result, expected = evaluated(case)
    assert result.cat_ids == expected["cat_ids"]
    assert result.video_ids == expected["vid_ids"]
    assert list(AREA_LABELS) == expected["area_rng_labels"]
    assert [list(r) for r in AREA_RANGES] == expected["area_rngs"]
    assert list(OCCLUSION_RANGE_LABELS) == expected["occ_rng_labels"]
    assert [list(r) for r in OCCLUSION_RANGES] == expected["occ_rngs"]
    assert list(MAX_DETS) == expected["max_dets"]
    assert list(result.occlusion.precision.shape) == expected["precision_shape"]
    assert list(result.occlusion.recall.shape) == expected["recall_shape"]


@pytest.mark.parametrize("case", CASES)
def test_recall_and_precision_arrays_match_official(evaluated, case):
    result, expected = evaluated(case)
    precision, recall = result.occlusion.precision, result.occlusion.recall
    np.testing.assert_allclose(recall, np.array(expected["recall"]), rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        _mean_over_recall(precision),
        np.array(expected["precision_mean_over_recall_thresholds"]),
        rtol=0,
        atol=1e-9,
    )
    assert int((precision > -1).sum()) == expected["precision_count_valid"]
    assert abs(float(precision.sum()) - expected["precision_sum"]) <= 1e-6
    rounded = np.round(precision, 10).astype("<f8").tobytes()
    assert hashlib.sha256(rounded).hexdigest() == expected["precision_sha256_round10"]
    # The YouTube-VIS arrays of the result are the "all occlusions" slice.
    assert np.array_equal(result.precision, precision[:, :, :, :, 0])
    assert np.array_equal(result.recall, recall[:, :, :, 0])


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
    assert len(result.warnings) == expected["mask_size_warnings"]


@pytest.mark.parametrize("case", CASES)
def test_matching_derived_from_one_pass_equals_a_full_rematch(public_dir, case):
    """Every (area, occlusion) setting matched from scratch gives the derived matches."""
    folder = public_dir / case
    gt = load_ground_truth(folder / "gt.json")
    pairs = compute_pairs(gt, load_results(folder / "results.json", gt))
    occ = gt.occ_score[pairs.gt_track]
    matches, rematched = match_ovis(pairs, occ)
    ignored = pairs.gt_crowd[None, None, :] | outside(pairs.gt_area)[:, None, :]
    ignored = (ignored | occlusion_outside(occ)[None, :, :]).reshape(16, -1)
    assert np.array_equal(matches.dt_gt, match_settings(pairs, ignored))
    # Derivation pays: far fewer (pair, setting) combinations matched than a full run would.
    both = int(((pairs.dt_count > 0) & (pairs.gt_count > 0)).sum())
    assert rematched < 12 * both / 2


@pytest.mark.parametrize("case", CASES)
def test_eval_command_writes_the_18_stats_in_order(public_dir, case, tmp_path, capsys):
    folder = public_dir / case
    expected = json.loads((folder / "expected.json").read_text())
    out = tmp_path / "stats.json"
    # some cases hold predictions of categories the GT does not list (dropped, as the official
    # evaluator drops them): the command names them and fails unless they are allowed
    code = main(
        ["eval", "--gt", str(folder / "gt.json"), "--results", str(folder / "results.json"),
         "--out", str(out), "--allow-dropped"]
    )  # fmt: skip
    assert code == 0
    written = json.loads(out.read_text())
    assert list(written) == expected["stat_names"]
    for name, want in expected["stats_by_name"].items():
        assert abs(written[name] - want) <= 1e-9, f"{case}: {name}"
    assert "AP_occ_heavy" in capsys.readouterr().out


def test_run_bench_script_scores_a_case(public_dir, tmp_path):
    """The documented command line, in a fresh interpreter."""
    folder = public_dir / "case_02"
    out = tmp_path / "stats.json"
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "run_bench.py"), "eval", "--gt", str(folder / "gt.json"),
         "--results", str(folder / "results.json"), "--out", str(out)],
        check=True, capture_output=True, cwd=tmp_path, text=True,
    )  # fmt: skip
    # the process ends without the interpreter's teardown (cli.finish): its piped output is
    # flushed first
    assert "| AP_occ_heavy" in done.stdout and done.stdout.endswith(f"wrote {out}\n")
    expected = json.loads((folder / "expected.json").read_text())
    written = json.loads(out.read_text())
    assert list(written) == expected["stat_names"]
    assert all(abs(written[k] - v) <= 1e-9 for k, v in expected["stats_by_name"].items())


@pytest.mark.parametrize("case", CASES)
def test_youtube_vis_metric_on_the_same_files_gives_the_same_twelve(public_dir, case):
    folder = public_dir / case
    ovis = evaluate_files(folder / "gt.json", folder / "results.json")
    ytvis = evaluate_files(folder / "gt.json", folder / "results.json", metric="ytvis")
    assert ytvis.metric == "ytvis" and list(ytvis.stats) == list(STAT_NAMES)
    assert all(ytvis.stats[name] == ovis.stats[name] for name in STAT_NAMES)
    assert ytvis.per_category_ap == ovis.per_category_ap
