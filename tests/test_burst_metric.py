"""Every public BURST golden case: `eval --metric burst` equals the BURST toolkit's numbers.

Compared as tests/fixtures/golden/burst_eval/README.md says: the 12 headline numbers, the
evaluated classes as a set and every class's HOTA/DetA/AssA/AP means, within 1e-9; the
YouTube-VIS conversion reproduces the `conv_` cases' converted `pred.json` track for track and
mask for mask. Also: a split without a class is n/a, and usage errors are errors, not tracebacks.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT

from vis_bench.cli import main
from vis_bench.eval.burst.categories import burst_categories
from vis_bench.eval.burst.convert import ConversionSettings, ytvis_to_burst
from vis_bench.eval.burst.metric import STAT_NAMES, evaluate_burst
from vis_bench.eval.burst.reader import read_ground_truth, read_predictions

CASES = [f"case_{i:02d}" for i in range(1, 7)]
CONVERSIONS = ["conv_01", "conv_02"]
TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def public_dir(golden_dir: Path) -> Path:
    return golden_dir / "burst_eval" / "public"


def _load(path: Path):
    return json.loads(path.read_text())


def _settings(case_dir: Path) -> ConversionSettings:
    conversion = _load(case_dir / "conversion.json")
    return ConversionSettings(conversion["prob_thresh"], conversion["remove_mask_overlap"])


def _evaluate(case_dir: Path, predictions=None):
    gt = read_ground_truth(_load(case_dir / "gt" / "all_classes.json"), "gt")
    read_predictions(predictions or _load(case_dir / "pred.json"), "pred", gt)
    return evaluate_burst(gt)


@pytest.mark.parametrize("case", CASES + CONVERSIONS)
def test_public_case_equals_the_toolkit(public_dir, case):
    expected = _load(public_dir / case / "expected.json")
    result = _evaluate(public_dir / case)
    assert list(result.stats) == list(expected["metrics"]) == list(STAT_NAMES)
    for name, value in expected["metrics"].items():
        assert result.stats[name] == pytest.approx(value, abs=TOLERANCE), name
    assert set(result.classes["all"]) == set(expected["class_ids"])
    assert set(result.per_class) == set(expected["class_list"])
    for name, official in expected["per_class"].items():
        ours = result.per_class[name]
        assert ours["category_id"] == official["category_id"]
        for stat, key in (("HOTA", "HOTA_mean"), ("DetA", "DetA_mean"), ("AssA", "AssA_mean")):
            assert ours[stat] == pytest.approx(official[key], abs=TOLERANCE), (name, stat)
        assert ours["AP"] == pytest.approx(official["AP_all_mean"], abs=TOLERANCE), name


@pytest.mark.parametrize("case", CONVERSIONS)
def test_conversion_reproduces_the_converted_predictions(public_dir, case):
    case_dir = public_dir / case
    converted = ytvis_to_burst(
        _load(case_dir / "ytvis_results.json"),
        _load(case_dir / "gt" / "all_classes.json"),
        _settings(case_dir),
        "ytvis_results.json",
    )
    reference = _load(case_dir / "pred.json")
    assert len(converted["sequences"]) == len(reference["sequences"])
    for ours, theirs in zip(converted["sequences"], reference["sequences"], strict=True):
        assert ours["track_category_ids"] == theirs["track_category_ids"], ours["id"]
        assert ours["segmentations"] == theirs["segmentations"], ours["id"]


def _cli(case_dir: Path, out: Path, *extra: str) -> int:
    results = "ytvis_results.json" if extra else "pred.json"
    return main(
        [
            "eval",
            "--gt",
            str(case_dir / "gt" / "all_classes.json"),
            "--results",
            str(case_dir / results),
            "--metric",
            "burst",
            "--out",
            str(out),
            *extra,
        ]
    )


@pytest.mark.parametrize("case", CONVERSIONS)
def test_eval_converts_youtube_vis_results_and_records_the_settings(public_dir, case, tmp_path):
    case_dir = public_dir / case
    settings = _settings(case_dir)
    extra = ["--remove-overlap"] if settings.remove_overlap else []
    if settings.score_threshold is not None:
        extra += ["--score-threshold", str(settings.score_threshold)]
    out = tmp_path / "stats.json"
    results = case_dir / "ytvis_results.json"
    argv = ["eval", "--gt", str(case_dir / "gt"), "--results", str(results)]
    assert main([*argv, "--metric", "burst", "--out", str(out), *extra]) == 0
    written = _load(out)
    for name, value in _load(case_dir / "expected.json")["metrics"].items():
        assert written[name] == pytest.approx(value, abs=TOLERANCE), name
    assert written["conversion"] == {
        "results_format": "youtube-vis",
        "score_threshold": settings.score_threshold,
        "remove_overlap": settings.remove_overlap,
    }


def test_eval_writes_the_official_names_in_percent(public_dir, tmp_path, capsys):
    out = tmp_path / "stats.json"
    assert _cli(public_dir / "case_01", out) == 0
    written = _load(out)
    official = _load(public_dir / "case_01" / "official_output.json")
    for stat, splits in official.items():
        for split, value in splits.items():
            assert written[f"{stat}_{split}"] == pytest.approx(value, abs=TOLERANCE)
    assert written["conversion"]["results_format"] == "burst"
    assert written["classes"] == {"all": 6, "common": 3, "uncommon": 3}
    printed = capsys.readouterr().out
    assert "| HOTA" in printed and "64.25" in printed


def _whole_process(case_dir: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "run_bench.py"), "eval", "--gt", str(case_dir / "gt")]
        + ["--results", str(case_dir / "pred.json"), "--metric", "burst", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=300,
    )


@pytest.mark.parametrize(
    "case", [pytest.param(c, marks=pytest.mark.slow) if c != "case_02" else c for c in CASES]
)
def test_run_bench_eval_as_the_hidden_cases_are_run(public_dir, case, tmp_path):
    out = tmp_path / "stats.json"
    done = _whole_process(public_dir / case, out)
    assert done.returncode == 0, done.stderr
    written = _load(out)
    for name, value in _load(public_dir / case / "expected.json")["metrics"].items():
        assert written[name] == pytest.approx(value, abs=TOLERANCE), name


def _without_common_classes(case_dir: Path, tmp_path: Path) -> Path:
    """case_01's GT with every track of a common class removed."""
    gt = _load(case_dir / "gt" / "all_classes.json")
    common = burst_categories().common
    for seq in gt["sequences"]:
        dropped = {t for t, c in seq["track_category_ids"].items() if c in common}
        seq["track_category_ids"] = {
            t: c for t, c in seq["track_category_ids"].items() if t not in dropped
        }
        seq["segmentations"] = [
            {t: m for t, m in frame.items() if t not in dropped} for frame in seq["segmentations"]
        ]
    path = tmp_path / "all_classes.json"
    path.write_text(json.dumps(gt))
    return path


