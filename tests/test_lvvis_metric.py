"""The LV-VIS metric: every public golden case equals the official LV-VIS evaluator's outputs, and
each input the official code crashes on or answers wrongly gets the right answer here.

Compared as tests/fixtures/golden/lvvis_eval/README.md says: the 36 stats by name and order, then
per category, then the per-pair IoUs and mean areas; through the Python API and through
`run_bench.py eval`. The corrected quirks are checked on case_01 changed in one way each, whose
right answer follows from the official one (relabelled ids keep every number, and so on).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO_ROOT

from tests.helpers.quick_rounds import QUICK_ROUNDS
from vis_bench.cli import main
from vis_bench.errors import InputError
from vis_bench.eval.api import evaluate_files
from vis_bench.eval.lvvis.metric import LVVIS_STAT_NAMES, SPLIT_SUFFIXES
from vis_bench.eval.metric.gt_cache import load_ground_truth_cached
from vis_bench.eval.metric.params import AREA_LABELS, AREA_RANGES, MAX_DETS, STAT_NAMES
from vis_bench.eval.metric.summary import STAT_SETTINGS
from vis_bench.eval.rle import bulk_rle
from vis_bench.formats import rle

CASES = [f"case_{i:02d}" for i in range(1, 9)]


@pytest.fixture(scope="module")
def public_dir(golden_dir):
    return golden_dir / "lvvis_eval" / "public"


@pytest.fixture(scope="module")
def evaluated(public_dir):
    """Each case evaluated once per module, with the metric chosen from the GT."""
    cache = {}

    def get(case):
        if case not in cache:
            folder = public_dir / case
            expected = json.loads((folder / "expected.json").read_text())
            cache[case] = (evaluate_files(folder / "gt.json", folder / "results.json"), expected)
        return cache[case]

    return get


def _load(folder):
    return (
        json.loads((folder / "gt.json").read_text()),
        json.loads((folder / "results.json").read_text()),
    )


@pytest.fixture
def score(tmp_path):
    """Write GT and results, evaluate; returns the EvalResult."""

    def _score(gt, results, metric="auto"):
        (tmp_path / "gt.json").write_text(json.dumps(gt))
        (tmp_path / "res.json").write_text(json.dumps(results))
        return evaluate_files(tmp_path / "gt.json", tmp_path / "res.json", metric=metric)

    return _score


def _assert_stats(stats, want, names=LVVIS_STAT_NAMES, what=""):
    for name in names:
        assert abs(stats[name] - want[name]) <= 1e-9, f"{what}first differing stat {name}"


def test_all_public_cases_are_present(public_dir):
    assert sorted(p.name for p in public_dir.iterdir() if p.is_dir()) == CASES


@pytest.mark.parametrize("case", CASES)
def test_stats_match_official_by_name_and_order(evaluated, case):
    result, expected = evaluated(case)
    assert result.metric == "lvvis"  # chosen from the categories' partition, not asked for
    assert expected["stat_names"] == list(LVVIS_STAT_NAMES) == list(result.stats)
    _assert_stats(result.stats, expected["stats_by_name"], what=f"{case}: ")
    overall = [result.stats[name] for name in STAT_NAMES]
    np.testing.assert_allclose(overall, expected["official_stats_array"], rtol=0, atol=1e-9)


@pytest.mark.parametrize("case", ["case_01", "case_06"])
def test_stats_are_the_same_with_the_pycocotools_mask_backend(public_dir, case, monkeypatch):
    if not bulk_rle.available():
        pytest.skip("the compiled RLE kernel is not built: the other test ran pycocotools")
    monkeypatch.setenv("VIS_BENCH_RLE_KERNEL", "0")
    folder = public_dir / case
    expected = json.loads((folder / "expected.json").read_text())
    result = evaluate_files(folder / "gt.json", folder / "results.json")
    _assert_stats(result.stats, expected["stats_by_name"])


def test_stat_definitions_match_the_official_summary_arguments(public_dir):
    expected = json.loads((public_dir / "case_01" / "expected.json").read_text())
    ours = [
        {"ap": int(p), "iouThr": iou, "areaRng": area, "maxDets": m, "split": split}
        for _, p, iou, area, m in STAT_SETTINGS
        for split in SPLIT_SUFFIXES
    ]
    assert ours == expected["stat_params"]


@pytest.mark.parametrize("case", CASES)
def test_axes_and_split_match_official(evaluated, case):
    result, expected = evaluated(case)
    assert result.cat_ids == expected["cat_ids"]
    assert result.video_ids == expected["vid_ids"]
    assert list(result.split.base) == expected["base_category_ids"]
    assert list(result.split.novel) == expected["novel_category_ids"]
    assert list(AREA_LABELS) == expected["area_rng_labels"]
    assert [list(r) for r in AREA_RANGES] == expected["area_rngs"]
    assert list(MAX_DETS) == expected["max_dets"]
    assert list(result.precision.shape) == expected["precision_shape"]
    assert list(result.recall.shape) == expected["recall_shape"]


@pytest.mark.parametrize("case", CASES)
def test_per_category_arrays_match_official(evaluated, case):
    result, expected = evaluated(case)
    precision, recall = result.precision, result.recall
    undefined = (precision == -1).all(axis=1)
    mean_over_recall = np.where(undefined, -1.0, precision.mean(axis=1))  # [T, K, A, M]
    for k, cid in enumerate(result.cat_ids):
        want = expected["per_category"].get(str(cid))
        if want is None:
            assert (recall[:, k] == -1).all() and (precision[:, :, k] == -1).all(), cid
            continue
        np.testing.assert_allclose(recall[:, k], want["recall"], rtol=0, atol=1e-9)
        np.testing.assert_allclose(
            mean_over_recall[:, k],
            want["precision_mean_over_recall_thresholds"],
            rtol=0,
            atol=1e-9,
            err_msg=f"{case}: category {cid}",
        )
    assert int((precision > -1).sum()) == expected["precision_count_valid"]
    assert abs(float(precision.sum()) - expected["precision_sum"]) <= 1e-6


@pytest.mark.parametrize("case", CASES)
def test_ious_and_mean_areas_match_official(evaluated, case):
    result, expected = evaluated(case)
    ours = result.ious()
    assert sorted(ours) == sorted(expected["ious"]), f"{case}: (video, category) keys differ"
    for key, want in expected["ious"].items():
        got = ours[key]
        assert got["gt_ids"] == want["gt_ids"], f"{case}: ious {key} (gt_ids)"
        assert got["dt_ids"] == want["dt_ids"], f"{case}: ious {key} (dt_ids)"
        got_iou, want_iou = np.array(got["iou"], float), np.array(want["iou"], float)
        assert got_iou.shape == want_iou.shape, f"{case}: ious {key} (shape)"
        if want_iou.size:
            assert np.abs(got_iou - want_iou).max() <= 1e-12, f"{case}: ious {key}"
    gt_areas = result.gt_avg_areas()
    assert sorted(gt_areas) == sorted(int(k) for k in expected["gt_avg_areas"])
    for key, want in expected["gt_avg_areas"].items():
        assert abs(gt_areas[int(key)] - want) <= 1e-9, f"{case}: gt_avg_areas {key}"
    pairs = result.pairs
    for result_index, area in zip(pairs.dt_result.tolist(), pairs.dt_area.tolist(), strict=True):
        assert abs(area - expected["dt_avg_areas"][str(result_index + 1)]) <= 1e-9
    assert len(result.zero_union) == expected["mask_size_warnings"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("metric", ["lvvis", "auto"])
def test_eval_command_writes_the_36_stats_in_order(public_dir, case, metric, tmp_path, capsys):
    folder = public_dir / case
    expected = json.loads((folder / "expected.json").read_text())
    out = tmp_path / "stats.json"
    # some cases hold predictions of categories the GT does not list: dropped, as the official
    # evaluator drops them, and the command fails unless they are allowed
    code = main(
        ["eval", "--gt", str(folder / "gt.json"), "--results", str(folder / "results.json"),
         "--metric", metric, "--out", str(out), "--allow-dropped"]
    )  # fmt: skip
    assert code == 0
    written = json.loads(out.read_text())
    assert list(written) == expected["stat_names"]
    _assert_stats(written, expected["stats_by_name"], what=f"{case}: ")
    printed = capsys.readouterr().out
    assert "LV-VIS metric" in printed and "AP_n" in printed


def test_eval_process_as_run_from_outside(public_dir, tmp_path):
    """The command line the hidden cases are run with, in its own process (no --allow-dropped:
    case_01 has a prediction of an unlisted category, so the exit status says so, and the
    numbers are written all the same)."""
    folder = public_dir / "case_01"
    out = tmp_path / "stats.json"
    run = subprocess.run(
        [sys.executable, str(REPO_ROOT / "run_bench.py"), "eval", "--gt", str(folder / "gt.json"),
         "--results", str(folder / "results.json"), "--metric", "lvvis", "--out", str(out)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert "Traceback" not in run.stderr
    assert "category" in run.stderr  # the dropped prediction is named
    expected = json.loads((folder / "expected.json").read_text())
    written = json.loads(out.read_text())
    assert list(written) == expected["stat_names"]
    _assert_stats(written, expected["stats_by_name"])


def test_the_lvvis_metric_imports_no_module_it_does_not_use(public_dir):
    """Start-up: scoring the largest public case (compressed RLE, no crowd track) loads neither
    `numpy.ma` (NumPy's plain unique would import it; metric/unique.py takes the sorting path)
    nor pycocotools (imported where polygons, uncompressed RLE or crowd tracks need it)."""
    folder = public_dir / "case_07"
    code = (
        "import sys; from vis_bench.eval.api import evaluate_files; "
        f"evaluate_files({str(folder / 'gt.json')!r}, {str(folder / 'results.json')!r}, "
        "metric='lvvis'); "
        "print(*(m in sys.modules for m in ('numpy', 'numpy.ma', 'pycocotools')))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.stdout.split() == ["True", "False", "False"], run.stderr


@pytest.mark.parametrize("size", [0, 1, 7, 1000])
def test_unique_sorted_is_numpys_unique(size):
    from vis_bench.eval.metric.unique import unique_sorted

    values = np.random.default_rng(size).integers(-5, 50, size=(size, 2))
    assert np.array_equal(unique_sorted(values), np.unique(values))
    assert unique_sorted(values).dtype == np.unique(values).dtype


# --- what the official code gets wrong or crashes on ------------------------------------------


def _relabel(gt, results, new_id):
    """The same case with every category id c replaced by new_id(c) (order kept)."""
    for cat in gt["categories"]:
        cat["id"] = new_id(cat["id"])
    for ann in gt["annotations"]:
        ann["category_id"] = new_id(ann["category_id"])
    for res in results:
        res["category_id"] = new_id(res["category_id"])
    return gt, results


@pytest.mark.parametrize(
    "new_id",
    [lambda c: 3 * c, lambda c: c + 1, lambda c: c - 1],
    ids=["ids-times-3", "ids-2..K+1", "ids-0..K-1"],
)
def test_category_ids_other_than_1_to_k_split_by_id(public_dir, score, new_id):
    """The official summary indexes the split by id - 1: an IndexError for ids beyond K, and
    for ids 0..K-1 base/novel numbers of the wrong categories. By id, nothing changes."""
    folder = public_dir / "case_01"
    expected = json.loads((folder / "expected.json").read_text())
    result = score(*_relabel(*_load(folder), new_id))
    assert list(result.split.base) == [new_id(c) for c in expected["base_category_ids"]]
    _assert_stats(result.stats, expected["stats_by_name"])


@pytest.mark.parametrize("dropped, kept", [("novel", "base"), ("base", "novel")])
def test_a_split_without_categories_is_not_available_and_the_rest_is_computed(
    public_dir, score, dropped, kept, capsys, tmp_path
):
    """The official code stops with an IndexError when no category is base (or novel). Here
    that split's numbers are -1 (n/a) and the others are the official ones: the categories,
    given a partition outside 0-3, still count in the overall numbers."""
    folder = public_dir / "case_01"
    expected = json.loads((folder / "expected.json").read_text())
    gt, results = _load(folder)
    ids = set(expected[f"{dropped}_category_ids"])
    for cat in gt["categories"]:
        if cat["id"] in ids:
            cat["partition"] = 7
    result = score(gt, results)
    assert result.split.empty_splits() == [dropped]
    gone = SPLIT_SUFFIXES[dropped]
    for name in STAT_NAMES:
        assert result.stats[name + gone] == -1
    names = [n + s for n in STAT_NAMES for s in ("", SPLIT_SUFFIXES[kept])]
    _assert_stats(result.stats, expected["stats_by_name"], names=names)
    argv = ["eval", "--gt", str(tmp_path / "gt.json"), "--results", str(tmp_path / "res.json")]
    main([*argv, "--allow-dropped"])
    printed = capsys.readouterr().out
    assert f"no {dropped} category is listed" in printed
    assert f"| AP{gone} " in printed and "n/a" in printed


def test_empty_results_score_zero_where_ground_truth_exists(public_dir, score):
    """The official loader stops on `[]` (IndexError); an empty submission scores 0."""
    folder = public_dir / "case_01"
    expected = json.loads((folder / "expected.json").read_text())["stats_by_name"]
    result = score(_load(folder)[0], [])
    assert result.stats == {k: (-1.0 if v == -1 else 0.0) for k, v in expected.items()}


def test_missing_partition_is_an_error_naming_the_category(public_dir, score, tmp_path, capsys):
    gt, results = _load(public_dir / "case_01")
    cat = next(c for c in gt["categories"] if c["id"] == 11)
    del cat["partition"]
    with pytest.raises(InputError, match=r"category id 11 \('lvcat_0011'\) has no 'partition'"):
        score(gt, results)
    argv = ["eval", "--gt", str(tmp_path / "gt.json"), "--results", str(tmp_path / "res.json")]
    assert main([*argv, "--metric", "lvvis"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "gt.json" in err and "category id 11" in err
    assert "Traceback" not in err


def test_without_any_partition_auto_is_youtube_vis_and_lvvis_is_refused(public_dir, score):
    gt, results = _load(public_dir / "case_01")
    for cat in gt["categories"]:
        del cat["partition"]
    assert list(score(gt, results).stats) == list(STAT_NAMES)
    with pytest.raises(InputError, match="category id 1 .* no 'partition'.*--metric ytvis"):
        score(gt, results, metric="lvvis")


# --- the crowd rule and the mean areas: where LV-VIS differs from YouTube-VIS -----------------


def test_without_crowd_the_overall_numbers_are_the_youtube_vis_ones(public_dir, evaluated):
    folder = public_dir / "case_01"
    lvvis, _ = evaluated("case_01")
    ytvis = evaluate_files(folder / "gt.json", folder / "results.json", metric="ytvis")
    assert list(ytvis.stats) == list(STAT_NAMES)
    _assert_stats(ytvis.stats, lvvis.stats, names=STAT_NAMES)


def test_crowd_track_counts_here_and_is_ignored_by_youtube_vis(public_dir, evaluated):
    """Public case_06 has one crowd track: AP 0.2892 with LV-VIS, 0.2555 with the YouTube-VIS
    evaluator (the golden README's cross-check)."""
    folder = public_dir / "case_06"
    lvvis, expected = evaluated("case_06")
    ytvis = evaluate_files(folder / "gt.json", folder / "results.json", metric="ytvis")
    assert abs(lvvis.stats["AP"] - expected["stats_by_name"]["AP"]) <= 1e-9
    assert round(lvvis.stats["AP"], 4) == 0.2892
    assert round(ytvis.stats["AP"], 4) == 0.2555


def _video_gt(*annotations, partition=0):
    return {
        "videos": [{"id": 1, "height": 6, "width": 8, "length": 2}],
        "categories": [{"id": 1, "name": "a", "partition": partition}],
        "annotations": list(annotations),
    }


def _box():
    m = np.zeros((6, 8), np.uint8)
    m[1:5, 2:6] = 1
    return m


def test_a_crowd_track_is_matched_by_every_result_each_a_true_positive(score):
    m = _box()
    crowd = {
        "id": 1, "video_id": 1, "category_id": 1, "iscrowd": 1,
        "segmentations": [rle.encode_uncompressed(m)] * 2, "areas": [int(m.sum())] * 2,
    }  # fmt: skip
    copy = {"video_id": 1, "category_id": 1, "segmentations": [rle.encode(m)] * 2}
    results = [{**copy, "score": 0.9}, {**copy, "score": 0.8}]
    lvvis = score(_video_gt(crowd), results)
    # two true positives of one counted track: recall tp / n_gt is 2, precision 1
    assert lvvis.stats["AP"] == 1.0 and lvvis.stats["AR100"] == 2.0 and lvvis.stats["AR1"] == 1.0
    assert lvvis.stats["AP_n"] == -1  # the category is base
    ytvis = score(_video_gt(crowd), results, metric="ytvis")
    assert ytvis.stats["AP"] == -1 and ytvis.stats["AR100"] == -1  # crowd ignored: no GT


def test_mean_area_truncates_each_area_to_an_integer(score):
    """65536.7 lies above the medium range (up to 256² = 65536 inclusive); int() brings it in."""
    m = _box()
    track = {
        "id": 5, "video_id": 1, "category_id": 1, "iscrowd": 0,
        "segmentations": [rle.encode_uncompressed(m)] * 2, "areas": [65536.7, None],
    }  # fmt: skip
    results = [{"video_id": 1, "category_id": 1, "score": 0.9, "segmentations": [None, None]}]
    lvvis = score(_video_gt(track), results)
    assert lvvis.gt_avg_areas() == {5: 65536.0}
    assert lvvis.stats["ARm"] == 0.0 and lvvis.stats["ARl"] == 0.0  # medium and large
    ytvis = score(_video_gt(track), results, metric="ytvis")
    assert ytvis.gt_avg_areas() == {5: 65536.7}
    assert ytvis.stats["ARm"] == -1 and ytvis.stats["ARl"] == 0.0  # large only


def test_gt_cache_keeps_partitions_and_truncated_areas(tmp_path):
    m = _box()
    track = {
        "id": 5, "video_id": 1, "category_id": 1, "iscrowd": 0,
        "segmentations": [rle.encode_uncompressed(m)] * 2, "areas": [65536.7, 3],
    }  # fmt: skip
    (tmp_path / "gt.json").write_text(json.dumps(_video_gt(track, partition=3)))
    first = load_ground_truth_cached(tmp_path / "gt.json", tmp_path / "cache")
    again = load_ground_truth_cached(tmp_path / "gt.json", tmp_path / "cache")
    assert first.cat_partition == again.cat_partition == {1: 3}
    assert first.avg_area_truncated.tolist() == again.avg_area_truncated.tolist() == [32769.5]


def test_partition_names_are_not_lv_vis_codes(public_dir, score):
    """`--category-groups partition` reads any values; only LV-VIS's codes 0-3 make `auto` pick
    this metric."""
    gt, results = _load(public_dir / "case_01")
    for cat in gt["categories"]:
        cat["partition"] = "base" if cat["partition"] < 2 else "novel"
    assert list(score(gt, results).stats) == list(STAT_NAMES)


def test_category_groups_with_the_lvvis_metric(public_dir, tmp_path, capsys):
    folder = public_dir / "case_01"
    out = tmp_path / "stats.json"
    argv = ["eval", "--gt", str(folder / "gt.json"), "--results", str(folder / "results.json")]
    argv += ["--category-groups", "partition", "--allow-dropped", "--out", str(out)]
    assert main(argv) == 0
    written = json.loads(out.read_text())
    assert list(written)[:36] == list(LVVIS_STAT_NAMES)
    assert sorted(written["groups"]) == ["0", "1", "2", "3"]
    assert list(written["groups"]["0"]) == list(STAT_NAMES)


def test_synth_writes_an_lv_vis_layout_that_eval_scores_with_this_metric(tmp_path, capsys):
    """`synth --novel-categories 3`: the last 3 of the 8 categories are novel; the GT's own tracks
    as predictions score AP 1 over all, base and novel categories."""
    out = tmp_path / "data"
    argv = ["synth", "--out", str(out), "--videos", "8", "--sizes", "40x56", "--seed", "3"]
    assert main([*argv, "--min-frames", "2", "--max-frames", "3", "--novel-categories", "3"]) == 0
    gt_path = out / "annotations.json"
    gt = json.loads(gt_path.read_text())
    assert [c["partition"] for c in gt["categories"]] == [0] * 5 + [2] * 3
    results = [
        {
            "video_id": a["video_id"],
            "category_id": a["category_id"],
            "score": 0.9,
            "segmentations": [None if s is None else rle.to_json(s) for s in a["segmentations"]],
        }
        for a in gt["annotations"]
    ]
    (tmp_path / "res.json").write_text(json.dumps(results))
    result = evaluate_files(gt_path, tmp_path / "res.json")
    assert result.metric == "lvvis" and result.split.novel == (6, 7, 8)
    assert {a["category_id"] for a in gt["annotations"]} & {6, 7, 8}  # novel tracks exist
    assert result.stats["AP"] == result.stats["AP_b"] == result.stats["AP_n"] == 1.0


@pytest.mark.slow
def test_a_sweep_on_lv_vis_layout_synthetic_data_scores_with_this_metric(tmp_path):
    """`dataset.novel_categories` makes the sweep's synthetic data LV-VIS-style; its cells then
    carry the 36 numbers (the toy method labels everything category 7, a novel one)."""
    import tests.helpers.toy_method  # noqa: F401  (registers the "toy" method)
    from vis_bench.config import parse_config
    from vis_bench.inference.sources import open_source
    from vis_bench.sweep import run_sweep

    dataset = {"kind": "synthetic", "videos": 2, "min_frames": 2, "max_frames": 3}
    dataset |= {"novel_categories": 3, "cache_dir": str(tmp_path / "cache")}
    config = parse_config(
        {
            "name": "l",
            "dataset": dataset,
            "methods": [{"name": "toy", "options": {"label": 7}}],
            "measure": {**QUICK_ROUNDS, "warmup": 0, "repeats": 1, "bootstrap": 0},
        },
        "l.yaml",
    )
    source = open_source(config.dataset)
    assert source.identity["novel_categories"] == 3
    (record,) = run_sweep(config, source, tmp_path / "run", log=print)
    assert record["status"] == "ok"
    assert all(name in record for name in LVVIS_STAT_NAMES)
    assert record["AP_b"] in (0.0, None)  # no base prediction: 0 where base GT exists
    plain = parse_config({"name": "l", "dataset": {"kind": "synthetic"}, "methods": ["toy"]})
    assert "novel_categories" not in plain.to_dict()["dataset"]  # older configs keep their hash
