"""YouTube-VIS 2022: `eval --short-videos --long-videos` equals the 2022 scoring program (the
official evaluator run on each set) on every public golden case, with the sets given as their
ground-truth files or as lists of video ids."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vis_bench.cli import main
from vis_bench.data.synthetic import generate_dataset
from vis_bench.errors import InputError
from vis_bench.eval.metric.loading import load_ground_truth
from vis_bench.eval.metric.params import STAT_NAMES
from vis_bench.eval.stats.subset import restrict_ground_truth
from vis_bench.eval.stats.ytvis2022 import FIGURE_NAMES, evaluate_long_short_files

CASES = [f"case_{i:02d}" for i in range(1, 9)]
TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def public_dir(golden_dir):
    return golden_dir / "ytvis2022_eval" / "public"


def _expected(folder):
    return json.loads((folder / "expected.json").read_text())


def _sets(folder, form):
    expected = _expected(folder)
    if form == "files":
        return str(folder / "gt_short.json"), str(folder / "gt_long.json")
    return expected["videos_short"], expected["videos_long"]


def _assert_equal(case, got_figures, got_stats, expected):
    for name in FIGURE_NAMES:
        assert abs(got_figures[name] - expected[name]) <= TOLERANCE, f"{case}: {name}"
    for suffix in ("S", "L"):
        want = dict(zip(STAT_NAMES, expected[f"stats_{suffix}"], strict=True))
        for name in STAT_NAMES:
            got = got_stats[suffix][name]
            assert abs(got - want[name]) <= TOLERANCE, f"{case}: stats_{suffix} {name}"


def test_all_public_cases_are_present(public_dir):
    assert sorted(p.name for p in public_dir.iterdir() if p.is_dir()) == CASES


@pytest.mark.parametrize("form", ["files", "ids"])
@pytest.mark.parametrize("case", CASES)
def test_figures_equal_the_2022_scoring(public_dir, case, form):
    folder = public_dir / case
    expected = _expected(folder)
    short, long = _sets(folder, form)
    result = evaluate_long_short_files(folder / "gt.json", folder / "results.json", short, long)
    stats = {suffix: result.stats(suffix) for suffix in ("S", "L")}
    _assert_equal(case, result.figures, stats, expected)
    assert result.video_ids == {"S": expected["videos_short"], "L": expected["videos_long"]}


@pytest.mark.parametrize("case", CASES)
def test_the_command_writes_the_figures_and_both_sets_statistics(public_dir, case, tmp_path):
    folder = public_dir / case
    ids = tmp_path / "long.json"
    ids.write_text(json.dumps(_expected(folder)["videos_long"]))
    out = tmp_path / "stats.json"
    args = ["eval", "--gt", str(folder / "gt.json"), "--results", str(folder / "results.json")]
    args += ["--short-videos", str(folder / "gt_short.json"), "--long-videos", str(ids)]
    assert main([*args, "--out", str(out), "--allow-dropped"]) == 0
    written = json.loads(out.read_text())
    inline = tmp_path / "inline.json"
    short_ids = json.dumps(_expected(folder)["videos_short"])  # the list itself, not a file
    args[args.index("--short-videos") + 1] = short_ids
    assert main([*args, "--out", str(inline), "--allow-dropped"]) == 0
    assert json.loads(inline.read_text()) == written
    assert list(written)[: len(FIGURE_NAMES)] == list(FIGURE_NAMES)  # the program's order
    assert written["stat_names"] == list(STAT_NAMES)
    stats = {s: dict(zip(STAT_NAMES, written[f"stats_{s}"], strict=True)) for s in ("S", "L")}
    expected = _expected(folder)
    _assert_equal(case, written, stats, expected)
    # the golden cases' own layout: each key of expected.json, compared as it is written there
    assert set(expected) <= set(written)
    for key in ("videos_short", "videos_long"):
        assert written[key] == expected[key]


def test_predictions_of_the_other_set_are_not_looked_at(public_dir, tmp_path):
    """Removing every prediction of the long videos leaves the short set's numbers as they are."""
    folder = public_dir / "case_02"
    expected = _expected(folder)
    results = json.loads((folder / "results.json").read_text())
    kept = [r for r in results if r["video_id"] not in expected["videos_long"]]
    assert len(kept) < len(results)
    short_only = tmp_path / "results.json"
    short_only.write_text(json.dumps(kept))
    short, long = _sets(folder, "files")
    result = evaluate_long_short_files(folder / "gt.json", short_only, short, long)
    for name in STAT_NAMES:
        want = expected["stats_S"][STAT_NAMES.index(name)]
        assert abs(result.stats("S")[name] - want) <= TOLERANCE


def test_a_restricted_ground_truth_reads_its_own_tracks_masks(tmp_path):
    """The masks the GT reader kept for its count lists follow the tracks a restriction keeps
    (else another track's runs could stand in for a track's masks)."""
    generate_dataset(tmp_path / "data", videos=5, seed=2, sizes=("48x64",))
    gt = load_ground_truth(tmp_path / "data" / "annotations.json")
    assert gt.listed is not None and (gt.listed.track_count >= 0).all()
    ids = [2, 4]
    part = restrict_ground_truth(gt, ids)
    kept = np.flatnonzero(np.isin(gt.video_of, ids))
    assert 0 < len(part.frames) == len(kept) and kept[0] > 0
    tracks = np.arange(len(part.frames))
    assert np.array_equal(part.listed.frames_of(tracks), gt.listed.frames_of(kept))


def _eval(folder, *extra):
    return main(
        ["eval", "--gt", str(folder / "gt.json"), "--results", str(folder / "results.json"), *extra]
    )


def test_sets_are_checked_before_scoring(public_dir, tmp_path, capsys):
    folder = public_dir / "case_03"
    short, _ = _sets(folder, "files")
    assert _eval(folder, "--short-videos", short) == 2
    assert "add --long-videos" in capsys.readouterr().err
    unknown = tmp_path / "ids.json"
    unknown.write_text("[99999, 1.5]")
    assert _eval(folder, "--short-videos", short, "--long-videos", str(unknown)) == 2
    assert "integers" in capsys.readouterr().err
    unknown.write_text("[99999]")
    assert _eval(folder, "--short-videos", short, "--long-videos", str(unknown)) == 2
    assert "99999" in capsys.readouterr().err
    args = ("--short-videos", short, "--long-videos", short, "--bootstrap", "10")
    assert _eval(folder, *args) == 2
    assert "--bootstrap is not available" in capsys.readouterr().err


def test_a_set_file_with_videos_of_another_split_is_refused(public_dir, tmp_path):
    folder = public_dir / "case_04"
    other = json.loads((folder / "gt_long.json").read_text())
    other["videos"][0]["id"] = 123456
    path = tmp_path / "gt_long.json"
    path.write_text(json.dumps(other))
    with pytest.raises(InputError, match="123456"):
        evaluate_long_short_files(
            folder / "gt.json", folder / "results.json", str(folder / "gt_short.json"), path
        )


def test_videos_in_both_sets_or_in_neither_are_said(public_dir):
    folder = public_dir / "case_05"
    expected = _expected(folder)
    short = expected["videos_short"]
    result = evaluate_long_short_files(
        folder / "gt.json", folder / "results.json", short, short[:1]
    )
    text = " ".join(result.warnings)
    assert "in both the short and the long set" in text and "in neither set" in text
