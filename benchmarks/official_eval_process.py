"""The official YouTube-VIS evaluator as a user runs it: one process that imports only the
official files (and pycocotools, NumPy), evaluates, and writes the 12 numbers.

    python benchmarks/official_eval_process.py DIR GT.json RESULTS.json STATS.json

DIR holds `ytvos.py` and `ytvoseval.py` of youtubevos/cocoapi (see bench_eval.py). Nothing of
vis-bench (nor the benchmark's own helpers) is imported here, so the timed official process
carries no import of ours. STATS.json gets the 12 values of `YTVOSeval.stats` in their order.
"""

from __future__ import annotations

import importlib
import json
import sys
import types
from pathlib import Path


def official_modules(folder: Path, package: str, names: tuple[str, ...]) -> list:
    """The official evaluator's modules `names` from the files in `folder`, loaded as the
    throw-away package `package`; their relative `mask` import is given PyPI pycocotools'
    mask (the forks' mask code differs only where the segm metric never looks)."""
    from pycocotools import mask

    for name in names:
        if not (folder / f"{name}.py").is_file():
            raise SystemExit(f"official evaluator: {folder / name}.py not found")
    holder = types.ModuleType(package)
    holder.__path__ = [str(folder)]
    sys.modules[package] = holder
    sys.modules[f"{package}.mask"] = mask
    return [importlib.import_module(f"{package}.{name}") for name in names]


def load_official(folder: Path) -> tuple[type, type]:
    """(YTVOS, YTVOSeval) of youtubevos/cocoapi's `ytvos.py` and `ytvoseval.py` in `folder`."""
    ytvos, ytvoseval = official_modules(folder, "_official_ytvis", ("ytvos", "ytvoseval"))
    return ytvos.YTVOS, ytvoseval.YTVOSeval


def main() -> None:
    folder, gt_path, results_path, out = map(Path, sys.argv[1:5])
    ytvos_cls, eval_cls = load_official(folder)
    gt = ytvos_cls(str(gt_path))
    evaluator = eval_cls(gt, gt.loadRes(str(results_path)), "segm")
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    out.write_text(json.dumps([float(v) for v in evaluator.stats]))


if __name__ == "__main__":
    main()
