"""Check the import contracts of pyproject.toml ([tool.importlinter]) on the installed layout.

`methods/` and `cuda_ops/` sit at the repository's root but install as `vis_bench.methods` and
`vis_bench.cuda_ops` (setup.py). import-linter (through grimp) finds a package's modules by
walking its folder, so on the checkout it would see neither. This script lays the package out
as it installs, in a temporary folder (a copy of the Python files, nothing built), and runs
`lint-imports` there with the repository's configuration. Exit status: lint-imports' own
(0 every contract kept, 1 a contract broken).

    python scripts/lint_imports.py [--repo DIR] [lint-imports options, e.g. --verbose]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: repository folder -> where it lands inside the installed package (as setup.py maps them)
INSTALLED_AS = {
    "vis_bench": "vis_bench",
    "methods": "vis_bench/methods",
    "cuda_ops": "vis_bench/cuda_ops",
}


def stage_package(repo: Path, dest: Path) -> Path:
    """Copy every .py file of the three folders to `dest` in their installed layout."""
    for folder, target in INSTALLED_AS.items():
        source = repo / folder
        if not source.is_dir():
            raise SystemExit(f"{source} is missing: run this from (or --repo) a vis-bench checkout")
        for path in source.rglob("*.py"):
            out = dest / target / path.relative_to(source)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, out)
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    args, lint_args = parser.parse_known_args(argv)
    repo = args.repo.resolve()
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    with tempfile.TemporaryDirectory(prefix="vis-bench-imports-") as tmp:
        stage_package(repo, Path(tmp))
        command = [lint, "--config", str(repo / "pyproject.toml"), "--no-cache", *lint_args]
        return subprocess.call(command, cwd=tmp)


if __name__ == "__main__":
    sys.exit(main())
