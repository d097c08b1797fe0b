"""Sweeps: cells expand as configured, each runs in its own worker, failures of every kind are
recorded and the sweep goes on, interrupted sweeps resume, runs of different datasets never mix."""

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
from tests.helpers.quick_rounds import QUICK_ROUNDS
from vis_bench.config import parse_config
from vis_bench.errors import InputError
from vis_bench.records.store import read_records
from vis_bench.sweep import expand_cells, resolve_methods, run_sweep, sweep_records
from vis_bench.sweep.rounds import PENDING_FILE

REPO_ROOT = Path(__file__).resolve().parents[1]
QUIET = {"log": lambda s: None}


def config(methods=None, measure=None, **sweep):
    return parse_config(
        {
            "name": "t",
            "dataset": {"kind": "synthetic"},
            "methods": methods
            or [{"name": "toy"}, {"name": "toy", "options": {"fail_build": True}}],
            "sweep": {"clip_length": ["all", 4], **sweep},
            "measure": {"warmup": 0, "repeats": 1, **QUICK_ROUNDS, **(measure or {})},
        }
    )


def cells_of(cfg):
    return expand_cells(cfg, resolve_methods(cfg))


def test_expand_cells_products_schedule_pairs_and_resolved_strides():
    cells = cells_of(config(stride=[None, 2, 4]))
    # "all" keeps one cell with no stride; a null stride is resolved to ceil(T/2), so it is the
    # same cell as S=2
    assert [(c.clip_length, c.stride) for c in cells[:3]] == [("all", None), (4, 2), (4, 4)]
    assert len(cells) == 6
    # T=4 with S=5 would skip frames: refused when the config is read, as predict refuses it
    with pytest.raises(InputError, match=r"sweep\.stride.*stride 5 is longer than clip length 4"):
        config(stride=[None, 5])
    pairs = cells_of(config(clip_schedule=[[5, 3], [10, 5]]))
    assert [(c.clip_length, c.stride) for c in pairs[:2]] == [(5, 3), (10, 5)]
    assert pairs[0].label() == "toy T=5 S=3 cpu fp32"


def test_a_scalar_is_accepted_where_a_list_is_expected():
    cfg = config(clip_length=5, resolution=64)
    assert cfg.sweep.clip_length == [5] and cfg.sweep.resolution == [64]


@pytest.mark.slow
def test_failing_cell_is_recorded_and_sweep_goes_on(tmp_path):
    cfg = config()
    records = run_sweep(cfg, MemorySource(), tmp_path, **QUIET)
    statuses = [r["status"] for r in records]
    assert statuses == ["ok", "ok", "failed", "failed"]
    assert "toy method asked to fail" in records[2]["error"]
    # a failed cell's record says which code it ran, as a finished one does
    assert records[2]["provenance"]["commit"] == records[0]["provenance"]["commit"]
    ok = records[0]
    assert ok["num_videos"] == 2 and ok["num_frames"] == 15
    assert ok["fps_end_to_end"] > 0 and ok["fps_model"] > 0
    assert ok["isolated"] is True
    assert "random weights" in ok["notes"] and "test-only toy method" in ok["notes"]
    results = json.loads(Path(ok["results_path"]).read_text())
    assert {r["video_id"] for r in results} == {1, 2}
    assert all(len(r["segmentations"]) == {1: 6, 2: 9}[r["video_id"]] for r in results)
    # rerun: the two finished cells are skipped, the failed ones retried
    again = run_sweep(cfg, MemorySource(), tmp_path, **QUIET)
    assert [r["status"] for r in again] == ["failed", "failed"]
    assert len(read_records(tmp_path)) == 6
    # the report shows each cell once, with its latest record
    latest = sweep_records(cfg, resolve_methods(cfg), MemorySource().dataset_id, tmp_path)
    assert [r["status"] for r in latest] == ["ok", "ok", "failed", "failed"]
    assert [r["key"] for r in latest] == [r["key"] for r in records]


