"""The official LV-VIS evaluator as a user runs it (its `mAP.py` calls), one process, for timing.

    python benchmarks/official_lvvis_process.py DIR GT.json RESULTS.json STATS.json

DIR is a checkout of haochenheheda/LVVIS (the folder holding its `evaluate/` package); the code
is GPL-3.0, so it stays outside this repository and is only run, unmodified. On NumPy 2 its
`accumulate()` needs the `np.float` alias that NumPy 1.24 removed (the one edit the golden
README names); this runner defines that alias before importing, so no file of theirs changes.
Nothing of vis-bench is imported. STATS.json gets the 12 overall values of `LVVISeval.stats`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    folder, gt_path, results_path, out = map(Path, sys.argv[1:5])
    if not (folder / "evaluate" / "lvviseval.py").is_file():
        raise SystemExit(
            f"{folder}: no evaluate/lvviseval.py (give a haochenheheda/LVVIS checkout)"
        )
    import numpy

    if not hasattr(numpy, "float"):
        numpy.float = float  # the alias NumPy 1.24 removed, which the official accumulate uses
    sys.path.insert(0, str(folder))
    from evaluate.lvvis import LVVIS
    from evaluate.lvviseval import LVVISeval

    gt = LVVIS(str(gt_path))
    evaluator = LVVISeval(gt, gt.loadRes(str(results_path)), "segm")
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    out.write_text(json.dumps([float(v) for v in evaluator.stats]))


if __name__ == "__main__":
    main()
