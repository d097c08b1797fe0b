"""The import contracts of pyproject.toml hold on this tree, and a forbidden import breaks them.

scripts/lint_imports.py runs import-linter on the installed layout; here it runs on copies of the
repository with one import added where the architecture forbids it, to show that the contracts
are not vacuous (a contract that cannot fail would pass these copies too).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "lint_imports.py"


def _copy_repo(dest: Path) -> Path:
    for folder in ("vis_bench", "methods", "cuda_ops", "tools"):
        shutil.copytree(
            REPO / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__", "*.so")
        )
    shutil.copyfile(REPO / "pyproject.toml", dest / "pyproject.toml")
    return dest


def _lint(repo: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--repo", str(repo)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _add_import(path: Path, statement: str) -> None:
    text = path.read_text()
    anchor = "from __future__ import annotations\n"
    assert anchor in text, path
    path.write_text(text.replace(anchor, anchor + "\n" + statement + "\n", 1))


def test_the_contracts_hold_on_this_tree():
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    declared = (REPO / "pyproject.toml").read_text().count("[[tool.importlinter.contracts]]")
    assert declared >= 7
    assert f"Contracts: {declared} kept, 0 broken." in result.stdout, result.stdout


@pytest.mark.parametrize(
    ("file", "statement", "contract"),
    [
        # a method reaching past the toolkit into the harness
        (
            "methods/ifc/postprocess.py",
            "import vis_bench.sweep.run  # noqa",
            "A method imports only the toolkit, methods.common and cuda_ops",
        ),
        # the harness naming a method
        (
            "vis_bench/report/tables.py",
            "import vis_bench.methods.ifc.plugin  # noqa",
            "The harness never imports a method or a kernel",
        ),
        # one method importing another
        (
            "methods/mssts/release.py",
            "import vis_bench.methods.ifc.model  # noqa",
            "Method packages are independent of each other",
        ),
        # a lower floor importing a higher one
        (
            "vis_bench/toolkit/plugin.py",
            "import vis_bench.sweep.record  # noqa",
            "The harness imports downwards only",
        ),
        # the package reaching into the repository's tooling (not installed)
        (
            "vis_bench/report/tables.py",
            "import tools.doc_numbers  # noqa",
            "The package never imports the repository's tooling",
        ),
        # a kernel importing the harness
        (
            "cuda_ops/ms_deform_attn/op.py",
            "import vis_bench.toolkit  # noqa",
            "cuda_ops stands alone",
        ),
    ],
)
def test_a_forbidden_import_breaks_its_contract(tmp_path, file, statement, contract):
    repo = _copy_repo(tmp_path)
    _add_import(repo / file, statement)
    result = _lint(repo)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(line.startswith(contract) for line in broken), result.stdout
