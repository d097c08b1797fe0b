"""What the official evaluators score without a word is said: exact duplicate predictions (eval and
validate), scores outside [0, 1] (eval, as validate already did), masks of another size than their
video (once, with the sizes, counted as dropped predictions are), and what `n/a` means."""

from __future__ import annotations

import json
import re

import pytest

from vis_bench.cli import main
from vis_bench.eval.api import evaluate_files
from vis_bench.eval.metric.result_checks import duplicate_pairs


@pytest.fixture()
def case(golden_dir):
    return golden_dir / "ytvis_eval" / "public" / "case_01"


def _write(tmp_path, name, results):
    path = tmp_path / name
    path.write_text(json.dumps(results))
    return path


def _known(case) -> list[dict]:
    """The case's predictions of categories its ground truth lists (none dropped)."""
    known = {c["id"] for c in json.loads((case / "gt.json").read_text())["categories"]}
    return [r for r in json.loads((case / "results.json").read_text()) if r["category_id"] in known]


def test_duplicated_predictions_are_warned_in_eval_and_validate(case, tmp_path, capsys):
    results = _known(case)
    doubled = _write(tmp_path, "doubled.json", results + results)
    once = evaluate_files(case / "gt.json", _write(tmp_path, "once.json", results))
    twice = evaluate_files(case / "gt.json", doubled)
    assert twice.stats["AP"] < once.stats["AP"]  # the official number, which copies lower
    assert main(["eval", "--gt", str(case / "gt.json"), "--results", str(doubled)]) == 0
    err = capsys.readouterr().err
    n = len(results)
    assert f"{n} of {2 * n} predictions are exact duplicates of an earlier one" in err
    assert f"result {n} = result 0" in err
    assert main(["validate", "--gt", str(case / "gt.json"), str(doubled)]) == 0
    out = capsys.readouterr().out
    assert f"result {n}, video_id {results[0]['video_id']}: an exact duplicate of result 0" in out
    assert f"0 errors, {n} warnings" in out
    assert main(["validate", "--gt", str(case / "gt.json"), str(doubled), "--strict"]) == 1
    capsys.readouterr()
    # the same masks under another category, or another mask, are no duplicates
    other = [{**r, "category_id": r["category_id"] + 1000} for r in results[:1]]
    assert (
        duplicate_pairs(
            [(r["video_id"], r["category_id"], r["segmentations"]) for r in results + other]
        )
        == []
    )


def test_scores_outside_zero_to_one_are_warned_in_eval(case, tmp_path, capsys):
    results = _known(case)
    for r in results:
        r["score"] = 3 * r["score"] - 1  # logits, say
    path = _write(tmp_path, "logits.json", results)
    assert main(["eval", "--gt", str(case / "gt.json"), "--results", str(path)]) == 0
    err = capsys.readouterr().err
    assert "predictions have a score outside [0, 1]" in err and "logit" in err


def test_masks_of_another_size_are_said_once_with_the_sizes_and_counted(case, tmp_path, capsys):
    results = _known(case)
    for r in results:
        for seg in r["segmentations"]:
            if seg:
                seg["size"] = [2 * seg["size"][0], 2 * seg["size"][1]]
    path = _write(tmp_path, "big.json", results)
    argv = ["eval", "--gt", str(case / "gt.json"), "--results", str(path)]
    assert main(argv) == 1  # a failed check, as for predictions the metric drops
    err = capsys.readouterr().err
    line = next(x for x in err.splitlines() if "masks of another size" in x)
    assert f"{len(results)} of {len(results)} predictions have masks of another size" in line
    assert "masks 60x80 in 30x40 videos" in line  # which sizes: height x width
    assert "may not match" not in err  # no warning per (video, category) pair
    assert main([*argv, "--allow-dropped"]) == 0
    capsys.readouterr()


def test_not_available_is_explained_under_the_table(case, capsys):
    argv = ["eval", "--gt", str(case / "gt.json"), "--results", str(case / "results.json")]
    main([*argv, "--allow-dropped", "--per-category"])
    out = capsys.readouterr().out
    assert re.search(r"^\| APl +\| +n/a +\|$", out, re.M)  # the row itself says n/a
    assert "n/a (APm, APl, ARm, ARl): no ground-truth track in that range" in out
    assert "up to 128x128 pixels" in out
