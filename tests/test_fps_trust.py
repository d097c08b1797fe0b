"""FPS a reader can trust: one timed pass with its stages inside it, interleaved rounds, the
machine's reference speed beside every figure, the timed predictions checked against the scored
ones, and marks and ratios that say what a figure may be set against (no timed assertion)."""

from __future__ import annotations

import json
import statistics
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import tests.helpers.toy_method  # noqa: F401  (registers the "toy" method)
from tests.helpers.memory_source import MemorySource
from tests.helpers.tracked import tracked
from vis_bench.config import parse_config
from vis_bench.measure import reference
from vis_bench.measure.gpu_state import nvml_state
from vis_bench.measure.precision import half_width, interval_confidence, median_interval
from vis_bench.measure.reference import read_reference, spread, workload_flops
from vis_bench.records import CellRecord
from vis_bench.report.exports import cells_frame, export_leaderboard
from vis_bench.report.leaderboard import leaderboard_markdown
from vis_bench.report.record_set import RecordSet
from vis_bench.report.run_comparison import compare_runs_markdown
from vis_bench.report.speed_trust import (
    LOADED_MARK,
    NOISY_MARK,
    cross_run_ratio,
    fps_marks,
    paired_ratio,
)
from vis_bench.report.tables_document import tables_markdown
from vis_bench.sweep import run_sweep
from vis_bench.sweep.prediction_check import Check, check_predictions, video_predictions
from vis_bench.sweep.rounds import PendingCell, run_rounds, speed_summary
from vis_bench.sweep.timed_round import RoundOutcome

QUIET = {"isolate": False, "log": lambda s: None}
typed = CellRecord.from_json


def _config(methods, **measure):
    return parse_config(
        {
            "name": "trust",
            "dataset": {"kind": "synthetic"},
            "methods": methods,
            "sweep": {"clip_length": ["all"]},
            "measure": {"warmup": 1, "flops": False, "bootstrap": 0, **measure},
        }
    )


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    config = _config(
        [{"name": "toy"}, {"name": "toy", "options": {"label": 2}}], rounds=3, precision=0
    )
    folder = tmp_path_factory.mktemp("run")
    return folder, run_sweep(config, MemorySource(), folder, **QUIET)


def test_the_reference_workload_is_fixed_arithmetic_read_on_the_device():
    m, k, n = 512, 512, 512
    assert workload_flops() == 2 * m * k * n + 2 * 32 * 32 * 9 * 96 * 96
    reading = read_reference("cpu")
    assert reading.seconds > 0 and reading.gflops == pytest.approx(
        workload_flops() / reading.seconds / 1e9
    )
    assert reading.as_dict()["threads"] >= 1 and reading.as_dict()["version"] == 1
    assert spread([100.0, 110.0, 90.0]) == pytest.approx(0.2)
    assert spread([100.0]) is None


def test_a_fast_device_repeats_the_workload_until_the_reading_is_long_enough(monkeypatch):
    """On a GPU one block of repetitions takes about a millisecond, which launch latency and
    clock changes dominate: a reading repeats whole blocks until MIN_SECONDS have passed."""
    one_block = read_reference("cpu")
    monkeypatch.setattr(reference, "MIN_SECONDS", one_block.seconds * reference.REPETITIONS * 4)
    reading = read_reference("cpu")
    assert reading.repetitions > reference.REPETITIONS
    assert reading.repetitions % reference.REPETITIONS == 0
    assert reading.as_dict()["repetitions"] == reading.repetitions
    monkeypatch.setattr(reference, "MIN_SECONDS", 0.0)
    assert read_reference("cpu").repetitions == reference.REPETITIONS


