"""`eval --bootstrap/--per-video` and `compare` on the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers.vis_cases import make_gt, predict, public
from vis_bench.cli import main
from vis_bench.eval.metric.params import STAT_NAMES


@pytest.fixture
def files(tmp_path):
    gt = make_gt(n_videos=20, seed=9)
    good, worse = predict(gt, seed=1, jitter=0), predict(gt, seed=1, jitter=3, miss=0.2)
    paths = {}
    for name, data in (("gt", public(gt)), ("good", good), ("worse", worse)):
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(data))
    return paths


def _eval(files, tmp_path, *extra, name="stats.json"):
    out = tmp_path / name
    argv = ["eval", "--gt", str(files["gt"]), "--results", str(files["worse"]), "--out", str(out)]
    assert main([*argv, *extra]) == 0
    return json.loads(out.read_text())


def test_bootstrap_adds_intervals_and_keeps_the_official_numbers(files, tmp_path, capsys):
    plain = _eval(files, tmp_path, name="plain.json")
    boot = _eval(files, tmp_path, "--bootstrap", "100", "--seed", "3")
    again = _eval(files, tmp_path, "--bootstrap", "100", "--seed", "3", name="again.json")
    assert {k: boot[k] for k in STAT_NAMES} == plain
    for name in ("AP", "AP50", "AP75", "AR10"):
        low, high = boot[f"{name}_ci"]
        assert low <= boot[name] <= high
    assert boot == again
    assert boot["bootstrap"] == {
        "replicates": 100,
        "seed": 3,
        "confidence": 0.95,
        "unit": "video",
        "method": "percentile",
    }
    assert "95% interval" in capsys.readouterr().out


def test_per_video_file_has_videos_tracks_and_identity(files, tmp_path):
    out = tmp_path / "per_video.json"
    argv = ["eval", "--gt", str(files["gt"]), "--results", str(files["worse"])]
    assert main([*argv, "--per-video", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["summary"]["videos"] == len(report["videos"]) == 20
    assert report["summary"]["tracks"] == len(report["tracks"])
    video = report["videos"][0]
    assert {"video_id", "frames", "AP", "AP50", "AP75", "AR10", "identity_switches"} <= set(video)
    track = report["tracks"][0]
    for key in ("best_iou", "matched_category", "identity_switches", "fragmentations"):
        assert key in track
    if report["tracking"] is not None:  # with the optional trackeval package
        assert set(report["tracking"]) == {"class_averaged", "detection_averaged"}


def test_compare_finds_a_real_difference(files, tmp_path, capsys):
    out = tmp_path / "cmp.json"
    argv = ["compare", "--gt", str(files["gt"]), "--a", str(files["good"])]
    assert main([*argv, "--b", str(files["worse"]), "--bootstrap", "200", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["metrics"]["AP"]["difference"] > 0
    assert result["metrics"]["AP"]["excludes_zero"] is True
    assert result["bootstrap"]["paired"] is True
    assert "excludes 0" in capsys.readouterr().out


def test_compare_of_a_file_with_itself_is_not_significant(files, capsys):
    argv = ["compare", "--gt", str(files["gt"]), "--a", str(files["good"])]
    assert main([*argv, "--b", str(files["good"]), "--bootstrap", "50"]) == 0
    assert "yes" not in capsys.readouterr().out


def test_statistics_commands_import_neither_torch_nor_pandas():
    code = (
        "import sys\n"
        "import vis_bench.commands.eval, vis_bench.commands.compare, vis_bench.commands.split\n"
        "bad = [m for m in ('torch', 'pandas') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
