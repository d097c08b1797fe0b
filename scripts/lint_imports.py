"""Check the import contracts of pyproject.toml ([tool.importlinter]) on the installed layout.

`methods/` and `cuda_ops/` sit at the repository's root but install as `vis_bench.methods` and
`vis_bench.cuda_ops` (setup.py). import-linter (through grimp) finds a package's modules by
walking its folder, so on the checkout it would see neither. This script lays the package out
as it installs, in a temporary folder (a copy of the Python files, nothing built), and runs
`lint-imports` there with the repository's configuration. Exit status: lint-imports' own
(0 every contract kept, 1 a contract broken).

    python scripts/lint_imports.py [--repo DIR] [lint-imports options, e.g. --verbose]
    python scripts/lint_imports.py --graph    # folder-level import counts, folder and module cycles
    python scripts/lint_imports.py --cycles   # the import circles as JSON
    python scripts/lint_imports.py --print-generated   # the contracts made from the folders

The contracts among the method folders are not written in pyproject.toml: they are made here from
the folders at each run (`method_contracts`), so every method package and every family is held
the moment its folder exists. Method packages are independent of each other; a family imports no
method; the parts (`methods/common/`) import no family and no method; and no method's core (its
`plugin` module and everything that imports, directly or not) imports the parity layer: a
method names its parity check lazily (`ParityReference("module:function")`), so only the
modules that check, outside the core, may import `vis_bench.parity`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

#: repository folder -> where it lands inside the installed package (as setup.py maps them)
INSTALLED_AS = {
    "vis_bench": "vis_bench",
    "methods": "vis_bench/methods",
    "cuda_ops": "vis_bench/cuda_ops",
    "tools": "tools",
}


def stage_package(repo: Path, dest: Path) -> Path:
    """Copy every .py file of the folders to `dest` in their installed layout (tools/, never
    installed, beside the package as in a checkout)."""
    for folder, target in INSTALLED_AS.items():
        source = repo / folder
        if not source.is_dir():
            raise SystemExit(f"{source} is missing: run this from (or --repo) a vis-bench checkout")
        for path in source.rglob("*.py"):
            out = dest / target / path.relative_to(source)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, out)
    return dest


#: folders of methods/ that hold no method of their own
PARTS, FAMILIES = "common", "families"
#: the module of a method package that registers it: the root of the method's core
PLUGIN = "plugin"


def _packages_in(folder: Path) -> list[str]:
    """Names of the Python packages directly inside `folder`, sorted."""
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and (p / "__init__.py").is_file())


def method_contracts(repo: Path) -> str:
    """The import-linter contracts among the method folders, as TOML, made from the folders."""
    methods_dir = repo / "methods"
    package = "vis_bench.methods"
    names = [n for n in _packages_in(methods_dir) if n not in (PARTS, FAMILIES)]
    methods = [f"{package}.{n}" for n in names]
    cores = [
        f"{package}.{n}.{PLUGIN}" for n in names if (methods_dir / n / f"{PLUGIN}.py").is_file()
    ]
    contracts = [
        (
            "methods-independent",
            "Method packages are independent of each other",
            "independence",
            {"modules": methods},
        ),
        (
            "families-below-methods",
            "A method family imports no method",
            "forbidden",
            {"source_modules": [f"{package}.{FAMILIES}"], "forbidden_modules": methods},
        ),
        (
            "common-below-families",
            "methods.common imports no family and no method",
            "forbidden",
            {
                "source_modules": [f"{package}.{PARTS}"],
                "forbidden_modules": [f"{package}.{FAMILIES}", *methods],
            },
        ),
        (
            "method-cores-without-parity",
            "A method's core never imports the parity layer",
            "forbidden",
            {"source_modules": cores, "forbidden_modules": ["vis_bench.parity"]},
        ),
    ]
    blocks = []
    for ident, name, kind, lists in contracts:
        lines = ["[[tool.importlinter.contracts]]", f'id = "{ident}"', f'name = "{name}"']
        lines.append(f'type = "{kind}"')
        lines += [f"{key} = {json.dumps(values)}" for key, values in lists.items()]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def write_config(repo: Path, dest: Path) -> Path:
    """pyproject.toml's import-linter section with the generated contracts appended."""
    text = (repo / "pyproject.toml").read_text()
    config = dest / "importlinter.toml"
    config.write_text(text.rstrip("\n") + "\n\n" + method_contracts(repo))
    return config


