"""One header parser and one results reader serve every caller: training, evaluation,
submission checks and held-out splits read the same videos and categories from a file, and
the metric and a sweep read predictions through `read_results` (a sweep once per cell)."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

import tests.helpers.toy_method  # noqa: F401  (registers "toy")
from tests.helpers.quick_rounds import QUICK_ROUNDS
from vis_bench import atomic
from vis_bench.config import parse_config
from vis_bench.data import holdout, ytvis_json
from vis_bench.data.holdout import split_annotations
from vis_bench.data.ytvis_json import load_annotation_file
from vis_bench.errors import InputError
from vis_bench.eval.metric import loading
from vis_bench.eval.metric.loading import load_ground_truth, load_results
from vis_bench.eval.submission import validate
from vis_bench.eval.submission.validate import load_split_info
from vis_bench.formats import results_file, ytvis_header
from vis_bench.formats.results_file import read_results
from vis_bench.formats.ytvis_header import parse_header
from vis_bench.inference.sources import open_source
from vis_bench.jsonio import read_json
from vis_bench.sweep import run as sweep_run
from vis_bench.sweep import run_sweep, scoring

GOLDEN = Path(__file__).parent / "fixtures" / "golden"
GT_FILES = sorted(GOLDEN.glob("*_eval/public/case_*/gt.json"))


def test_golden_ground_truths_are_found():
    assert len(GT_FILES) >= 12  # 8 YouTube-VIS and 4 OVIS cases


@pytest.mark.parametrize("gt_path", GT_FILES, ids=lambda p: f"{p.parts[-4]}/{p.parts[-2]}")
def test_the_four_callers_read_the_same_header(gt_path):
    data = read_json(gt_path)
    header = parse_header(data, str(gt_path), strict=False)
    sizes, lengths, names = header.video_sizes(), header.video_lengths(), header.category_names()
    assert sizes and names

    gt = load_ground_truth(gt_path)  # evaluation
    assert (gt.video_size, gt.video_length, gt.cat_names) == (sizes, lengths, names)

    split = load_split_info(gt_path)  # submission checks
    assert (split.video_size, split.video_length, split.cat_names) == (sizes, lengths, names)

    train, held, held_names = split_annotations(data, 0.5, seed=3, path=str(gt_path))  # splits
    first = {v.file_names[0] for v in header.videos}
    assert set(held_names) <= first
    assert len(train["videos"]) + len(held["videos"]) == len(header.videos)

    try:  # training: the strict view accepts fewer files, but never reads one differently
        strict = load_annotation_file(gt_path)
    except InputError as err:
        assert err.path == str(gt_path) and err.field
    else:
        assert {v.id: (v.height, v.width) for v in strict.videos} == sizes
        assert {v.id: v.length for v in strict.videos} == lengths
        assert {c.id: c.name for c in strict.categories} == names


def test_every_header_reader_goes_through_parse_header(monkeypatch, tmp_path):
    calls: list[tuple[str, bool]] = []
    real = ytvis_header.parse_header

    def spy(module):
        def parse(data, path, *, strict, what="annotation file"):
            calls.append((module.__name__, strict))
            return real(data, path, strict=strict, what=what)

        monkeypatch.setattr(module, "parse_header", parse)

    for module in (ytvis_json, loading, validate, holdout):
        spy(module)
    gt_path = GT_FILES[0]
    load_annotation_file(gt_path)
    load_ground_truth(gt_path)
    load_split_info(gt_path)
    split_annotations(read_json(gt_path), 0.5, seed=0)
    assert calls == [
        ("vis_bench.data.ytvis_json", True),
        ("vis_bench.eval.metric.loading", False),
        ("vis_bench.eval.submission.validate", False),
        ("vis_bench.data.holdout", False),
    ]


@pytest.mark.parametrize(
    "data, field, text",
    [
        ([1], None, "top level must be a JSON object"),
        ({"videos": [], "categories": {}}, "categories", "needs a list 'categories'"),
        ({"videos": [{"id": 1, "width": 2}], "categories": []}, "height", "has no 'height'"),
        ({"videos": [{"id": "a", "height": 1, "width": 1}], "categories": []}, "id", "integer"),
    ],
)
def test_compatible_view_errors_name_file_and_field(data, field, text):
    with pytest.raises(InputError, match=text) as err:
        parse_header(data, "gt.json", strict=False, what="ground truth")
    assert err.value.path == "gt.json" and err.value.field == field


def test_strict_view_errors_name_the_json_path():
    video = {"id": 4, "width": 2, "height": 2, "length": 3, "file_names": ["a", "b"]}
    with pytest.raises(InputError, match="make `length` equal") as err:
        parse_header({"videos": [video], "categories": []}, "train.json", strict=True)
    assert err.value.field == "videos[0] (id 4).length"


def test_compatible_view_keeps_the_official_readings():
    data = {
        "videos": [
            {"id": 7.0, "height": 2, "width": 3, "file_names": ["a", "b"]},
            {"id": 8, "height": 2.0, "width": 3},
        ],
        "categories": [{"id": 1}],
    }
    header = parse_header(data, "gt.json", strict=False)
    assert header.video_sizes() == {7: (2, 3), 8: (2, 3)}
    assert header.video_lengths() == {7: 2, 8: None}  # length from file_names, else unknown
    assert header.category_names() == {1: "1"}


def test_read_results_names_the_file(tmp_path):
    path = tmp_path / "results.json"
    path.write_text('{"video_id": 1}')
    with pytest.raises(InputError, match="must be a JSON list of predictions") as err:
        read_results(path)
    assert err.value.path == str(path)
    path.write_text("[]")
    assert read_results(path) == []


def _count_reads(monkeypatch, modules) -> list[str]:
    reads: list[str] = []
    real = results_file.read_results

    def counted(path):
        reads.append(Path(path).name)
        return real(path)

    for module in modules:
        monkeypatch.setattr(module, "read_results", counted)
    return reads


def test_the_metric_reads_results_through_read_results(monkeypatch, tmp_path):
    reads = _count_reads(monkeypatch, [loading])
    gt_path = GT_FILES[0]
    res = load_results(gt_path.with_name("results.json"), load_ground_truth(gt_path))
    assert reads == ["results.json"] and len(res) > 0


def _sweep_config(tmp_path):
    return parse_config(
        {
            "name": "reads",
            "dataset": {
                "kind": "synthetic",
                "videos": 2,
                "min_frames": 3,
                "max_frames": 4,
                "cache_dir": str(tmp_path / "cache"),
            },
            "methods": [
                {
                    "name": "toy",
                    "label_space": "ytvis2019",
                    "category_map": "by_name",
                    "category_aliases": {"person": "checker_box"},
                    "options": {"label": 1},
                }
            ],
            "sweep": {"clip_length": ["all", 2], "resolution": [32]},
            "measure": {**QUICK_ROUNDS, "warmup": 0, "repeats": 1, "flops": False},
        }
    )


@pytest.mark.slow
def test_a_sweep_writes_each_cell_once_mapped_and_reads_it_once(monkeypatch, tmp_path):
    reads = _count_reads(monkeypatch, [scoring, sweep_run])
    writes: list[str] = []
    real_write = atomic.write_atomic

    def counted_write(path, data):
        if Path(path).name == "results.json":
            writes.append(str(path))
            assert {p["category_id"] for p in orjson.loads(data)} <= {3}  # already mapped
        return real_write(path, data)

    monkeypatch.setattr(atomic, "write_atomic", counted_write)
    config = _sweep_config(tmp_path)
    records = run_sweep(
        config, open_source(config.dataset), tmp_path / "run", isolate=False, log=lambda s: None
    )
    assert [r["status"] for r in records] == ["ok", "ok"]
    assert reads == ["results.json", "results.json"]  # one read per cell, by the scorer
    assert len(writes) == 2 and len(set(writes)) == 2  # one write per cell, by the worker
    for record in records:
        assert record["label_space"]["dropped_predictions"] == 0
        predictions = json.loads(Path(record["results_path"]).read_text())
        assert predictions and {p["category_id"] for p in predictions} == {3}


class _OneRank:
    """A one-rank context that still takes the sharded path (the merge on rank 0)."""

    rank, world_size, local_rank, mode = 0, 1, 0, "videos"
    is_main = True

    def check_all(self, error):
        assert error is None

    def all_gather(self, obj):
        return [obj]


def test_the_shard_merge_reads_each_share_once_and_hands_the_merge_to_scoring(
    monkeypatch, tmp_path
):
    reads = _count_reads(monkeypatch, [sweep_run])
    config = _sweep_config(tmp_path)
    source = open_source(config.dataset)
    cell = sweep_run.expand_cells(config, sweep_run.resolve_methods(config))[0]
    job = sweep_run._job(cell, config, source, tmp_path / "results.json", "cpu")
    outcome, merged, _ = sweep_run._predict_shard(
        job, config, source, _OneRank(), False, lambda n: None
    )
    assert reads == ["rank0.json"]
    assert read_results(outcome.results_path) == merged
    assert outcome.num_predictions == len(merged) + outcome.dropped_predictions
