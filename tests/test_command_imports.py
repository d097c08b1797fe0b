"""Commands import only what they need: building the CLI and running the evaluation-side
commands never loads torch (seconds of start-up) or pandas."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CASE = REPO / "tests" / "fixtures" / "golden" / "ytvis_eval" / "public" / "case_01"


def _loaded_after(args: list[str], cwd: Path) -> dict[str, bool]:
    code = (
        "import json, sys\n"
        "from vis_bench.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
        "print(json.dumps({m: m in sys.modules for m in ('torch', 'pandas')}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "command", ["eval", "validate", "synth", "leaderboard", "compare", "split"]
)
def test_help_of_a_light_command_imports_neither_torch_nor_pandas(command, tmp_path):
    assert _loaded_after([command, "--help"], tmp_path) == {"torch": False, "pandas": False}


def test_eval_and_validate_run_without_torch(tmp_path):
    gt, results = str(CASE / "gt.json"), str(CASE / "results.json")
    out = str(tmp_path / "stats.json")
    assert _loaded_after(["eval", "--gt", gt, "--results", results, "--out", out], tmp_path) == {
        "torch": False,
        "pandas": False,
    }
    assert json.loads(Path(out).read_text())["AP"] >= 0
    loaded = _loaded_after(["validate", "--gt", gt, results], tmp_path)
    assert loaded == {"torch": False, "pandas": False}


def test_synth_runs_without_torch(tmp_path):
    args = ["synth", "--out", str(tmp_path / "d"), "--videos", "1"]
    assert _loaded_after(args, tmp_path) == {"torch": False, "pandas": False}
