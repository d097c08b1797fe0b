"""Metrics and dataset kinds are declarations (eval/declared.py): the built-in ones are
registered once with their names, and a metric registered later reaches every table, the
leaderboard and `regress` without a change to them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from vis_bench.cli import main
from vis_bench.commands.eval import METRICS as EVAL_CHOICES
from vis_bench.errors import InputError
from vis_bench.eval import benchmarks
from vis_bench.eval.burst.layout import is_burst_layout
from vis_bench.eval.declared import (
    KINDS,
    METRICS,
    Metric,
    kind_of_path,
    merged_columns,
    metric_of,
)
from vis_bench.records import CellRecord
from vis_bench.report.baseline import Baseline, compare
from vis_bench.report.leaderboard import leaderboard_markdown
from vis_bench.report.record_set import RecordSet
from vis_bench.report.run_comparison import compared_statistics
from vis_bench.report.tables import comparison_table, headings_note, metric_names_note

REPO = Path(__file__).resolve().parents[1]
CELL = {
    "method": "m",
    "checkpoint": None,
    "options": {},
    "clip_length": "all",
    "stride": None,
    "resolution": 128,
    "device": "cpu",
    "dtype": "fp32",
}
#: a tracking metric: MOTA (a fraction, higher is better) and identity switches (a count,
#: lower is better)
TOY = Metric(
    name="toy",
    title="Toy tracking",
    statistics=("MOTA", "IDSW"),
    headline="MOTA",
    columns=("MOTA", "IDSW"),
    compute="tests.test_metric_registry:toy_statistics",
    lower_is_better=frozenset({"IDSW"}),
    counts=frozenset({"IDSW"}),
    gated=("MOTA", "IDSW"),
    reported=("MOTA", "IDSW"),
)


def toy_statistics(ground_truth: list[int], results: list[int]) -> dict[str, float]:
    hits = sum(1 for r in results if r in ground_truth)
    return {"MOTA": hits / len(ground_truth), "IDSW": float(len(results) - hits)}


def _record(method: str, **stats: float) -> dict:
    return {**CELL, "key": method, "status": "ok", "method": method, **stats}


def test_eval_offers_the_selectable_declared_metrics():
    assert EVAL_CHOICES == ("auto", "ytvis", "ovis", "lvvis", "burst")
    assert "ytvis2022" in METRICS and not METRICS["ytvis2022"].selectable
    assert {"ytvis2019", "ytvis2021", "ytvis2022", "ovis", "lvvis", "burst"} <= set(KINDS.names())


def test_an_unknown_metric_is_an_input_error_naming_the_registered_ones():
    with pytest.raises(InputError, match="unknown metric 'hota'.*ytvis, ovis"):
        METRICS["hota"]


def test_a_declaration_naming_an_undeclared_statistic_is_refused():
    with pytest.raises(ValueError, match="undeclared statistics \\['AP'\\]"):
        Metric("x", "X", ("A",), headline="AP", columns=("A",), compute="m:f")


def test_a_second_metric_under_a_taken_name_is_refused():
    with pytest.raises(ValueError, match="registered already"):
        METRICS.register(Metric("ytvis", "Y", ("A",), "A", ("A",), compute="m:f"))


def test_columns_merge_in_the_order_the_tables_always_had():
    merged = merged_columns(m.columns for m in METRICS)
    assert merged[:13] == (
        "mAP", "mAP_S", "mAP_L", "AP", "AP_b", "AP_n", "AP50", "AP75",
        "AP_occ_light", "AP_occ_medium", "AP_occ_heavy", "AR1", "AR10",
    )  # fmt: skip
    assert merged[13:] == benchmarks.BURST_STAT_NAMES


def test_a_records_metric_is_the_one_declaring_most_of_its_statistics():
    assert metric_of(benchmarks.STAT_NAMES).name == "ytvis"
    assert metric_of(benchmarks.OVIS_STAT_NAMES).name == "ovis"
    assert metric_of(benchmarks.LVVIS_STAT_NAMES).name == "lvvis"
    assert metric_of((*benchmarks.STAT_NAMES, *benchmarks.FIGURE_NAMES)).name == "ytvis2022"
    assert metric_of(benchmarks.BURST_STAT_NAMES).name == "burst"
    assert metric_of(("fps_end_to_end",)) is None


def test_a_metric_computes_through_its_declared_function():
    with METRICS.registered(TOY):
        assert METRICS["toy"].computed([1, 2, 3, 4], [1, 2, 9]) == {"MOTA": 0.5, "IDSW": 1.0}


def test_the_statistic_names_are_spelled_only_in_their_declarations():
    """Each name beyond the headline word AP (and mAP) is a quoted string in benchmarks.py
    only; everything else takes it from there."""
    names = (
        *benchmarks.STAT_NAMES[1:],
        *benchmarks.OCCLUSION_AP,
        *benchmarks.OCCLUSION_AR,
        *benchmarks.FIGURE_NAMES[1:],
        *benchmarks.LVVIS_STAT_NAMES[3:],
        *benchmarks.BURST_STAT_NAMES,
    )
    quoted = re.compile("[\"'](" + "|".join(map(re.escape, names)) + ")[\"']")
    # trackeval's own output key, read from its result (not a statistic of ours)
    foreign = {("vis_bench/eval/burst/metric.py", 'ap["AP_all"]')}
    found = []
    for path in sorted((REPO / "vis_bench").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        if rel == "vis_bench/eval/benchmarks.py":
            continue
        for line in path.read_text().splitlines():
            match = quoted.search(line)
            if match and not any(rel == p and text in line for p, text in foreign):
                found.append(f"{rel}: {line.strip()}")
    assert found == []


def test_a_registered_metric_renders_in_the_table_and_the_leaderboard():
    records = RecordSet.from_records(
        [_record("a", MOTA=0.40, IDSW=7.0), _record("b", MOTA=0.55, IDSW=3.0)]
    )
    with METRICS.registered(TOY):
        table = comparison_table(records)
        board = leaderboard_markdown(records)
    header, _, *rows = table.splitlines()
    assert [c.strip() for c in header.strip("|").split("|")][-2:] == ["MOTA", "IDSW"]
    assert "40.00" in rows[0] and "7.00" in rows[0]  # MOTA a fraction x100, IDSW as recorded
    ranked = [line for line in board.splitlines() if line.startswith("|") and "MOTA" not in line]
    assert "| b " in ranked[1] and "| a " in ranked[2]  # ranked by the headline, MOTA
    assert "MOTA" not in comparison_table(records)  # unregistered: not a statistic


def test_regress_judges_each_statistic_in_its_declared_direction():
    base = Baseline("b.json", None, [{**CELL, "metrics": {"MOTA": 0.5, "IDSW": 4.0}}], {})
    fewer_switches = _record("m", MOTA=0.5, IDSW=1.0)
    more_switches = _record("m", MOTA=0.5, IDSW=9.0)
    with METRICS.registered(TOY):
        better = compare(base, [fewer_switches], 0.3)
        worse = compare(base, [more_switches], 0.3)
    assert better.regressions == [] and better.gains == [
        "m T=all IDSW: 4.00 -> 1.00 (tolerance 0.30 points)"
    ]
    assert worse.regressions == ["m T=all IDSW: 4.00 -> 9.00 (tolerance 0.30 points)"]


def test_compare_runs_sets_the_records_metrics_declared_statistics_side_by_side():
    ytvis = [CellRecord.from_json(_record("m", AP=0.3, AP50=0.5, AR10=0.4))]
    assert compared_statistics(ytvis) == ("AP", "AP50", "AR10")
    lvvis = [CellRecord.from_json(_record("m", **dict.fromkeys(benchmarks.LVVIS_STAT_NAMES, 0.1)))]
    assert compared_statistics(lvvis) == ("AP", "AP_b", "AP_n")


@pytest.fixture(scope="module")
def burst_case(golden_dir: Path) -> Path:
    return golden_dir / "burst_eval" / "public" / "case_01"


@pytest.mark.parametrize("gt", ["gt", "gt/all_classes.json"])
def test_eval_auto_scores_burst_ground_truth_with_the_burst_metric(burst_case, gt, tmp_path):
    forced, auto = tmp_path / "forced.json", tmp_path / "auto.json"
    argv = ["eval", "--gt", str(burst_case / gt), "--results", str(burst_case / "pred.json")]
    assert main([*argv, "--metric", "burst", "--out", str(forced)]) == 0
    assert main([*argv, "--out", str(auto)]) == 0
    assert json.loads(auto.read_text()) == json.loads(forced.read_text())


def test_the_burst_layout_is_told_from_the_files_first_keys(burst_case, tmp_path):
    assert kind_of_path(burst_case / "gt").name == "burst"
    ytvis = tmp_path / "ytvis.json"
    # a YouTube-VIS file naming a category "sequences" is still YouTube-VIS's
    ytvis.write_text(json.dumps({"videos": [], "categories": [{"id": 1, "name": "sequences"}]}))
    assert not is_burst_layout(ytvis) and kind_of_path(ytvis) is None
    assert not is_burst_layout(tmp_path / "missing.json")


def test_a_kind_reads_and_checks_its_ground_truth(burst_case, tmp_path):
    assert len(KINDS["burst"].read(burst_case / "gt").sequences) > 0
    lvvis = tmp_path / "lvvis.json"
    lvvis.write_text(
        json.dumps(
            {
                "videos": [{"id": 1, "width": 4, "height": 4, "length": 1}],
                "categories": [{"id": 1, "name": "cat", "partition": 0}, {"id": 2, "name": "dog"}],
                "annotations": [],
            }
        )
    )
    with pytest.raises(InputError, match="category id 2 \\('dog'\\) has no 'partition'"):
        KINDS["lvvis"].read(lvvis)
    assert KINDS["ytvis2019"].read(lvvis).cat_ids is not None  # YouTube-VIS asks no partition


def test_the_notes_say_what_the_records_metrics_names_mean():
    ytvis = RecordSet.from_records([_record("m", AP=0.3, AP50=0.5)])
    lvvis = RecordSet.from_records(
        [_record("m", **dict.fromkeys(benchmarks.LVVIS_STAT_NAMES, 0.1))]
    )
    assert metric_names_note(ytvis) == benchmarks.YTVIS_NOTE
    assert "_b / _n: over the base / novel categories" in headings_note(lvvis)
    assert "_b / _n" in leaderboard_markdown(lvvis) and "_b / _n" not in leaderboard_markdown(ytvis)