def test_each_cell_is_timed_in_rounds_with_its_stages_inside_one_pass(swept):
    _, records = swept
    for record in records:
        speed = record["speed"]
        assert speed["rounds_timed"] == 3 and len(speed["rounds"]) == 3
        fps = sorted(r["fps"] for r in speed["rounds"] if r["used"])
        assert record["fps_end_to_end"] == statistics.median(fps)
        assert speed["fps_range"] == [fps[0], fps[-1]]
        assert speed["rounds_used"] and speed["reference_fastest_gflops"] > 0
        for timed in speed["rounds"]:
            # every stage is a disjoint part of the one pass: the model never exceeds the whole
            assert timed["stages"]["model"] <= timed["seconds"]
            assert sum(timed["stages"].values()) == pytest.approx(timed["seconds"])
            assert timed["fps_model"] >= timed["fps"]
            assert timed["cpu_seconds"] > 0
            assert timed["reference_before"]["gflops"] > 0
            assert timed["reference_after"]["gflops"] > 0
        assert record["fps_model"] >= record["fps_end_to_end"]
        assert speed["predictions_checked"]["equal_to_accuracy_pass"] is True
        assert speed["reference_gflops"] > 0 and speed["noisy"] in (True, False)
        assert "loaded" in record["load"] and "rounds_loaded" in record["load"]
    # both cells timed in the same rounds of one sweep: their ratio is paired round by round
    ratio = paired_ratio(typed(records[0]), typed(records[1]))
    if all(r["speed"]["comparable"] for r in records):
        assert ratio.value is not None and ratio.low <= ratio.value <= ratio.high
    else:  # a loaded machine (other work on it while the test ran): a verdict, not a ratio
        assert ratio.value is None and ratio.why_not == "not comparable (loaded)"


def _outcome(index: int, videos=(1, 2), different=()) -> RoundOutcome:
    reading = {"gflops": 100.0, "seconds": 0.01, "device": "cpu"}
    check = Check(identical=len(videos) - len(different), different=list(different))
    return RoundOutcome(
        index, list(videos), 10, 1.0, 2.0, {"model": 0.5}, reading, reading, {"loaded": False},
        check=check,
    )  # fmt: skip


class _Recorder:
    """A round runner that records the order it was asked in."""

    ctx = None

    def __init__(self, bad: str | None = None):
        self.order: list[tuple[str, int]] = []
        self.bad = bad

    def time(self, pending: PendingCell, index: int):
        name = pending.cell
        self.order.append((name, index))
        if name == self.bad and index == 2:
            return _outcome(index, different=[2])
        return _outcome(index)


def _pending(name: str) -> PendingCell:
    return PendingCell(name, Path("."), None, {})  # type: ignore[arg-type]


def test_rounds_the_machine_was_slowed_in_are_set_aside_and_counted():
    config = _config([{"name": "toy"}], rounds=2)
    rounds = [_outcome(1), _outcome(2), _outcome(3)]
    rounds[1].reference_after = {"gflops": 40.0, "device": "cpu"}  # load started in round 2
    rounds[1].seconds = 4.0
    speed = speed_summary(rounds, config.measure, "s", fastest=100.0)
    assert speed.rounds.rounds_used == [1, 3] and speed.rounds.rounds_at_full_speed == 2
    assert speed.fps_end_to_end == 10.0 and speed.rounds.noisy  # the machine's speed moved by 60 %
    assert speed.rounds.comparable and speed.rounds.fps_ci == [10.0, 10.0]
    assert [r.used for r in speed.rounds.rounds] == [True, False, True]
    # every round slowed: too few count, so the figure (over all of them) cannot be compared
    slowed = speed_summary(rounds, config.measure, "s", fastest=1000.0)
    assert slowed.rounds.rounds_used == [1, 2, 3] and slowed.rounds.rounds_at_full_speed == 0
    assert slowed.rounds.comparable is False
    assert slowed.rounds.not_comparable.startswith("not comparable (loaded): 0 of 3 rounds")


def test_one_rule_for_every_cell_one_lucky_round_is_no_figure():
    """The issue's twins: one had a single round at full speed. Both cells now need
    `measure.rounds` counted rounds; with one, the figure cannot be compared."""
    config = _config([{"name": "toy"}], rounds=3)
    lucky = [_outcome(1), _outcome(2), _outcome(3)]
    for slowed in lucky[1:]:
        slowed.reference_after = {"gflops": 30.0, "device": "cpu"}
        slowed.seconds = 4.0
    speed = speed_summary(lucky, config.measure, "s", fastest=100.0)
    assert speed.rounds.rounds_counted == 1 and speed.rounds.comparable is False
    assert speed.fps_end_to_end == pytest.approx(
        10 / 4.0
    )  # the median of every round, not the lucky one
    # a counted round on a loaded machine: not comparable either
    loaded = [_outcome(i) for i in (1, 2, 3)]
    loaded[0].load = {"loaded": True}
    speed = speed_summary(loaded, config.measure, "s", fastest=100.0)
    assert speed.rounds.comparable is False and "round(s) [1]" in speed.rounds.not_comparable


