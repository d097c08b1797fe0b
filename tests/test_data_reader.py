"""The YouTube-VIS-layout reader: what it accepts, and that bad inputs are named precisely."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from vis_bench.data import VideoDataset, load_dataset
from vis_bench.data import frames as frames_module
from vis_bench.errors import InputError
from vis_bench.formats.rle import encode, encode_uncompressed

H, W = 12, 16


def _frame(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(H, W, 3), dtype=np.uint8)


def _document() -> dict[str, Any]:
    mask = np.zeros((H, W), dtype=np.uint8)
    mask[2:6, 3:9] = 1
    return {
        "info": {"description": "tiny"},
        "licenses": [],
        "videos": [
            {"id": 1, "width": W, "height": H, "length": 3, "file_names": [f"a/{t:05d}.jpg" for t in range(3)]},
            {"id": 2, "width": W, "height": H, "length": 2, "file_names": ["b/00000.jpg", "b/00005.jpg"]},
        ],
        "categories": [{"id": 1, "name": "thing", "supercategory": "object"}],
        "annotations": [
            {
                "id": 1,
                "video_id": 1,
                "category_id": 1,
                "iscrowd": 0,
                "segmentations": [encode_uncompressed(mask), None, encode(mask)],
                "areas": [24, None, 24],
                "bboxes": [[3, 2, 6, 4], None, [3, 2, 6, 4]],
            }
        ],
    }  # fmt: skip


def _write(tmp_path: Path, document: dict[str, Any] | str) -> tuple[Path, Path]:
    """Write `document` as valid.json beside the frames of the unbroken `_document()`."""
    ann = tmp_path / "valid.json"
    ann.write_text(document if isinstance(document, str) else json.dumps(document, indent=1))
    root = tmp_path / "JPEGImages"
    for i, video in enumerate(_document()["videos"]):
        for t, name in enumerate(video["file_names"]):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            if not (root / name).exists():
                Image.fromarray(_frame(10 * i + t)).save(root / name, quality=95)
    return ann, root


def _error(tmp_path: Path, document: dict[str, Any] | str) -> str:
    ann, root = _write(tmp_path, document)
    with pytest.raises(InputError) as info:
        load_dataset(ann, root)
    message = str(info.value)
    assert str(ann) in message or str(root) in message, message
    return message


def test_valid_file_loads_with_videos_annotations_and_lookup(tmp_path):
    ann, root = _write(tmp_path, _document())
    ds = load_dataset(ann, root)
    assert len(ds) == 2 and ds.video_ids == [1, 2] and 2 in ds and 3 not in ds
    assert ds.has_annotations and ds.num_frames == 5
    video = ds.video(1)
    assert (video.name, video.length, video.width, video.height) == ("a", 3, W, H)
    (track,) = video.annotations
    assert track.mask(1) is None and not track.visible(1)
    assert track.mask(0).shape == (H, W) and int(track.mask(0).sum()) == 24
    np.testing.assert_array_equal(track.mask(0), track.mask(2))  # uncompressed == compressed
    assert track.masks().shape == (3, H, W)
    assert ds.video(2).annotations == ()
    with pytest.raises(KeyError, match="video id 9"):
        ds.video(9)


def test_frames_are_decoded_lazily_as_uint8_rgb(tmp_path, monkeypatch):
    ann, root = _write(tmp_path, _document())
    calls = []
    real = frames_module.read_frame
    monkeypatch.setattr(
        "vis_bench.data.dataset.read_frame", lambda *a, **k: calls.append(a) or real(*a, **k)
    )
    ds = load_dataset(ann, root)
    assert calls == []  # loading validates existence only
    clip = ds.frames(1, [0, 2])
    assert len(calls) == 2
    assert clip.shape == (2, H, W, 3) and clip.dtype == np.uint8
    expected = np.asarray(Image.open(root / "a/00002.jpg").convert("RGB"))
    np.testing.assert_array_equal(clip[1], expected)
    tensor = ds.frames_tensor(ds.video(2))
    assert tensor.shape == (2, 3, H, W) and tensor.dtype == torch.uint8
    assert torch.equal(tensor[0].permute(1, 2, 0), torch.from_numpy(ds.frames(2, [0])[0]))
    assert ds.frames(1, []).shape == (0, H, W, 3)


def test_test_split_without_annotations_loads(tmp_path):
    doc = _document()
    doc["annotations"] = None
    ann, root = _write(tmp_path, doc)
    ds = load_dataset(ann, root)
    assert not ds.has_annotations and all(v.annotations == () for v in ds)
    del doc["annotations"]
    ann.write_text(json.dumps(doc))
    assert not load_dataset(ann, root).has_annotations


def test_annotations_only_without_frame_root(tmp_path):
    ann, _ = _write(tmp_path, _document())
    ds = VideoDataset.from_files(ann)
    assert len(ds) == 2
    with pytest.raises(InputError, match="no frame folder"):
        ds.frames(1)


def test_polygon_segmentation_is_rasterised_at_video_size(tmp_path):
    doc = _document()
    doc["annotations"][0]["segmentations"][1] = [[2, 2, 10, 2, 10, 8, 2, 8]]
    ann, root = _write(tmp_path, doc)
    mask = load_dataset(ann, root).video(1).annotations[0].mask(1)
    assert mask.shape == (H, W) and 40 <= int(mask.sum()) <= 70


def test_malformed_json_names_line_and_column(tmp_path):
    text = '{\n  "videos": [],\n  "categories": [,]\n}'
    message = _error(tmp_path, text)
    assert "not valid JSON: Expecting value at line 3, column 18" in message


def test_top_level_must_be_object_with_videos(tmp_path):
    assert "'videos'" in _error(tmp_path, {"categories": []})
    assert "top level must be a JSON object" in _error(tmp_path, "[1, 2]")


@pytest.mark.parametrize(
    ("where", "key", "field"),
    [
        ("videos", "width", "videos[0] (id 1).width"),
        ("videos", "file_names", "videos[0] (id 1).file_names"),
        ("annotations", "segmentations", "annotations[0].segmentations"),
        ("annotations", "video_id", "annotations[0].video_id"),
        ("categories", "id", "categories[0].id"),
    ],
)
def test_missing_required_field_is_named(tmp_path, where, key, field):
    doc = _document()
    del doc[where][0][key]
    message = _error(tmp_path, doc)
    assert f"field {field!r}" in message and "required field is missing" in message


def test_wrong_type_is_named(tmp_path):
    doc = _document()
    doc["videos"][1]["height"] = "12"
    assert "'videos[1] (id 2).height'" in _error(tmp_path, doc)


def test_length_disagreeing_with_file_names(tmp_path):
    doc = _document()
    doc["videos"][0]["length"] = 4
    message = _error(tmp_path, doc)
    assert "'videos[0] (id 1).length'" in message and "file_names lists 3 frames" in message


def test_segmentations_length_differs_from_video_length(tmp_path):
    doc = _document()
    doc["annotations"][0]["segmentations"].append(None)
    message = _error(tmp_path, doc)
    assert "'annotations[0].segmentations'" in message and "has 4 entries" in message
    assert "3 frames" in message


def test_areas_length_differs_from_video_length(tmp_path):
    doc = _document()
    doc["annotations"][0]["areas"] = [24]
    assert "'annotations[0].areas'" in _error(tmp_path, doc)


def test_rle_size_differs_from_video_size(tmp_path):
    doc = _document()
    doc["annotations"][0]["segmentations"][2] = encode(np.zeros((W, H), dtype=np.uint8))
    message = _error(tmp_path, doc)
    assert "'annotations[0].segmentations[2].size'" in message
    assert f"[{W}, {H}]" in message and f"[{H}, {W}]" in message


def test_rle_counts_not_covering_the_frame(tmp_path):
    doc = _document()
    doc["annotations"][0]["segmentations"][0]["counts"].append(5)
    assert "'annotations[0].segmentations[0].counts'" in _error(tmp_path, doc)


def test_unknown_video_and_category_ids(tmp_path):
    doc = _document()
    doc["annotations"][0]["video_id"] = 7
    assert "video id 7 is not in `videos`" in _error(tmp_path, doc)
    doc = _document()
    doc["annotations"][0]["category_id"] = 3
    assert "'annotations[0].category_id'" in _error(tmp_path, doc)


def test_duplicate_video_id(tmp_path):
    doc = _document()
    doc["videos"][1]["id"] = 1
    assert "duplicate video id 1" in _error(tmp_path, doc)


def test_missing_frames_name_first_path_and_count(tmp_path):
    ann, root = _write(tmp_path, _document())
    (root / "a/00001.jpg").unlink()
    (root / "b/00005.jpg").unlink()
    with pytest.raises(InputError) as info:
        load_dataset(ann, root)
    message = str(info.value)
    assert "2 of 5 frame files" in message
    assert f"first missing: {root / 'a/00001.jpg'}" in message
    assert str(ann) in message
    assert len(load_dataset(ann, root, check_frames=False)) == 2


def test_missing_frame_root(tmp_path):
    ann, root = _write(tmp_path, _document())
    with pytest.raises(InputError, match="frame folder not found"):
        load_dataset(ann, tmp_path / "nope")


def test_frame_size_differs_from_video_record_when_read(tmp_path):
    ann, root = _write(tmp_path, _document())
    Image.fromarray(np.zeros((H + 1, W, 3), dtype=np.uint8)).save(root / "b/00005.jpg")
    ds = load_dataset(ann, root)  # not decoded at load time
    assert ds.frames(2, [0]).shape == (1, H, W, 3)
    with pytest.raises(InputError) as info:
        ds.frames(2, [1])
    message = str(info.value)
    assert str(root / "b/00005.jpg") in message
    assert "file_names[1]" in message and f"{W}x{H + 1}" in message


def test_unreadable_image(tmp_path):
    ann, root = _write(tmp_path, _document())
    (root / "a/00000.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(InputError, match="cannot decode image"):
        load_dataset(ann, root).frames(1, [0])


def test_missing_annotation_file(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        load_dataset(tmp_path / "absent.json")


def test_ovis_occlusion_labels_are_kept_with_their_score(tmp_path):
    doc = _document()
    doc["annotations"][0]["occlusion"] = ["no_occlusion", "severe_occlusion", "slight_occlusion"]
    dataset = load_dataset(*_write(tmp_path, doc))
    track = dataset.video(1).annotations[0]
    assert track.occlusion == ("no_occlusion", "severe_occlusion", "slight_occlusion")
    assert track.occlusion_score == 0.5  # mean of the highest two: 0.75 and 0.25
    assert dataset.has_occlusion_labels


def test_files_without_occlusion_labels_read_as_before(tmp_path):
    dataset = load_dataset(*_write(tmp_path, _document()))
    assert dataset.video(1).annotations[0].occlusion is None
    assert dataset.video(1).annotations[0].occlusion_score is None
    assert not dataset.has_occlusion_labels


@pytest.mark.parametrize(
    "labels, words",
    [
        (["no_occlusion", None], "has 2 entries but video 1 has 3 frames"),
        (["no_occlusion", "partly", None], "entry 1 is 'partly'"),
        ([None, None, None], "all null"),
        (None, "must be a list"),
    ],
)
def test_bad_occlusion_labels_are_named(tmp_path, labels, words):
    doc = _document()
    doc["annotations"][0]["occlusion"] = labels
    message = _error(tmp_path, doc)
    assert "annotations[0].occlusion" in message and words in message
