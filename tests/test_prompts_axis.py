"""The number of prompts as a sweep axis: a prompted method (SAM 3's smallest shape, untrained,
on a small synthetic video) runs once per prompt count with its label space's first k
categories, a method without prompts runs once, the records carry the prompts and the objects
tracked per frame, and the table by prompts holds every other axis fixed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import tests.helpers.toy_method  # noqa: F401  (registers the "toy" method)
from tests.helpers.quick_rounds import QUICK_ROUNDS
from vis_bench.config import load_config, parse_config
from vis_bench.errors import InputError
from vis_bench.inference.sources import open_source
from vis_bench.report.axis_tables import axis_table, has_axis_table
from vis_bench.report.record_set import RecordSet
from vis_bench.sweep import expand_cells, resolve_methods, run_sweep

#: one synthetic video of three frames
SMALL_VIDEO = dict(kind="synthetic", videos=1, min_frames=3, max_frames=3)
UNTRAINED = Path(__file__).resolve().parents[1] / "configs/tiny/sam3_untrained.yaml"


def _config(tmp_path: Path, prompts: list, measure: dict | None = None):
    options = yaml.safe_load(UNTRAINED.read_text())["options"]
    return parse_config(
        {
            "name": "prompts-axis",
            "dataset": {**SMALL_VIDEO, "cache_dir": str(tmp_path / "cache")},
            "methods": [{"name": "sam3", "options": options}, {"name": "toy"}],
            "sweep": {"clip_length": [3], "prompts": prompts},
            "measure": {
                **QUICK_ROUNDS,
                "warmup": 0,
                "repeats": 1,
                "flops": False,
                "ap": False,
                **(measure or {}),
            },
        }
    )


def test_a_prompt_count_must_be_positive_or_null(tmp_path):
    for bad in ([0], [-2], ["all"], [True], []):
        with pytest.raises(InputError, match="sweep.prompts"):
            _config(tmp_path, bad)


def test_only_a_prompted_method_gets_a_cell_per_prompt_count(tmp_path):
    config = _config(tmp_path, [1, 3, None])
    cells = expand_cells(config, resolve_methods(config))
    assert [(c.method.name, c.prompts) for c in cells] == [
        ("sam3", 1),
        ("sam3", 3),
        ("sam3", None),
        ("toy", None),
    ]
    limits = [c.method.model_options.get("max_prompts", 0) for c in cells[:3]]
    assert limits == [1, 3, 0]
    assert "P=3" in cells[1].label() and "P=" not in cells[2].label()
    assert "prompts" in cells[0].identity("d") and "prompts" not in cells[2].identity("d")
    assert len({c.key("d") for c in cells}) == 4
    # the cells without a prompt count keep the keys they had before the axis existed
    before = expand_cells(_config(tmp_path, [None]), resolve_methods(config))
    assert [c.key("d") for c in before] == [c.key("d") for c in cells[2:]]


@pytest.mark.slow
def test_records_carry_prompts_and_objects_and_the_table_shows_fps_by_prompts(tmp_path):
    config = _config(tmp_path, [1, 3, None], measure={"fps": True})
    records = run_sweep(config, open_source(config.dataset), tmp_path / "run", log=lambda s: 0)
    assert [r["status"] for r in records] == ["ok"] * 4, [r.get("error") for r in records]
    sam3, toy = records[:3], records[3]
    assert [r["prompts"] for r in sam3] == [1, 3, 8]  # the synthetic label space: 8 names
    assert [r["model_options"]["max_prompts"] for r in sam3] == [1, 3, 0]
    for record in sam3:
        tracked = record["objects_tracked"]
        assert tracked["frames"] == 3 and 0 <= tracked["mean"] <= tracked["max"]
        categories = {p["category_id"] for p in _results(record)}
        assert categories <= set(range(1, record["prompts"] + 1))
    assert sam3[0]["objects_tracked"]["max"] <= sam3[2]["objects_tracked"]["max"]
    assert toy["prompts"] is None and toy["objects_tracked"] is None
    record_set = RecordSet.from_records(records)
    assert has_axis_table(record_set, "fps_end_to_end", "prompts")
    table = axis_table(record_set, "fps_end_to_end", "prompts")
    header = next(line for line in table.splitlines() if line.startswith("| method"))
    assert [h.strip() for h in header.strip("|").split("|")][-3:] == ["P=1", "P=3", "P=8"]
    toy_row = next(line for line in table.splitlines() if line.startswith("| toy"))
    values = [v.strip() for v in toy_row.strip("|").split("|")][-3:]
    assert len(set(values)) == 1 and values[0]  # a flat line: one cell in every column
    assert "obj.)" in next(line for line in table.splitlines() if line.startswith("| sam3"))
    assert "flat line" in table


def _results(record: dict) -> list[dict]:
    import json

    return json.loads(Path(record["results_path"]).read_text())


def test_one_prompt_count_beside_methods_without_prompts_adds_no_column():
    from vis_bench.records import CellRecord
    from vis_bench.report.table_axes import varied_axes

    def record(method: str, prompts: int | None, key: str) -> CellRecord:
        return CellRecord.from_json({"key": key, "method": method, "prompts": prompts})

    alone = [record("open", 8, "a"), record("closed", None, "b")]
    assert "prompts" not in varied_axes(alone)
    assert "prompts" in varied_axes([*alone, record("open", 1, "c")])


def test_the_committed_prompts_axis_config_runs_sam3_per_prompt_count_beside_flat_lines():
    """configs/prompts_axis.yaml (results/prompts_axis): SAM 3 at 1, 4 and all 8 synthetic
    prompts with detections kept above 0.2 so that objects are tracked, FPS on, and three
    methods without prompts once each."""
    config = load_config(UNTRAINED.parents[1] / "prompts_axis.yaml")
    cells = expand_cells(config, resolve_methods(config))
    assert [c.prompts for c in cells if c.method.name == "sam3"] == [1, 4, None]
    flat = [c for c in cells if c.method.name != "sam3"]
    assert sorted(c.method.name for c in flat) == ["minvis", "seqformer", "videomt"]
    assert all(c.prompts is None for c in flat)
    assert cells[0].method.model_options["score_threshold_detection"] == 0.2
    assert config.measure.fps and not config.measure.ap
