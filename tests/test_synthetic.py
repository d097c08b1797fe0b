"""The synthetic generator: deterministic, valid YouTube-VIS files, and the events training needs."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from vis_bench.data import (
    SyntheticSpec,
    ensure_synthetic_dataset,
    generate_dataset,
    load_dataset,
    synthetic_spec,
)
from vis_bench.data import synthetic as synthetic_module
from vis_bench.errors import InputError
from vis_bench.formats.categories import SYNTHETIC

SMALL = {"min_frames": 4, "max_frames": 6, "sizes": [(48, 64), (40, 56)]}


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A moderately sized set at the default frame sizes, shared by the checks below."""
    out = tmp_path_factory.mktemp("synth") / "data"
    return generate_dataset(out, videos=16, seed=3, max_frames=14)


def test_same_seed_gives_identical_files_and_other_seed_differs(tmp_path):
    a = _files(generate_dataset(tmp_path / "a", videos=3, seed=7, **SMALL))
    b = _files(generate_dataset(tmp_path / "b", videos=3, seed=7, **SMALL))
    c = _files(generate_dataset(tmp_path / "c", videos=3, seed=8, **SMALL))
    assert any(name.endswith(".jpg") for name in a)
    assert a == b
    assert a["annotations.json"] != c["annotations.json"]
    shared = set(a) & set(c)
    assert any(a[name] != c[name] for name in shared if name.endswith(".jpg"))


def test_generated_file_loads_and_annotations_are_consistent(generated):
    ds = load_dataset(generated / "annotations.json", generated / "JPEGImages")
    assert len(ds) == 16 and ds.dataset_name == "synthetic" and ds.has_annotations
    doc = json.loads((generated / "annotations.json").read_text())
    assert {"info", "licenses", "videos", "categories", "annotations"} <= set(doc)
    assert [c["id"] for c in doc["categories"]] == list(range(1, len(SYNTHETIC.names) + 1))
    seen_categories = set()
    for video in ds:
        assert 8 <= video.length <= 14
        assert (video.height, video.width) in synthetic_module.DEFAULT_SIZES
        clip = ds.frames(video, [0, video.length - 1])
        assert clip.shape == (2, video.height, video.width, 3)
        union = np.zeros((video.height, video.width), dtype=np.int32)
        for t in range(video.length):
            union[:] = 0
            for track in video.annotations:
                seen_categories.add(track.category_id)
                assert track.iscrowd == 0
                seg, area, box = track.segmentations[t], track.areas[t], track.bboxes[t]
                mask = track.mask(t)
                if seg is None:
                    assert area is None and box is None
                    continue
                assert isinstance(seg["counts"], list)  # uncompressed RLE, as released files
                assert mask.shape == (video.height, video.width)
                assert area == int(mask.sum()) > 0
                ys, xs = np.nonzero(mask)
                assert box == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
                union += mask
            assert union.max() <= 1  # visible masks never overlap
        assert all(any(tr.visible(t) for t in range(video.length)) for tr in video.annotations)
    assert len(seen_categories) >= 6


def test_objects_enter_leave_and_occlude(generated):
    ds = load_dataset(generated / "annotations.json", check_frames=False)
    enters = leaves = overlaps = 0
    for video in ds:
        for track in video.annotations:
            present = [track.visible(t) for t in range(video.length)]
            first = present.index(True)
            last = len(present) - 1 - present[::-1].index(True)
            enters += first > 0
            leaves += last < video.length - 1
        for a, b in combinations(video.annotations, 2):
            for t in range(video.length):
                if a.visible(t) and b.visible(t) and _boxes_overlap(a.bboxes[t], b.bboxes[t]):
                    overlaps += 1
    assert enters >= 3 and leaves >= 3 and overlaps >= 5, (enters, leaves, overlaps)


def _entering_or_leaving_share(root: Path) -> float:
    ds = load_dataset(root / "annotations.json", check_frames=False)
    tracks = [(video, track) for video in ds for track in video.annotations]
    moving = sum(
        not (track.visible(0) and track.visible(video.length - 1)) for video, track in tracks
    )
    return moving / len(tracks)


def test_enter_leave_sets_the_share_of_tracks_crossing_the_frame_edge(tmp_path):
    options = {"videos": 24, "seed": 5, **SMALL}
    few = generate_dataset(tmp_path / "few", enter_leave=0.0, **options)
    many = generate_dataset(tmp_path / "many", enter_leave=1.0, **options)
    # One draw per track whatever the share: the same videos (a track that never comes into
    # view has no annotation, so the track lists may differ).
    a = json.loads((few / "annotations.json").read_text())
    b = json.loads((many / "annotations.json").read_text())
    assert a["videos"] == b["videos"]
    # Staying tracks can still be hidden at the ends by occlusion, so "few" is not quite zero.
    assert _entering_or_leaving_share(few) < 0.2 < 0.8 < _entering_or_leaving_share(many)


