"""Identity switches, fragmentations and HOTA: our definitions against TrackEval's own output."""

from __future__ import annotations

import contextlib
import copy
import io
import json

import numpy as np
import pytest

from tests.helpers.vis_cases import H, W, box, make_gt, predict, public
from vis_bench.eval.analysis.identity import track_identities
from vis_bench.eval.metric.loading import ground_truth_from_dict, results_from_list
from vis_bench.formats import rle


def _load(gt: dict, results: list[dict]):
    loaded = ground_truth_from_dict(public(gt))
    return loaded, results_from_list(results, loaded)


def _one_track_case(pred_frames: dict[int, list[int | None]], decoy_frames=()):
    """One GT box over 6 frames; predictions given as {result: [frame -> 0/None]} (0 = on the
    object); a decoy prediction far away is present in `decoy_frames`."""
    gt_mask = box(4, 4, 8, 8)
    gt = {
        "videos": [{"id": 1, "height": H, "width": W, "length": 6}],
        "categories": [{"id": 1, "name": "a"}],
        "annotations": [
            {
                "id": 1,
                "video_id": 1,
                "category_id": 1,
                "iscrowd": 0,
                "segmentations": [rle.encode_uncompressed(gt_mask)] * 6,
                "areas": [int(gt_mask.sum())] * 6,
            }
        ],
    }
    results = []
    for frames in pred_frames.values():
        segs = [None if f is None else rle.encode(gt_mask) for f in frames]
        results.append({"video_id": 1, "category_id": 1, "score": 0.9, "segmentations": segs})
    decoy = box(16, 20, 4, 4)
    results.append(
        {
            "video_id": 1,
            "category_id": 1,
            "score": 0.1,
            "segmentations": [rle.encode(decoy) if t in decoy_frames else None for t in range(6)],
        }
    )
    return gt, results


def test_switch_and_fragmentation_follow_the_clear_definitions():
    # prediction 0 on frames 0, 1, 3; prediction 1 on frames 4, 5; frame 2: only the decoy
    gt, res = _one_track_case(
        {0: [0, 0, None, 0, None, None], 1: [None, None, None, None, 0, 0]}, decoy_frames={2}
    )
    (track,) = track_identities(*_load(gt, res))
    assert track.visible_frames == 6
    assert track.matched_frames == 5
    assert track.identity_switches == 1  # 0 -> 1 at frame 4
    assert track.fragmentations == 1  # matched again at frame 3 after a frame unmatched
    assert track.predictions == (0, 1)
    assert track.main_prediction == 0 and track.main_share == pytest.approx(3 / 6)


def test_a_frame_without_any_prediction_does_not_break_a_stretch():
    # TrackEval skips frames without predictions entirely, so no fragmentation is counted
    gt, res = _one_track_case({0: [0, 0, None, 0, 0, 0]}, decoy_frames=set())
    (track,) = track_identities(*_load(gt, res))
    assert (track.matched_frames, track.fragmentations, track.identity_switches) == (5, 0, 0)


def test_returning_to_an_earlier_prediction_is_a_switch():
    gt, res = _one_track_case({0: [0, 0, None, None, 0, 0], 1: [None, None, 0, 0, None, None]})
    (track,) = track_identities(*_load(gt, res))
    assert track.identity_switches == 2
    assert track.fragmentations == 0


# --- against TrackEval itself -------------------------------------------------------------------


def _swapping_predictions(gt: dict, seed: int) -> list[dict]:
    """Predictions that hand tracks over to other ids mid-video, drop frames and add decoys."""
    rng = np.random.default_rng(seed)
    results = predict(gt, seed=seed, jitter=1, miss=0.1, false_positives=0.8)
    extra = []
    for r in results:
        n = len(r["segmentations"])
        if n > 3 and rng.random() < 0.5:
            cut = int(rng.integers(1, n - 1))
            tail = {
                **r,
                "score": r["score"] / 2,
                "segmentations": [None] * cut + r["segmentations"][cut:],
            }
            r["segmentations"] = r["segmentations"][:cut] + [None] * (n - cut)
            extra.append(tail)
        if n > 3 and rng.random() < 0.5:  # one frame off the object: present, not matched
            r["segmentations"][int(rng.integers(1, n - 1))] = rle.encode(box(0, 0, 3, 3))
    return results + extra