def test_a_split_without_classes_is_not_available(public_dir, tmp_path, capsys):
    """The toolkit divides by zero here; the other split's numbers are unchanged (a class's
    scores do not depend on other classes' GT)."""
    gt = _without_common_classes(public_dir / "case_01", tmp_path)
    out = tmp_path / "stats.json"
    argv = ["eval", "--gt", str(gt), "--results", str(public_dir / "case_01" / "pred.json")]
    assert main([*argv, "--metric", "burst", "--out", str(out)]) == 0
    written = _load(out)
    expected = _load(public_dir / "case_01" / "expected.json")["metrics"]
    for stat in ("HOTA", "DetA", "AssA", "AP"):
        assert written[f"{stat}_common"] is None
        assert written[f"{stat}_uncommon"] == pytest.approx(expected[f"{stat}_uncommon"], abs=1e-9)
        assert written[f"{stat}_all"] == pytest.approx(written[f"{stat}_uncommon"], abs=1e-12)
    printed = capsys.readouterr().out
    assert "n/a" in printed and "no common class has GT" in printed


def _error(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_conversion_settings_need_youtube_vis_results(public_dir, capsys):
    case_dir = public_dir / "case_01"
    argv = ["eval", "--gt", str(case_dir / "gt"), "--results", str(case_dir / "pred.json")]
    err = _error([*argv, "--metric", "burst", "--score-threshold", "0.5"], capsys)
    assert "YouTube-VIS-format results" in err
    err = _error([*argv, "--metric", "ytvis", "--remove-overlap"], capsys)
    assert "--metric burst only" in err
    err = _error([*argv, "--metric", "burst", "--bootstrap", "10"], capsys)
    assert "--bootstrap is not available with --metric burst" in err


def test_bad_inputs_name_the_file_and_field(public_dir, tmp_path, capsys):
    case_dir = public_dir / "conv_01"
    results = _load(case_dir / "ytvis_results.json")
    results[0]["segmentations"] = results[0]["segmentations"][:-1]
    short = tmp_path / "short.json"
    short.write_text(json.dumps(results))
    argv = ["eval", "--gt", str(case_dir / "gt"), "--metric", "burst"]
    err = _error([*argv, "--results", str(short)], capsys)
    assert str(short) in err and "segmentations" in err and "annotated frames" in err
    ytvis_gt = tmp_path / "ytvis_gt.json"
    ytvis_gt.write_text(json.dumps({"videos": [], "annotations": [], "categories": []}))
    err = _error(
        ["eval", "--gt", str(ytvis_gt), "--results", str(short), "--metric", "burst"], capsys
    )
    assert "YouTube-VIS-layout ground truth" in err and "--metric ytvis" in err
    ytvis_gt.write_text(json.dumps({"split": "val", "sequence": []}))
    err = _error(
        ["eval", "--gt", str(ytvis_gt), "--results", str(short), "--metric", "burst"], capsys
    )
    assert "sequences" in err and "BURST" in err


def test_missing_trackeval_says_how_to_install(public_dir, monkeypatch, capsys):
    real_import = builtins.__import__

    def no_trackeval(name, *args, **kwargs):
        if name.startswith("trackeval"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_trackeval)
    case_dir = public_dir / "case_01"
    argv = ["eval", "--gt", str(case_dir / "gt"), "--results", str(case_dir / "pred.json")]
    assert main([*argv, "--metric", "burst"]) != 0
    err = capsys.readouterr().err
    assert "pip install trackeval==1.3.0" in err and "Traceback" not in err


def _trackeval_per_class(gt: dict, pred: dict, folder: Path) -> dict[str, tuple[float, ...]]:
    """TrackEval's own BURST dataset (the toolkit's reader and preparation, on numpy 2) run on
    the files through its Evaluator: per class HOTA, DetA, AssA and AP means."""
    import trackeval

    (folder / "gt").mkdir()
    (folder / "trackers" / "t" / "data").mkdir(parents=True)
    (folder / "gt" / "all_classes.json").write_text(json.dumps(gt))
    (folder / "trackers" / "t" / "data" / "pred.json").write_text(json.dumps(pred))
    config = trackeval.datasets.BURST.get_default_dataset_config()
    config.update(
        GT_FOLDER=str(folder / "gt"), TRACKERS_FOLDER=str(folder / "trackers"), PRINT_CONFIG=False
    )
    quiet = {"PRINT_RESULTS": False, "PRINT_CONFIG": False, "OUTPUT_SUMMARY": False}
    quiet.update(OUTPUT_DETAILED=False, PLOT_CURVES=False, USE_PARALLEL=False)
    evaluator = trackeval.Evaluator({**quiet, "TIME_PROGRESS": False})
    metrics = [trackeval.metrics.HOTA(), trackeval.metrics.TrackMAP({"PRINT_CONFIG": False})]
    with contextlib.redirect_stdout(io.StringIO()):
        output, _ = evaluator.evaluate([trackeval.datasets.BURST(config)], metrics)
    combined = output["BURST"]["t"]["COMBINED_SEQ"]
    return {
        name: (
            *(float(value["HOTA"][stat].mean()) for stat in ("HOTA", "DetA", "AssA")),
            float(value["TrackMAP"]["AP_all"].mean()),
        )
        for name, value in combined.items()
        if not name.startswith("cls_comb")
    }


def _assert_same_as_trackeval(gt: dict, pred: dict, folder: Path) -> None:
    ours = read_ground_truth(gt, "gt")
    read_predictions(pred, "pred", ours)
    result = evaluate_burst(ours)
    theirs = _trackeval_per_class(gt, pred, folder)
    assert set(result.per_class) == set(theirs)
    for name, values in theirs.items():
        mine = tuple(result.per_class[name][stat] for stat in ("HOTA", "DetA", "AssA", "AP"))
        assert mine == pytest.approx(values, abs=TOLERANCE), name


def test_at_most_300_predictions_per_frame_by_score(public_dir, tmp_path):
    """320 extra tracks on one frame, scores with ties at the cut: the toolkit keeps 300 by
    score (stable), and 500+ masks in one file (pycocotools' area fails past 255)."""
    case_dir = public_dir / "case_06"
    gt, pred = _load(case_dir / "gt" / "all_classes.json"), _load(case_dir / "pred.json")
    seq = pred["sequences"][0]
    frame = seq["segmentations"][0]
    local, entry = next(iter(frame.items()))
    for extra in range(320):
        new = str(1000 + extra)
        frame[new] = {**entry, "score": round(0.1 * (extra % 9 + 1), 1)}
        seq["track_category_ids"][new] = seq["track_category_ids"][local]
    _assert_same_as_trackeval(gt, pred, tmp_path)


def test_track_id_zero_is_never_counted_as_matched(public_dir, tmp_path):
    """A prediction track numbered 0 (ids used in one sequence keep their number): in track AP
    a GT matched to track 0 still counts as unmatched, so a lower-scoring copy of track 0
    matches it again."""
    case_dir = public_dir / "case_01"
    gt, pred = _load(case_dir / "gt" / "all_classes.json"), _load(case_dir / "pred.json")
    seq = pred["sequences"][0]
    first = next(iter(seq["track_category_ids"]))
    seq["track_category_ids"]["0"] = seq["track_category_ids"].pop(first)
    seq["track_category_ids"]["77"] = seq["track_category_ids"]["0"]
    for frame in seq["segmentations"]:
        if first in frame:
            frame["0"] = frame.pop(first)
            frame["77"] = {**frame["0"], "score": frame["0"].get("score", 1.0) / 2}
    _assert_same_as_trackeval(gt, pred, tmp_path)


def test_predictions_on_a_frame_without_gt(public_dir, tmp_path):
    """An annotated frame whose GT tracks are all absent: HOTA does not see the predictions
    there (the toolkit's time steps are the frames with GT), track AP does. The predicted
    classes are made neg classes of the sequence, so that HOTA would count them as false
    positives if it saw them."""
    case_dir = public_dir / "case_01"
    gt, pred = _load(case_dir / "gt" / "all_classes.json"), _load(case_dir / "pred.json")
    seq = gt["sequences"][0]
    seq["segmentations"][1] = {}
    seq["neg_category_ids"] += sorted(set(pred["sequences"][0]["track_category_ids"].values()))
    _assert_same_as_trackeval(gt, pred, tmp_path)


@pytest.mark.parametrize(
    ("spoil", "field"),
    [
        (lambda gt, pred: gt["sequences"][0].update(neg_category_ids=7), "neg_category_ids"),
        (lambda gt, pred: gt["sequences"][0]["track_category_ids"].update({"1": "cat"}), "track"),
        (lambda gt, pred: pred["sequences"][0]["segmentations"][0].update({"1": "x"}), "entry"),
        (lambda gt, pred: pred["sequences"][0]["segmentations"].pop(), "segmentations"),
        (lambda gt, pred: pred.update(split="test"), "split"),
    ],
)
def test_malformed_burst_files_are_input_errors(public_dir, tmp_path, capsys, spoil, field):
    case_dir = public_dir / "case_01"
    gt, pred = _load(case_dir / "gt" / "all_classes.json"), _load(case_dir / "pred.json")
    spoil(gt, pred)
    (tmp_path / "all_classes.json").write_text(json.dumps(gt))
    (tmp_path / "pred.json").write_text(json.dumps(pred))
    argv = ["eval", "--gt", str(tmp_path), "--results", str(tmp_path / "pred.json")]
    err = _error([*argv, "--metric", "burst"], capsys)
    assert field in err and str(tmp_path) in err


def test_empty_youtube_vis_results_score_zero(public_dir, tmp_path):
    """No prediction at all: every class scores 0, nothing crashes."""
    empty = tmp_path / "results.json"
    empty.write_text("[]")
    out = tmp_path / "stats.json"
    gt = public_dir / "case_01" / "gt"
    argv = ["eval", "--gt", str(gt), "--results", str(empty), "--metric", "burst"]
    assert main([*argv, "--out", str(out)]) == 0
    written = _load(out)
    assert all(written[name] == 0 for name in STAT_NAMES)


@pytest.mark.parametrize("case", CONVERSIONS)
def test_results_without_areas_use_the_masks_areas(public_dir, case):
    """YouTube-VIS results usually carry no `areas`: an empty mask is then no detection."""
    case_dir = public_dir / case
    results = _load(case_dir / "ytvis_results.json")
    for result in results:
        result.pop("areas", None)
        result.pop("bboxes", None)
    converted = ytvis_to_burst(
        results, _load(case_dir / "gt" / "all_classes.json"), _settings(case_dir), "results"
    )
    reference = _load(case_dir / "pred.json")
    for ours, theirs in zip(converted["sequences"], reference["sequences"], strict=True):
        assert ours["segmentations"] == theirs["segmentations"], ours["id"]
