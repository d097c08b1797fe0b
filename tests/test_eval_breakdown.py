"""`eval --breakdown length`: each bucket is the official metric on a pair filtered to its videos."""

from __future__ import annotations

import json

import pytest

from tests.helpers.vis_cases import make_gt, predict, public
from vis_bench.cli import main
from vis_bench.errors import InputError
from vis_bench.eval.api import evaluate_files
from vis_bench.eval.metric.loading import ground_truth_from_dict, results_from_list
from vis_bench.eval.metric.params import STAT_NAMES
from vis_bench.eval.stats.breakdown import (
    length_breakdown,
    length_buckets,
    parse_edges,
    videos_by_bucket,
)


@pytest.fixture
def case(tmp_path):
    gt = make_gt(n_videos=16, seed=11, lengths=(3, 12))
    res = predict(gt, seed=3, jitter=2, miss=0.2, false_positives=0.6)
    gt_path, res_path = tmp_path / "gt.json", tmp_path / "res.json"
    gt_path.write_text(json.dumps(public(gt)))
    res_path.write_text(json.dumps(res))
    return gt, res, gt_path, res_path


def _filtered_files(tmp_path, gt, res, videos, name):
    keep = set(videos)
    gt_f = {
        **public(gt),
        "videos": [v for v in gt["videos"] if v["id"] in keep],
        "annotations": [a for a in gt["annotations"] if a["video_id"] in keep],
    }
    (tmp_path / f"{name}_gt.json").write_text(json.dumps(gt_f))
    (tmp_path / f"{name}_res.json").write_text(
        json.dumps([r for r in res if r["video_id"] in keep])
    )
    return tmp_path / f"{name}_gt.json", tmp_path / f"{name}_res.json"


def test_each_bucket_equals_scoring_the_filtered_files(case, tmp_path):
    gt, res, _, _ = case
    loaded = ground_truth_from_dict(public(gt))
    table = length_breakdown(loaded, results_from_list(res, loaded), parse_edges("5,8"))
    assert list(table) == ["1-5", "6-8", "9+"]
    groups = videos_by_bucket(loaded, length_buckets((5, 8)))
    assert sum(entry["videos"] for entry in table.values()) == 16
    for label, entry in table.items():
        assert entry["videos"] == len(groups[label]) > 0
        expected = evaluate_files(*_filtered_files(tmp_path, gt, res, groups[label], label))
        for name in STAT_NAMES:
            assert entry[name] == pytest.approx(expected.stats[name], abs=1e-12), (label, name)


def test_default_buckets_are_short_and_long_at_36_frames():
    gt = make_gt(n_videos=6, seed=2, lengths=(30, 42))
    loaded = ground_truth_from_dict(public(gt))
    groups = videos_by_bucket(loaded, length_buckets())
    lengths = {v["id"]: v["length"] for v in gt["videos"]}
    assert set(groups) == {"short", "long"}
    assert all(lengths[v] <= 36 for v in groups["short"])
    assert all(lengths[v] > 36 for v in groups["long"])
    assert sorted(groups["short"] + groups["long"]) == sorted(lengths)


@pytest.mark.parametrize("text", ["", "36,20", "0", "a,b", "10,10"])
def test_bad_edges_are_rejected(text):
    with pytest.raises(InputError, match="length-buckets"):
        parse_edges(text)


def test_videos_without_length_are_named():
    gt = public(make_gt(n_videos=2, seed=1))
    for video in gt["videos"]:
        del video["length"], video["file_names"]
    with pytest.raises(InputError, match="neither 'length' nor 'file_names'"):
        videos_by_bucket(ground_truth_from_dict(gt), length_buckets())


def test_eval_command_writes_buckets_beside_the_stats(case, tmp_path, capsys):
    _, _, gt_path, res_path = case
    out = tmp_path / "stats.json"
    argv = ["eval", "--gt", str(gt_path), "--results", str(res_path), "--out", str(out)]
    assert main([*argv, "--breakdown", "length", "--length-buckets", "6"]) == 0
    stats = json.loads(out.read_text())
    assert list(stats)[:12] == list(STAT_NAMES)
    assert set(stats["length"]) == {"1-6", "7+"}
    assert stats["length"]["7+"]["videos"] + stats["length"]["1-6"]["videos"] == 16
    assert "length bucket" in capsys.readouterr().out
