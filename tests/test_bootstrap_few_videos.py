"""A bootstrap over fewer than two videos gives no interval, and every printer says why
(`1 video: no interval`) instead of a zero-width "95 %" interval."""

from __future__ import annotations

import json

import pytest

from tests.helpers.scored_records import ScoredCells
from tests.helpers.vis_cases import make_gt, predict, public
from vis_bench.cli import main
from vis_bench.eval.stats.bootstrap import (
    MIN_VIDEOS,
    bootstrap,
    no_interval_reason,
    paired_difference,
    paired_intervals,
)
from vis_bench.eval.stats.video_matches import VideoMatches
from vis_bench.records import CellRecord
from vis_bench.report.record_set import RecordSet
from vis_bench.report.significance import PairedComparer, with_interval


@pytest.fixture(scope="module")
def one_video(tmp_path_factory):
    """A one-video ground truth, a perfect and a poorer results file, and their cell records."""
    folder = tmp_path_factory.mktemp("one")
    gt = make_gt(n_videos=1, seed=3)
    good, worse = predict(gt, seed=5, jitter=0), predict(gt, seed=5, jitter=2, miss=0.3)
    (folder / "gt.json").write_text(json.dumps(public(gt)))
    (folder / "good.json").write_text(json.dumps(good))
    (folder / "worse.json").write_text(json.dumps(worse))
    cells = ScoredCells(folder / "cells", gt, replicates=50)
    records = [cells.record("a", good), cells.record("b", worse)]
    for record in records:
        record["num_videos"] = 1
    return folder, records


def _matches(record: dict) -> VideoMatches:
    return VideoMatches.from_dict(json.loads(open(record["video_matches_path"]).read()))


def test_the_rule_lives_in_one_function():
    assert MIN_VIDEOS == 2
    assert no_interval_reason(1) == "1 video: no interval"
    assert no_interval_reason(0) == "0 videos: no interval"
    assert no_interval_reason(2) is None


def test_library_gives_no_interval_and_the_reason(one_video):
    _, records = one_video
    a, b = (_matches(r) for r in records)
    boot = bootstrap(a, replicates=50)
    assert boot.reason == "1 video: no interval"
    assert set(boot.intervals.values()) == {None}
    assert all(v is None for v in boot.stats_entries().values())
    diff = paired_difference(a, b, 0.9, 0.5, replicates=50)
    assert diff.interval is None and diff.reason == "1 video: no interval"
    assert not diff.excludes_zero
    assert set(paired_intervals(a, b, replicates=50).values()) == {None}


def test_the_sweep_record_has_no_interval(one_video):
    _, records = one_video
    assert records[0]["AP_ci"] is None and records[0]["bootstrap"]["replicates"] == 50


def test_eval_prints_why_and_writes_no_interval(one_video, tmp_path, capsys):
    folder, _ = one_video
    out = tmp_path / "stats.json"
    argv = ["eval", "--gt", str(folder / "gt.json"), "--results", str(folder / "worse.json")]
    assert main([*argv, "--bootstrap", "50", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("1 video: no interval") >= 4 and "zero width" in printed
    stats = json.loads(out.read_text())
    assert stats["AP_ci"] is None and stats["bootstrap"]["no_interval"] == "1 video: no interval"


def test_compare_prints_why(one_video, capsys):
    folder, _ = one_video
    gt, a, b = (str(folder / name) for name in ("gt.json", "good.json", "worse.json"))
    assert main(["compare", "--gt", gt, "--a", a, "--b", b, "--bootstrap", "50"]) == 0
    ap_row = next(line for line in capsys.readouterr().out.splitlines() if "| AP " in line)
    assert "1 video: no interval" in ap_row and "yes" not in ap_row


def test_tables_and_marks_say_why(one_video):
    _, records = one_video
    typed = [CellRecord.from_json(r) for r in records]
    assert with_interval(61.5, typed[0], "AP", 1) == "61.5 (1 video: no interval)"
    pairing = PairedComparer(RecordSet.from_records(records)).compare(*typed)
    assert pairing.reason == "1 video: no interval"
    assert pairing.text() == "not paired: 1 video: no interval"


def test_two_videos_still_give_an_interval(tmp_path):
    gt = make_gt(n_videos=2, seed=3)
    cells = ScoredCells(tmp_path, gt, replicates=50)
    record = cells.record("a", predict(gt, seed=5, jitter=2, miss=0.3))
    assert bootstrap(_matches(record), replicates=50).reason is None
    assert record["AP_ci"] is not None
