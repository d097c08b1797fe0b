"""The VOS layout both ways: a synthetic dataset written as palette PNGs and imported back is the
same ground truth (a results file scores identically on it), exported predictions imported again
are the same predictions, and every malformed folder is an error naming video, frame and field."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from vis_bench.cli import main
from vis_bench.data.synthetic import generate_dataset
from vis_bench.data.vos_export import export_vos, paint
from vis_bench.data.vos_import import import_vos
from vis_bench.data.vos_layout import palette, write_index_png
from vis_bench.errors import InputError
from vis_bench.eval.api import evaluate_files
from vis_bench.formats.rle import decode, encode, to_json


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A small synthetic split (ids 5..9 and its own categories) and a results file for it."""
    root = tmp_path_factory.mktemp("vos") / "synth"
    generate_dataset(root, seed=11, splits={"train": 4, "valid": 5})
    gt = root / "valid.json"
    data = json.loads(gt.read_text())
    rng = np.random.default_rng(0)
    results = []
    for ann in data["annotations"]:
        frames = [None if s is None else to_json(s) for s in ann["segmentations"]]
        keep = rng.random(len(frames)) < 0.8  # some frames missed: IoU below 1
        category = ann["category_id"] if rng.random() < 0.8 else 1 + ann["category_id"] % 8
        frames = [f if k else None for f, k in zip(frames, keep, strict=True)]
        results.append(
            {"video_id": ann["video_id"], "category_id": category, "score": float(rng.random()),
             "segmentations": frames}
        )  # fmt: skip
    res = root / "results.json"
    res.write_text(json.dumps(results))
    return root, gt, res


def _tracks(path):
    return json.loads(path.read_text())["annotations"]


def test_a_dataset_written_as_vos_and_imported_back_scores_identically(synthetic, tmp_path):
    root, gt, res = synthetic
    export_vos(gt, tmp_path / "vos", frames_root=root / "JPEGImages")
    assert (tmp_path / "vos" / "JPEGImages" / "synth_00005" / "00000.jpg").is_file()
    import_vos(tmp_path / "vos", tmp_path / "back", ids_from=gt)
    imported = tmp_path / "back" / "annotations.json"
    original, again = json.loads(gt.read_text()), json.loads(imported.read_text())
    assert [v["id"] for v in again["videos"]] == [v["id"] for v in original["videos"]]
    assert again["categories"] == original["categories"]
    for a, b in zip(original["annotations"], again["annotations"], strict=True):
        for key in ("video_id", "category_id", "segmentations", "areas", "bboxes", "iscrowd"):
            assert a[key] == b[key], key
    first, second = evaluate_files(gt, res), evaluate_files(imported, res)
    assert first.stats == second.stats and first.per_category_ap == second.per_category_ap
    assert 0 < first.stats["AP"] < 1
    frame = tmp_path / "back" / "frames" / "synth_00005" / "00000.jpg"
    assert frame.read_bytes() == (root / "JPEGImages" / "synth_00005" / "00000.jpg").read_bytes()


def test_exported_predictions_imported_again_are_the_same_predictions(synthetic, tmp_path):
    """Predictions that do not overlap (the GT's masks, scored) survive the PNGs unchanged."""
    root, gt, _ = synthetic
    original = json.loads(gt.read_text())
    results = [
        {"video_id": a["video_id"], "category_id": a["category_id"], "score": 0.5 + i / 100,
         "segmentations": [None if s is None else to_json(s) for s in a["segmentations"]]}
        for i, a in enumerate(original["annotations"])
    ]  # fmt: skip
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results))
    assert main(["export-vos", "--gt", str(gt), "--results", str(path), "--out",
                 str(tmp_path / "vos"), "--frames", str(root / "JPEGImages")]) == 0  # fmt: skip
    assert main(["import-vos", str(tmp_path / "vos"), "--out", str(tmp_path / "back"),
                 "--ids-from", str(gt)]) == 0  # fmt: skip
    meta = json.loads((tmp_path / "vos" / "meta.json").read_text())["videos"]
    videos = {v["id"]: v["file_names"][0].split("/")[0] for v in original["videos"]}
    by_video: dict[int, list] = {}
    for track in _tracks(tmp_path / "back" / "annotations.json"):
        by_video.setdefault(track["video_id"], []).append(track)
    again = []
    for vid, tracks in by_video.items():
        for index, track in enumerate(tracks, 1):  # objects come back in index order
            entry = meta[videos[vid]]["objects"][str(index)]
            frames = [None if s is None else to_json(s) for s in track["segmentations"]]
            again.append({"video_id": vid, "category_id": track["category_id"],
                          "score": entry["score"], "segmentations": frames})  # fmt: skip

    def order(r):
        return r["video_id"], -r["score"]

    assert sorted(again, key=order) == sorted(results, key=order)
    (tmp_path / "again.json").write_text(json.dumps(again))
    assert evaluate_files(gt, path).stats == evaluate_files(gt, tmp_path / "again.json").stats