def _trackeval_on_files(tmp_path, gt: dict, results: list[dict], metrics):
    """TrackEval's own pipeline: its YouTubeVIS dataset reading files, its Evaluator."""
    import trackeval

    gt_dir = tmp_path / "gt" / "youtube_vis_valid"
    tr_dir = tmp_path / "trackers" / "youtube_vis_valid" / "method" / "data"
    gt_dir.mkdir(parents=True)
    tr_dir.mkdir(parents=True)
    (gt_dir / "gt.json").write_text(json.dumps(public(gt)))
    (tr_dir / "results.json").write_text(json.dumps(results))
    dataset = trackeval.datasets.YouTubeVIS(
        {
            "GT_FOLDER": f"{tmp_path / 'gt'}/",
            "TRACKERS_FOLDER": f"{tmp_path / 'trackers'}/",
            "SPLIT_TO_EVAL": "valid",
            "OUTPUT_FOLDER": str(tmp_path / "out"),
            "PRINT_CONFIG": False,
        }
    )
    config = {
        "PRINT_RESULTS": False,
        "PRINT_CONFIG": False,
        "TIME_PROGRESS": False,
        "OUTPUT_SUMMARY": False,
        "OUTPUT_DETAILED": False,
        "PLOT_CURVES": False,
        "LOG_ON_ERROR": None,
    }
    with contextlib.redirect_stdout(io.StringIO()):
        output, _ = trackeval.Evaluator(config).evaluate([dataset], metrics)
    return output["YouTubeVIS"]["method"]["COMBINED_SEQ"]


@pytest.mark.parametrize("seed", [0, 1])
def test_hota_equals_trackeval_reading_the_files(tmp_path, seed):
    import trackeval

    from vis_bench.eval.analysis.tracking import COMBINED, TRACKING_METRICS, tracking_metrics

    gt = make_gt(n_videos=8, seed=20 + seed, lengths=(4, 9))
    results = _swapping_predictions(gt, seed)
    ours = tracking_metrics(*_load(gt, results))
    theirs = _trackeval_on_files(tmp_path, gt, results, [trackeval.metrics.HOTA()])
    for name, key in COMBINED.items():
        for metric in TRACKING_METRICS:
            expected = float(np.mean(theirs[key]["HOTA"][metric]))
            assert ours[name][metric] == expected, (name, metric)
    assert 0 < ours["class_averaged"]["HOTA"] < 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_switch_and_fragmentation_totals_equal_trackeval_clear(tmp_path, seed):
    import trackeval

    gt = make_gt(n_videos=10, seed=30 + seed, lengths=(4, 10))
    results = _swapping_predictions(gt, seed)
    ours = track_identities(*_load(gt, results))
    # our identity matching ignores classes: TrackEval on the same data with one class
    one_class = copy.deepcopy(gt)
    one_class["categories"] = [{"id": 1, "name": "object"}]
    for ann in one_class["annotations"]:
        ann["category_id"] = 1
    agnostic = [{**r, "category_id": 1} for r in results]
    clear = trackeval.metrics.CLEAR({"PRINT_CONFIG": False})
    theirs = _trackeval_on_files(tmp_path, one_class, agnostic, [clear])["object"]["CLEAR"]
    assert sum(t.identity_switches for t in ours) == theirs["IDSW"]
    assert sum(t.fragmentations for t in ours) == theirs["Frag"]
    assert sum(t.matched_frames for t in ours) == theirs["CLR_TP"]
    assert theirs["IDSW"] > 0 and theirs["Frag"] > 0  # the case exercises both


def test_tracking_metrics_say_how_to_install_trackeval_when_missing(monkeypatch):
    import builtins

    from vis_bench.eval.analysis.tracking import TrackingUnavailable, tracking_metrics

    real_import = builtins.__import__

    def no_trackeval(name, *args, **kwargs):
        if name == "trackeval" or name.startswith("trackeval."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_trackeval)
    gt = make_gt(n_videos=2)
    with pytest.raises(TrackingUnavailable, match=r"vis-bench\[tracking\]"):
        tracking_metrics(*_load(gt, predict(gt)))
