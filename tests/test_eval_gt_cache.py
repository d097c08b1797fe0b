"""The opt-in GT cache returns the same ground truth and notices when the file changes."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np

from vis_bench.eval.api import evaluate_files
from vis_bench.eval.metric.gt_cache import cache_file, load_ground_truth_cached
from vis_bench.eval.metric.loading import load_ground_truth


def _frames(gt):
    return [
        [
            None
            if s is None
            else (
                list(s["size"]),
                bytes(s["counts"], "ascii") if isinstance(s["counts"], str) else bytes(s["counts"]),
            )
            for s in track
        ]
        for track in gt.frames
    ]


def test_cache_hit_equals_fresh_load(golden_dir, tmp_path):
    # case_07 mixes polygons, uncompressed and compressed RLE in the GT.
    gt_path = golden_dir / "ytvis_eval" / "public" / "case_07" / "gt.json"
    fresh = load_ground_truth(gt_path)
    load_ground_truth_cached(gt_path, tmp_path)  # builds the cache
    assert cache_file(gt_path, tmp_path).is_file()
    cached = load_ground_truth_cached(gt_path, tmp_path)
    assert _frames(cached) == _frames(fresh)
    for name in ("ann_ids", "video_of", "category_of", "crowd", "avg_area"):
        np.testing.assert_array_equal(getattr(cached, name), getattr(fresh, name))
    for a, b in zip(cached.frame_areas, fresh.frame_areas, strict=True):
        np.testing.assert_array_equal(a, b)
    assert (cached.video_ids, cached.video_size, cached.cat_names) == (
        fresh.video_ids,
        fresh.video_size,
        fresh.cat_names,
    )


def test_cached_run_gives_the_same_stats(golden_dir, tmp_path):
    case = golden_dir / "ytvis_eval" / "public" / "case_03"
    plain = evaluate_files(case / "gt.json", case / "results.json")
    for _ in range(2):  # first builds, second hits
        cached = evaluate_files(case / "gt.json", case / "results.json", gt_cache_dir=tmp_path)
        assert cached.stats == plain.stats


def test_changed_file_gets_a_new_cache_entry(golden_dir, tmp_path):
    gt_path = tmp_path / "gt.json"
    shutil.copy(golden_dir / "ytvis_eval" / "public" / "case_01" / "gt.json", gt_path)
    first = cache_file(gt_path, tmp_path / "cache")
    st = gt_path.stat()
    os.utime(gt_path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert cache_file(gt_path, tmp_path / "cache") != first


def test_eval_command_with_gt_cache(golden_dir, tmp_path):
    from vis_bench.cli import main

    case = golden_dir / "ytvis_eval" / "public" / "case_02"
    outs = []
    for i in range(2):
        out = tmp_path / f"stats{i}.json"
        argv = ["eval", "--gt", str(case / "gt.json"), "--results", str(case / "results.json")]
        argv.append("--allow-dropped")  # the case holds predictions of unlisted categories
        assert main([*argv, "--gt-cache", str(tmp_path / "cache"), "--out", str(out)]) == 0
        outs.append(out.read_text())
    assert outs[0] == outs[1]
    assert len(list((tmp_path / "cache").glob("gt-*.npz"))) == 1


def test_cache_keeps_ovis_occlusion_labels(golden_dir, tmp_path):
    # case_03 has a crowd track without labels next to labelled ones.
    case = golden_dir / "ovis_eval" / "public" / "case_03"
    fresh = load_ground_truth(case / "gt.json")
    load_ground_truth_cached(case / "gt.json", tmp_path)
    cached = load_ground_truth_cached(case / "gt.json", tmp_path)
    np.testing.assert_array_equal(cached.occ_score, fresh.occ_score)
    np.testing.assert_array_equal(cached.occ_labelled, fresh.occ_labelled)
    assert not cached.occ_labelled.all() and cached.has_occlusion_labels
    plain = evaluate_files(case / "gt.json", case / "results.json")
    hit = evaluate_files(case / "gt.json", case / "results.json", gt_cache_dir=tmp_path)
    assert hit.metric == "ovis" and hit.stats == plain.stats


def test_cache_keeps_malformed_label_reports(tmp_path):
    gt = {
        "videos": [{"id": 1, "height": 4, "width": 4, "length": 1}],
        "categories": [{"id": 1, "name": "a"}],
        "annotations": [
            {"id": 5, "video_id": 1, "category_id": 1, "iscrowd": 0, "segmentations": [None],
             "areas": [None], "occlusion": ["partly"]},
        ],
    }  # fmt: skip
    gt_path = tmp_path / "gt.json"
    gt_path.write_text(json.dumps(gt))
    load_ground_truth_cached(gt_path, tmp_path / "cache")
    cached = load_ground_truth_cached(gt_path, tmp_path / "cache")
    assert cached.occ_problems == load_ground_truth(gt_path).occ_problems
    assert "'partly'" in cached.occ_problems[0][1]


def test_eval_command_keeps_one_evaluation_inputs_for_the_exit(golden_dir, tmp_path):
    """`eval` ends its process without a teardown, so it keeps its loaded inputs rather than
    free them object by object; run many times in one process it keeps only the last."""
    from vis_bench.cli import main
    from vis_bench.commands import eval as eval_command
    from vis_bench.eval.input_loading import InputLoading

    case = golden_dir / "ytvis_eval" / "public" / "case_02"
    argv = ["eval", "--gt", str(case / "gt.json"), "--results", str(case / "results.json")]
    argv.append("--allow-dropped")  # the case holds predictions of unlisted categories
    for i in range(3):
        assert main([*argv, "--out", str(tmp_path / f"stats{i}.json")]) == 0
    kept = eval_command._KEPT_UNTIL_EXIT
    assert len(kept) == 1 and isinstance(kept[0], InputLoading)
    assert kept[0].ground_truth().path == str(case / "gt.json")