@pytest.mark.slow
def test_records_carry_what_ran_and_the_run_folder_can_be_read_back(tmp_path):
    records = run_sweep(config(methods=[{"name": "toy"}]), MemorySource(), tmp_path, **QUIET)
    record = records[0]
    assert record["execution"]["dtype"] == "fp32" and record["execution"]["device"] == "cpu"
    assert record["execution"]["threads"] >= 1
    # the toy runs no deformable attention, so its plugin reports nothing about a core
    assert "deform_attn_core" not in record["execution"]
    provenance = record["provenance"]  # the code state the worker ran, and the command
    assert {"commit", "dirty", "diff_sha256", "command", "load_before", "load_after"} <= set(
        provenance
    )
    assert record["load"]["threads"] >= 1 and "loaded" in record["load"]
    assert record["dataset_label"] == "memory (2 videos)"
    config_file = tmp_path / "configs" / f"{record['config_hash']}.yaml"
    assert config_file.is_file() and "name: t" in config_file.read_text()
    index = json.loads((tmp_path / "cells" / "index.json").read_text())
    assert index[record["key"]]["label"] == "toy T=all cpu fp32"
    assert Path(record["results_path"]).parent.name == index[record["key"]]["folder"]


@pytest.mark.slow
def test_peak_memory_is_each_cells_own(tmp_path):
    """A cheap cell after an expensive one reports its own, smaller peak."""
    cfg = config(
        methods=[{"name": "toy", "options": {"ballast_mb": 400}}, {"name": "toy"}],
        clip_length=["all"],
    )
    big, small = run_sweep(cfg, MemorySource(), tmp_path, **QUIET)
    assert big["status"] == small["status"] == "ok"
    assert big["peak_rss_mb"] > small["peak_rss_mb"] + 300
    assert big["rss_after_build_mb"] > small["rss_after_build_mb"] + 300
    assert small["activation_peak_mb"] is not None and small["activation_peak_mb"] >= 0


MISBEHAVIOURS = [
    ("raise", "RuntimeError: toy method broke mid-clip"),
    ("allocate", "can't allocate memory"),
    ("exit", "the worker exited with code 3 before reporting a result"),
    # the toy kills itself: the OOM-kill counters do not move, so it is not called out of memory
    ("kill", "killed by signal 9"),
]


def test_every_way_a_cell_can_die_is_recorded_and_the_sweep_goes_on(tmp_path):
    methods = [{"name": "toy", "options": {"misbehave": m}} for m, _ in MISBEHAVIOURS]
    cfg = config(methods=[*methods, {"name": "toy"}], clip_length=["all"])
    records = run_sweep(cfg, MemorySource(), tmp_path, **QUIET)
    assert [r["status"] for r in records] == ["failed"] * 4 + ["ok"]
    for record, (_, reason) in zip(records, MISBEHAVIOURS, strict=False):
        assert reason in record["error"], record["error"]


@pytest.mark.slow
def test_a_cell_running_past_its_timeout_is_stopped(tmp_path):
    cfg = config(
        methods=[{"name": "toy", "options": {"misbehave": "hang"}}, {"name": "toy"}],
        clip_length=["all"],
        measure={"cell_timeout_s": 3},
    )
    hung, fine = run_sweep(cfg, MemorySource(), tmp_path, **QUIET)
    assert hung["status"] == "failed" and hung["error"] == "timed out after 3 s"
    assert fine["status"] == "ok"


@pytest.mark.slow
def test_in_process_mode_gives_the_same_predictions(tmp_path):
    cfg = config(methods=[{"name": "toy"}], clip_length=[4])
    (isolated,) = run_sweep(cfg, MemorySource(), tmp_path / "a", **QUIET)
    (inline,) = run_sweep(cfg, MemorySource(), tmp_path / "b", isolate=False, **QUIET)
    assert inline["isolated"] is False
    for record in (isolated, inline):
        record["predictions"] = json.loads(Path(record["results_path"]).read_text())
    assert isolated["predictions"] == inline["predictions"]


def test_a_run_folder_belongs_to_one_dataset(tmp_path):
    cfg = config(methods=[{"name": "toy"}], clip_length=["all"])
    run_sweep(cfg, MemorySource(lengths=(6, 9)), tmp_path, **QUIET)
    with pytest.raises(InputError) as err:
        run_sweep(cfg, MemorySource(lengths=(6,)), tmp_path, **QUIET)
    message = str(err.value)
    assert "videos 2 -> 1" in message and "--run-dir" in message


