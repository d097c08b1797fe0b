"""The official evaluator's timed process (benchmarks/official_eval_process.py) runs the
official files and writes their 12 numbers, importing nothing of vis-bench: a benchmark that
loaded our modules into the official process would charge their import time to it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "official_eval_process.py"

FAKE_YTVOS = """
from . import mask  # the official files import pycocotools' mask relatively


class YTVOS:
    def __init__(self, path):
        self.path = path

    def loadRes(self, path):
        return ("results", path)
"""

FAKE_YTVOSEVAL = """
import sys


class YTVOSeval:
    def __init__(self, gt, dt, iou_type):
        assert iou_type == "segm" and dt[0] == "results"
        self.calls = []

    def evaluate(self):
        self.calls.append("evaluate")

    def accumulate(self):
        self.calls.append("accumulate")

    def summarize(self):
        self.calls.append("summarize")
        ours = any(name.split(".")[0] in ("vis_bench", "methods") for name in sys.modules)
        order = self.calls == ["evaluate", "accumulate", "summarize"]
        self.stats = [float(ours), float(not order)] + [0.25] * 10
"""


def test_the_official_process_runs_the_official_files_alone(tmp_path):
    (tmp_path / "ytvos.py").write_text(FAKE_YTVOS)
    (tmp_path / "ytvoseval.py").write_text(FAKE_YTVOSEVAL)
    out = tmp_path / "stats.json"
    command = [sys.executable, str(SCRIPT), str(tmp_path), "gt.json", "res.json", str(out)]
    subprocess.run(command, check=True, capture_output=True, cwd=tmp_path)
    assert json.loads(out.read_text()) == [0.0, 0.0] + [0.25] * 10


def test_a_missing_official_file_is_named(tmp_path):
    command = [sys.executable, str(SCRIPT), str(tmp_path), "gt.json", "res.json", "out.json"]
    run = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode != 0 and str(tmp_path / "ytvos.py") in run.stderr