def test_the_interval_is_the_medians_order_statistics_and_sets_the_precision():
    five = [10.0, 10.2, 9.8, 10.1, 9.9]
    assert median_interval(five) == (10.0, 9.8, 10.2)  # below 6 rounds: the whole range ...
    assert interval_confidence(5) == pytest.approx(1 - 2 / 32)  # ... and it says it is 93.75 %
    assert interval_confidence(3) == pytest.approx(0.75) and interval_confidence(6) > 0.95
    twelve = [float(v) for v in range(1, 13)]
    assert median_interval(twelve) == (6.5, 3.0, 10.0)  # x_(3), x_(10): 96.1 %
    assert interval_confidence(12) == pytest.approx(1 - 2 * (1 + 12 + 66) / 4096)
    assert half_width(median_interval(five)) == pytest.approx(0.02)
    assert median_interval([5.0]) == (5.0, 5.0, 5.0) and median_interval([]) is None
    assert interval_confidence(1) == 0.0


def test_the_interval_covers_the_median_as_often_as_it_says():
    """Rounds drawn from a skewed distribution (a slowed round is far slower): the interval
    holds the true median at least 95 % of the time from 6 rounds on, and about what it says
    below; a bootstrap of 3 rounds would claim 95 % for its 75 %."""
    rng = np.random.default_rng(1)
    true_median = float(np.median(rng.lognormal(0, 0.3, 200_000)))
    for count in (3, 6, 9, 12):
        trials = rng.lognormal(0, 0.3, size=(4000, count))
        covered = 0
        for row in trials:
            _, low, high = median_interval(list(row))
            covered += low <= true_median <= high
        assert covered / 4000 >= interval_confidence(count) - 0.02
        if count >= 6:
            assert covered / 4000 >= 0.95 - 0.01


def test_fewer_than_six_rounds_never_meet_a_target():
    config = _config([{"name": "toy"}], rounds=3, max_rounds=6, precision=0.03)
    steady = [_outcome(i) for i in (1, 2, 3)]  # three identical rounds: an interval of width 0
    speed = speed_summary(steady, config.measure, "s", fastest=100.0)
    assert speed.rounds.fps_precision == 0 and speed.rounds.fps_ci_confidence == pytest.approx(0.75)
    assert speed.rounds.wider_than_target  # a 75 % interval meets no 95 % target


def _spread_outcome(index: int, seconds: float) -> RoundOutcome:
    outcome = _outcome(index)
    outcome.seconds = seconds
    return outcome


class _Noisy(_Recorder):
    """Rounds whose seconds alternate widely for cell "wide" and not for the others."""

    def time(self, pending, index):
        self.order.append((pending.cell, index))
        if pending.cell == "wide":
            return _spread_outcome(index, 1.0 + 0.3 * (index % 2))
        return _outcome(index)


def test_cells_are_timed_again_until_precise_or_out_of_rounds():
    config = _config([{"name": "toy"}], rounds=3, max_rounds=9, precision=0.03)
    cells = [_pending("steady"), _pending("wide")]
    runner = _Noisy()
    run_rounds(cells, runner, config.measure)  # type: ignore[arg-type]
    assert len(cells[0].rounds) == 6  # precise as soon as 6 rounds give a 95 % interval
    assert len(cells[1].rounds) == 9  # never within 3 %: stopped at max_rounds
    # interleaved: the first three rounds of both, then the wide one alone
    assert runner.order[:6] == [
        ("steady", 1), ("wide", 1), ("steady", 2), ("wide", 2), ("steady", 3), ("wide", 3)
    ]  # fmt: skip
    speed = speed_summary(cells[1].rounds, config.measure, "s", fastest=100.0)
    assert speed.rounds.wider_than_target and speed.rounds.fps_precision > 0.03
    # a time budget stops it too
    budget = _config([{"name": "toy"}], rounds=3, max_rounds=6, cell_budget_s=0)
    cells = [_pending("wide")]
    run_rounds(cells, _Noisy(), budget.measure)  # type: ignore[arg-type]
    assert len(cells[0].rounds) == 3