def test_overlapping_predictions_give_each_pixel_to_the_higher_score(tmp_path):
    low, high = np.zeros((4, 6), bool), np.zeros((4, 6), bool)
    low[:, :4], high[:, 2:] = True, True
    canvas = paint([high, low], 4, 6)  # priority order: higher score first
    assert (canvas[:, 2:] == 1).all() and (canvas[:, :2] == 2).all()
    gt = {
        "videos": [{"id": 3, "width": 6, "height": 4, "length": 1, "file_names": ["v/a.jpg"]}],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [],
    }
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    results = [
        {"video_id": 3, "category_id": 1, "score": 0.6, "segmentations": [encode(low)]},
        {"video_id": 3, "category_id": 1, "score": 0.9, "segmentations": [encode(high)]},
        {"video_id": 3, "category_id": 1, "score": 0.2, "segmentations": [encode(low)]},
    ]
    (tmp_path / "res.json").write_text(json.dumps(results))
    summary = export_vos(tmp_path / "gt.json", tmp_path / "vos", results=tmp_path / "res.json")
    assert (summary.objects, summary.below_threshold, summary.overpainted) == (2, 1, 1)
    with Image.open(tmp_path / "vos" / "Annotations" / "v" / "a.png") as image:
        assert image.mode == "P" and image.getpalette()[:6] == palette()[:6]
        assert np.array_equal(np.asarray(image), canvas)
    objects = json.loads((tmp_path / "vos" / "meta.json").read_text())["videos"]["v"]["objects"]
    assert objects["1"]["score"] == 0.9 and objects["2"]["score"] == 0.6
    assert objects["1"]["category"] == "cat" and objects["1"]["frames"] == ["a"]


def _vos_folder(tmp_path, masks, meta=None, mode="P"):
    """A one-video VOS folder `v` with 6x4 frames f0, f1, ... and the given index masks (None:
    the frame has none)."""
    root = tmp_path / "vos"
    for t, mask in enumerate(masks):
        frame = root / "JPEGImages" / "v" / f"f{t}.jpg"
        frame.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (6, 4)).save(frame)
        if mask is None:
            continue
        path = root / "Annotations" / "v" / f"f{t}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if mode == "P":
            write_index_png(path, mask)
        else:
            Image.fromarray(mask.astype(np.uint8)).convert(mode).save(path)
    if meta is not None:
        (root / "meta.json").write_text(json.dumps({"videos": {"v": {"objects": meta}}}))
    return root


def _mask(*objects, shape=(4, 6)):
    mask = np.zeros(shape, np.uint8)
    for index, (rows, cols) in objects:
        mask[rows, cols] = index
    return mask


def test_objects_categories_and_sizes_are_read(tmp_path):
    masks = [_mask((1, (0, slice(0, 2))), (2, (3, 5))), _mask((2, (1, 1)), (255, (0, 0)))]
    meta = {"1": {"category": "zebra"}, "2": {"category": "ant"}, "3": {"category": "ant"}}
    root = _vos_folder(tmp_path, masks, meta)
    summary = import_vos(root, tmp_path / "out", void_index=255)
    data = json.loads((tmp_path / "out" / "annotations.json").read_text())
    assert data["categories"] == [
        {"id": 1, "name": "ant", "supercategory": "object"},
        {"id": 2, "name": "zebra", "supercategory": "object"},
    ]
    assert data["videos"] == [
        {"id": 1, "width": 6, "height": 4, "length": 2, "file_names": ["v/f0.jpg", "v/f1.jpg"]}
    ]
    one, two = data["annotations"]
    assert (one["category_id"], two["category_id"]) == (2, 1)
    assert one["areas"] == [2, None] and two["areas"] == [1, 1]
    assert decode(one["segmentations"][0]).sum() == 2 and one["segmentations"][1] is None
    assert summary.skipped_objects == ["v/3"]  # listed, never in a mask


