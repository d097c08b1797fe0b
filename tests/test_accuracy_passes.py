"""Accuracy passes of several cells at once (measure.accuracy_passes): the same records and
predictions as one after another, each pass with its share of the threads, its energy not read;
and only where nothing timed comes from an accuracy pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tests.helpers.toy_method  # noqa: F401  (registers the "toy" method)
from tests.helpers.memory_source import MemorySource
from tests.helpers.quick_rounds import QUICK_ROUNDS
from vis_bench.config import parse_config
from vis_bench.errors import InputError
from vis_bench.sweep import run_sweep
from vis_bench.sweep.accuracy_passes import pass_threads, passes_at_once

QUIET = {"log": lambda s: None}


def config(at_once=2, methods=None, **measure):
    return parse_config(
        {
            "name": "t",
            "dataset": {"kind": "synthetic"},
            "methods": methods or [{"name": "toy"}, {"name": "toy", "options": {"label": 2}}],
            "sweep": {"clip_length": ["all", 4]},
            "measure": {
                "warmup": 0,
                "repeats": 1,
                "rounds": 1,
                "bootstrap": 0,
                "threads": 2,
                "accuracy_passes": at_once,
                **QUICK_ROUNDS,
                **measure,
            },
        }
    )


def predictions(record):
    return json.loads(Path(record["results_path"]).read_text())


@pytest.mark.slow
def test_passes_at_once_give_the_records_of_passes_one_after_another(tmp_path):
    together = run_sweep(config(2), MemorySource(), tmp_path / "a", **QUIET)
    alone = run_sweep(config(1), MemorySource(), tmp_path / "b", **QUIET)
    assert [r["key"] for r in together] == [r["key"] for r in alone]  # cell order kept
    for shared, single in zip(together, alone, strict=True):
        assert shared["status"] == single["status"] == "ok"
        assert predictions(shared) == predictions(single)
        # the record's threads are the timed rounds'; the pass's own share is named beside
        assert shared["execution"]["threads"] == single["execution"]["threads"] == 2
        assert shared["execution"]["accuracy_pass_threads"] == 1
        assert "accuracy_pass_threads" not in single["execution"]
        assert "2 accuracy passes ran at once" in shared["energy"]["note"]
        assert shared["speed"]["predictions_checked"]["equal_to_accuracy_pass"] is True
        # a pass that ran ahead is timed by its own wall time, not by the wait for its result
        assert min(shared["timings"].values()) >= 0, shared["timings"]


@pytest.mark.slow
def test_a_failing_cell_among_passes_at_once_fails_alone(tmp_path):
    methods = [{"name": "toy"}, {"name": "toy", "options": {"fail_build": True}}]
    records = run_sweep(config(2, methods=methods), MemorySource(), tmp_path, **QUIET)
    assert [r["status"] for r in records] == ["ok", "ok", "failed", "failed"]
    assert "toy method asked to fail" in records[2]["error"]


@pytest.mark.parametrize(
    "measure, devices, isolate, ranks",
    [
        ({"fps": False}, ["cpu"], True, 1),  # the pass's own time is the speed figure
        ({"stream": True}, ["cpu"], True, 1),  # the stream replays the pass's clips
        ({"protocols": ["end_to_end", "single_clip"]}, ["cpu"], True, 1),
        ({}, ["cpu", "cuda:0"], True, 1),  # one accelerator: passes would share it
        ({}, ["cpu"], False, 1),  # in process: no workers to run side by side
        ({}, ["cpu"], True, 2),  # under torchrun the ranks already share the machine
    ],
)
def test_passes_run_one_at_a_time_where_something_timed_comes_from_them(
    measure, devices, isolate, ranks
):
    assert passes_at_once(config(2, **measure), devices, isolate, ranks) == 1


def test_passes_share_the_threads_of_the_timed_rounds():
    assert passes_at_once(config(3), ["cpu", "cpu"], True, 1) == 3
    assert pass_threads(2, 2) == 1 and pass_threads(8, 3) == 2 and pass_threads(1, 2) == 1


def test_accuracy_passes_below_one_is_refused():
    with pytest.raises(InputError, match=r"measure\.accuracy_passes"):
        config(0)


def test_a_pass_taken_ahead_gives_its_own_wall_time():
    import time

    from vis_bench.sweep.accuracy_passes import AheadPasses

    ahead = AheadPasses(2)
    ahead.start("a", lambda: time.sleep(0.2) or "done")
    time.sleep(0.3)  # the pass finished before it is taken: the wait is near zero
    outcome, seconds = ahead.take("a")
    ahead.close()
    assert outcome == "done" and seconds >= 0.2


def test_the_breakdown_says_when_overlapping_passes_add_up_to_more_than_the_wall_time():
    from vis_bench.sweep.phase_clock import breakdown_lines

    overlapping = {"total_s": 10.0, "cells": 2, "phases_s": {"inference": 16.0, "other": 0.0}}
    assert "overlap" in breakdown_lines(overlapping)[-1]
    serial = {"total_s": 10.0, "cells": 2, "phases_s": {"inference": 8.0, "other": 2.0}}
    assert not any("overlap" in line for line in breakdown_lines(serial))


def test_a_prompted_method_s_passes_start_first_the_most_prompts_first():
    from types import SimpleNamespace

    from vis_bench.sweep.accuracy_passes import start_order

    def cell(name, prompted, prompts=None):
        method = SimpleNamespace(prompt_count_option="max_prompts" if prompted else None)
        return SimpleNamespace(name=name, method=method, prompts=prompts)

    cells = [
        cell("a", False),
        cell("b", False),
        cell("p1", True, 1),
        cell("c", False),
        cell("pall", True),
        cell("p10", True, 10),
    ]
    assert [c.name for c in start_order(cells)] == ["pall", "p10", "p1", "a", "b", "c"]
    plain = cells[:2] + cells[3:4]
    assert start_order(plain) == plain  # no prompted method: the sweep's order