class _SlowReading(_Recorder):
    """Round 2 of every cell has a slow reference reading: set aside by the rule."""

    def time(self, pending, index):
        outcome = super().time(pending, index)
        if index == 2:
            outcome.reference_after = {"gflops": 50.0, "seconds": 0.02, "device": "cpu"}
        return outcome


def test_too_few_counted_rounds_outrank_the_time_budget_up_to_max_rounds():
    budget = _config([{"name": "toy"}], rounds=3, max_rounds=6, cell_budget_s=0)
    cells = [_pending("A")]
    run_rounds(cells, _SlowReading(), budget.measure)  # type: ignore[arg-type]
    assert len(cells[0].rounds) == 4  # the budget is spent, but 3 rounds must count
    speed = speed_summary(cells[0].rounds, budget.measure, "s", fastest=100.0)
    assert speed.rounds.rounds_counted == 3 and speed.rounds.comparable is True
    # a machine that stays slow: more rounds up to max_rounds, then the figure is withheld
    slow = _config([{"name": "toy"}], rounds=3, max_rounds=5, cell_budget_s=0)
    cells = [_pending("A"), _pending("B")]
    run_rounds(cells, _AlwaysSlow(), slow.measure)  # type: ignore[arg-type]
    assert [len(c.rounds) for c in cells] == [5, 3]
    speed = speed_summary(cells[0].rounds, slow.measure, "s", fastest=100.0)
    assert speed.rounds.comparable is False and "0 of 5 rounds" in speed.rounds.not_comparable


class _AlwaysSlow(_Recorder):
    """Every round of cell A reads slow (the machine stayed loaded while A ran), B's fast."""

    def time(self, pending, index):
        outcome = super().time(pending, index)
        if pending.cell == "A":
            outcome.reference_after = {"gflops": 50.0, "seconds": 0.02, "device": "cpu"}
        return outcome


def test_rounds_interleave_the_cells_and_a_mismatch_fails_only_its_cell():
    cells = [_pending("A"), _pending("B"), _pending("C")]
    runner = _Recorder(bad="B")
    measure = _config([{"name": "toy"}], rounds=3, precision=0).measure  # exactly 3 rounds
    run_rounds(cells, runner, measure)  # type: ignore[arg-type]
    assert runner.order == [
        ("A", 1), ("B", 1), ("C", 1), ("A", 2), ("B", 2), ("C", 2), ("A", 3), ("C", 3)
    ]  # fmt: skip
    assert [len(c.rounds) for c in cells] == [3, 1, 3]
    assert "other results than the accuracy pass" in cells[1].failure
    assert cells[0].videos == [1, 2]  # the first round chose the videos the later ones time


def _result(video: int, score: float, pixels: int, frames: int = 3) -> dict:
    from vis_bench.formats.rle import encode, to_json

    mask = np.zeros((8, 8), np.uint8)
    mask.flat[:pixels] = 1
    segmentation = [to_json(encode(mask)) for _ in range(frames)]
    return {"video_id": video, "category_id": 1, "score": score, "segmentations": segmentation}


def test_predictions_are_checked_identical_equivalent_or_different():
    accuracy = video_predictions([_result(1, 0.9, 40), _result(2, 0.8, 30)])
    same = video_predictions([_result(1, 0.9, 40), _result(2, 0.8, 30)])
    check = check_predictions(accuracy, same, [1, 2, 3])  # video 3: no predictions in either
    assert (check.identical, check.equivalent, check.different) == (3, 0, [])
    # a GPU summing in another order: a score's last digits, a mask's pixel
    jitter = video_predictions([_result(1, 0.9004, 41), _result(2, 0.8, 30)])
    check = check_predictions(accuracy, jitter, [1, 2])
    assert (check.identical, check.equivalent, check.different) == (1, 1, [])
    assert check.max_area_difference == 1 and check.max_score_difference == pytest.approx(4e-4)
    # other work: a prediction lost, a frame left out, a score moved
    assert check_predictions(accuracy, video_predictions([_result(2, 0.8, 30)]), [1]).different
    fewer_frames = video_predictions([_result(1, 0.9, 40, frames=2)])
    assert check_predictions(accuracy, fewer_frames, [1]).different == [1]
    assert check_predictions(accuracy, video_predictions([_result(1, 0.7, 40)]), [1]).different
    # kept on disk by a cell waiting for its rounds, and read back the same
    restored = {
        k: type(v).from_json(json.loads(json.dumps(v.as_json()))) for k, v in accuracy.items()
    }
    assert restored == accuracy


