"""The `ytvis2022` and `custom` dataset kinds in sweeps: configs, the scores a cell gets (the 2022
figures, each set's statistics, category groups), the tables and leaderboard that show them, the
published 2022 numbers beside them, and a sweep on `import-vos`'s folder as it is."""

from __future__ import annotations

import json

import pytest

import tests.helpers.toy_method  # noqa: F401  (registers the "toy" method)
from vis_bench.config import DatasetConfig, parse_config
from vis_bench.data.synthetic import generate_dataset
from vis_bench.data.vos_export import export_vos
from vis_bench.data.vos_import import import_vos
from vis_bench.errors import InputError
from vis_bench.eval.api import evaluate_files
from vis_bench.eval.stats.category_groups import group_stats
from vis_bench.eval.stats.ytvis2022 import FIGURE_NAMES
from vis_bench.inference.sources import open_source
from vis_bench.report.leaderboard import leaderboard_markdown
from vis_bench.report.record_set import RecordSet
from vis_bench.report.tables_document import tables_markdown
from vis_bench.sweep import run_sweep
from vis_bench.sweep.scoring import Scorer


def _config(dataset, **extra):
    return parse_config(
        {"name": "k", "dataset": dataset, "methods": [{"name": "toy"}], **extra}, "k.yaml"
    )


def test_ytvis2022_needs_both_sets_and_no_other_kind_takes_them(tmp_path):
    real = {"annotations": "gt.json", "frames": "frames/"}
    with pytest.raises(InputError, match="short and long sets: give both") as caught:
        _config({"kind": "ytvis2022", **real, "long_videos": [1]})
    assert caught.value.field == "dataset.short_videos"
    with pytest.raises(InputError, match="only a ytvis2022 dataset") as caught:
        _config({"kind": "ytvis2021", **real, "short_videos": [1], "long_videos": [2]})
    assert caught.value.field == "dataset.short_videos"
    config = _config({"kind": "ytvis2022", **real, "short_videos": [1], "long_videos": "l.json"})
    assert config.to_dict()["dataset"]["long_videos"] == "l.json"
    # configs that do not use the new keys keep their resolved form (and hash)
    assert "short_videos" not in _config({"kind": "ytvis2021", **real}).to_dict()["dataset"]


def test_the_importers_folder_is_a_dataset_as_it_is(tmp_path):
    folder = tmp_path / "imported"
    folder.mkdir()
    (folder / "annotations.json").write_text("{}")
    config = _config({"kind": "custom", "annotations": str(folder)})
    assert config.dataset.annotations == str(folder / "annotations.json")
    assert config.dataset.frames == str(folder / "frames")
    with pytest.raises(InputError, match="without annotations.json"):
        _config({"kind": "custom", "annotations": str(tmp_path)})


@pytest.fixture(scope="module")
def scored(golden_dir, tmp_path_factory):
    """Two cells scored by a `ytvis2022` Scorer with category groups on golden case_01."""
    case = golden_dir / "ytvis2022_eval" / "public" / "case_01"
    expected = json.loads((case / "expected.json").read_text())
    dataset = DatasetConfig(
        kind="ytvis2022",
        short_videos=expected["videos_short"],
        long_videos=str(case / "gt_long.json"),
        category_groups={"ab": [15, 40], "c": [36]},
    )
    scorer = Scorer(case / "gt.json", replicates=0, dataset=dataset)
    folder = tmp_path_factory.mktemp("cells")
    results = json.loads((case / "results.json").read_text())
    scores = {}
    for name, kept in (("good", results), ("half", results[::2])):
        path = folder / name / "results.json"
        path.parent.mkdir()
        path.write_text(json.dumps(kept))
        scores[name] = scorer.score(path)
    return case, expected, scores


