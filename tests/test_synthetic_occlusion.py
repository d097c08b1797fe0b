"""Occluded synthetic scenes: OVIS labels from covered fractions, all three occlusion ranges,
scored through the OVIS metric, and a sweep over such a split recording the breakdown."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import tests.helpers.toy_method  # noqa: F401  (registers the "toy" method)
from tests.helpers.quick_rounds import QUICK_ROUNDS
from vis_bench.cli import main
from vis_bench.config import parse_config
from vis_bench.data import SyntheticSpec, generate_dataset, load_dataset
from vis_bench.data.synthetic_occlusion import occlusion_label
from vis_bench.errors import InputError
from vis_bench.eval.api import evaluate_files
from vis_bench.eval.metric.params import OVIS_STAT_NAMES
from vis_bench.formats import rle
from vis_bench.formats.occlusion import occlusion_score
from vis_bench.inference.sources import open_source
from vis_bench.report.record_set import RecordSet
from vis_bench.report.tables import comparison_table
from vis_bench.sweep import run_sweep

SMALL = {"min_frames": 6, "max_frames": 9, "sizes": [(48, 64)]}
OCC_COLUMNS = ("AP_occ_light", "AP_occ_medium", "AP_occ_heavy")


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def occluded(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("occluded") / "data"
    return generate_dataset(out, videos=12, seed=0, occlusion=0.7, max_frames=14)


def _scores(document: dict) -> dict[int, float]:
    return {a["id"]: occlusion_score(a["occlusion"]) for a in document["annotations"]}


def test_label_levels_follow_the_covered_fraction():
    full = np.zeros((10, 10), bool)
    full[:, :5] = True  # 50 pixels
    visible = full.copy()
    assert occlusion_label(full, visible) == "no_occlusion"
    visible[:1, :3] = False  # 3 of 50 hidden: 6%
    assert occlusion_label(full, visible) == "slight_occlusion"
    visible[:, :3] = False  # 30 of 50 hidden
    assert occlusion_label(full, visible) == "severe_occlusion"
    assert occlusion_label(full, None) == "severe_occlusion"  # fully covered, mask null
    assert occlusion_label(None, None) is None  # out of the frame


def test_labels_agree_with_masks_and_cover_all_three_ranges(occluded):
    document = json.loads((occluded / "annotations.json").read_text())
    tracks = document["annotations"]
    for track in tracks:
        assert len(track["occlusion"]) == len(track["segmentations"])
        for seg, label in zip(track["segmentations"], track["occlusion"], strict=True):
            if label is None:
                assert seg is None  # out of the frame
            if seg is None and label is not None:
                assert label == "severe_occlusion"  # in the frame but fully covered
    labels = {label for t in tracks for label in t["occlusion"]}
    assert labels == {None, "no_occlusion", "slight_occlusion", "severe_occlusion"}
    scores = list(_scores(document).values())
    assert sum(s <= 0.25 for s in scores) and sum(0.25 <= s <= 0.5 for s in scores)
    assert sum(s >= 0.5 for s in scores) >= 3
    assert any(
        seg is None and label == "severe_occlusion"
        for t in tracks
        for seg, label in zip(t["segmentations"], t["occlusion"], strict=True)
    )
    # The reader keeps them.
    dataset = load_dataset(occluded / "annotations.json")
    assert dataset.has_occlusion_labels


def test_share_zero_labels_the_unchanged_scene(tmp_path):
    plain = generate_dataset(tmp_path / "plain", videos=3, seed=4, **SMALL)
    labelled = generate_dataset(tmp_path / "labelled", videos=3, seed=4, occlusion=0.0, **SMALL)
    frames = [k for k in _files(plain) if k.endswith(".jpg")]
    assert all(_files(plain)[k] == _files(labelled)[k] for k in frames)
    a = json.loads((plain / "annotations.json").read_text())["annotations"]
    b = json.loads((labelled / "annotations.json").read_text())["annotations"]
    assert [{k: v for k, v in t.items() if k != "occlusion"} for t in b] == a
    assert all("occlusion" not in t for t in a) and all("occlusion" in t for t in b)


def test_occlusion_option_is_checked_and_left_out_of_default_digests():
    assert "occlusion" not in SyntheticSpec().to_dict()
    assert SyntheticSpec(occlusion=0.5).digest() != SyntheticSpec().digest()
    with pytest.raises(InputError, match="occlusion"):
        SyntheticSpec(occlusion=1.5)


def _results_from_gt(document: dict, drop: set[int]) -> list[dict]:
    """A prediction per GT track (its own masks), except the tracks in `drop`."""
    out = []
    for track in document["annotations"]:
        if track["id"] in drop:
            continue
        segs = [None if s is None else rle.encode(rle.decode(s)) for s in track["segmentations"]]
        out.append(
            {
                "video_id": track["video_id"],
                "category_id": track["category_id"],
                "score": 0.5 + 0.4 * (track["id"] % 7) / 7,
                "segmentations": segs,
            }
        )
    return out


def test_occluded_split_scores_through_the_ovis_metric(occluded, tmp_path):
    gt_path = occluded / "annotations.json"
    document = json.loads(gt_path.read_text())
    heavy = sorted(i for i, s in _scores(document).items() if s >= 0.5)
    results = tmp_path / "results.json"
    results.write_text(json.dumps(_results_from_gt(document, set(heavy[:2]))))
    out = tmp_path / "stats.json"
    assert main(["eval", "--gt", str(gt_path), "--results", str(results), "--out", str(out)]) == 0
    stats = json.loads(out.read_text())
    assert list(stats) == list(OVIS_STAT_NAMES)
    assert all(stats[name] >= 0 for name in (*OCC_COLUMNS, "AR_occ_heavy"))  # all defined
    assert stats["AR_occ_light"] == pytest.approx(1.0)  # every light track found exactly
    assert stats["AR_occ_heavy"] < 1.0  # two heavy tracks missed
    assert stats == evaluate_files(gt_path, results).stats


@pytest.mark.slow
def test_sweep_over_an_occluded_split_records_the_breakdown(occluded, tmp_path):
    config = parse_config(
        {
            "name": "occluded",
            "dataset": {  # a synth folder is kind synth: its occlusion labels pick OVIS's metric
                "kind": "synth",
                "annotations": str(occluded / "annotations.json"),
                "frames": str(occluded / "JPEGImages"),
            },
            "methods": [{"name": "toy"}],
            "measure": {**QUICK_ROUNDS, "flops": False, "memory": False, "warmup": 0, "repeats": 1},
        }
    )
    source = open_source(config.dataset)
    records = run_sweep(config, source, tmp_path / "run", log=lambda s: None)
    assert records[0]["status"] == "ok"
    assert all(name in records[0] for name in OVIS_STAT_NAMES)
    table = comparison_table(RecordSet.from_records(records), columns=("AP", *OCC_COLUMNS))
    assert all(column in table for column in OCC_COLUMNS)
