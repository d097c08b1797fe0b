"""A model mapped by name that names only part of a dataset's categories is scored on those
(`dataset.vocabulary: named`, the default) and every table says so; `whole` scores it on all."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO_ROOT

import tests.helpers.toy_method  # noqa: F401  (registers "toy")
from vis_bench.cli import main
from vis_bench.config import parse_config
from vis_bench.errors import InputError
from vis_bench.eval.api import evaluate_loaded
from vis_bench.eval.metric.loading import load_ground_truth, load_results
from vis_bench.eval.stats.subset import restrict_to_categories
from vis_bench.inference.sources import open_source
from vis_bench.sweep import run_sweep

CASE = REPO_ROOT / "tests" / "fixtures" / "golden" / "ytvis_eval" / "public" / "case_01"


def test_the_metric_on_some_categories_is_their_mean_in_the_whole_evaluation():
    gt = load_ground_truth(CASE / "gt.json")
    whole = evaluate_loaded(gt, load_results(CASE / "results.json", gt))
    scored = [c for c, ap in whole.per_category_ap.items() if ap >= 0][:3]
    assert len(scored) >= 2
    part_gt, part_res = restrict_to_categories(gt, load_results(CASE / "results.json", gt), scored)
    part = evaluate_loaded(part_gt, part_res)
    assert part_gt.cat_ids == sorted(scored) and set(part_gt.category_of) <= set(scored)
    expected = np.mean([whole.per_category_ap[c] for c in scored])
    assert part.stats["AP"] == pytest.approx(expected, abs=1e-12)


def _config(tmp_path: Path, **dataset):
    return parse_config(
        {
            "name": "vocabulary",
            "dataset": {
                "kind": "synthetic",
                "videos": 2,
                "min_frames": 3,
                "max_frames": 4,
                "cache_dir": str(tmp_path / "cache"),
                **dataset,
            },
            # YouTube-VIS 2019's 40 classes: two of them are named after synthetic ones
            "methods": [
                {
                    "name": "toy",
                    "label_space": "ytvis2019",
                    "category_map": "by_name",
                    "category_aliases": {"person": "checker_box", "giant_panda": "striped_disc"},
                    "options": {"label": 1},
                }
            ],
            "sweep": {"clip_length": ["all"], "resolution": [32]},
            "measure": {"warmup": 0, "repeats": 1, "flops": False, "fps": False},
        }
    )


def _run(config, folder: Path):
    return run_sweep(config, open_source(config.dataset), folder, log=lambda s: None)


@pytest.mark.slow
def test_a_model_naming_part_of_the_vocabulary_is_scored_on_that_part(tmp_path):
    (named,) = _run(_config(tmp_path), tmp_path / "named")
    space = named["label_space"]
    assert (space["scored_categories"], space["dataset_categories"]) == (2, 8)
    assert main(["pages", str(tmp_path / "named"), "--no-html"]) == 0
    tables = (tmp_path / "named" / "tables.md").read_text()
    assert "toy [2 of 8 categories]" in tables
    (whole,) = _run(_config(tmp_path, vocabulary="whole"), tmp_path / "whole")
    assert whole["label_space"]["scored_categories"] is None
    # the same predictions, scored on the 2 categories the model names or on all 8
    same = json.loads(Path(named["results_path"]).read_text())
    assert same == json.loads(Path(whole["results_path"]).read_text())
    assert set(named["per_category_ap"]) == {"checker_box", "striped_disc"}
    assert len(whole["per_category_ap"]) == 8


def test_an_unknown_vocabulary_setting_names_its_key(tmp_path):
    with pytest.raises(InputError, match=r"dataset\.vocabulary"):
        _config(tmp_path, vocabulary="some")
