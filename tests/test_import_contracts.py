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


def _generated(repo: Path) -> str:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--repo", str(repo), "--print-generated"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def test_the_contracts_hold_on_this_tree():
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    declared = (REPO / "pyproject.toml").read_text().count("[[tool.importlinter.contracts]]")
    generated = _generated(REPO).count("[[tool.importlinter.contracts]]")
    assert declared >= 6 and generated == 4
    assert f"Contracts: {declared + generated} kept, 0 broken." in result.stdout, result.stdout


def test_every_method_and_family_folder_is_in_the_generated_contracts():
    text = _generated(REPO)
    methods = REPO / "methods"
    for folder in methods.iterdir():
        if not (folder / "__init__.py").is_file() or folder.name in ("common", "families"):
            continue
        assert f'"vis_bench.methods.{folder.name}"' in text, folder.name
    assert '"vis_bench.methods.families"' in text
    assert len(list((methods / "families").glob("*/__init__.py"))) >= 3


def test_a_new_method_folder_is_held_without_editing_the_configuration(tmp_path):
    """A method package that did not exist when pyproject.toml was written is covered at once:
    importing another method from it breaks the independence contract."""
    repo = _copy_repo(tmp_path)
    new = repo / "methods" / "newmethod"
    new.mkdir()
    (new / "__init__.py").write_text("")
    (new / "plugin.py").write_text(
        "from __future__ import annotations\n\nimport vis_bench.methods.ifc.model  # noqa\n"
    )
    assert '"vis_bench.methods.newmethod"' in _generated(repo)
    result = _lint(repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Method packages are independent of each other BROKEN" in result.stdout


@pytest.mark.parametrize(
    ("file", "statement", "contract"),
    [
        # a method reaching past the API into the harness
        (
            "methods/ifc/postprocess.py",
            "import vis_bench.sweep.run  # noqa",
            "A method imports only the API, the families, methods.common and cuda_ops",
        ),
        # a method reaching into the engine (only the parity layer hands its pieces on)
        (
            "methods/minvis/matching.py",
            "import vis_bench.engine.query_tracks  # noqa",
            "A method imports only the API, the families, methods.common and cuda_ops",
        ),
        # a method's core loading the parity layer, directly or through its parity module
        (
            "methods/ifc/postprocess.py",
            "import vis_bench.parity  # noqa",
            "A method's core never imports the parity layer",
        ),
        (
            "methods/families/seqformer/base_plugin.py",
            "import vis_bench.methods.families.seqformer.parity  # noqa",
            "A method's core never imports the parity layer",
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
            "vis_bench/api/plugin.py",
            "import vis_bench.sweep.record  # noqa",
            "The harness imports downwards only",
        ),
        # the sweep and the reports stand side by side: neither imports the other
        (
            "vis_bench/sweep/run_dir.py",
            "import vis_bench.report.tables  # noqa",
            "The harness imports downwards only",
        ),
        # the record store reaching up into the reports it serves
        (
            "vis_bench/records/store.py",
            "import vis_bench.report.settings  # noqa",
            "The harness imports downwards only",
        ),
        # the record's parts reaching up into the record
        (
            "vis_bench/records/parts.py",
            "import vis_bench.records.cell  # noqa",
            "The record store over the typed record over its parts",
        ),
        # the method API reaching up into the engine that runs it
        (
            "vis_bench/api/output.py",
            "import vis_bench.engine.finalise  # noqa",
            "The harness imports downwards only",
        ),
        # the package reaching into the repository's tooling (not installed)
        (
            "vis_bench/report/tables.py",
            "import tools.doc_numbers  # noqa",
            "The package never imports the repository's tooling",
        ),
        # a family reaching up into a method
        (
            "methods/families/mask2former/postprocess.py",
            "import vis_bench.methods.minvis.matching  # noqa",
            "A method family imports no method",
        ),
        # a part reaching up into a family
        (
            "methods/common/position_encoding.py",
            "import vis_bench.methods.families.seqformer.model  # noqa",
            "methods.common imports no family and no method",
        ),
        # a kernel importing the harness
        (
            "cuda_ops/ms_deform_attn/op.py",
            "import vis_bench.api  # noqa",
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
