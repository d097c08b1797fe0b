"""One sweep at a time in a run folder, and pages that say which configured cells have no result.

A second sweep into a folder another sweep is writing is refused, naming the holder's process; a
sweep killed with SIGKILL leaves a lock the next sweep takes over (saying so), and no cell is
recorded twice. Until the run is complete, its tables, leaderboard, exports and HTML page list
the configured cells without a result, each with why (failed, interrupted, not run)."""

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

import tests.helpers.toy_method  # noqa: F401  (registers "toy")
from tests.helpers.memory_source import MemorySource
from tests.helpers.quick_rounds import QUICK_ROUNDS
from vis_bench.config import parse_config
from vis_bench.errors import InputError
from vis_bench.records import CellRecord
from vis_bench.records.store import read_cell_records, read_records
from vis_bench.report.exports import cells_frame, export_leaderboard
from vis_bench.report.leaderboard import leaderboard_markdown
from vis_bench.report.record_set import RecordSet
from vis_bench.report.run_state import unfinished_cells
from vis_bench.report.tables_document import tables_markdown
from vis_bench.sweep import run_sweep
from vis_bench.sweep.run_lock import LOCK_FILE, locked_run_dir

REPO = Path(__file__).resolve().parents[1]

SWEEP = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    import tests.helpers.toy_method
    from tests.helpers.memory_source import MemorySource
    from vis_bench.config import parse_config
    from vis_bench.sweep import run_sweep

    cfg = parse_config({config!r})
    run_sweep(cfg, MemorySource(lengths=(4,)), {run_dir!r}, log=print)
    """
)
CONFIG = {
    "name": "t",
    "dataset": {"kind": "synthetic"},
    "methods": [{"name": "toy"}],
    "sweep": {"clip_length": ["all", 2, 3, 4]},
    "measure": {"warmup": 0, "repeats": 1, "flops": False, "bootstrap": 0, **QUICK_ROUNDS},
}


def _configured(run_dir: Path) -> int:
    """How many cells the sweep in `run_dir` has listed so far (0 before it lists them)."""
    return unfinished_cells(run_dir, read_cell_records(run_dir))[0] if run_dir.is_dir() else 0


def _holder(run_dir: Path) -> dict:
    text = (run_dir / LOCK_FILE).read_text() if (run_dir / LOCK_FILE).is_file() else ""
    return json.loads(text) if text.strip() else {}


@pytest.mark.slow
def test_a_second_sweep_is_refused_and_a_killed_ones_lock_is_taken_over(tmp_path):
    run_dir = tmp_path / "run"
    script = tmp_path / "sweep.py"
    script.write_text(SWEEP.format(root=str(REPO), config=CONFIG, run_dir=str(run_dir)))
    env = {**os.environ, "VIS_BENCH_TOY_SLEEP": "1.0"}
    first = subprocess.Popen(
        [sys.executable, str(script)], cwd=REPO, env=env, stdout=subprocess.DEVNULL
    )
    try:
        # the state on disk, not the clock, decides when: the lock held, then the sweep's cells
        # listed (a loaded machine can take a while between the two)
        deadline = time.monotonic() + 300
        while _holder(run_dir).get("pid") != first.pid and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _holder(run_dir)["pid"] == first.pid
        while _configured(run_dir) != 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(InputError, match=f"another sweep \\(process {first.pid}, started"):
            run_sweep(parse_config(CONFIG), MemorySource(lengths=(4,)), run_dir, log=print)
        # while it runs, its pages say which cells are still to come
        configured, unfinished = unfinished_cells(run_dir, read_cell_records(run_dir))
        assert configured == 4 and unfinished
        assert {c.status for c in unfinished} <= {"running", "not run yet"}
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    # killed: the cells it did not finish are listed as such on every page
    record_set = RecordSet.read([run_dir]) if read_records(run_dir) else None
    configured, unfinished = unfinished_cells(run_dir, read_cell_records(run_dir))
    assert unfinished and all("(killed?)" in c.reason for c in unfinished)
    if record_set is not None:
        assert "Configured cells without a result" in leaderboard_markdown(record_set)
    # the next sweep takes the dead sweep's lock over, says so, and records each cell once
    said = []
    run_sweep(parse_config(CONFIG), MemorySource(lengths=(4,)), run_dir, log=said.append)
    assert any(
        f"locked by process {first.pid}" in line and "no longer running" in line for line in said
    )
    records = read_records(run_dir)
    assert len(records) == len({r["key"] for r in records}) == 4
    assert _holder(run_dir) == {}  # released at the end
    assert unfinished_cells(run_dir, read_cell_records(run_dir)) == (4, ())


def test_the_lock_is_held_for_the_sweep_and_released_however_it_ends(tmp_path):
    with locked_run_dir(tmp_path) as holder:
        assert _holder(tmp_path)["pid"] == os.getpid() == holder["pid"]
        with pytest.raises(InputError, match=f"process {os.getpid()}"):
            # another open file description of the same lock: what a second process meets
            with locked_run_dir(tmp_path):
                pass
    assert _holder(tmp_path) == {}
    with pytest.raises(KeyboardInterrupt), locked_run_dir(tmp_path):
        raise KeyboardInterrupt
    with locked_run_dir(tmp_path):  # Ctrl-C released it: no takeover note
        pass


def _state(tmp_path: Path, state: str, current: str | None, pid: int) -> Path:
    cells = [{"key": k, "label": f"toy T={k}", "method": "toy"} for k in ("a", "b", "c")]
    sweep = {"state": state, "pid": pid, "host": None, "current": current, "cells": cells}
    (tmp_path / "run.json").write_text(json.dumps({"sweep": sweep}))
    return tmp_path


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    return int(done.stdout)


@pytest.mark.parametrize(
    "state, alive, expected",
    [
        ("interrupted", False, {"b": "interrupted", "c": "not run"}),
        ("running", False, {"b": "interrupted", "c": "not run"}),
        ("running", True, {"b": "running", "c": "not run yet"}),
        ("stopped", False, {"b": "interrupted", "c": "not run"}),
    ],
)
def test_each_cell_without_a_result_is_listed_with_why(tmp_path, state, alive, expected):
    folder = _state(tmp_path, state, "b", os.getpid() if alive else _dead_pid())
    records = [CellRecord(key="a", status="ok"), CellRecord(key="x", status="ok")]
    configured, unfinished = unfinished_cells(folder, records)
    assert configured == 3 and {c.key: c.status for c in unfinished} == expected
    failed = [*records, CellRecord(key="c", status="failed", error="out of memory")]
    _, unfinished = unfinished_cells(folder, failed)
    assert [(c.key, c.status, c.reason) for c in unfinished][-1] == ("c", "failed", "out of memory")


@pytest.mark.slow
def test_every_page_of_an_interrupted_run_lists_its_missing_cells(tmp_path):
    """A run whose sweep was interrupted after its first cell: the tables, the leaderboard (md,
    csv, json, latex), cells.csv and the HTML page's leaderboard all say so."""
    config = parse_config({**CONFIG, "sweep": {"clip_length": ["all"]}})
    run_sweep(config, MemorySource(lengths=(4,)), tmp_path, log=lambda line: None)
    run = json.loads((tmp_path / "run.json").read_text())
    missing = {"key": "0123456789abcdef", "label": "toy T=2 S=1 cpu fp32", "method": "toy"}
    run["sweep"].update(state="interrupted", current=missing["key"])
    run["sweep"]["cells"].append(missing)
    (tmp_path / "run.json").write_text(json.dumps(run))
    record_set = RecordSet.read([tmp_path])
    assert [c.status for c in record_set.unfinished] == ["interrupted"]
    reason = "the sweep was interrupted (Ctrl-C) while running it"
    for page in (tables_markdown(record_set, "t"), leaderboard_markdown(record_set)):
        assert "**Incomplete run**: 1 of 2 configured cells have no result" in page
        assert "toy T=2 S=1 cpu fp32" in page and reason in page
    rows = json.loads(export_leaderboard(record_set, "json", "t"))
    assert rows["configured_cells"] == 2 and rows["cells_without_result"][0]["reason"] == reason
    assert reason in export_leaderboard(record_set, "csv", "t")
    assert "1 of 2 configured cells have no result" in export_leaderboard(record_set, "latex", "t")
    assert reason in set(cells_frame(record_set)["error"].dropna())
    from vis_bench.report.html_report import report_context
    from vis_bench.report.video_browser import BrowserLimits

    context = report_context(record_set, "t", BrowserLimits(videos=0))
    assert "Incomplete run" in context["leaderboard_notes"]["notes"]
    assert reason in context["leaderboard_notes"]["unfinished"]