def test_the_report_leaves_out_cells_the_config_no_longer_has(tmp_path):
    run_sweep(config(), MemorySource(), tmp_path, **QUIET)
    narrower = config()
    narrower.sweep.clip_length = ["all"]
    shown = sweep_records(narrower, resolve_methods(narrower), MemorySource().dataset_id, tmp_path)
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
        "measure": {{"warmup": 0, "repeats": 1, "flops": False, "precision": 0,
                     "round_seconds": 0, "bootstrap": 0}},
    }})
    if __name__ == "__main__":
        run_sweep(cfg, MemorySource(lengths=(4,)), {run_dir!r}, log=print)
    """
)


def _kill_when(process: subprocess.Popen, ready) -> None:
    """SIGKILL `process` once `ready()` holds (as long as a loaded machine needs: the state on
    disk, not the clock, decides when)."""
    deadline = time.monotonic() + 300
    while not ready() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


def _pending(run_dir: Path) -> list[Path]:
    return sorted(run_dir.glob(f"cells/*/{PENDING_FILE}"))


@pytest.mark.slow
def test_killed_sweep_resumes_with_the_same_records(tmp_path):
    run_dir = tmp_path / "run"
    script = tmp_path / "sweep.py"
    script.write_text(SWEEP_SCRIPT.format(root=str(REPO_ROOT), run_dir=str(run_dir)))
    env = {**os.environ, "VIS_BENCH_TOY_SLEEP": "0.3"}
    # killed during the accuracy passes: the cells done so far wait for their rounds on disk
    slow = subprocess.Popen([sys.executable, str(script)], cwd=REPO_ROOT, env=env)
    _kill_when(slow, lambda: len(_pending(run_dir)) >= 2)
    waiting = _pending(run_dir)
    assert 2 <= len(waiting) < 4 and not read_records(run_dir)
    predicted = {path.parent: (path.parent / "results.json").stat().st_mtime_ns for path in waiting}
    subprocess.run([sys.executable, str(script)], cwd=REPO_ROOT, check=True)
    records = read_records(run_dir)
    assert len(records) == 4
    assert sorted(str(r["clip_length"]) for r in records) == ["2", "3", "4", "all"]
    assert all(r["status"] == "ok" and r["speed"]["rounds_timed"] == 3 for r in records)
    assert len({r["key"] for r in records}) == 4
    assert not _pending(run_dir)  # each cell recorded once, its accuracy pass then let go
    # the accuracy passes done before the kill were not done again
    for folder, mtime in predicted.items():
        assert (folder / "results.json").stat().st_mtime_ns == mtime
    # a rerun of the finished run has nothing left to do: the records are unchanged
    subprocess.run([sys.executable, str(script)], cwd=REPO_ROOT, check=True)
    assert read_records(run_dir) == records


def test_a_checkpoint_replaced_under_the_same_path_makes_its_cells_unfinished(tmp_path):
    import torch

    weights = tmp_path / "model.pth"
    torch.save(torch.nn.Conv2d(3, 1, 1).state_dict(), weights)
    cfg = parse_config(
        {
            "name": "t",
            "dataset": {"kind": "synthetic"},
            "methods": [{"name": "toy", "checkpoint": str(weights)}],
        }
    )
    (cell,) = cells_of(cfg)
    before = cell.key("data")
    assert cell.key("data") == before  # stable while the file stays
    torch.save(torch.nn.Conv2d(3, 1, 1).state_dict(), weights)
    os.utime(weights, ns=(1, 1))
    assert cell.key("data") != before


def test_a_sigkill_is_out_of_memory_only_when_the_oom_kill_count_rose(tmp_path):
    from vis_bench.sweep import oom_kills
    from vis_bench.sweep.isolation import describe_exit

    events = tmp_path / "memory.events"
    events.write_text("low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n")
    before = ("memory.events", oom_kills._counter(events))
    assert before == ("memory.events", 1)
    assert describe_exit(-9, before, ("memory.events", 2)).startswith("out of memory")
    unchanged = describe_exit(-9, before, before)
    assert "not by the OOM killer" in unchanged and "out of memory" not in unchanged
    unknown = describe_exit(-9, None, None)
    assert "check dmesg" in unknown and not unknown.startswith("out of memory")
    assert describe_exit(-11).startswith("crashed (killed by signal 11, SIGSEGV)")
    assert oom_kills._counter(tmp_path / "absent") is None
