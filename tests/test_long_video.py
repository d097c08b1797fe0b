"""Long videos: the generator's long-video option, cutting videos to N frames as a sweep axis,
and the harness's own time and stitching state in every record."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import tests.helpers.toy_method  # noqa: F401  (registers the "toy" method)
from tests.helpers.memory_source import MemorySource
from tests.helpers.quick_rounds import QUICK_ROUNDS
from vis_bench.config import parse_config
from vis_bench.data.synthetic import SyntheticSpec, generate_dataset
from vis_bench.errors import InputError
from vis_bench.sweep import expand_cells, resolve_methods, run_sweep

#: annotations + spec of `generate_dataset(videos=2, seed=5, min_frames=6, max_frames=8)` as
#: the generator wrote them before the long-video option existed
DEFAULT_JSON_SHA256 = "ef82006da15429e4d4c2d6a71cdad8d41eb813aa7ba6682b9113242bd3fc625d"


def _json_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.glob("*.json")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def test_default_data_is_unchanged(tmp_path):
    root = generate_dataset(tmp_path / "d", videos=2, seed=5, min_frames=6, max_frames=8)
    assert _json_digest(root) == DEFAULT_JSON_SHA256
    assert "long_video" not in SyntheticSpec().to_dict()


def _visible_runs(segmentations: list) -> int:
    """How many separate stretches of frames a track is visible in."""
    runs, before = 0, False
    for seg in segmentations:
        now = seg is not None
        runs += now and not before
        before = now
    return runs


def test_long_videos_have_objects_leaving_and_coming_back(tmp_path):
    options = {"videos": 1, "seed": 3, "min_frames": 240, "max_frames": 240, "sizes": ["48x64"]}
    root = generate_dataset(tmp_path / "long", long_video=True, max_objects=3, **options)
    data = json.loads((root / "annotations.json").read_text())
    assert data["videos"][0]["length"] == 240
    runs = [_visible_runs(a["segmentations"]) for a in data["annotations"]]
    assert max(runs) >= 2  # an object left the frame and re-entered
    again = generate_dataset(tmp_path / "again", long_video=True, max_objects=3, **options)
    assert _json_digest(root) == _json_digest(again)
    assert SyntheticSpec(long_video=True).digest() != SyntheticSpec().digest()
    with pytest.raises(InputError, match="long_video"):
        SyntheticSpec(long_video=True, occlusion=0.5)


def _config(measure=None, dataset=None, **sweep):
    return parse_config(
        {
            "name": "t",
            "dataset": {"kind": "synthetic", **(dataset or {})},
            "methods": [{"name": "toy"}],
            "sweep": sweep,
            "measure": {**QUICK_ROUNDS, "warmup": 0, "repeats": 1, "ap": False, **(measure or {})},
        }
    )


def test_cut_videos_need_ap_off_and_schedules_may_name_one_clip():
    with pytest.raises(InputError, match="measure.ap: false"):
        _config(measure={"ap": True}, video_frames=[36])
    with pytest.raises(InputError, match="sweep.video_frames"):
        _config(video_frames=[0])
    with pytest.raises(InputError, match=r"\[all\]"):
        _config(clip_schedule=[["all", 3]])
    with pytest.raises(InputError, match="dataset.long_video"):
        parse_config(
            {
                "name": "t",
                "dataset": {"kind": "ovis", "annotations": "a", "frames": "f", "long_video": True},
                "methods": ["toy"],
            }
        )
    cfg = _config(clip_schedule=[[5, 1], ["all"]], video_frames=[None, 36])
    cells = expand_cells(cfg, resolve_methods(cfg))
    assert [(c.clip_length, c.stride, c.video_frames) for c in cells] == [
        (5, 1, None),
        (5, 1, 36),
        ("all", None, None),
        ("all", None, 36),
    ]
    whole, cut = cells[0], cells[1]
    assert "video_frames" not in whole.identity("d")  # whole-video cells keep their keys
    assert whole.key("d") != cut.key("d") and cut.label().endswith("36f")


@pytest.mark.slow
def test_a_sweep_over_video_lengths_records_the_harness_share(tmp_path):
    cfg = _config(clip_schedule=[[2, 1], ["all"]], video_frames=[3, 5])
    records = run_sweep(cfg, MemorySource(lengths=(6, 9)), tmp_path, log=lambda s: None)
    assert [(r["clip_length"], r["video_frames"], r["num_frames"]) for r in records] == [
        (2, 3, 6),
        (2, 5, 10),
        ("all", 3, 6),
        ("all", 5, 10),
    ]
    for record in records:
        assert record["status"] == "ok"
        harness = record["harness"]
        parts = ("decode_s", "stitch_s", "resize_s", "rle_s")
        assert harness["overhead_s"] == pytest.approx(sum(harness[k] for k in parts))
        assert harness["frames_decoded"] == record["num_frames"]  # every frame decoded once
        assert 0 < harness["overhead_share"] < 1 and harness["stitch_state_peak_tensors"] > 0
        predictions = json.loads(Path(record["results_path"]).read_text())
        assert {len(p["segmentations"]) for p in predictions} == {record["video_frames"]}
