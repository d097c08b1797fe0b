"""The first-command benchmark times what the README gives users to copy: its first set-up
command, read from README.md, split into the install and the run; and the README's line about
it is generated from the JSON the benchmark wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.benchmark_scripts import load_benchmark

REPO = Path(__file__).resolve().parents[1]


def _bench():
    return load_benchmark("bench_first_command")


def test_the_timed_command_is_the_readmes_first_one():
    bench = _bench()
    command = bench.readme_first_command()
    assert command in (REPO / "README.md").read_text()
    install, run = bench.split_install(command)
    assert install.startswith("pip install") and run == "python run_bench.py"


def test_a_readme_without_the_mark_or_an_install_step_is_said(tmp_path):
    bench = _bench()
    readme = tmp_path / "README.md"
    readme.write_text("# vis-bench\n\n```bash\npython run_bench.py\n```\n")
    with pytest.raises(SystemExit, match="no line starting with '# 1.'"):
        bench.readme_first_command(readme)
    with pytest.raises(SystemExit, match="no install step"):
        bench.split_install("python run_bench.py")


def test_the_readme_line_says_the_parts_the_load_and_the_commit(tmp_path):
    from tools.default_run_block import _first_command_line

    assert _first_command_line(tmp_path / "absent.json") == ""
    part = {"seconds": 50.4, "load_before": 0.2, "load_after": 1.4, "exit_status": 0}
    report = {
        "seconds": 290.0,
        "parts": {"install": part, "run": {**part, "seconds": 239.6, "load_after": 1.9}},
        "provenance": {"commit": "0123456789abcdef"},
    }
    path = tmp_path / "first_command.json"
    path.write_text(json.dumps(report))
    line = _first_command_line(path)
    assert "4 min 50 s" in line and "install 50 s" in line and "run 240 s" in line
    assert "load 0.2 to 1.9" in line and "at 0123456" in line
