"""AP regression: the shipped baseline reproduces, a broken model fails, comparisons are right."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers.scored_records import ScoredCells
from tests.helpers.vis_cases import make_gt, predict
from vis_bench.cli import main
from vis_bench.commands import regress
from vis_bench.config import parse_config
from vis_bench.errors import InputError
from vis_bench.eval.stats.resample import WeightedAccumulator
from vis_bench.eval.stats.video_matches import VideoMatches
from vis_bench.formats.checkpoints import resolve_checkpoint
from vis_bench.hashing import file_sha256
from vis_bench.report.baseline import (
    NO_INTERVAL,
    Baseline,
    Tolerance,
    attach_video_matches,
    changed_checkpoints,
    compare,
    read_baseline,
    write_baseline,
)

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "results" / "baselines" / "synthetic.json"
CELL = {
    "method": "m",
    "checkpoint": "m.pth",
    "options": {},
    "clip_length": "all",
    "stride": None,
    "resolution": 128,
    "device": "cpu",
    "dtype": "fp32",
}


def _config():
    return parse_config({"name": "b", "dataset": {"kind": "synthetic"}, "methods": ["ifc"]})


def _baseline(metrics: dict, **extra) -> Baseline:
    return Baseline("b.json", _config(), [{**CELL, "metrics": metrics, **extra}], {})


def test_compare_gates_ap_drops_beyond_the_tolerance_only():
    base = _baseline({"AP": 0.500, "AP50": 0.800, "AR1": 0.400})
    within = compare(base, [{**CELL, "status": "ok", "AP": 0.4975, "AP50": 0.81, "AR1": 0.1}], 0.3)
    assert within.regressions == [] and within.missing == []
    assert set(within.table["metric"]) == {"AP", "AP50", "AR1"}  # AR is shown, not gated
    row = within.table.set_index("metric").loc["AP"]
    assert row["baseline"] == pytest.approx(50.0) and row["delta"] == pytest.approx(-0.25)
    beyond = compare(base, [{**CELL, "status": "ok", "AP": 0.496, "AP50": 0.8, "AR1": 0.4}], 0.3)
    assert len(beyond.regressions) == 1 and beyond.regressions[0].startswith("m T=all AP:")


def test_changed_checkpoints_compares_the_files_the_config_still_names(tmp_path):
    kept, cut, gone = (tmp_path / f"{name}.pth" for name in ("kept", "cut", "gone"))
    for path in (kept, cut):
        path.write_bytes(path.stem.encode())
    config = parse_config(
        {
            "name": "b",
            "dataset": {"kind": "synthetic"},
            "methods": [
                {"name": "ifc", "checkpoint": str(kept)},
                {"name": "seqformer", "checkpoint": str(gone)},
            ],
        }
    )
    recorded = {str(kept): file_sha256(kept), str(cut): "c" * 64, str(gone): "d" * 64}
    baseline = Baseline("b.json", config, [], {"checkpoints": recorded})
    # the unchanged file passes; the file the cut-down config no longer runs is not compared
    assert changed_checkpoints(baseline) == [f"{gone}: {'d' * 12} -> missing"]
    kept.write_bytes(b"trained again")
    changed = f"{kept}: {recorded[str(kept)][:12]} -> {file_sha256(kept)[:12]}"
    assert changed_checkpoints(baseline) == [f"{gone}: {'d' * 12} -> missing", changed]


def test_compare_reports_failed_and_missing_cells():
    base = _baseline({"AP": 0.5})
    failed = compare(base, [{**CELL, "status": "failed", "error": "boom"}], 0.3)
    assert failed.missing == ["m T=all: boom"]
    assert compare(base, [], 0.3).missing == ["m T=all: did not run"]


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """30 videos; the baseline's predictions, a rerun that differs by noise only (AP 2.8 points
    lower, its paired interval containing 0) and a broken one (AP 38 points lower)."""
    gt = make_gt(n_videos=30, seed=4)
    cells = ScoredCells(tmp_path_factory.mktemp("regress"), gt, replicates=200)
    made = {
        name: attach_video_matches([{**cells.record(name, results), **CELL}])[0]
        for name, results in (
            ("base", predict(gt, seed=1, jitter=1)),
            ("noise", predict(gt, seed=2, jitter=1)),
            ("broken", predict(gt, seed=1, jitter=3, miss=0.3)),
        )
    }
    return made


def _auto(replicates=200):
    return Tolerance(auto=True, replicates=replicates, seed=0)


def test_auto_fails_only_drops_whose_paired_interval_lies_below_zero(scored, tmp_path):
    base = scored["base"]
    write_baseline(tmp_path / "b.json", _config(), [base])
    baseline = read_baseline(tmp_path / "b.json")
    assert baseline.cells[0]["video_matches"] == base["video_matches"]
    noise = scored["noise"]
    assert 100 * (base["AP"] - noise["AP"]) > 0.3  # a fixed 0.3 points calls noise a regression
    assert compare(baseline, [noise], 0.3).regressions
    within = compare(baseline, [noise], _auto())
    assert within.regressions == [] and within.notes == []
    rows = within.table.set_index("metric")
    low, high = _interval(rows.loc["AP", "gate"])
    assert low < 0 < high and rows.loc["AP", "delta"] < -0.3  # the videos disagree on the drop
    # APs has no paired interval: under auto it is shown, and said not to be gated
    assert rows.loc["APs", "status"] == "not gated" and rows.loc["APs", "gate"] == "-"
    assert within.coverage_lines()[0].endswith(": AP, AP50, AP75")
    assert any(line.startswith("not gated (no paired interval") for line in within.coverage_lines())
    broken = compare(baseline, [scored["broken"]], _auto())
    assert broken.regressions[0].startswith("m T=all AP: ")
    assert "lies below 0" in broken.regressions[0]


def _interval(text: str) -> tuple[float, float]:
    """`[-1.20, +0.30]` -> (-1.2, 0.3)."""
    low, high = text.strip("[]").split(", ")
    return float(low), float(high)


def _matches(tracks: list[int], quality: list[list[int]]) -> VideoMatches:
    """One category; per video `tracks[v]` GT tracks with one result each, result i a true
    positive at the first `quality[v][i]` of the 10 IoU thresholds and a false positive above."""
    rng = np.random.default_rng(0)
    video = np.repeat(np.arange(len(tracks)), tracks)
    rank = np.concatenate([np.arange(n) for n in tracks])
    score = np.concatenate([np.sort(rng.uniform(0.5, 1.0, n))[::-1] for n in tracks])
    passed = np.concatenate([np.asarray(q) for q in quality])
    tp = np.arange(10)[:, None] < passed[None, :]
    return VideoMatches(
        video_ids=np.arange(len(tracks)),
        cat_ids=np.array([1]),
        category=np.zeros(len(video), dtype=np.int64),
        video=video,
        rank=rank,
        score=score,
        tp=tp,
        fp=~tp,
        gt_count=np.array([tracks], dtype=np.int64),
    )


def _cell(matches: VideoMatches, **metrics: float) -> dict:
    """A scored cell of `matches`: its official AP/AP50/AP75 and its matching."""
    stats = WeightedAccumulator(matches).stats(np.ones(matches.n_videos, dtype=np.int64))
    ap = {name: stats[name] for name in ("AP", "AP50", "AP75")}
    return {**CELL, "status": "ok", **ap, **metrics, "video_matches": matches.to_dict()}


@pytest.fixture(scope="module")
def skewed():
    """24 videos: every one of 23 ten-track videos loses one track at IoU 0.95 (a small drop all
    videos agree on) and the 20 tracks of the 24th are all lost. The paired interval of
    now - baseline has a long tail below: resamples drawing the crowded video 2-3 times."""
    tracks = [20] + [10] * 23
    before = _matches(tracks, [[10] * n for n in tracks])
    after = _matches(tracks, [[0] * 20] + [[9] + [10] * 9] * 23)
    return _cell(before, APs=0.8, AP_occ_heavy=0.7), _cell(after, APs=0.2, AP_occ_heavy=0.1)


def test_auto_gates_a_skewed_drop_by_its_interval_not_its_half_width(skewed):
    before, after = skewed
    baseline = _baseline({m: before[m] for m in ("AP", "AP50", "AP75", "APs", "AP_occ_heavy")})
    baseline.cells[0]["video_matches"] = before["video_matches"]
    result = compare(baseline, [after], _auto())
    ap = result.table.set_index("metric").loc["AP"]
    low, high = _interval(ap["gate"])
    assert low < ap["delta"] < high < 0  # the videos agree on a drop...
    assert -ap["delta"] < (high - low) / 2  # ...that the old half-width rule let pass
    assert high - ap["delta"] < ap["delta"] - low  # skewed: the long side is below
    assert ap["status"] == "REGRESSED"
    assert result.regressions[0].startswith("m T=all AP: ")
    assert "paired interval of now - baseline" in result.regressions[0]
    # the drops of APs and of the occlusion AP are large but have no interval: said, not gated
    assert result.coverage == {
        "gated (paired interval of now - baseline lies below 0)": ["AP", "AP50", "AP75"],
        f"not gated ({NO_INTERVAL})": ["APs", "AP_occ_heavy"],
    }
    assert not any("APs" in line or "AP_occ" in line for line in result.regressions)


def test_regress_auto_prints_the_rule_and_what_it_gated(skewed, capsys):
    before, after = skewed
    baseline = _baseline({m: before[m] for m in ("AP", "AP50", "AP75", "APs")})
    baseline.cells[0]["video_matches"] = before["video_matches"]
    config = parse_config(
        {
            "name": "b",
            "dataset": {"kind": "synthetic"},
            "methods": ["ifc"],
            "measure": {"bootstrap": 200},
        }
    )
    args = argparse.Namespace(tolerance="auto", baseline=Path("b.json"))
    assert regress._report(baseline, [after], args, config) == 1
    out = capsys.readouterr().out
    assert "gated (paired interval of now - baseline lies below 0): AP, AP50, AP75" in out
    assert f"not gated ({NO_INTERVAL}): APs" in out
    assert "REGRESSION m T=all AP:" in out and "±" not in out
    fixed = argparse.Namespace(tolerance=0.3, baseline=Path("b.json"))
    assert regress._report(baseline, [after], fixed, config) == 1
    assert "gated (drop > 0.3 points): AP, AP50, AP75, APs" in capsys.readouterr().out


def test_auto_tolerance_of_an_old_baseline_falls_back_with_a_note(scored):
    old = _baseline({"AP": scored["base"]["AP"]})  # written before it kept the matching
    result = compare(old, [scored["noise"]], _auto())
    assert len(result.notes) == 1 and "falls back to the fixed 0.3 points" in result.notes[0]
    assert result.regressions  # judged by the fixed tolerance


def test_baseline_file_keeps_the_matching_on_one_line(scored, tmp_path):
    path = tmp_path / "b.json"
    write_baseline(path, _config(), [scored["base"]])
    lines = path.read_text().splitlines()
    (line,) = [line for line in lines if '"video_matches"' in line]
    assert line.strip().startswith('"video_matches": {"format":"vis-bench-video-matches"')
    assert json.loads(path.read_text())["version"] == 3


def test_tolerance_is_points_or_auto(capsys):
    for bad in ("bogus", "-1"):
        with pytest.raises(SystemExit) as exit_info:
            main(["regress", "--baseline", "b.json", "--tolerance", bad])
        assert exit_info.value.code == 2
    assert "'auto'" in capsys.readouterr().err


def test_a_file_that_is_not_a_baseline_is_refused(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"cells": []}))
    with pytest.raises(InputError, match="not a vis-bench baseline"):
        read_baseline(path)


def test_shipped_baseline_lists_the_shipped_checkpoints():
    baseline = read_baseline(SHIPPED)
    assert {c["method"] for c in baseline.cells} == {
        "seqformer",
        "ifc",
        "mssts",
        "mask2former-vis",
        "minvis",
        "videomt",
        "dvis-plus-online",
        "dvis-plus-offline",
        "dvis-daq-online",
        "dvis-daq-offline",
        "sam3",
    }
    assert baseline.config.measure.threads == 1
    for cell in baseline.cells:
        assert (REPO / cell["checkpoint"]).is_file()
        # every shipped model has learned: untrained weights score AP 0.0 on this split
        # (the AP 30 target is not reached yet; docs/training.md)
        # (SAM 3's tiny model has learned far less so far: docs/methods/sam3_training.md)
        assert cell["metrics"]["AP"] >= (0.01 if cell["method"] == "sam3" else 0.05)
        # what `--tolerance auto` pairs with: the cell's per-video matching on the 24 videos
        assert VideoMatches.from_dict(cell["video_matches"]).n_videos == 24


def test_shipped_checkpoints_are_found_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    found = resolve_checkpoint("results/checkpoints/ifc_tiny.pth")
    assert found == REPO / "results" / "checkpoints" / "ifc_tiny.pth"
    assert resolve_checkpoint("mine.pth") == Path("mine.pth")  # reported missing by the caller
    (tmp_path / "results" / "checkpoints").mkdir(parents=True)
    (tmp_path / "results" / "checkpoints" / "ifc_tiny.pth").write_bytes(b"")
    assert resolve_checkpoint(
        "results/checkpoints/ifc_tiny.pth"
    ).resolve().parent.parent.parent == (
        tmp_path.resolve()
    )  # the working directory's own file wins


@pytest.mark.slow
@pytest.mark.heavy
def test_shipped_baseline_reproduces(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    assert main(["regress", "--baseline", str(SHIPPED), "--tolerance", "auto"]) == 0
    out = capsys.readouterr().out
    assert "no regression" in out and "paired interval of now - baseline lies below 0" in out
    assert "note:" not in out  # every cell paired with the baseline's matching


@pytest.mark.slow
def test_a_zeroed_mask_head_fails_the_regression(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    data = json.loads(SHIPPED.read_text())
    cell = next(c for c in data["cells"] if c["method"] == "ifc")
    checkpoint = torch.load(REPO / cell["checkpoint"], weights_only=True)
    for key, value in checkpoint["state_dict"].items():
        if key.startswith("detr.mask_head."):
            value.zero_()
    broken = tmp_path / "broken.pth"
    torch.save(checkpoint, broken)
    method = next(m for m in data["config"]["methods"] if m["name"] == "ifc")
    method["checkpoint"] = cell["checkpoint"] = str(broken)
    data["config"]["methods"] = [method]
    data["cells"] = [cell]
    # the baseline describes the broken weights' file, so the comparison is not refused
    data["checkpoints"] = {str(broken): file_sha256(broken)}
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(data))
    assert main(["regress", "--baseline", str(path)]) == 1
    assert "REGRESSION ifc T=all AP:" in capsys.readouterr().out


def test_a_baseline_carries_the_provenance_of_its_records(scored, tmp_path):
    block = {"commit": "c" * 40, "dirty": False, "diff_sha256": None, "command": "x"}
    write_baseline(tmp_path / "b.json", _config(), [{**scored["base"], "provenance": block}])
    assert json.loads((tmp_path / "b.json").read_text())["provenance"] == block
