"""TrackEval's own BURST path as one process: the `trackeval` package (1.3.0, numpy 2), its
`BURST` dataset reading the files and its `Evaluator` running HOTA and TrackMAP, then the
toolkit's headline (100 x the mean over the classes of each split). Imports nothing of
vis-bench; it reads the common-class list from vis-bench's category data file.

    python benchmarks/trackeval_burst_process.py --gt GT_DIR --pred PRED.json --output OUT.json

TrackEval's BURST dataset wants a GT folder holding one JSON file and a trackers folder with one
tracker; both are made of symlinks in a temporary folder (part of the timed process).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import tempfile
from pathlib import Path

import trackeval

CATEGORY_DATA = Path(__file__).resolve().parents[1] / "vis_bench/eval/burst/tao_categories.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gt", type=Path, required=True, help="folder holding all_classes.json")
    parser.add_argument("--pred", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    common = set(json.loads(CATEGORY_DATA.read_text())["common"])
    with tempfile.TemporaryDirectory() as tmp:
        gt_dir, tracker_dir = Path(tmp, "gt"), Path(tmp, "trackers", "t", "data")
        gt_dir.mkdir()
        tracker_dir.mkdir(parents=True)
        os.symlink((args.gt / "all_classes.json").resolve(), gt_dir / "all_classes.json")
        os.symlink(args.pred.resolve(), tracker_dir / "pred.json")
        config = trackeval.datasets.BURST.get_default_dataset_config()
        config.update(GT_FOLDER=str(gt_dir), TRACKERS_FOLDER=str(Path(tmp, "trackers")))
        config["PRINT_CONFIG"] = False
        quiet = {"PRINT_RESULTS": False, "PRINT_CONFIG": False, "OUTPUT_SUMMARY": False}
        quiet.update(
            OUTPUT_DETAILED=False, PLOT_CURVES=False, USE_PARALLEL=False, TIME_PROGRESS=False
        )
        with contextlib.redirect_stdout(io.StringIO()):
            dataset = trackeval.datasets.BURST(config)
            metrics = [
                trackeval.metrics.HOTA(),
                trackeval.metrics.TrackMAP({"PRINT_CONFIG": False}),
            ]
            output, _ = trackeval.Evaluator(quiet).evaluate([dataset], metrics)
    combined = output["BURST"]["t"]["COMBINED_SEQ"]
    ids = dataset.class_name_to_class_id
    splits = {
        "all": list(dataset.class_list),
        "common": [c for c in dataset.class_list if ids[c] in common],
        "uncommon": [c for c in dataset.class_list if ids[c] not in common],
    }
    headline: dict[str, dict[str, float | None]] = {}
    for stat in ("HOTA", "DetA", "AssA", "AP"):
        headline[stat] = {}
        for split, names in splits.items():
            values = [
                combined[c]["TrackMAP"]["AP_all"].mean()
                if stat == "AP"
                else combined[c]["HOTA"][stat].mean()
                for c in names
            ]
            headline[stat][split] = 100 * sum(values) / len(values) if values else None
    args.output.write_text(json.dumps(headline) + "\n")


if __name__ == "__main__":
    main()