def test_a_timed_pass_that_does_other_work_fails_its_cell(tmp_path):
    config = _config([{"name": "toy"}, {"name": "toy", "options": {"misbehave": "unstable"}}])
    records = run_sweep(config, MemorySource(), tmp_path, **QUIET)
    steady, unstable = records
    assert steady["status"] == "ok"
    assert unstable["status"] == "failed"
    assert "predicted other results than the accuracy pass" in unstable["error"]


def _marked(records, loaded=(), noisy=()):
    records = json.loads(json.dumps(records))
    for i, record in enumerate(records):  # this machine may itself have been loaded: start clean
        record["load"]["loaded"] = i in loaded
        record["speed"]["noisy"] = i in noisy
        record["speed"]["reference_spread"] = 0.42 if i in noisy else 0.01
    return records


def test_every_output_carries_the_marks_and_says_what_they_mean(swept):
    _, records = swept
    record_set = RecordSet.from_records(_marked(records, loaded=[0], noisy=[1]))
    assert fps_marks(record_set.records[0]) == LOADED_MARK
    assert fps_marks(record_set.records[1]) == NOISY_MARK
    tables = tables_markdown(record_set, "t")
    assert f"{record_set.records[1].speed.fps_end_to_end:.2f}{NOISY_MARK}" in tables
    assert f"{record_set.records[0].speed.fps_end_to_end:.2f}{LOADED_MARK}" in tables
    cells = cells_frame(record_set)
    assert list(cells["fps_loaded"]) == [True, False]
    assert list(cells["fps_noisy"]) == [False, True]
    # the leaderboard ranks one of the two (same method and checkpoint): mark both
    both = RecordSet.from_records(_marked(records, loaded=[0, 1], noisy=[0, 1]))
    leaderboard = leaderboard_markdown(both)
    for text in (tables, leaderboard):
        assert f"`{LOADED_MARK}` after an FPS: measured while the machine was loaded" in text
        assert f"`{NOISY_MARK}` after an FPS: noisy" in text and "42%" in text
    csv = export_leaderboard(both, "csv", "t")
    assert "fps_loaded" in csv.splitlines()[0] and "fps_noisy" in csv.splitlines()[0]
    exported = json.loads(export_leaderboard(both, "json", "t"))
    assert all(row["fps_loaded"] and row["fps_noisy"] for row in exported["rows"])
    assert any("after an FPS: noisy" in note for note in exported["notes"])
    latex = export_leaderboard(both, "latex", "t")
    assert "$^{*}$" in latex and r"$^{\dagger}$" in latex and "footnotesize" in latex


def _with_reference(record, gflops: float, fps: float):
    record = json.loads(json.dumps(record))
    record["speed"]["reference_gflops"] = gflops
    # comparable within its own run, whatever the machine running the test was doing
    record["speed"].update(comparable=True, not_comparable=None)
    record["fps_end_to_end"] = fps
    return typed(record)


def test_runs_are_set_against_each_other_only_at_equal_machine_speed(swept):
    _, records = swept
    base = _with_reference(records[0], 100.0, 10.0)
    slower_machine = _with_reference(records[0], 50.0, 5.0)
    similar = _with_reference(records[0], 110.0, 22.0)
    assert "not comparable (machine reference A 100, B 50 GFLOP/s)" in (
        cross_run_ratio(base, slower_machine).text()
    )
    # twice the FPS on a machine 10% faster: 2.2 / 1.1 at equal machine speed
    assert cross_run_ratio(base, similar).value == pytest.approx(2.0)
    old = json.loads(json.dumps(records[0]))
    old.pop("speed")
    assert "no reference speed" in cross_run_ratio(typed(old), base).text()
    text = compare_runs_markdown(
        RecordSet.from_records([base]), RecordSet.from_records([slower_machine]), "a", "b"
    )
    assert "not comparable" in text and "4.14x" not in text
    # within one run, cells timed in different sweep calls are not paired
    other_call = json.loads(json.dumps(records[1]))
    other_call["speed"]["session"] = "another"
    assert "different sweep calls" in paired_ratio(typed(records[0]), typed(other_call)).text()


