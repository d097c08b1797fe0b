"""A sweep on an LV-VIS-layout dataset (`dataset.kind: lvvis`): its ground truth is read and
checked as the declared kind says, its cells get LV-VIS's 36 statistics, and the tables show the
columns the LV-VIS metric declares."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tests.helpers.toy_method  # noqa: F401  (registers the "toy" method)
from vis_bench.config import DATASET_KINDS, parse_config
from vis_bench.data.synthetic import generate_dataset
from vis_bench.errors import InputError
from vis_bench.eval.benchmarks import LVVIS_STAT_NAMES
from vis_bench.inference.sources import open_source
from vis_bench.report.record_set import RecordSet
from vis_bench.report.tables import comparison_table
from vis_bench.sweep import run_sweep
from vis_bench.sweep.scoring import Scorer


def _lvvis_folder(root: Path, partitions: bool = True) -> Path:
    """A synthetic LV-VIS-layout dataset (the last two categories novel) that passes for a real one:
    without the `info.generator` mark of `run_bench.py synth`."""
    folder = generate_dataset(
        root / "lvvis", videos=2, seed=5, min_frames=4, max_frames=6, novel_categories=1
    )
    gt_path = folder / "annotations.json"
    gt = json.loads(gt_path.read_text())
    gt["info"] = {"description": "LV-VIS-layout test split"}
    if not partitions:
        del gt["categories"][0]["partition"]
    gt_path.write_text(json.dumps(gt))
    return folder


def _config(folder: Path):
    return parse_config(
        {
            "name": "lv",
            "dataset": {
                "kind": "lvvis",
                "annotations": str(folder / "annotations.json"),
                "frames": str(folder / "JPEGImages"),
            },
            "methods": [{"name": "toy"}],
            "measure": {
                "warmup": 0,
                "repeats": 1,
                "bootstrap": 0,
                "rounds": 1,
                "max_rounds": 1,
                "precision": 0,
            },
        },
        "lv.yaml",
    )


def test_lvvis_is_a_dataset_kind_of_the_config():
    assert "lvvis" in DATASET_KINDS


@pytest.mark.slow
def test_a_sweep_on_an_lvvis_dataset_scores_base_and_novel(tmp_path):
    config = _config(_lvvis_folder(tmp_path))
    (record,) = run_sweep(config, open_source(config.dataset), tmp_path / "run", log=print)
    assert record["status"] == "ok", record.get("error")
    assert all(name in record for name in LVVIS_STAT_NAMES)
    # AP_n is n/a here (the toy method finds nothing of the novel categories): not shown
    header = comparison_table(RecordSet.from_records([record])).splitlines()[0]
    assert "| AP_b " in header and "| AP50 " in header


def test_an_lvvis_dataset_without_a_partition_is_refused_before_any_cell_runs(tmp_path):
    config = _config(_lvvis_folder(tmp_path, partitions=False))
    source = open_source(config.dataset)
    with pytest.raises(InputError, match="has no 'partition'"):
        Scorer(source.gt_path, dataset=config.dataset)
