"""Sweeps: cells expand as configured, failures are recorded, interrupted sweeps resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import tests.helpers.toy_method  # noqa: F401  (registers the "toy" method)
from tests.helpers.memory_source import MemorySource
from vis_bench.config import parse_config
from vis_bench.report.records import read_records
from vis_bench.sweep import expand_cells, run_sweep, sweep_records

REPO_ROOT = Path(__file__).resolve().parents[1]


def config(**sweep):
    return parse_config(
        {
            "name": "t",
            "dataset": {"kind": "synthetic"},
            "methods": [{"name": "toy"}, {"name": "toy", "options": {"fail_build": True}}],
            "sweep": {"clip_length": ["all", 4], **sweep},
            "measure": {"warmup": 0, "repeats": 1},
        }
    )


def test_expand_cells_products_and_schedule_pairs():
    cells = expand_cells(config(stride=[None, 2, 5]))
    # "all" keeps one cell; T=4 with S=5 would skip frames and is left out
    assert [(c.clip_length, c.stride) for c in cells[:3]] == [("all", None), (4, None), (4, 2)]
    assert len(cells) == 6
    pairs = expand_cells(config(clip_schedule=[[5, 3], [10, 5]]))
    assert [(c.clip_length, c.stride) for c in pairs[:2]] == [(5, 3), (10, 5)]


def test_failing_cell_is_recorded_and_sweep_goes_on(tmp_path):
    cfg = config()
    records = run_sweep(cfg, MemorySource(), None, "mem", tmp_path, log=lambda s: None)
    statuses = [r["status"] for r in records]
    assert statuses == ["ok", "ok", "failed", "failed"]
    assert "toy method asked to fail" in records[2]["error"]
    ok = records[0]
    assert ok["num_videos"] == 2 and ok["num_frames"] == 15
    assert ok["fps_end_to_end"] > 0 and ok["fps_model"] > 0
    assert "random weights" in ok["notes"] and "test-only toy method" in ok["notes"]
    results = json.loads(Path(ok["results_path"]).read_text())
    assert {r["video_id"] for r in results} == {1, 2}
    assert all(len(r["segmentations"]) == {1: 6, 2: 9}[r["video_id"]] for r in results)
    # rerun: the two finished cells are skipped, the failed ones retried
    again = run_sweep(cfg, MemorySource(), None, "mem", tmp_path, log=lambda s: None)
    assert [r["status"] for r in again] == ["failed", "failed"]
    assert len(read_records(tmp_path)) == 6
    # the report shows each cell once, with its latest record
    latest = sweep_records(cfg, "mem", tmp_path)
    assert [r["status"] for r in latest] == ["ok", "ok", "failed", "failed"]
    assert [r["key"] for r in latest] == [r["key"] for r in records]


def test_the_report_leaves_out_cells_the_config_no_longer_has(tmp_path):
    run_sweep(config(), MemorySource(), None, "mem", tmp_path, log=lambda s: None)
    narrower = config()
    narrower.sweep.clip_length = ["all"]
    shown = sweep_records(narrower, "mem", tmp_path)
    assert [(r["method"], r["clip_length"]) for r in shown] == [("toy", "all"), ("toy", "all")]
    assert len(read_records(tmp_path)) == 4


SWEEP_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    import tests.helpers.toy_method
    from tests.helpers.memory_source import MemorySource
    from vis_bench.config import parse_config
    from vis_bench.sweep import run_sweep

    cfg = parse_config({{
        "name": "t",
        "dataset": {{"kind": "synthetic"}},
        "methods": [{{"name": "toy"}}],
        "sweep": {{"clip_length": ["all", 2, 3, 4]}},
        "measure": {{"warmup": 0, "repeats": 1, "flops": False}},
    }})
    run_sweep(cfg, MemorySource(lengths=(4,)), None, "mem", {run_dir!r}, log=print)
    """
)


@pytest.mark.slow
def test_killed_sweep_resumes_with_the_same_records(tmp_path):
    run_dir = tmp_path / "run"
    script = tmp_path / "sweep.py"
    script.write_text(SWEEP_SCRIPT.format(root=str(REPO_ROOT), run_dir=str(run_dir)))
    env = {**os.environ, "VIS_BENCH_TOY_SLEEP": "0.3"}
    slow = subprocess.Popen([sys.executable, str(script)], cwd=REPO_ROOT, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:  # wait until at least one cell is recorded, then kill
        if len(read_records(run_dir)) >= 1:
            break
        time.sleep(0.05)
    os.kill(slow.pid, signal.SIGKILL)
    slow.wait()
    partial = read_records(run_dir)
    assert 1 <= len(partial) < 4, "the sweep should have been killed mid-way"
    subprocess.run([sys.executable, str(script)], cwd=REPO_ROOT, check=True)
    records = read_records(run_dir)
    assert len(records) == 4
    assert sorted(str(r["clip_length"]) for r in records) == ["2", "3", "4", "all"]
    assert all(r["status"] == "ok" for r in records)
    assert len({r["key"] for r in records}) == 4
    # finished cells were not redone: their lines are unchanged
    assert records[: len(partial)] == partial


def test_a_checkpoint_replaced_under_the_same_path_makes_its_cells_unfinished(tmp_path):
    weights = tmp_path / "model.pth"
    weights.write_bytes(b"first weights")
    cfg = parse_config(
        {"name": "t", "dataset": {"kind": "synthetic"}, "methods": [{"name": "toy"}]}
    )
    cfg.methods[0].checkpoint = str(weights)
    (cell,) = expand_cells(cfg)
    before = cell.key("data")
    assert cell.key("data") == before  # stable while the file stays
    weights.write_bytes(b"retrained weights")
    os.utime(weights, ns=(1, 1))
    assert cell.key("data") != before