def test_a_cell_of_a_ytvis2022_dataset_gets_the_2022_figures_and_both_sets(scored):
    case, expected, scores = scored
    score = scores["good"]
    for name in FIGURE_NAMES:
        assert score.metrics[name] == pytest.approx(expected[name], abs=1e-12), name
    assert score.video_sets["L"]["videos"] == len(expected["videos_long"])
    assert score.video_sets["S"]["AR1"] == pytest.approx(expected["stats_S"][6], abs=1e-12)
    whole = evaluate_files(case / "gt.json", case / "results.json")
    assert score.metrics["AP"] == whole.stats["AP"]  # AP itself scores every video
    want = group_stats(whole, {"ab": [15, 40], "c": [36]})
    assert score.category_groups["c"]["AP"] == pytest.approx(want["c"]["AP"], abs=1e-12)


def test_a_missing_set_or_groups_file_is_said_before_any_cell_runs(tmp_path):
    gt = tmp_path / "gt.json"
    for key in ("long_videos", "category_groups"):
        dataset = DatasetConfig(kind="ytvis2022", short_videos=[1], long_videos=[2])
        setattr(dataset, key, str(tmp_path / "missing.json"))
        with pytest.raises(InputError, match="file not found") as caught:
            Scorer(gt, dataset=dataset)
        assert caught.value.field == f"dataset.{key}"
    Scorer(gt, dataset=DatasetConfig(category_groups="partition"))  # a field: read when scoring


def _record(score, method, **fields):
    return {
        "key": method,
        "status": "ok",
        "method": method,
        "checkpoint": None,
        "dataset": "ytvis2022:gt.json:0123abcd-9v",
        "dataset_label": "ytvis2022 gt.json (9 videos)",
        "clip_length": "all",
        "stride": None,
        "resolution": None,
        "device": "cpu",
        "dtype": "fp32",
        **score.metrics,
        "video_sets": score.video_sets,
        "category_groups": score.category_groups,
        **fields,
    }


def test_tables_and_leaderboard_carry_map_ap_s_and_ap_l(scored):
    _, expected, scores = scored
    records = [_record(scores["half"], "first"), _record(scores["good"], "second")]
    record_set = RecordSet.from_records(records)
    tables = tables_markdown(record_set, "t")
    assert "| AP_S " in tables and "| AP_L " in tables and "## YouTube-VIS 2022" in tables
    assert "AP_L is the AP on the long videos, the figure recent papers quote" in tables
    assert "long (2 videos)" in tables and "## AP and AR by category group" in tables
    board = leaderboard_markdown(record_set)
    assert "ranked by mAP" in board
    rows = [line for line in board.splitlines() if line.startswith("| 1 ")]
    good_map = 100 * expected["mAP"]
    assert "second" in rows[0] and f"{good_map:.1f}" in rows[0]  # the better mAP ranks first


def test_the_published_2022_number_stands_beside_a_matching_cell(scored):
    _, _, scores = scored
    record = _record(
        scores["good"],
        "videomt",
        variant="videomt.vitl_ytvis22",
        model_options={"backbone": "vit_l"},
        resolution=448,
        clip_length=1,
    )
    tables = tables_markdown(RecordSet.from_records([record]), "t")
    assert "42.6 (AP_L)" in tables  # the model zoo's AP^L, compared with the cell's AP_L


@pytest.mark.slow
def test_a_sweep_runs_on_the_importers_folder(tmp_path):
    generate_dataset(tmp_path / "synth", videos=2, seed=3, max_frames=9)
    gt = tmp_path / "synth" / "annotations.json"
    export_vos(gt, tmp_path / "vos", frames_root=tmp_path / "synth" / "JPEGImages")
    import_vos(tmp_path / "vos", tmp_path / "mine")
    config = _config(
        {"kind": "custom", "annotations": str(tmp_path / "mine")},
        measure={"warmup": 0, "repeats": 1, "bootstrap": 0},
    )
    (record,) = run_sweep(config, open_source(config.dataset), tmp_path / "run", log=print)
    assert record["status"] == "ok" and record["AP"] is not None
    assert record["dataset"].startswith("custom:annotations.json")
