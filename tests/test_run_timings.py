"""Where a run's time goes: each record's phases, the run's sum by phase, run.json's copy."""

from __future__ import annotations

import json
from pathlib import Path

import tests.helpers.toy_method  # noqa: F401  (registers the "toy" method)
from tests.helpers.memory_source import MemorySource
from tests.helpers.quick_rounds import QUICK_ROUNDS
from vis_bench.config import parse_config
from vis_bench.sweep import run_sweep
from vis_bench.sweep.phase_clock import RUN_PHASES, PhaseClock, breakdown_lines, run_breakdown
from vis_bench.sweep.run_dir import save_run_timings


def test_each_record_splits_its_cell_into_phases(tmp_path: Path):
    config = parse_config(
        {
            "name": "timed",
            "dataset": {"kind": "synthetic", "videos": 2},
            "methods": [{"name": "toy"}],
            "sweep": {"clip_length": ["all", 3]},
            "measure": {"warmup": 1, "repeats": 2, "bootstrap": 0, **QUICK_ROUNDS},
        }
    )
    records = run_sweep(config, MemorySource(), tmp_path, isolate=False, log=lambda s: None)
    assert len(records) == 2
    for record in records:
        timings = record["timings"]
        assert {"model_build", "warmup", "inference", "flops", "write"} <= set(timings)
        assert {"single_clip_timing", "worker_start", "scoring", "bootstrap"} <= set(timings)
        assert timings["timed_rounds"] > 0  # the cell's rounds, after every accuracy pass
        assert all(seconds >= 0 for seconds in timings.values())
        assert timings["inference"] <= record["seconds_end_to_end"] + 0.5


def test_the_run_breakdown_sums_the_cells_and_keeps_the_rest_as_other(tmp_path: Path):
    records = [
        {"timings": {"inference": 2.0, "warmup": 1.0, "worker_start": 0.5}},
        {"timings": {"inference": 3.0, "scoring": 0.25}},
    ]
    breakdown = run_breakdown(records, total_s=10.0, data_s=1.0, reports_s=0.5)
    phases = breakdown["phases_s"]
    assert list(phases) == [*RUN_PHASES, "other"]
    assert phases["inference"] == 5.0 and phases["data"] == 1.0 and phases["reports"] == 0.5
    assert phases["other"] == 10.0 - (5.0 + 1.0 + 0.5 + 0.25 + 1.0 + 0.5)
    lines = breakdown_lines(breakdown)
    assert lines[0].startswith("time: 10.0 s in all (2 cells run)")
    assert any("accuracy pass" in line and "50.0 %" in line for line in lines)
    (tmp_path / "run.json").write_text(json.dumps({"dataset_id": "d"}))
    save_run_timings(tmp_path, breakdown)
    stored = json.loads((tmp_path / "run.json").read_text())
    assert stored["dataset_id"] == "d" and stored["last_run_timings"] == breakdown


def test_a_phase_clock_adds_laps():
    clock = PhaseClock()
    clock.lap("a")
    clock.add("a", 1.0)
    clock.add("b", -1.0)  # never negative
    assert clock.seconds["a"] >= 1.0 and clock.seconds["b"] == 0.0
