"""No import circle in the package: not between modules, not between its folders.

The graph is grimp's (the library import-linter runs on), built by scripts/lint_imports.py on the
installed layout it stages (methods/ and cuda_ops/ under vis_bench/), in a process of its own so
that the package this test runs in is not the one measured. It counts every import statement,
those inside functions too: a circle closed by an import deferred into a function is still a
circle. A copy of the tree with one such import added shows the check is not vacuous.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "lint_imports.py"


def _cycles(repo: Path) -> tuple[int, dict[str, list]]:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--repo", str(repo), "--cycles"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def test_no_import_circle_between_modules_or_folders():
    code, cycles = _cycles(REPO)
    assert code == 0 and cycles["modules"] == [], "\n".join(
        " -> ".join(circle) for circle in cycles["modules"]
    )
    assert cycles["folders"] == [], cycles["folders"]


def test_a_circle_closed_inside_a_function_is_found(tmp_path):
    for folder in ("vis_bench", "methods", "cuda_ops", "tools"):
        shutil.copytree(
            REPO / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__", "*.so")
        )
    checkpoints = tmp_path / "vis_bench" / "api" / "checkpoints.py"
    checkpoints.write_text(
        checkpoints.read_text()
        + "\n\ndef _late() -> None:\n    from vis_bench.api.plugin import MethodPlugin  # noqa\n"
    )
    code, cycles = _cycles(tmp_path)
    assert code == 1
    assert any(
        {"vis_bench.api.checkpoints", "vis_bench.api.plugin"} <= set(c) for c in cycles["modules"]
    )
