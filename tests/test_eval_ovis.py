"""The OVIS metric on small hand-made inputs: occlusion scores, ranges, and the official quirks.

What aborts the official run (a frame-count mismatch in a compared pair, a non-crowd track
without labels, label lists it cannot parse) is an InputError naming file, entry and field.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from vis_bench.cli import main
from vis_bench.errors import InputError
from vis_bench.eval.api import evaluate_files
from vis_bench.eval.metric.params import OVIS_STAT_NAMES, STAT_NAMES
from vis_bench.formats import rle
from vis_bench.formats.occlusion import level_of_covered_fraction, occlusion_score

H, W, T = 6, 8, 3
N, S, SEV = "no_occlusion", "slight_occlusion", "severe_occlusion"


def _mask(x0, x1):
    m = np.zeros((H, W), np.uint8)
    m[1:5, x0:x1] = 1
    return m


def _ann(aid, x0, x1, occlusion, crowd=0, video=1, category=1, frames=T):
    m = _mask(x0, x1)
    ann = {
        "id": aid,
        "video_id": video,
        "category_id": category,
        "iscrowd": crowd,
        "segmentations": [rle.encode_uncompressed(m)] * frames,
        "areas": [int(m.sum())] * frames,
    }
    if occlusion is not ...:
        ann["occlusion"] = occlusion
    return ann


def _gt(*annotations):
    return {
        "videos": [{"id": 1, "height": H, "width": W, "length": T}],
        "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
        "annotations": list(annotations),
    }


def _res(x0, x1, score=0.9, category=1, frames=T, **extra):
    return {
        "video_id": 1,
        "category_id": category,
        "score": score,
        "segmentations": [rle.encode(_mask(x0, x1))] * frames,
        **extra,
    }


@pytest.fixture
def score(tmp_path):
    """Write GT and results, evaluate; returns the EvalResult."""

    def _score(gt, results, metric="auto"):
        (tmp_path / "gt.json").write_text(json.dumps(gt))
        (tmp_path / "res.json").write_text(json.dumps(results))
        return evaluate_files(tmp_path / "gt.json", tmp_path / "res.json", metric=metric)

    return _score


@pytest.mark.parametrize(
    "labels, expected",
    [
        ([N, N, SEV], 0.375),  # ceil(3 / 2) = 2 highest: (0 + 0.75) / 2
        ([N, N, S, SEV], 0.5),
        ([S] * 5, 0.25),
        ([None, SEV, N, None, N], 0.375),  # nulls dropped before anything else
        ([SEV], 0.75),
        ([N, N, N, N, N, S], 0.25 / 3),
    ],
)
def test_occlusion_score_is_the_mean_of_the_highest_half(labels, expected):
    assert occlusion_score(labels) == expected


@pytest.mark.parametrize("labels", [[], [None, None], None, "no_occlusion", [0.25], [N, "partly"]])
def test_unusable_label_lists_raise(labels):
    with pytest.raises(ValueError):
        occlusion_score(labels)


def test_covered_fraction_levels():
    assert level_of_covered_fraction(0.0) == N
    assert level_of_covered_fraction(0.049) == N
    assert level_of_covered_fraction(0.05) == S
    assert level_of_covered_fraction(0.499) == S
    assert level_of_covered_fraction(0.5) == SEV
    assert level_of_covered_fraction(1.0) == SEV


def test_boundary_scores_count_in_both_ranges(score):
    # One track at exactly 0.25 (light and medium) and one at 0.5 (medium and heavy), both found.
    gt = _gt(_ann(1, 0, 3, [S, S, S]), _ann(2, 4, 8, [N, S, SEV]))
    result = score(gt, [_res(0, 3), _res(4, 8, score=0.8)])
    assert result.occlusion.gt_occ_score == {1: 0.25, 2: 0.5}
    assert result.stats["AP_occ_light"] == result.stats["AP_occ_heavy"] == pytest.approx(1.0)
    assert result.stats["AR_occ_medium"] == pytest.approx(1.0)


def test_unmatched_results_count_in_every_occlusion_range(score):
    # A false positive ranked first lowers light and heavy AP alike (no "outside" rule).
    gt = _gt(_ann(1, 0, 3, [N, N, N]), _ann(2, 4, 8, [SEV, SEV, SEV]))
    fp = {**_res(0, 8, score=0.99), "segmentations": [rle.encode(np.ones((H, W), np.uint8))] * T}
    clean = score(gt, [_res(0, 3), _res(4, 8, score=0.8)])
    noisy = score(gt, [fp, _res(0, 3), _res(4, 8, score=0.8)])
    assert clean.stats["AP_occ_light"] == clean.stats["AP_occ_heavy"] == pytest.approx(1.0)
    assert noisy.stats["AP_occ_light"] < 1 and noisy.stats["AP_occ_heavy"] < 1


def test_no_track_in_a_range_gives_minus_one(score):
    result = score(_gt(_ann(1, 0, 3, [N, N, N])), [_res(0, 3)])
    assert result.stats["AP_occ_light"] == pytest.approx(1.0)
    assert result.stats["AP_occ_medium"] == result.stats["AR_occ_heavy"] == -1.0


def test_crowd_track_may_omit_labels(score):
    gt = _gt(_ann(1, 0, 3, [N, N, N]), _ann(2, 4, 8, ..., crowd=1))
    result = score(gt, [_res(0, 3), _res(4, 8, score=0.5)])
    assert result.metric == "ovis"
    assert result.occlusion.gt_occ_score == {1: 0.0}


def test_non_crowd_track_without_labels_is_rejected_by_id(score):
    gt = _gt(_ann(1, 0, 3, [N, N, N]), _ann(7, 4, 8, ...))
    with pytest.raises(InputError) as err:
        score(gt, [_res(0, 3)])
    assert err.value.field == "occlusion" and err.value.path.endswith("gt.json")
    assert "annotation id 7" in str(err.value)


@pytest.mark.parametrize(
    "labels, words",
    [([], "empty"), ([None] * T, "all null"), (None, "null"), ([N, 0.25, N], "entry 1"),
     ([N, "partly", N], "'partly'"), ("no_occlusion", "got str")],
)  # fmt: skip
@pytest.mark.parametrize("crowd", [0, 1])
def test_malformed_gt_labels_are_rejected_crowd_or_not(score, labels, words, crowd):
    gt = _gt(_ann(1, 0, 3, [N, N, N]), _ann(9, 4, 8, labels, crowd=crowd))
    with pytest.raises(InputError) as err:
        score(gt, [_res(0, 3)])
    message = str(err.value)
    assert err.value.field == "occlusion" and "annotations[1] (id 9" in message and words in message


def test_malformed_labels_do_not_matter_to_the_youtube_vis_metric(score):
    gt = _gt(_ann(1, 0, 3, [N, N, N]), _ann(9, 4, 8, [None] * T))
    assert score(gt, [_res(0, 3)], metric="ytvis").stats["AR100"] == pytest.approx(0.5)


def test_labels_on_unlisted_categories_are_never_read(score):
    gt = _gt(_ann(1, 0, 3, [N, N, N]), _ann(2, 4, 8, [], category=99))
    assert score(gt, [_res(0, 3)]).stats["AP"] == pytest.approx(1.0)


def test_results_with_labels_parse_them_and_ignore_them(score):
    gt = _gt(_ann(1, 0, 3, [N, N, N]))
    assert score(gt, [_res(0, 3, occlusion=[SEV] * T)]).stats["AP_occ_light"] == pytest.approx(1)
    with pytest.raises(InputError) as err:
        score(gt, [_res(0, 3), _res(0, 3, occlusion=[None] * T)])
    assert err.value.path.endswith("res.json") and "result 1" in str(err.value)
    # Results of categories the GT does not list are never read, labels included.
    assert score(gt, [_res(0, 3), _res(0, 3, category=7, occlusion=[])]).stats["AP"] > 0.99


def test_empty_results_score_zero_in_every_range(score):
    gt = _gt(_ann(1, 0, 3, [N, N, N]), _ann(2, 4, 8, [SEV, SEV, S]))
    result = score(gt, [])
    assert result.stats["AP_occ_light"] == result.stats["AR_occ_heavy"] == 0.0
    assert result.stats["AP_occ_medium"] == -1.0


@pytest.mark.parametrize("frames", [T - 1, T + 1])
def test_frame_count_mismatch_with_a_compared_track_is_rejected(score, frames):
    gt = _gt(_ann(4, 0, 3, [N, N, N]))
    with pytest.raises(InputError) as err:
        score(gt, [_res(0, 3), _res(0, 3, score=0.5, frames=frames)])
    message = str(err.value)
    assert err.value.field == "segmentations" and err.value.path.endswith("res.json")
    assert f"result 1 (video_id 1, category_id 1) has {frames}" in message
    assert "annotation id 4" in message
    # The YouTube-VIS metric compares up to the shorter list instead.
    assert score(gt, [_res(0, 3, frames=frames)], metric="ytvis").stats["AP"] >= 0


def test_frame_count_mismatch_without_a_compared_track_is_accepted(score):
    # The official assertion sits in the IoU of a (result, GT) pair: no GT of category 2 here.
    gt = _gt(_ann(1, 0, 3, [N, N, N]))
    result = score(gt, [_res(0, 3), _res(0, 3, category=2, frames=T + 2)])
    assert result.stats["AP"] == pytest.approx(1.0)


def test_forced_ovis_metric_needs_labels(score):
    gt = _gt(_ann(1, 0, 3, ...))
    assert score(gt, [_res(0, 3)]).metric == "ytvis"  # auto: no labels, YouTube-VIS
    with pytest.raises(InputError) as err:
        score(gt, [_res(0, 3)], metric="ovis")
    assert err.value.field == "occlusion" and "--metric ytvis" in str(err.value)


def test_null_annotations_give_eighteen_minus_ones(score):
    gt = {**_gt(), "annotations": None}
    result = score(gt, [_res(0, 3)])
    assert result.metric == "ovis" and list(result.stats) == list(OVIS_STAT_NAMES)
    assert set(result.stats.values()) == {-1.0}
    with pytest.raises(InputError):
        score(gt, [_res(0, 3)], metric="ytvis")


def test_eval_command_reports_quirks_as_errors_without_traceback(tmp_path, capsys):
    (tmp_path / "gt.json").write_text(json.dumps(_gt(_ann(3, 0, 3, ...))))
    (tmp_path / "res.json").write_text(json.dumps([_res(0, 3)]))
    argv = ["eval", "--gt", str(tmp_path / "gt.json"), "--results", str(tmp_path / "res.json")]
    assert main([*argv, "--metric", "ovis"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "gt.json" in err and "'occlusion'" in err
    assert main([*argv, "--out", str(tmp_path / "s.json")]) == 0
    assert list(json.loads((tmp_path / "s.json").read_text())) == list(STAT_NAMES)


def _random_case(seed):
    """Crowded videos: many overlapping tracks per (video, category), crowd among them, random
    labels and areas spanning the area ranges (through the `areas` field)."""
    rng = np.random.default_rng(seed)
    levels = [N, S, SEV, None]
    videos, anns, results = [], [], []
    for vid in range(1, 4):
        videos.append({"id": vid, "height": 12, "width": 16, "length": 4})
        for cat in (1, 2):
            y, x = rng.integers(2, 6), rng.integers(2, 8)  # tracks of a pair overlap a lot
            for _ in range(int(rng.integers(0, 7))):
                m = np.zeros((12, 16), np.uint8)
                m[y + rng.integers(-2, 3) :][:6, x + rng.integers(-2, 3) :][:, :8] = 1
                labels = [levels[i] for i in rng.integers(0, 4, 4)]
                labels[0] = labels[0] or N
                anns.append({
                    "id": len(anns) + 1, "video_id": vid, "category_id": cat,
                    "iscrowd": int(rng.random() < 0.15),
                    "segmentations": [rle.encode_uncompressed(m)] * 4,
                    "areas": [float(rng.choice([100, 20000, 70000]))] * 4,
                    "occlusion": labels,
                })  # fmt: skip
                for _ in range(int(rng.integers(0, 4))):
                    shifted = np.roll(m, int(rng.integers(-2, 3)), axis=int(rng.integers(2)))
                    results.append({
                        "video_id": vid, "category_id": cat, "score": float(rng.random()),
                        "segmentations": [rle.encode(shifted)] * 4,
                    })  # fmt: skip
    gt = {"videos": videos, "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}
    return {**gt, "annotations": anns}, results


@pytest.mark.parametrize("seed", range(12))
def test_derived_matching_equals_full_rematch_on_crowded_random_cases(tmp_path, seed):
    from vis_bench.eval.metric.iou import compute_pairs
    from vis_bench.eval.metric.loading import ground_truth_from_dict, results_from_list
    from vis_bench.eval.metric.matching import match_settings, outside
    from vis_bench.eval.ovis.matching import match_ovis, occlusion_outside

    data, results = _random_case(seed)
    gt = ground_truth_from_dict(data)
    pairs = compute_pairs(gt, results_from_list(results, gt))
    occ = gt.occ_score[pairs.gt_track]
    matches, _ = match_ovis(pairs, occ)
    ignored = pairs.gt_crowd[None, None, :] | outside(pairs.gt_area)[:, None, :]
    ignored = (ignored | occlusion_outside(occ)[None, :, :]).reshape(16, -1)
    assert np.array_equal(matches.dt_gt, match_settings(pairs, ignored))


def test_random_cases_do_rematch_differently_from_the_base_setting():
    """Guard for the test above: its cases contain sub-range matches that differ from the
    "all occlusions" matching, so copying the base matching everywhere would fail it."""
    from vis_bench.eval.metric.iou import compute_pairs
    from vis_bench.eval.metric.loading import ground_truth_from_dict, results_from_list
    from vis_bench.eval.ovis.matching import match_ovis

    differing = 0
    for seed in range(12):
        data, results = _random_case(seed)
        gt = ground_truth_from_dict(data)
        pairs = compute_pairs(gt, results_from_list(results, gt))
        dt_gt = match_ovis(pairs, gt.occ_score[pairs.gt_track])[0].dt_gt
        dt_gt = dt_gt.reshape(4, 4, *dt_gt.shape[1:])
        differing += int((dt_gt[:, 1:] != dt_gt[:, :1]).sum())
    assert differing > 50
