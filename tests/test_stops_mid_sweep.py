"""A sweep stopped by a full disk or SIGTERM: one line naming the file (or the signal), every
finished record intact, run.json not left `running`, and the same command resumes."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

import tests.helpers.toy_method  # noqa: F401  (registers the "toy" method)
from vis_bench import exit_codes
from vis_bench.cli import main
from vis_bench.records.store import RECORDS_FILE, read_records

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def tiny_config(tmp_path):
    config = {
        "name": "tiny",
        "dataset": {
            "kind": "synthetic",
            "videos": 2,
            "seed": 3,
            "min_frames": 4,
            "max_frames": 5,
            "cache_dir": str(tmp_path / "cache"),
        },
        "methods": [{"name": "toy", "options": {"label": 2}}],
        "sweep": {"clip_length": ["all", 2, 3], "resolution": [64]},
        "measure": {"warmup": 0, "repeats": 1, "fps": False, "flops": False, "bootstrap": 0},
        "output": str(tmp_path / "runs"),
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _disk_full_at(monkeypatch, name: str, after: int = 0) -> None:
    """Every write and fsync of a file whose name holds `name` fails as on a full disk, after
    `after` of each that succeed (a file written through Python's io fails at its fsync)."""
    for function in ("write", "fsync"):
        real = getattr(os, function)
        calls = {"n": 0}

        def full(fd, *args, real=real, calls=calls):
            if name in os.path.basename(os.readlink(f"/proc/self/fd/{fd}")):
                calls["n"] += 1
                if calls["n"] > after:
                    raise OSError(errno.ENOSPC, "No space left on device")
            return real(fd, *args)

        monkeypatch.setattr(os, function, full)


def _sweep_state(run_dir: Path) -> dict:
    return json.loads((run_dir / "run.json").read_text())["sweep"]


def _one_line_naming(err: str, name: str) -> None:
    assert "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert "no space left on device" in line and name in line


@pytest.mark.parametrize(
    ("where", "after", "records_kept"),
    [
        ("sweep.lock", 0, 0),  # at the run lock: nothing ran
        (RECORDS_FILE, 1, 1),  # at the second record: the first is kept
        ("results.json", 1, 1),  # at the second cell's predictions: no failed cell recorded
        ("tables.md", 0, 3),  # after the records, at the pages
    ],
)
def test_a_full_disk_is_one_line_naming_the_file_and_the_run_resumes(
    tiny_config, tmp_path, monkeypatch, capsys, where, after, records_kept
):
    run_dir = tmp_path / "run"
    command = ["run", "--config", str(tiny_config), "--run-dir", str(run_dir), "--in-process"]
    with monkeypatch.context() as patch:
        _disk_full_at(patch, where, after)
        assert main(command) == exit_codes.USAGE
    err = capsys.readouterr().err
    _one_line_naming(err, str(run_dir / where) if where != "results.json" else where)
    records = read_records(run_dir)
    assert len(records) == records_kept and all(r["status"] == "ok" for r in records)
    if where in (RECORDS_FILE, "results.json"):
        assert _sweep_state(run_dir)["state"] == "stopped"
    assert main(command) == 0  # room again: the same command finishes the run
    out = capsys.readouterr().out
    if records_kept:
        assert f"resuming: {records_kept} of 3 cells already finished" in out
    assert len(read_records(run_dir)) == 3 and _sweep_state(run_dir)["state"] == "finished"


def _fill_the_disk(job, progress):
    raise OSError(errno.ENOSPC, "No space left on device", "/data/run/cells/x/results.json")


def test_a_full_disk_in_a_cell_worker_stops_the_sweep_instead_of_failing_the_cell():
    from types import SimpleNamespace

    from vis_bench.sweep.isolation import CellFailed, run_isolated

    with pytest.raises(OSError) as err:
        run_isolated(SimpleNamespace(), None, target=_fill_the_disk)
    assert not isinstance(err.value, CellFailed) and err.value.errno == errno.ENOSPC
    assert err.value.filename == "/data/run/cells/x/results.json"


def test_a_full_disk_at_eval_out_names_the_file(tmp_path, monkeypatch, capsys):
    gt = {
        "videos": [{"id": 1, "height": 4, "width": 4, "length": 1, "file_names": ["a"]}],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [],
    }
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "res.json").write_text("[]")
    out = tmp_path / "stats.json"
    _disk_full_at(monkeypatch, "stats.json")
    argv = ["eval", "--gt", str(tmp_path / "gt.json"), "--results", str(tmp_path / "res.json")]
    assert main([*argv, "--out", str(out)]) == exit_codes.USAGE
    _one_line_naming(capsys.readouterr().err, str(out))
    assert not out.exists() and not list(tmp_path.glob(".stats.json*"))  # nothing half-written


SIGTERM_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    import tests.helpers.toy_method
    from vis_bench.cli import main

    if __name__ == "__main__":
        sys.exit(main(["run", "--config", {config!r}, "--run-dir", {run_dir!r}]))
    """
)


@pytest.mark.slow
def test_sigterm_stops_a_sweep_as_ctrl_c_does_and_it_resumes(tiny_config, tmp_path):
    run_dir = tmp_path / "run"
    script = tmp_path / "sweep.py"
    script.write_text(
        SIGTERM_SCRIPT.format(root=str(REPO), config=str(tiny_config), run_dir=str(run_dir))
    )
    env = {**os.environ, "VIS_BENCH_TOY_SLEEP": "0.5"}
    process = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the signal reaches its workers too
    )
    deadline = time.monotonic() + 300  # the state on disk, not the clock, decides when
    while not read_records(run_dir) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGTERM)  # as a scheduler stops a job
    out, err = process.communicate(timeout=120)
    assert process.returncode == exit_codes.TERMINATED, err
    assert "Traceback" not in err and "BrokenPipe" not in err
    assert err.strip().splitlines()[-1] == "terminated (SIGTERM)"
    assert "every finished cell is kept" in out
    finished = read_records(run_dir)
    assert 1 <= len(finished) < 3 and all(r["status"] == "ok" for r in finished)
    assert _sweep_state(run_dir)["state"] == "interrupted"
    done = subprocess.run(
        [sys.executable, str(script)], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert f"resuming: {len(finished)} of 3 cells already finished" in done.stdout
    assert len(read_records(run_dir)) == 3
