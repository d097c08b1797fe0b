"""`eval --category-groups`: each AP/AR line of a group is the mean over its categories of that
line for the category alone, leaving out categories without ground truth (the LV-VIS and BURST
convention). Checked against independent evaluations of one-category ground truths."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vis_bench.cli import main
from vis_bench.errors import InputError
from vis_bench.eval.api import evaluate_files
from vis_bench.eval.metric.params import STAT_NAMES
from vis_bench.eval.stats.category_groups import group_stats, read_category_groups


@pytest.fixture(scope="module")
def case(golden_dir):
    """case_01: three annotated categories (15, 36, 40) and one listed without GT (90)."""
    return golden_dir / "ytvis_eval" / "public" / "case_01"


def _one_category(case, tmp_path, cid):
    """The case's GT and results cut to one category: scored on its own, the category's figures."""
    gt = json.loads((case / "gt.json").read_text())
    gt["categories"] = [c for c in gt["categories"] if c["id"] == cid]
    gt["annotations"] = [a for a in gt["annotations"] if a["category_id"] == cid]
    results = [
        r for r in json.loads((case / "results.json").read_text()) if r["category_id"] == cid
    ]
    gt_path, res_path = tmp_path / f"gt_{cid}.json", tmp_path / f"res_{cid}.json"
    gt_path.write_text(json.dumps(gt))
    res_path.write_text(json.dumps(results))
    return evaluate_files(gt_path, res_path).stats


def test_a_group_is_the_mean_of_its_categories_figures(case, tmp_path):
    result = evaluate_files(case / "gt.json", case / "results.json")
    alone = {cid: _one_category(case, tmp_path, cid) for cid in (15, 36, 40)}
    groups = {"one": [36], "two": [15, 40], "with_unannotated": [15, 40, 90], "none": [90]}
    stats = group_stats(result, groups)
    for name in STAT_NAMES:
        assert stats["one"][name] == pytest.approx(alone[36][name], abs=1e-12)
        defined = [alone[c][name] for c in (15, 40) if alone[c][name] > -1]
        want = float(np.mean(defined)) if defined else -1.0
        assert stats["two"][name] == pytest.approx(want, abs=1e-12), name
        # a category absent from the GT is left out, not counted as 0
        assert stats["with_unannotated"][name] == stats["two"][name]
        assert stats["none"][name] == -1.0
    all_cats = group_stats(result, {"all": result.cat_ids})["all"]
    assert all_cats == pytest.approx(result.stats, abs=1e-12)


def test_groups_from_a_field_of_the_categories(case, tmp_path):
    gt = json.loads((case / "gt.json").read_text())
    for category in gt["categories"]:
        category["partition"] = "base" if category["id"] in (15, 36) else "novel"
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))
    groups = read_category_groups("partition", path, [15, 36, 40, 90], "--category-groups")
    assert {k: sorted(v) for k, v in groups.items()} == {"base": [15, 36], "novel": [40, 90]}
    out = tmp_path / "stats.json"
    args = ["eval", "--gt", str(path), "--results", str(case / "results.json")]
    assert main([*args, "--category-groups", "partition", "--out", str(out)]) == 1  # dropped
    written = json.loads(out.read_text())
    assert list(written["groups"]) == ["base", "novel"]
    result = evaluate_files(path, case / "results.json")
    assert written["groups"] == group_stats(result, groups)
    assert {k: written[k] for k in STAT_NAMES} == result.stats


def test_the_console_shows_every_line_per_group_beside_the_overall(case, tmp_path, capsys):
    groups = tmp_path / "groups.json"
    groups.write_text(json.dumps({"base": [15, 36], "novel": [40]}))
    args = ["eval", "--gt", str(case / "gt.json"), "--results", str(case / "results.json")]
    assert main([*args, "--category-groups", str(groups), "--allow-dropped"]) == 0
    out = capsys.readouterr().out
    assert "| all (%)" in out and "| base (%)" in out and "| novel (%)" in out
    assert all(f"| {name} " in out for name in STAT_NAMES)


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ({"base": [15, 777]}, "777"),
        ({"base": "15"}, "list of integer category ids"),
        ([15, 36], "JSON object mapping"),
    ],
)
def test_malformed_groups_are_named(case, tmp_path, groups, message):
    path = tmp_path / "groups.json"
    path.write_text(json.dumps(groups))
    with pytest.raises(InputError, match=message):
        read_category_groups(str(path), case / "gt.json", [15, 36, 40, 90], "--category-groups")


def test_a_missing_field_names_the_category(case):
    with pytest.raises(InputError, match=r"categories\[0\].*no field 'partition'"):
        read_category_groups("partition", case / "gt.json", [15], "--category-groups")
