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


def load_official(folder: Path) -> tuple[type, type]:
    """(YTVOS, YTVOSeval) from the files in `folder`; their relative `mask` import is given
    PyPI pycocotools' mask (the fork's mask code differs only where the segm metric never
    looks)."""
    from pycocotools import mask

    for name in ("ytvos.py", "ytvoseval.py"):
        if not (folder / name).is_file():
            raise SystemExit(f"official evaluator: {folder / name} not found")
    package = types.ModuleType("_official_ytvis")
    package.__path__ = [str(folder)]
    sys.modules["_official_ytvis"] = package
    sys.modules["_official_ytvis.mask"] = mask
    ytvos = importlib.import_module("_official_ytvis.ytvos")
    ytvoseval = importlib.import_module("_official_ytvis.ytvoseval")
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