def folder_of(module: str) -> str:
    """The folder a module counts for: a method package, methods.common, or a harness package."""
    parts = module.split(".")
    if len(parts) >= 4 and parts[1] == "methods" and parts[2] == FAMILIES:
        return ".".join(parts[:4])
    if len(parts) >= 3 and parts[1] == "methods":
        return ".".join(parts[:3])
    return ".".join(parts[:2])


def import_graph(staged: Path) -> Any:
    """grimp's graph of the staged package: every import statement, those inside functions and
    under `if TYPE_CHECKING:` too."""
    import grimp

    sys.path.insert(0, str(staged))
    try:
        return grimp.build_graph("vis_bench", cache_dir=None)
    finally:
        sys.path.remove(str(staged))


def module_cycles(graph: Any) -> list[list[str]]:
    """Import circles among modules: one per set of modules, as the chain that closes it (the
    first module again at its end)."""
    seen: set[frozenset[str]] = set()
    circles = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            chain = graph.find_shortest_chain(importer=imported, imported=module)
            if chain and frozenset(chain) not in seen:
                seen.add(frozenset(chain))
                circles.append([module, *chain])
    return circles


def folder_graph(staged: Path) -> dict[tuple[str, str], int]:
    """Direct imports between folders, counted per importing-imported module pair."""
    graph = import_graph(staged)
    counts: dict[tuple[str, str], int] = {}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            edge = (folder_of(module), folder_of(imported))
            if edge[0] != edge[1]:
                counts[edge] = counts.get(edge, 0) + 1
    return counts


def folder_cycles(counts: dict[tuple[str, str], int]) -> list[tuple[str, str]]:
    """Pairs of folders that reach each other through folder-level imports."""
    reach: dict[str, set[str]] = {}
    for a, b in counts:
        reach.setdefault(a, set()).add(b)
    changed = True
    while changed:
        changed = False
        for a in list(reach):
            new = set().union(*(reach.get(b, set()) for b in reach[a])) - reach[a]
            if new:
                reach[a] |= new
                changed = True
    return sorted((a, b) for a in reach for b in reach[a] if a < b and a in reach.get(b, set()))


def print_graph(counts: dict[tuple[str, str], int], staged: Path) -> None:
    """The counts the architecture promises, then every folder-level edge."""
    is_method = lambda name: name.startswith("vis_bench.methods")  # noqa: E731
    is_kernel = lambda name: name.startswith("vis_bench.cuda_ops")  # noqa: E731
    allowed = (
        "vis_bench.api",
        "vis_bench.parity",
        "vis_bench.methods.common",
        "vis_bench.methods.families",
        "vis_bench.cuda_ops",
    )
    method_out = {k: n for k, n in counts.items() if is_method(k[0]) and k[0] != allowed[1]}
    outside = sum(n for (a, b), n in method_out.items() if not b.startswith(allowed))
    harness_in = sum(
        n
        for (a, b), n in counts.items()
        if not (is_method(a) or is_kernel(a)) and (is_method(b) or is_kernel(b))
    )
    print(f"method -> api / parity / methods.common / cuda_ops: {sum(method_out.values())}")
    print(f"method -> anything else of vis_bench: {outside}")
    print(f"harness -> methods or cuda_ops imports: {harness_in}")
    print(f"folder-level cycles: {folder_cycles(counts) or 'none'}")
    print(f"module-level cycles: {module_cycles(import_graph(staged)) or 'none'}")
    for (a, b), n in sorted(counts.items()):
        print(f"  {a} -> {b}: {n}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--graph", action="store_true", help="print folder-level import counts")
    parser.add_argument(
        "--cycles",
        action="store_true",
        help="print the module and folder import circles as JSON (exit 1 if a module circle)",
    )
    parser.add_argument(
        "--print-generated",
        action="store_true",
        help="print the contracts made from the method folders and stop",
    )
    args, lint_args = parser.parse_known_args(argv)
    repo = args.repo.resolve()
    if args.print_generated:
        print(method_contracts(repo), end="")
        return 0
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    with tempfile.TemporaryDirectory(prefix="vis-bench-imports-") as tmp:
        stage_package(repo, Path(tmp))
        if args.graph:
            print_graph(folder_graph(Path(tmp)), Path(tmp))
            return 0
        if args.cycles:
            modules = module_cycles(import_graph(Path(tmp)))
            folders = folder_cycles(folder_graph(Path(tmp)))
            print(json.dumps({"modules": modules, "folders": folders}))
            return 1 if modules else 0
        config = write_config(repo, Path(tmp))
        command = [lint, "--config", str(config), "--no-cache", *lint_args]
        return subprocess.call(command, cwd=tmp)


if __name__ == "__main__":
    sys.exit(main())