def _boxes_overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def test_front_object_hides_back_object_and_full_occlusion_is_null():
    spec = SyntheticSpec(sizes=((48, 64),), min_frames=3, max_frames=3, max_objects=2)
    plan = synthetic_module._plan_video(np.random.default_rng(0), spec)
    back, front = plan.tracks[0], plan.tracks[1]
    for track, scale in ((back, 5.0), (front, 14.0)):
        track.start = np.array([24.0, 32.0])
        track.velocity = np.array([0.0, 0.0])
        track.accel = np.array([0.0, 0.0])
        track.scale, track.growth = scale, 0.0
    back.velocity = np.array([0.0, 12.0])  # t=0 hidden behind the front object, then emerges
    back.shape, back.aspect = "disc", 1.0
    front.shape, front.texture, front.aspect = "box", "solid", 1.0
    frames = list(synthetic_module._render(plan, np.random.default_rng(1)))
    hidden, partial, clear = (visible[0] for _, visible, _ in frames)
    assert hidden is None
    assert partial is not None and clear is not None
    assert 0 < partial.sum() < clear.sum()
    assert not (partial & frames[1][1][1]).any()


def test_splits_are_disjoint_and_named(tmp_path):
    root = generate_dataset(tmp_path / "d", splits={"train": 3, "valid": 2}, seed=1, **SMALL)
    train = json.loads((root / "train.json").read_text())
    valid = json.loads((root / "valid.json").read_text())
    assert len(train["videos"]) == 3 and len(valid["videos"]) == 2
    assert not {v["id"] for v in train["videos"]} & {v["id"] for v in valid["videos"]}
    names = lambda doc: {f for v in doc["videos"] for f in v["file_names"]}  # noqa: E731
    assert not names(train) & names(valid)
    assert not {a["id"] for a in train["annotations"]} & {a["id"] for a in valid["annotations"]}
    assert train["info"]["split"] == "train"
    assert len(load_dataset(root / "valid.json", root / "JPEGImages")) == 2


def test_large_frames_are_supported(tmp_path):
    root = generate_dataset(
        tmp_path / "big", videos=1, min_frames=1, max_frames=1, sizes=[(720, 1280)], seed=0
    )
    ds = load_dataset(root / "annotations.json", root / "JPEGImages")
    assert ds.frames(ds.video_ids[0]).shape == (1, 720, 1280, 3)


def test_interrupted_generation_leaves_nothing(tmp_path, monkeypatch):
    calls = []
    real = synthetic_module._save_jpeg

    def failing(image, path, quality):
        calls.append(path)
        if len(calls) == 5:
            raise KeyboardInterrupt
        real(image, path, quality)

    monkeypatch.setattr(synthetic_module, "_save_jpeg", failing)
    with pytest.raises(KeyboardInterrupt):
        generate_dataset(tmp_path / "out", videos=3, **SMALL)
    assert list(tmp_path.iterdir()) == []


def test_existing_output_needs_overwrite(tmp_path):
    out = generate_dataset(tmp_path / "out", videos=1, seed=1, **SMALL)
    with pytest.raises(InputError, match="already exists"):
        generate_dataset(out, videos=1, **SMALL)
    generate_dataset(out, videos=2, seed=2, overwrite=True, **SMALL)
    assert len(json.loads((out / "annotations.json").read_text())["videos"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_cache_generates_once_and_keys_on_the_spec(tmp_path, monkeypatch):
    spec = {"videos": 2, "seed": 4, **SMALL}
    first = ensure_synthetic_dataset(tmp_path, spec)
    assert (first / "annotations.json").is_file()

    def boom(*args, **kwargs):
        raise AssertionError("regenerated a cached dataset")

    monkeypatch.setattr(synthetic_module, "generate_from_spec", boom)
    assert ensure_synthetic_dataset(tmp_path, spec) == first
    monkeypatch.undo()
    other = ensure_synthetic_dataset(tmp_path, {**spec, "seed": 5})
    assert other != first and other.parent == first.parent


def test_spec_rejects_bad_values_naming_the_field():
    with pytest.raises(InputError, match="min_frames"):
        SyntheticSpec(min_frames=5, max_frames=4)
    with pytest.raises(InputError, match="sizes"):
        SyntheticSpec.from_mapping({"sizes": ["128by192"]})
    with pytest.raises(InputError, match="unknown keys"):
        SyntheticSpec.from_mapping({"video": 3})
    with pytest.raises(InputError, match="enter_leave"):
        SyntheticSpec(enter_leave=1.5)
    assert SyntheticSpec.from_mapping({"sizes": ["64x96"]}).sizes == ((64, 96),)


def test_cache_replaces_a_folder_without_spec_file(tmp_path):
    spec = SyntheticSpec(
        splits=(("annotations", 1),), min_frames=2, max_frames=2, sizes=((32, 32),)
    )
    stale = tmp_path / f"synthetic-{spec.digest()[:16]}"
    stale.mkdir()
    (stale / "junk.txt").write_text("left over")
    assert ensure_synthetic_dataset(tmp_path, spec) == stale
    assert (stale / "spec.json").is_file() and not (stale / "junk.txt").exists()


def test_specs_from_keywords_mappings_and_lists_agree():
    a = synthetic_spec(videos=2, seed=1, sizes=["40x56", [48, 64]])
    b = SyntheticSpec.from_mapping({"videos": 2, "seed": 1, "sizes": [[40, 56], "48x64"]})
    assert a == b and a.digest() == b.digest()
    assert a.splits == (("annotations", 2),) and a.sizes == ((40, 56), (48, 64))
    assert a.digest() != synthetic_spec(videos=2, seed=2, sizes=a.sizes).digest()
    with pytest.raises(InputError, match="split"):
        synthetic_spec(split="spec")
