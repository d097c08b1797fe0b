"""No function of the product is longer than 80 lines, none in the harness or the methods longer
than 70: a forward or a command reads in one sitting."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FOLDERS = ("vis_bench", "methods", "cuda_ops", "benchmarks", "scripts")
MAX_LINES = 80
#: the harness and the methods, held tighter
TIGHT = {"vis_bench": 70, "methods": 70}


def test_no_function_is_longer_than_its_folders_limit():
    long = []
    for folder in FOLDERS:
        for path in sorted((REPO / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines = node.end_lineno - node.lineno + 1
                    if lines > TIGHT.get(folder, MAX_LINES):
                        long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({lines})")
    assert not long, "functions over the limit (70 lines in vis_bench/ and methods/, else 80): " + (
        ", ".join(long)
    )