def test_without_meta_every_object_is_one_category(tmp_path):
    root = _vos_folder(tmp_path, [_mask((1, (0, 0)), (2, (1, 1)))])
    import_vos(root, tmp_path / "out")
    data = json.loads((tmp_path / "out" / "annotations.json").read_text())
    assert [c["name"] for c in data["categories"]] == ["object"]
    assert [a["category_id"] for a in data["annotations"]] == [1, 1]


@pytest.mark.parametrize(
    ("make", "message", "field"),
    [
        (lambda tmp: _vos_folder(tmp, [_mask(), None]), "video 'v', frame 'f1': no mask",
         "frame name"),
        (lambda tmp: _vos_folder(tmp, [_mask((1, (0, 0)))], mode="RGB"),
         "video 'v', frame 'f0': a RGB image", "mode"),
        (lambda tmp: _vos_folder(tmp, [_mask((1, (0, 0)))], meta={"2": {"category": "a"}}),
         "video 'v', frame 'f0': object index 1 is not in meta.json", "videos.v.objects.1"),
    ],
)  # fmt: skip
def test_a_malformed_folder_is_an_error_naming_video_frame_and_field(
    tmp_path, make, message, field
):
    root = make(tmp_path)
    with pytest.raises(InputError, match=message) as caught:
        import_vos(root, tmp_path / "out")
    assert caught.value.field == field
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_masks_and_frames_must_agree_in_name_and_size(tmp_path):
    root = _vos_folder(tmp_path, [_mask((1, (0, 0)))])
    Image.new("P", (5, 4)).save(root / "Annotations" / "v" / "f0.png")
    with pytest.raises(InputError, match="the mask is 5x4 but its frame is 6x4"):
        import_vos(root, tmp_path / "out")
    Image.new("P", (6, 4)).save(root / "Annotations" / "v" / "f0.png")
    Image.new("P", (6, 4)).save(root / "Annotations" / "v" / "extra.png")
    with pytest.raises(InputError, match="frame 'extra': a mask without its frame"):
        import_vos(root, tmp_path / "out")


def test_annotated_only_keeps_the_frames_with_masks(tmp_path):
    root = _vos_folder(tmp_path, [_mask((1, (0, 0))), None, _mask((1, (1, 1)))])
    import_vos(root, tmp_path / "out", annotated_only=True)
    data = json.loads((tmp_path / "out" / "annotations.json").read_text())
    assert data["videos"][0]["file_names"] == ["v/f0.jpg", "v/f2.jpg"]
    shutil.rmtree(tmp_path / "out")
    assert main(["import-vos", str(root), "--out", str(tmp_path / "out")]) == 2


def test_predict_finds_an_imported_videos_id_and_frames_in_natural_order(tmp_path):
    from vis_bench.commands.predict import _video_id

    root = tmp_path / "vos"
    for video in ("b", "a"):
        for name in ("f10", "f2", "f1"):
            frame = root / "JPEGImages" / video / f"{name}.jpg"
            frame.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (6, 4)).save(frame)
            write_index_png(root / "Annotations" / video / f"{name}.png", _mask((1, (0, 0))))
    import_vos(root, tmp_path / "mine")
    data = json.loads((tmp_path / "mine" / "annotations.json").read_text())
    assert [v["file_names"] for v in data["videos"]] == [
        [f"{v}/f1.jpg", f"{v}/f2.jpg", f"{v}/f10.jpg"] for v in ("a", "b")
    ]
    frames = tmp_path / "mine" / "frames"
    assert (_video_id(frames / "b", None), _video_id(frames / "a", None)) == (2, 1)
    assert _video_id(frames / "b", 7) == 7 and _video_id(root / "JPEGImages" / "b", None) == 1
