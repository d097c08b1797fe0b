"""A method entry naming its label space is checked against the dataset's before any cell runs;
`category_map: by_name` maps classes by name, drops the rest, and the record says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tests.helpers.toy_method  # noqa: F401  (registers "toy")
from tests.helpers.quick_rounds import QUICK_ROUNDS
from vis_bench.config import parse_config
from vis_bench.errors import InputError
from vis_bench.inference.sources import open_source
from vis_bench.sweep import run_sweep


def _config(tmp_path, **method):
    return parse_config(
        {
            "name": "labels",
            "dataset": {
                "kind": "synthetic",
                "videos": 2,
                "min_frames": 3,
                "max_frames": 4,
                "cache_dir": str(tmp_path / "cache"),
            },
            "methods": [{"name": "toy", **method}],
            "sweep": {"clip_length": ["all"], "resolution": [32]},
            "measure": {**QUICK_ROUNDS, "warmup": 0, "repeats": 1, "flops": False},
        }
    )


def _run(config, tmp_path):
    return run_sweep(config, open_source(config.dataset), tmp_path / "run", log=lambda s: None)


@pytest.mark.slow
def test_the_same_label_space_runs(tmp_path):
    (record,) = _run(_config(tmp_path, label_space="synthetic"), tmp_path)
    assert record["status"] == "ok"
    assert record["label_space"]["mapping"] == "same label space (8 categories)"


def test_another_label_space_is_refused_before_any_cell(tmp_path):
    config = _config(tmp_path, label_space="ovis")
    with pytest.raises(InputError) as err:
        _run(config, tmp_path)
    assert "methods[0].label_space" in str(err.value) and "by_name" in str(err.value)
    assert not (tmp_path / "run" / "records.jsonl").exists()


def test_an_unknown_label_space_is_a_config_error(tmp_path):
    from vis_bench.sweep import resolve_methods

    with pytest.raises(InputError, match=r"methods\[0\]\.label_space"):
        resolve_methods(_config(tmp_path, label_space="coco"))


@pytest.mark.slow
def test_mapping_by_name_renumbers_and_drops_with_a_note(tmp_path):
    # YouTube-VIS 2019 class 1 is "person": no synthetic class has that name, so the toy's
    # label-1 predictions are dropped, unless an alias names its counterpart
    config = _config(
        tmp_path,
        label_space="ytvis2019",
        category_map="by_name",
        category_aliases={"person": "checker_box", "giant_panda": "striped_disc"},
        options={"label": 1},
    )
    (record,) = _run(config, tmp_path)
    assert record["status"] == "ok"
    assert "2 model categories mapped by name" in record["label_space"]["mapping"]
    predictions = json.loads(Path(record["results_path"]).read_text())
    assert predictions and {p["category_id"] for p in predictions} == {3}  # checker_box
    assert "classes mapped from ytvis2019" in record["notes"]
