"""The metric's two input files read on background threads, from before the metric is imported.

Most of reading a released-size GT and results file is compiled work that releases the GIL
(mapping the files, cutting and parsing the count lists and mask strings on two threads); the
metric's imports (NumPy, pycocotools, the metric itself) are Python work that holds it. Started
first, the reading overlaps the imports instead of following them. This module imports nothing
heavy, so a command can start the reading as its first act (commands/eval.py).

The GT is read, then (on its own thread) the results, each with the same functions, checks and
errors as an ordinary read; an error is raised where the caller asks for that input, so a bad GT
is still reported before a bad results file.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any


class _Background:
    """One function run on a daemon thread; `result()` waits and returns or raises its outcome."""

    def __init__(self, target, *args: Any) -> None:
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(target, *args), daemon=True)
        self._thread.start()

    def _run(self, target, *args: Any) -> None:
        try:
            self._value = target(*args)
        except BaseException as err:  # handed to the caller of result()
            self._error = err

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def _read_ground_truth(path: Path, cache_dir: Path | None):
    if cache_dir is None:
        # the count lists cut (no GIL) while this thread and the caller import NumPy and the
        # metric (GIL): text_cuts imports neither
        from vis_bench.eval.rle.text_cuts import cut_ground_truth

        made = cut_ground_truth(path)
        from vis_bench.eval.metric.loading import load_ground_truth

        return load_ground_truth(path, made)
    from vis_bench.eval.metric.gt_cache import load_ground_truth_cached

    return load_ground_truth_cached(path, cache_dir)


def _read_results(path: Path):
    from vis_bench.eval.rle.text_cuts import cut_results

    made = cut_results(path)  # as for the GT: before the imports
    from vis_bench.eval.rle.result_strings import read_located

    return read_located(path, made)


class InputLoading:
    """The GT (optionally through the GT cache, metric/gt_cache.py) and the results file of one
    evaluation, being read; `ground_truth()` and `results()` wait for them."""

    def __init__(
        self, gt_path: str | Path, results_path: str | Path, gt_cache_dir: str | Path | None = None
    ) -> None:
        self.gt_path, self.results_path = Path(gt_path), Path(results_path)
        cache = None if gt_cache_dir is None else Path(gt_cache_dir)
        self._gt = _Background(_read_ground_truth, self.gt_path, cache)
        self._results = _Background(_read_results, self.results_path)

    def ground_truth(self):
        """The loaded GroundTruth (metric/loading.py)."""
        return self._gt.result()

    def results(self) -> tuple[Any, Any]:
        """(the parsed results, their located strings or None): result_strings.read_located."""
        return self._results.result()
