"""AP/AR of a cell: the project's YouTube-VIS metric on the cell's results.json."""

from __future__ import annotations

from pathlib import Path

from vis_bench.eval.api import evaluate_files


def evaluate_results(gt_path: Path, results_path: Path) -> dict[str, float | None]:
    """The 12 summary numbers as fractions (None where the official metric gives -1)."""
    result = evaluate_files(gt_path, results_path)
    return {name: (None if value < 0 else float(value)) for name, value in result.stats.items()}
