"""Exit statuses a CI can use: one meaning each, the table in docs/commands.md, and the ways a
command ends (an input error, an internal error, Ctrl-C, SIGTERM) each in one line."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vis_bench import __version__, exit_codes
from vis_bench.cli import main, program_name

REPO = Path(__file__).resolve().parents[1]


def _table() -> dict[int, str]:
    """The exit-code table of docs/commands.md: code -> its meaning."""
    text = (REPO / "docs" / "commands.md").read_text()
    section = text.split("## Exit codes", 1)[1]
    rows = re.findall(r"^\| (\d+) \| ((?:[^|\\]|\\.)+) \|", section, flags=re.MULTILINE)
    return {int(code): meaning.strip() for code, meaning in rows}


def test_the_documented_table_is_the_codes_the_commands_use():
    codes = {
        value for name, value in vars(exit_codes).items() if name.isupper() and type(value) is int
    }
    table = _table()
    assert set(table) == codes
    assert table[exit_codes.BAD_ANSWER].startswith("the answer is bad")
    assert table[exit_codes.USAGE].startswith("a usage or input error")
    assert table[exit_codes.INTERNAL].startswith("an internal error")
    assert (exit_codes.INTERRUPTED, exit_codes.TERMINATED) == (130, 143)
    assert len({exit_codes.BAD_ANSWER, exit_codes.USAGE, exit_codes.INTERNAL}) == 3


@pytest.fixture
def failing_command(monkeypatch):
    """`methods` made to end the way a test says (its `run` replaced)."""
    import vis_bench.commands.methods as command

    def use(behaviour):
        monkeypatch.setattr(command, "run", behaviour)
        return ["methods"]

    return use


def test_an_internal_error_is_3_with_its_traceback_and_one_line(failing_command, capsys):
    def broken(args):
        raise ZeroDivisionError("division by zero")

    assert main(failing_command(broken)) == exit_codes.INTERNAL == 3
    err = capsys.readouterr().err
    assert "Traceback" in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("internal error: ZeroDivisionError: division by zero")
    assert "report it" in last


def test_an_input_error_is_2_in_one_line(capsys):
    assert main(["run", "--set", "sweep.clip_length=[all,5"]) == exit_codes.USAGE
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "'--set sweep.clip_length=[all,5'" in err


def test_ctrl_c_is_130(failing_command, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    assert main(failing_command(interrupted)) == 130
    assert capsys.readouterr().err.strip() == "interrupted"


def test_sigterm_is_handled_as_ctrl_c_and_is_143(failing_command, capsys):
    def terminated(args):
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # the handler raises at the next bytecode
            time.sleep(0.01)
        raise AssertionError("SIGTERM was not handled")

    before = signal.getsignal(signal.SIGTERM)
    assert main(failing_command(terminated)) == exit_codes.TERMINATED
    assert capsys.readouterr().err.strip() == "terminated (SIGTERM)"
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is the command's only


def test_a_file_system_error_without_a_path_is_one_line(failing_command, capsys):
    import errno

    def full(args):
        raise OSError(errno.ENOSPC, "No space left on device")

    assert main(failing_command(full)) == exit_codes.USAGE
    err = capsys.readouterr().err
    assert err.startswith("error: no space left on device") and "Traceback" not in err


def test_an_unknown_released_checkpoint_is_an_input_error(capsys):
    assert main(["methods", "--pretrained", "no-such-model.*"]) == exit_codes.USAGE
    err = capsys.readouterr().err
    assert "'--pretrained'" in err and "no released checkpoint matches" in err


def test_usage_names_the_program_as_it_was_called():
    assert program_name("/usr/local/bin/vis-bench") == "vis-bench"
    assert program_name("run_bench.py") == "run_bench.py"
    assert program_name(str(REPO / "vis_bench" / "__main__.py")) == "python -m vis_bench"


def test_python_m_vis_bench_runs_and_has_a_version():
    done = subprocess.run(
        [sys.executable, "-m", "vis_bench", "--version"], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.strip() == f"vis-bench {__version__}"
    done = subprocess.run(
        [sys.executable, "-m", "vis_bench", "eval", "--bogus"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == exit_codes.USAGE
    assert done.stderr.startswith("usage: python -m vis_bench eval")


def test_errors_name_the_flag_the_user_typed(tmp_path, capsys):
    # a key a --set item made is the flag's fault, not the config file's
    assert main(["run", "--set", "unknown.key=3"]) == exit_codes.USAGE
    err = capsys.readouterr().err
    assert "'--set unknown.key=3'" in err and "default.yaml" not in err
    for item in ("=3", "methods.x.checkpoint=a", "name.x=1", "sweep.clip_length={a"):
        assert main(["run", "--set", item]) == exit_codes.USAGE
        err = capsys.readouterr().err
        assert err.startswith(f"error: field '--set {item}': ") and err.count("\n") == 1, err
    # a device the flag asked for that this build cannot run names the flag
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine runs CUDA: the refusal is for a CPU build")
    frames = tmp_path / "frames"
    frames.mkdir()
    from PIL import Image

    for i in range(2):
        Image.new("RGB", (32, 24)).save(frames / f"{i:05d}.jpg")
    argv = ["predict", "--method", "ifc", "--device", "cuda", "--video", str(frames)]
    assert main([*argv, "--out", str(tmp_path / "out")]) == exit_codes.USAGE
    err = capsys.readouterr().err
    assert "field '--device'" in err and "--device cpu" in err and "sweep.device" not in err


def test_a_bad_answer_is_1(tmp_path, capsys):
    """Predictions the metric drops (an unknown category): the command ran, the answer fails."""
    import json

    video = {"id": 1, "height": 4, "width": 4, "length": 1, "file_names": ["a"]}
    gt = {"videos": [video], "categories": [{"id": 1, "name": "cat"}], "annotations": []}
    rle = {"size": [4, 4], "counts": "010"}
    results = [{"video_id": 1, "category_id": 99, "score": 0.9, "segmentations": [rle]}]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "res.json").write_text(json.dumps(results))
    argv = ["eval", "--gt", str(tmp_path / "gt.json"), "--results", str(tmp_path / "res.json")]
    assert main(argv) == exit_codes.BAD_ANSWER == 1
    assert "--allow-dropped" in capsys.readouterr().err


def test_a_command_run_as_a_module_is_recorded_as_called(monkeypatch):
    from vis_bench.measure.provenance import start_provenance

    monkeypatch.setattr(sys, "argv", ["python -m vis_bench", "eval", "--gt", "a b.json"])
    assert start_provenance()["command"] == "python -m vis_bench eval --gt 'a b.json'"
