"""Settings that used to give a wrong number with exit 0 and no warning: each is now scored as it
reads, or refused with an error naming the file, the field and the fix.

- `dataset.max_videos: N` scores the N videos run against those videos' ground truth alone, and
  every page says which videos; 0 and negative N are refused.
- a checkpoint's own label space is checked against the dataset's categories whether or not the
  entry names `label_space`; an entry with neither is run only with a warning on every page.
- a config's relative paths are read from the config's folder; the shipped weights are taken
  by name only for their own names, said and recorded with the file's sha256.
- a dataset key the dataset's kind does not use is refused, as an unknown key is.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import tests.helpers.toy_method  # noqa: F401  (registers "toy")
from tests.helpers.quick_rounds import QUICK_ROUNDS
from vis_bench.config import load_config, parse_config
from vis_bench.errors import InputError
from vis_bench.formats.checkpoints import save_project_checkpoint
from vis_bench.formats.rle import to_json
from vis_bench.hashing import file_sha256
from vis_bench.inference.sources import open_source
from vis_bench.sweep import resolve_methods, run_sweep
from vis_bench.sweep.methods import shipped_note


def _write(path: Path, config: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    return path


def _synthetic(tmp_path: Path, **extra) -> dict:
    return {
        "kind": "synthetic",
        "videos": 3,
        "min_frames": 3,
        "max_frames": 4,
        "cache_dir": str(tmp_path / "cache"),
        **extra,
    }


def _toy_checkpoint(path: Path, categories: list[tuple[int, str]] | None) -> Path:
    from tests.helpers.toy_method import ToyModel

    training = None
    if categories is not None:
        training = {"categories": [{"id": i, "name": n} for i, n in categories]}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_project_checkpoint(ToyModel(0).state_dict(), path, "toy", {}, training=training)
    return path


# -- max_videos ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -1, -3, 2.5, True, "2"])
def test_max_videos_that_is_not_a_positive_integer_is_refused(tmp_path, value):
    path = _write(
        tmp_path / "c.yaml",
        {"dataset": _synthetic(tmp_path, max_videos=value), "methods": ["toy"]},
    )
    with pytest.raises(InputError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message and "dataset.max_videos" in message
    assert ("positive" if type(value) is int else "int") in message and "null" in message


def test_max_videos_scores_the_videos_run_against_their_own_ground_truth(tmp_path):
    from vis_bench.sweep.scoring import Scorer

    config = parse_config({"dataset": _synthetic(tmp_path, max_videos=1), "methods": ["toy"]})
    source = open_source(config.dataset)
    (first,) = source.videos()
    assert source.scored_video_ids == [first.id]
    assert source.identity["video_ids"] == [first.id] and source.identity["of_videos"] == 3
    assert "the first 1 of 3 videos" in source.label() and str(first.id) in source.label()
    assert "scored against those videos' ground truth only" in source.describe()
    # perfect predictions of the one video run: AP 1.0 on it, not diluted by the videos never run
    gt = json.loads(Path(source.gt_path).read_text())
    predictions = [
        {
            "video_id": a["video_id"],
            "category_id": a["category_id"],
            "segmentations": [None if s is None else to_json(s) for s in a["segmentations"]],
            "score": 1.0,
        }
        for a in gt["annotations"]
        if a["video_id"] == first.id
    ]
    results = tmp_path / "cell" / "results.json"
    results.parent.mkdir()
    results.write_text(json.dumps(predictions))
    subset = Scorer(source.gt_path, video_ids=source.scored_video_ids).score(results)
    assert subset.metrics["AP"] == pytest.approx(1.0)
    matches = json.loads(results.with_name("video_matches.json").read_text())
    assert [int(v) for v in matches["video_ids"]] == [first.id]  # the report's per-video list
    whole = Scorer(source.gt_path).score(results)
    assert whole.metrics["AP"] < 0.9  # what the sweep used to report


def test_max_videos_of_all_the_videos_or_more_is_no_subset(tmp_path):
    config = parse_config({"dataset": _synthetic(tmp_path, max_videos=5), "methods": ["toy"]})
    source = open_source(config.dataset)
    assert source.scored_video_ids is None and "max_videos" not in source.identity


@pytest.mark.slow
def test_a_sweep_on_part_of_the_split_says_which_videos_on_every_page(tmp_path):
    from vis_bench.report.outputs import write_reports
    from vis_bench.report.record_set import RecordSet

    config = parse_config(
        {
            "dataset": _synthetic(tmp_path, max_videos=2),
            "methods": ["toy"],
            "sweep": {"clip_length": ["all"], "resolution": [32]},
            "measure": {**QUICK_ROUNDS, "warmup": 0, "flops": False, "rounds": 1, "bootstrap": 0},
        }
    )
    source = open_source(config.dataset)
    (record,) = run_sweep(config, source, tmp_path / "run", log=lambda s: None, isolate=False)
    assert record["status"] == "ok" and record["num_videos"] == 2
    assert record["dataset_identity"]["video_ids"] == source.scored_video_ids
    assert "the first 2 of 3 videos" in record["dataset_label"]
    record_set = RecordSet.from_records([record], tmp_path / "run")
    for page in write_reports(record_set, tmp_path / "run", title="t", html=True):
        if Path(page).suffix in (".md", ".html"):
            assert "the first 2 of 3 videos" in Path(page).read_text(), page


# -- label space --------------------------------------------------------------------------------


def _toy_config(tmp_path: Path, checkpoint: Path, **entry) -> dict:
    return {
        "name": "labels",
        "dataset": _synthetic(tmp_path, videos=2),
        "methods": [{"name": "toy", "checkpoint": str(checkpoint), **entry}],
        "sweep": {"clip_length": ["all"], "resolution": [32]},
        "measure": {**QUICK_ROUNDS, "warmup": 0, "flops": False, "rounds": 1, "bootstrap": 0},
    }


def test_a_checkpoint_trained_on_other_categories_is_refused_without_label_space(tmp_path):
    # the same names under other ids: scored as they are, AP near 0 with exit 0 before
    synthetic = open_source(
        parse_config({"dataset": _synthetic(tmp_path), "methods": ["toy"]}).dataset
    )
    shifted = [(c.id + 100, c.name) for c in synthetic.dataset.categories]
    checkpoint = _toy_checkpoint(tmp_path / "w" / "toy.pth", shifted)
    config = parse_config(_toy_config(tmp_path, checkpoint))
    with pytest.raises(InputError) as err:
        run_sweep(config, open_source(config.dataset), tmp_path / "run", log=lambda s: None)
    message = str(err.value)
    assert "methods[0].label_space" in message and "checkpoint's own" in message
    assert "by_name" in message
    assert not (tmp_path / "run" / "records.jsonl").exists()


def test_an_entry_naming_another_space_than_its_checkpoint_is_refused(tmp_path):
    checkpoint = _toy_checkpoint(tmp_path / "toy.pth", [(1, "person"), (2, "dog")])
    config = parse_config(_toy_config(tmp_path, checkpoint, label_space="synthetic"))
    with pytest.raises(InputError, match=r"methods\[0\]\.label_space.*trained on 2 categories"):
        resolve_methods(config)


def test_a_checkpoint_naming_its_training_kind_carries_that_label_space(tmp_path):
    from tests.helpers.toy_method import ToyModel

    path = tmp_path / "toy.pth"
    training = {"config": {"dataset": {"kind": "ovis"}}}
    save_project_checkpoint(ToyModel(0).state_dict(), path, "toy", {}, training=training)
    (entry,) = resolve_methods(parse_config(_toy_config(tmp_path, path)))
    assert entry.label_space is None and entry.carried_label_space == "ovis"
    assert entry.model_space == "ovis"


def test_the_shipped_checkpoints_carry_their_label_space():
    from vis_bench.formats.checkpoint_labels import carried_label_space
    from vis_bench.formats.checkpoints import open_checkpoint
    from vis_bench.shipped import shipped_path

    contents = open_checkpoint(shipped_path("results/checkpoints/seqformer_tiny.pth"))
    assert carried_label_space(contents) == "synthetic"


def test_an_entry_with_no_label_space_anywhere_warns_on_every_page(tmp_path):
    from vis_bench.records import CellRecord
    from vis_bench.report.leaderboard import header_lines
    from vis_bench.report.record_set import RecordSet
    from vis_bench.report.tables import notes_lines
    from vis_bench.sweep.cells import expand_cells
    from vis_bench.sweep.record import RunInfo, make_record

    checkpoint = _toy_checkpoint(tmp_path / "toy.pth", None)
    config = parse_config(_toy_config(tmp_path, checkpoint))
    methods = resolve_methods(config)
    (cell,) = expand_cells(config, methods)
    info = RunInfo("labels", config.config_hash(), "d", "synthetic", isolated=False)
    record = CellRecord.from_json(make_record(cell, info, "now", "").to_json())
    assert "WARNING: label space unchecked for methods[0]" in record.notes
    record_set = RecordSet.from_records([record.to_json()], tmp_path)
    for lines in (notes_lines(record_set), header_lines(record_set)):  # console, md, html
        assert any("label space unchecked" in line and "label_space" in line for line in lines)


@pytest.mark.slow
def test_a_sweep_without_a_label_space_says_so_before_running_and_in_its_pages(tmp_path):
    from vis_bench.report.outputs import write_reports
    from vis_bench.report.record_set import RecordSet

    checkpoint = _toy_checkpoint(tmp_path / "toy.pth", None)
    config = parse_config(_toy_config(tmp_path, checkpoint))
    said: list[str] = []
    (record,) = run_sweep(
        config, open_source(config.dataset), tmp_path / "run", log=said.append, isolate=False
    )
    assert record["status"] == "ok"
    assert any("label space unchecked" in line for line in said)
    record_set = RecordSet.from_records([record], tmp_path / "run")
    for page in write_reports(record_set, tmp_path / "run", title="t", html=True):
        if Path(page).suffix in (".md", ".html") and Path(page).name != "cells.md":
            assert "label space unchecked" in Path(page).read_text(), page


def test_the_reproduction_configs_name_their_label_space():
    root = Path(__file__).resolve().parents[1] / "configs"
    for name in ("seqformer_clip_length.yaml", "ifc_window_stride.yaml"):
        config = yaml.safe_load((root / name).read_text())
        assert all(m.get("label_space") for m in config["methods"]), name


# -- relative paths -----------------------------------------------------------------------------


def test_a_relative_checkpoint_is_read_from_the_config_folder_from_any_directory(
    tmp_path, monkeypatch
):
    mine = _toy_checkpoint(tmp_path / "exp" / "weights" / "toy.pth", None)
    _toy_checkpoint(tmp_path / "elsewhere" / "weights" / "toy.pth", [(1, "other")])
    config_path = _write(
        tmp_path / "exp" / "c.yaml",
        {
            "dataset": _synthetic(tmp_path),
            "methods": [{"name": "toy", "checkpoint": "weights/toy.pth"}],
        },
    )
    for cwd in (tmp_path / "elsewhere", tmp_path):
        monkeypatch.chdir(cwd)
        (entry,) = resolve_methods(load_config(config_path))
        assert Path(entry.checkpoint_path) == mine.resolve()
        assert entry.checkpoint_source == {"path": str(mine.resolve()), "found": "config folder"}


def test_a_relative_path_found_only_from_the_working_directory_is_an_error(tmp_path, monkeypatch):
    _toy_checkpoint(tmp_path / "weights" / "toy.pth", None)
    config_path = _write(
        tmp_path / "configs" / "c.yaml",
        {
            "dataset": _synthetic(tmp_path),
            "methods": [{"name": "toy", "checkpoint": "weights/toy.pth"}],
        },
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as err:
        resolve_methods(load_config(config_path))
    message = str(err.value)
    assert "methods[0].checkpoint" in message and str(config_path) in message
    assert "config's folder" in message and "working directory" in message


def test_a_checkpoint_given_on_the_command_line_is_relative_to_the_working_directory(
    tmp_path, monkeypatch
):
    here = _toy_checkpoint(tmp_path / "run_here" / "toy.pth", None)
    config_path = _write(
        tmp_path / "configs" / "c.yaml", {"dataset": _synthetic(tmp_path), "methods": ["toy"]}
    )
    monkeypatch.chdir(tmp_path / "run_here")
    (entry,) = resolve_methods(load_config(config_path, checkpoint="toy.pth"))
    assert Path(entry.checkpoint_path) == here.resolve()
    assert entry.checkpoint_source["found"] == "command line"


def test_a_bare_shipped_name_takes_the_shipped_file_said_and_recorded_with_its_digest(
    tmp_path, monkeypatch
):
    config_path = _write(
        tmp_path / "c.yaml",
        {
            "dataset": _synthetic(tmp_path),
            "methods": [{"name": "seqformer", "checkpoint": "seqformer_tiny.pth"}],
        },
    )
    monkeypatch.chdir(tmp_path)
    (entry,) = resolve_methods(load_config(config_path))
    source = entry.checkpoint_source
    assert source["found"] == "shipped" and Path(source["path"]).name == "seqformer_tiny.pth"
    assert source["sha256"] == file_sha256(source["path"])
    note = shipped_note(entry)
    assert note is not None and source["sha256"][:16] in note and "methods[0].checkpoint" in note


def test_a_shipped_name_under_another_folder_is_not_taken_for_the_shipped_file(tmp_path):
    config_path = _write(
        tmp_path / "c.yaml",
        {
            "dataset": _synthetic(tmp_path),
            "methods": [{"name": "seqformer", "checkpoint": "my_models/seqformer_tiny.pth"}],
        },
    )
    with pytest.raises(InputError, match=r"methods\[0\]\.checkpoint.*not in the config's folder"):
        resolve_methods(load_config(config_path))


def test_a_user_file_beside_the_config_wins_over_the_shipped_one_of_that_name(tmp_path):
    mine = _toy_checkpoint(tmp_path / "results" / "checkpoints" / "seqformer_tiny.pth", None)
    config_path = _write(
        tmp_path / "c.yaml",
        {
            "dataset": _synthetic(tmp_path),
            "methods": [{"name": "toy", "checkpoint": "results/checkpoints/seqformer_tiny.pth"}],
        },
    )
    (entry,) = resolve_methods(load_config(config_path))
    assert Path(entry.checkpoint_path) == mine.resolve() and shipped_note(entry) is None


def test_dataset_paths_are_read_from_the_config_folder_and_flags_from_the_working_directory(
    tmp_path,
):
    dataset = {"kind": "custom", "annotations": "data/gt.json", "frames": "data/frames"}
    config_path = _write(tmp_path / "exp" / "c.yaml", {"dataset": dataset, "methods": ["toy"]})
    config = load_config(config_path)
    assert config.dataset.annotations == str((tmp_path / "exp" / "data" / "gt.json").resolve())
    assert config.dataset.frames == str((tmp_path / "exp" / "data" / "frames").resolve())
    given = load_config(config_path, ["dataset.frames=other/frames"])
    assert given.dataset.frames == "other/frames"


# -- keys a dataset kind does not use -----------------------------------------------------------


@pytest.mark.parametrize(
    ("dataset", "key"),
    [
        ({"kind": "synth", "annotations": "a.json", "frames": "f", "videos": 4}, "videos"),
        ({"kind": "synth", "annotations": "a.json", "frames": "f", "videos": 6}, "videos"),
        ({"kind": "ytvis2019", "annotations": "a.json", "frames": "f", "seed": 3}, "seed"),
        ({"kind": "ovis", "annotations": "a.json", "frames": "f", "min_frames": 2}, "min_frames"),
        ({"kind": "custom", "annotations": "a.json", "short_videos": [1]}, "short_videos"),
        ({"kind": "synthetic", "videos": 2, "annotations": "gt.json"}, "annotations"),
        ({"kind": "synthetic", "frames": "frames/"}, "frames"),
        ({"kind": "custom", "annotations": "a.json", "split_part": "rest"}, "split_part"),
    ],
)
def test_a_key_the_dataset_kind_does_not_use_is_refused(tmp_path, dataset, key):
    path = _write(tmp_path / "c.yaml", {"dataset": dataset, "methods": ["toy"]})
    with pytest.raises(InputError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message and f"dataset.{key}" in message
    assert "drop" in message


def test_a_kind_key_given_by_set_names_the_flag(tmp_path):
    dataset = {"kind": "synth", "annotations": "a.json", "frames": "f"}
    path = _write(tmp_path / "c.yaml", {"dataset": dataset, "methods": ["toy"]})
    with pytest.raises(InputError, match=r"--set dataset\.videos=4.*max_videos"):
        load_config(path, ["dataset.videos=4"])


def test_a_resolved_config_listing_every_key_at_its_default_still_loads(tmp_path):
    dataset = {"kind": "custom", "annotations": "a.json", "frames": "f"}
    config = parse_config({"dataset": dataset, "methods": ["toy"]})
    again = parse_config(config.to_dict())
    assert again.config_hash() == config.config_hash()


def test_only_the_shipped_configs_take_the_shipped_weights_quietly(tmp_path):
    from vis_bench.config_paths import is_shipped_config
    from vis_bench.shipped import shipped_path

    assert is_shipped_config(str(shipped_path("configs") / "default.yaml"))
    config = _write(
        tmp_path / "default.yaml", {"dataset": _synthetic(tmp_path), "methods": ["toy"]}
    )
    assert not is_shipped_config(str(config))


def test_a_repository_path_in_a_users_config_names_the_bare_shipped_name_as_the_fix(
    tmp_path, monkeypatch
):
    # the user's case: the same config gave the user's model or the shipped one depending on
    # the working directory; now a file missing beside the config is an error with the fix
    config_path = _write(
        tmp_path / "exp" / "c.yaml",
        {
            "dataset": _synthetic(tmp_path),
            "methods": [
                {"name": "seqformer", "checkpoint": "results/checkpoints/seqformer_tiny.pth"}
            ],
        },
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as err:
        resolve_methods(load_config(config_path))
    message = str(err.value)
    assert (
        "methods[0].checkpoint" in message and "write its bare name seqformer_tiny.pth" in message
    )


def test_a_shipped_checkpoint_on_the_command_line_is_found_and_said(tmp_path, monkeypatch):
    config_path = _write(tmp_path / "c.yaml", {"dataset": _synthetic(tmp_path), "methods": ["ifc"]})
    monkeypatch.chdir(tmp_path)
    config = load_config(config_path, checkpoint="results/checkpoints/ifc_tiny.pth")
    (entry,) = resolve_methods(config)
    assert entry.checkpoint_source["found"] == "shipped"
    assert entry.checkpoint_source["sha256"] == file_sha256(entry.checkpoint_path)


def test_part_of_a_2022_split_scores_each_set_on_the_videos_run(golden_dir, tmp_path):
    from vis_bench.config import DatasetConfig
    from vis_bench.eval.stats.ytvis2022 import evaluate_long_short_files
    from vis_bench.sweep.scoring import Scorer

    folder = golden_dir / "ytvis2022_eval" / "public" / "case_03"
    expected = json.loads((folder / "expected.json").read_text())
    run = [7, 11, 10, 17]  # two short and two long videos
    dataset = DatasetConfig(
        kind="ytvis2022",
        short_videos=str(folder / "gt_short.json"),
        long_videos=str(folder / "gt_long.json"),
    )
    results = tmp_path / "cell" / "results.json"
    results.parent.mkdir()
    everything = json.loads((folder / "results.json").read_text())
    results.write_text(json.dumps([r for r in everything if r["video_id"] in run]))
    score = Scorer(folder / "gt.json", dataset=dataset, video_ids=run).score(results)
    # the same as the scoring program on files cut to those videos
    gt = json.loads((folder / "gt.json").read_text())
    gt["videos"] = [v for v in gt["videos"] if v["id"] in run]
    gt["annotations"] = [a for a in gt["annotations"] if a["video_id"] in run]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    short = [v for v in expected["videos_short"] if v in run]
    long = [v for v in expected["videos_long"] if v in run]
    want = evaluate_long_short_files(tmp_path / "gt.json", results, short, long)
    assert score.video_sets["S"]["videos"] == 2 and score.video_sets["L"]["videos"] == 2
    for name, value in want.figures.items():
        got = score.metrics[name]
        assert got is None if value < 0 else got == pytest.approx(value), name
