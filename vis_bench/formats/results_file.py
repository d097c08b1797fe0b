"""The one reader of a results.json (the YouTube-VIS/OVIS submission layout): a JSON list of
predictions, each `{"video_id", "category_id", "score", "segmentations"}`.

The metric (eval/metric/loading.py), a sweep's shard merge and its scoring (sweep/run.py,
sweep/scoring.py) read predictions through `read_results`, so a file that is not a list fails
the same way, naming the file, wherever it is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vis_bench.errors import InputError
from vis_bench.jsonio import read_json


def read_results(path: str | Path) -> list[dict[str, Any]]:
    """The predictions of a results file; InputError (naming the file) when it is unreadable,
    not JSON or not a list. The entries are checked by their consumer (the metric's loader)."""
    return results_list(read_json(path, "results"), path)


def results_list(data: Any, path: str | Path) -> list[dict[str, Any]]:
    """`data`, parsed from results file `path`, if it is a list; else the InputError."""
    if not isinstance(data, list):
        raise InputError(
            f"results must be a JSON list of predictions, got {type(data).__name__}",
            path=str(path),
        )
    return data
