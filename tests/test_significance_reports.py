"""Intervals and paired marks in records, tables and the leaderboard; the published column."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.helpers.scored_records import ScoredCells
from tests.helpers.vis_cases import make_gt, predict
from vis_bench.eval.stats.bootstrap import bootstrap, paired_difference
from vis_bench.eval.stats.video_matches import VideoMatches
from vis_bench.records import CellRecord
from vis_bench.report.axis_tables import axis_table
from vis_bench.report.leaderboard import leaderboard_frame, leaderboard_markdown
from vis_bench.report.published_columns import DELTA_COLUMN, PUBLISHED_COLUMN
from vis_bench.report.record_set import RecordSet
from vis_bench.report.significance import PairedComparer, Pairing
from vis_bench.report.tables import comparison_table, notes_lines
from vis_bench.report.tables_document import tables_markdown
from vis_bench.sweep.scoring import Scorer

as_set = RecordSet.from_records


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """40 videos; `good` predicts every GT track exactly, `worse` moves and misses some."""
    gt = make_gt(n_videos=40, seed=2)
    cells = ScoredCells(tmp_path_factory.mktemp("cells"), gt, replicates=200)
    good = predict(gt, seed=5, jitter=0)
    worse = predict(gt, seed=5, jitter=2, miss=0.3)
    return cells, good, worse


def _matches(record: dict) -> VideoMatches:
    return VideoMatches.from_dict(json.loads(open(record["video_matches_path"]).read()))


def _compare(a: dict, b: dict) -> Pairing:
    """a - b as a report compares them: within the record set of the two."""
    typed = CellRecord.from_json
    return PairedComparer(as_set([a, b])).compare(typed(a), typed(b))


def _row(markdown: str, method: str) -> list[str]:
    (line,) = [line for line in markdown.splitlines() if line.startswith(f"| {method} ")] or [
        line for line in markdown.splitlines() if f"| {method} " in line
    ]
    return [c.strip() for c in line.strip("|").split("|")]


def test_a_scored_cell_carries_intervals_and_its_matching(case, tmp_path):
    cells, _, worse = case
    record = cells.record("ifc", worse)
    for name in ("AP", "AP50", "AP75", "AR10"):
        low, high = record[f"{name}_ci"]
        assert low <= record[name] <= high
    assert record["bootstrap"]["replicates"] == 200 and record["bootstrap"]["seed"] == 0
    matches = _matches(record)
    assert matches.n_videos == 40
    # the stored matching gives back the same intervals (seeded)
    again = bootstrap(matches, replicates=200, seed=0).stats_entries()
    assert again["AP_ci"] == record["AP_ci"]
    # measure.bootstrap: 0 keeps the matching (for pairing later) but draws no intervals
    (tmp_path / "results.json").write_text(json.dumps(worse))
    off = Scorer(cells.scorer.gt_path, replicates=0).score(tmp_path / "results.json")
    assert off.intervals == {} and off.bootstrap is None
    assert off.metrics["AP"] == record["AP"]
    assert (tmp_path / "video_matches.json").is_file()


def test_known_margin_on_the_same_videos_is_marked_significant(case):
    cells, good, worse = case
    records = [cells.record("seqformer", good), cells.record("ifc", worse)]
    pairing = _compare(records[0], records[1])
    assert pairing.significant and pairing.interval[0] > 0
    assert pairing.difference == pytest.approx(100 * (records[0]["AP"] - records[1]["AP"]))
    # the stored replicate values give exactly the library's paired bootstrap
    matches = [_matches(r) for r in records]
    library = paired_difference(*matches, records[0]["AP"], records[1]["AP"], replicates=200)
    assert pairing.interval == tuple(100 * v for v in library.interval)
    without_values = [dict(r, bootstrap={**r["bootstrap"], "values_path": None}) for r in records]
    assert _compare(*without_values).interval == pairing.interval
    markdown = leaderboard_markdown(as_set(records))
    first = _row(markdown, "seqformer")
    vs_next = first[_header(markdown).index("vs next")]
    assert vs_next.startswith(f"+{pairing.difference:.1f} [") and "n.s." not in vs_next
    low, high = (100 * v for v in records[0]["AP_ci"])
    assert (
        first[_header(markdown).index("AP")]
        == f"{100 * records[0]['AP']:.1f} [{low:.1f}, {high:.1f}]"
    )
    assert "paired bootstrap" in markdown and "best-AP cell among the cells it ran" in markdown


def test_identical_methods_are_marked_not_significant(case):
    cells, _, worse = case
    records = [cells.record("seqformer", worse), cells.record("ifc", worse)]
    pairing = _compare(records[0], records[1])
    assert pairing.interval == (0.0, 0.0) and not pairing.significant
    markdown = leaderboard_markdown(as_set(records))
    assert "+0.0 [+0.0, +0.0] n.s." in markdown


def _header(markdown: str) -> list[str]:
    line = next(line for line in markdown.splitlines() if line.startswith("| rank"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_cells_that_cannot_be_paired_say_why(case):
    cells, good, worse = case
    a, b = cells.record("seqformer", good), cells.record("ifc", worse)
    other_data = dict(b, dataset="other")
    assert _compare(a, other_data).reason == "different datasets"
    gone = dict(b, video_matches_path=str(cells.folder / "missing.json"))
    assert "not found" in _compare(a, gone).reason
    off = dict(b, bootstrap=None)
    assert "measure.bootstrap: 0" in _compare(a, off).reason
    frame = leaderboard_frame(as_set([a, gone]))
    assert frame.iloc[0]["vs next"].startswith("not paired: per-video matching not found")


def test_clip_length_pivot_marks_t_not_told_apart_from_all(case):
    cells, good, worse = case
    records = [
        cells.record("seqformer", good),
        cells.record("seqformer", good, clip=5),  # same predictions as T=all: n.s.
        cells.record("seqformer", worse, clip=10),  # clearly worse than T=all
    ]
    pivot = axis_table(as_set(records), "AP", "clip_length")
    row = _row(pivot, "seqformer")
    assert [c.strip() for c in pivot.splitlines()[0].strip("|").split("|")][1:] == [
        "all",
        "10 (S=5)",
        "5 (S=2)",
    ]  # each T's one stride in its heading
    assert row[1].endswith("]") and "n.s." not in row[1]  # T=all is the reference
    assert "n.s." not in row[2]
    assert row[3].endswith("n.s.")
    assert "contains 0" in pivot


def test_tables_show_intervals_and_say_what_they_are(case):
    cells, good, _ = case
    records = [cells.record("seqformer", good)]
    table = comparison_table(as_set(records))
    low, high = (100 * v for v in records[0]["AP_ci"])
    assert _row(table, "seqformer")[4] == f"{100 * records[0]['AP']:.2f} [{low:.2f}, {high:.2f}]"
    assert any("bootstrap interval over videos" in line for line in notes_lines(as_set(records)))
    # records without intervals (older runs, measure.bootstrap: 0) show the plain numbers
    plain = [
        {k: v for k, v in r.items() if not k.endswith("_ci") and k != "bootstrap"} for r in records
    ]
    assert "[" not in _row(comparison_table(as_set(plain)), "seqformer")[4]
    assert "vs next" not in leaderboard_markdown(as_set(plain))


#: SeqFormer T=all of the default run: a skewed interval (5.91 below the value, 10.56 above)
SKEWED = {
    "key": "seqformer-all",
    "status": "ok",
    "method": "seqformer",
    "clip_length": "all",
    "stride": None,
    "resolution": 144,
    "device": "cpu",
    "dtype": "fp32",
    "dataset": "synthetic-8aa95716-24v",
    "AP": 0.2962,
    "AP_ci": [0.2371, 0.4018],
    "AP50": 0.526,
    "AP75": 0.336,
    "bootstrap": {"replicates": 1000, "seed": 0, "confidence": 0.95},
}


def test_a_skewed_interval_is_printed_as_it_is_never_as_a_half_width():
    table = comparison_table(as_set([SKEWED]))
    assert _row(table, "seqformer")[4] == "29.62 [23.71, 40.18]"
    pivot = axis_table(as_set([SKEWED]), "AP", "clip_length")
    assert _row(pivot, "seqformer")[1] == "29.62 [23.71, 40.18]"
    board = leaderboard_markdown(as_set([SKEWED]))
    assert _row(board, "seqformer")[_header(board).index("AP")] == "29.6 [23.7, 40.2]"
    notes = " ".join(notes_lines(as_set([SKEWED])))
    assert "[low, high]" in notes and "need not be centred" in notes
    for text in (table, pivot, board, notes, tables_markdown(as_set([SKEWED]), "t")):
        assert "±" not in text
        assert "8.23" not in text and "21.39" not in text  # the symmetric reading of old


MATCHING = {
    "dataset": "ytvis2019:valid.json:0a1b2c3d-302v",
    "dataset_label": "ytvis2019 valid.json (302 videos)",
    "method": "seqformer",
    "clip_length": "all",
    "model_options": {},
    "resolution": None,
}


def test_published_column_appears_for_a_record_built_to_match(case):
    cells, _, worse = case
    record = dict(cells.record("seqformer", worse), **MATCHING)
    other = dict(cells.record("ifc", worse), **{**MATCHING, "method": "ifc", "clip_length": 10})
    measured = 100 * record["AP"]
    board = leaderboard_markdown(as_set([record, other]))
    header = _header(board)
    assert PUBLISHED_COLUMN in header and DELTA_COLUMN in header
    row = _row(board, "seqformer")
    assert row[header.index(PUBLISHED_COLUMN)] == "47.4"
    assert row[header.index(DELTA_COLUMN)] == f"{measured - 47.4:+.1f}"
    assert _row(board, "ifc")[header.index(PUBLISHED_COLUMN)] == "-"  # IFC T=10: no entry
    assert "seqformer-r50-coco-joint: README of wjf5203/SeqFormer" in board
    tables = tables_markdown(as_set([record, other]), "t")
    assert PUBLISHED_COLUMN in tables.splitlines()[6]  # the header of "All cells"
    assert f"{measured - 47.4:+.1f}" in tables


def test_the_default_runs_synthetic_records_have_no_published_column(case):
    cells, good, worse = case
    records = [
        dict(cells.record("seqformer", good), dataset="synthetic-8aa95716-24v"),
        dict(cells.record("ifc", worse), dataset="synthetic-8aa95716-24v"),
    ]
    assert PUBLISHED_COLUMN not in leaderboard_markdown(as_set(records))
    assert PUBLISHED_COLUMN not in tables_markdown(as_set(records), "t")


def test_bootstrap_of_a_cell_is_reproducible(case):
    cells, _, worse = case
    first = cells.record("mssts", worse)
    second = cells.record("mssts", worse, checkpoint="again")
    assert first["AP_ci"] == second["AP_ci"]
    assert np.isfinite(first["bootstrap"]["seconds"])