def test_nvml_state_reads_clocks_throttling_and_other_processes():
    own = 1234

    def failing(*args):
        raise RuntimeError("not supported")

    fake = SimpleNamespace(
        NVML_CLOCK_SM=0,
        NVML_CLOCK_MEM=1,
        NVML_TEMPERATURE_GPU=0,
        nvmlDeviceGetClockInfo=lambda h, kind: 1410 if kind == 0 else 1215,
        nvmlDeviceGetMaxClockInfo=lambda h, kind: 1980,
        nvmlDeviceGetTemperature=lambda h, kind: 61,
        nvmlDeviceGetEnforcedPowerLimit=lambda h: 300000,
        nvmlDeviceGetCurrentClocksThrottleReasons=failing,
        nvmlDeviceGetComputeRunningProcesses=lambda h: [
            SimpleNamespace(pid=own, usedGpuMemory=2**30),
            SimpleNamespace(pid=99, usedGpuMemory=3 * 2**30),
        ],
    )
    state = nvml_state(fake, handle=object(), own_pid=own)
    assert state["sm_clock_mhz"] == 1410 and state["sm_clock_max_mhz"] == 1980
    assert state["memory_clock_mhz"] == 1215 and state["temperature_c"] == 61
    assert state["power_limit_w"] == 300.0
    assert state["throttle_reasons"] is None  # unsupported: None, not an error
    assert state["other_processes"] == 1 and state["other_processes_mib"] == 3072.0


def _committed_model_time_problems(root: Path) -> list[str]:
    """Each committed record under `root`/results (git's list: never a user's run folder
    beside them) whose model FPS is below its end-to-end FPS (the stages sit inside one timed
    pass) or whose provenance is not a clean commit."""
    problems = []
    files = tracked("results/**/records.jsonl", root=root)
    assert files
    for path in files:
        for line in path.read_text().splitlines():
            record = json.loads(line)
            where = f"{path.relative_to(root / 'results')}: {record['key']}"
            model, whole = record.get("fps_model"), record.get("fps_end_to_end")
            if model is not None and whole is not None and model < whole:
                problems.append(f"{where}: model FPS {model} below end-to-end {whole}")
            provenance = record.get("provenance")
            if provenance is None and record.get("status") == "failed":
                continue  # a failed cell measured nothing (records before failed ones had it)
            if provenance is None or provenance["dirty"] is not False:
                problems.append(f"{where}: written from a dirty checkout")
    return problems


def test_no_committed_record_has_its_model_time_above_its_end_to_end_time():
    """Every run committed under results/: model time within end-to-end time wherever both were
    measured, and the records from a clean commit."""
    assert _committed_model_time_problems(Path(__file__).resolve().parents[1]) == []


def _write_records(path: Path, *records: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_a_users_own_run_beside_the_committed_ones_is_not_checked(tmp_path):
    """The README's two commands in order, in a checkout with an untracked note: the default
    run's records (git-ignored, dirty provenance, model time above end-to-end time) and a run of
    one's own are not the committed records, and the check reads the committed ones only."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("/results/runs/\n")
    clean = {"commit": "a" * 40, "dirty": False}
    committed = {"key": "ifc", "fps_model": 50.0, "fps_end_to_end": 40.0, "provenance": clean}
    _write_records(tmp_path / "results" / "default_run" / "records.jsonl", committed)
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True)
    assert _committed_model_time_problems(tmp_path) == []

    mine = {**committed, "fps_model": 30.0, "provenance": {**clean, "dirty": True}}
    _write_records(tmp_path / "results" / "runs" / "default" / "records.jsonl", mine)  # ignored
    _write_records(tmp_path / "results" / "mine" / "records.jsonl", mine)  # untracked
    (tmp_path / "notes.txt").write_text("a note: the checkout is dirty\n")
    assert _committed_model_time_problems(tmp_path) == []
    # the same files committed are checked, and fail: the check still reads what git lists
    subprocess.run(["git", "-C", str(tmp_path), "add", "-f", "results"], check=True)
    problems = _committed_model_time_problems(tmp_path)
    assert len(problems) == 4
    assert "runs/default/records.jsonl: ifc: written from a dirty checkout" in problems
