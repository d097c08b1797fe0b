"""Reads BURST-format files (ground truth and predictions) the way the toolkit interprets them.

The layout is BURST's ANNOTATION_FORMAT: `{"split", "sequences": [...]}`, one dict per annotated
frame in `segmentations`, keyed by the sequence's local track id. What the toolkit does on
reading, and so what this module does: GT tracks of distractor classes are dropped, merged
categories become their parent, a prediction without `score` scores 1.0, a per-entry
`category_id` overrides `track_category_ids`, and prediction frames that are not annotated GT
frames (another frame rate, an unknown sequence) are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from vis_bench.errors import InputError
from vis_bench.eval.burst.categories import BurstCategories, burst_categories
from vis_bench.eval.burst.fields import (
    annotated_frames,
    required,
    sequence_entries,
    sequence_folder,
)
from vis_bench.eval.rle.areas import mask_areas

#: predictions kept per image, by score (the toolkit's MAX_DETECTIONS)
MAX_DETECTIONS = 300


@dataclass
class Detection:
    """One mask of one track on one annotated frame."""

    image: int
    track: int
    category: int
    rle: dict[str, Any]
    score: float = 1.0
    #: the toolkit's box: pycocotools' box of the mask, each number truncated to an integer
    box: tuple[int, int, int, int] = (0, 0, 0, 0)
    area: int = 0


@dataclass
class Track:
    """A track of one sequence; its category is that of its first detection (the toolkit's)."""

    id: int
    category: int
    detections: list[Detection] = field(default_factory=list)


@dataclass
class Sequence:
    """A GT sequence: its annotated frames, neg / not-exhaustive lists and GT tracks."""

    key: str
    id: Any
    #: (height, width) of every frame
    size: tuple[int, int]
    #: image id -> frame number, in file order
    frame_index: dict[int, int]
    neg_category_ids: list[int]
    not_exhaustive_category_ids: list[int]
    gt_tracks: list[Track] = field(default_factory=list)
    #: image id -> its GT detections in file order (images without any are absent)
    gt_by_image: dict[int, list[Detection]] = field(default_factory=dict)
    #: the prediction tracks that land on this sequence's annotated frames
    pred_tracks: list[Track] = field(default_factory=list)
    pred_by_image: dict[int, list[Detection]] = field(default_factory=dict)


@dataclass
class GroundTruth:
    """A BURST GT file as read, with the predictions attached to its sequences later."""

    split: str
    sequences: list[Sequence]
    #: "split/dataset/seq_name/image path" -> (sequence position, image id)
    images: dict[str, tuple[int, int]]
    categories: BurstCategories
    path: str


def frame_index(image_path: str, path: str, where: str) -> int:
    """The frame number in an image name, as the toolkit parses it (`frame0031.jpg` -> 31)."""
    stripped = image_path.replace(".jpg", "").replace(".png", "").replace("frame", "")
    try:
        return int(stripped.split("_")[-1])
    except ValueError:
        raise InputError(
            f"{where}: no frame number in image name {image_path!r} (expected e.g. frame0031.jpg)",
            path=path,
            field="annotated_image_paths",
        ) from None


def _rle(entry: Any, height: int, width: int, path: str, where: str) -> dict[str, Any]:
    if not isinstance(entry, dict) or not isinstance(entry.get("rle"), str):
        raise InputError(
            f"{where}: each entry needs 'rle', a compressed RLE counts string",
            path=path,
            field="rle",
        )
    return {"counts": entry["rle"], "size": [height, width]}


def _measure(detections: list[Detection]) -> None:
    """Fill in boxes and areas, all masks at once."""
    if not detections:
        return
    rles = [det.rle for det in detections]
    boxes = mask_utils.toBbox(rles)
    areas = mask_areas(rles)
    for det, box, area in zip(detections, boxes.tolist(), areas.tolist(), strict=True):
        det.box = (int(box[0]), int(box[1]), int(box[2]), int(box[3]))
        det.area = int(area)


def _group_tracks(detections: list[Detection], frame_of: dict[int, int]) -> list[Track]:
    """Tracks in order of first appearance, detections in frame order."""
    tracks: dict[int, Track] = {}
    for det in detections:
        track = tracks.get(det.track)
        if track is None:
            track = tracks[det.track] = Track(det.track, det.category)
        track.detections.append(det)
    for track in tracks.values():
        track.detections.sort(key=lambda det: frame_of[det.image])
    return list(tracks.values())


def _category(value: Any, path: str, where: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InputError(
            f"{where}: category {value!r} is not an integer id",
            path=path,
            field="track_category_ids",
        ) from None


def _id_list(seq: dict, key: str, path: str, where: str) -> list[int]:
    """A sequence's neg / not-exhaustive category ids (absent: none)."""
    value = seq.get(key, [])
    if not isinstance(value, list):
        raise InputError(f"{where}: {key!r} must be a list of category ids", path=path, field=key)
    return [_category(cid, path, where) for cid in value]


def _by_image(detections: list[Detection]) -> dict[int, list[Detection]]:
    by_image: dict[int, list[Detection]] = {}
    for det in detections:
        by_image.setdefault(det.image, []).append(det)
    return by_image


def _sequence_name(seq: Any, split: str, path: str, where: str) -> str:
    """`split/dataset/seq_name`: how an annotated image's path is keyed across the two files."""
    return f"{split}/{sequence_folder(seq, path, where)}"


def _check_frame(frame: Any, path: str, where: str) -> None:
    if not isinstance(frame, dict):
        raise InputError(f"{where}: a frame must be a dict", path=path, field="segmentations")


def _prediction_fields(
    local: str, entry: Any, track_categories: dict, path: str, where: str
) -> tuple[int, int, float]:
    """A predicted mask's track id, category (its own, else its track's) and score."""
    if not isinstance(entry, dict):
        raise InputError(
            f"{where}: track {local}: an entry must be a dict with 'rle'",
            path=path,
            field="segmentations",
        )
    if "category_id" in entry:
        category = entry["category_id"]
    elif local in track_categories:
        category = track_categories[local]
    else:
        raise InputError(
            f"{where}: track {local} has no category (no 'category_id' in the entry "
            "and none in track_category_ids)",
            path=path,
            field="track_category_ids",
        )
    try:
        return int(local), int(category), float(entry.get("score", 1.0))
    except (TypeError, ValueError):
        raise InputError(
            f"{where}: track {local!r}: the track id, category and score must be numbers",
            path=path,
            field="segmentations",
        ) from None


def read_ground_truth_file(path: str | Path) -> GroundTruth:
    """`read_ground_truth` of a file, or of the `all_classes.json` in a folder (as the toolkit's
    `--gt` takes it)."""
    from vis_bench.jsonio import read_json

    path = Path(path)
    if path.is_dir():
        path = path / "all_classes.json"
    return read_ground_truth(read_json(path, "ground truth"), path)


def read_ground_truth(data: Any, path: str | Path) -> GroundTruth:
    """The GT file's sequences (its `categories` are not read: the toolkit uses its own)."""
    path = str(path)
    categories = burst_categories()
    if isinstance(data, dict) and "videos" in data and "sequences" not in data:
        raise InputError(
            "this is YouTube-VIS-layout ground truth ('videos'); --metric burst reads BURST's "
            "all_classes.json ('split', 'sequences'); for this file use --metric ytvis or auto",
            path=path,
            field="sequences",
        )
    split = data.get("split") if isinstance(data, dict) else None
    if not isinstance(split, str):
        raise InputError("a BURST ground truth needs a string 'split'", path=path, field="split")
    sequences: list[Sequence] = []
    images: dict[str, tuple[int, int]] = {}
    next_image = 0
    next_track = 1
    for position, seq in enumerate(sequence_entries(data, path)):
        where = f"sequence {position}"
        name = _sequence_name(seq, split, path, where)
        height = required(seq, "height", int, path, where)
        width = required(seq, "width", int, path, where)
        track_categories = required(seq, "track_category_ids", dict, path, where)
        # GT track ids are numbered across the file in the order of track_category_ids
        global_ids = {str(local): next_track + i for i, local in enumerate(track_categories)}
        next_track += len(global_ids)
        frame_paths, segmentations = annotated_frames(seq, path, where)
        frame_of: dict[int, int] = {}
        detections: list[Detection] = []
        for image_path, frame in zip(frame_paths, segmentations, strict=True):
            image = next_image
            next_image += 1
            frame_of[image] = frame_index(str(image_path), path, where)
            images[f"{name}/{image_path}"] = (position, image)
            _check_frame(frame, path, where)
            for local, entry in frame.items():
                if local not in global_ids:
                    raise InputError(
                        f"{where}: track {local} has a mask but no entry in track_category_ids",
                        path=path,
                        field="track_category_ids",
                    )
                category = _category(track_categories[local], path, where)
                if category in categories.distractors:
                    continue
                detections.append(
                    Detection(
                        image,
                        global_ids[local],
                        categories.parent(category),
                        _rle(entry, height, width, path, where),
                    )
                )
        _measure(detections)
        sequences.append(
            Sequence(
                key=name.replace("/", "-"),
                id=seq.get("id"),
                size=(height, width),
                frame_index=frame_of,
                neg_category_ids=_id_list(seq, "neg_category_ids", path, where),
                not_exhaustive_category_ids=_id_list(
                    seq, "not_exhaustive_category_ids", path, where
                ),
                gt_tracks=_group_tracks(detections, frame_of),
                gt_by_image=_by_image(detections),
            )
        )
    return GroundTruth(split, sequences, images, categories, path)


def _limit_per_image(detections: list[Detection]) -> list[Detection]:
    """At most MAX_DETECTIONS per image, by score; the result is grouped by image in order of
    first appearance (the toolkit's order, which later ties follow)."""
    by_image: dict[int, list[Detection]] = {}
    for det in detections:
        by_image.setdefault(det.image, []).append(det)
    kept: list[Detection] = []
    for dets in by_image.values():
        if len(dets) > MAX_DETECTIONS:
            dets = sorted(dets, key=lambda det: det.score, reverse=True)[:MAX_DETECTIONS]
        kept.extend(dets)
    return kept


def _unique_track_ids(detections: list[Detection], sequence_of: dict[int, int]) -> None:
    """A local track id used in several sequences gets a new id per sequence, numbered from the
    largest id + 1 in order of appearance; ids used in one sequence keep their number (the ids
    matter: track AP treats a prediction track numbered 0 as never matched)."""
    first_sequence: dict[int, int] = {}
    shared: set[int] = set()
    largest = 0
    for det in detections:
        seq = sequence_of[det.image]
        first = first_sequence.setdefault(det.track, seq)
        if first != seq:
            shared.add(det.track)
        largest = max(largest, det.track)
    if not shared:
        return
    renumbered: dict[tuple[int, int], int] = {}
    for det in detections:
        if det.track in shared:
            pair = (det.track, sequence_of[det.image])
            if pair not in renumbered:
                renumbered[pair] = largest + 1 + len(renumbered)
            det.track = renumbered[pair]


def read_predictions(data: Any, path: str | Path, gt: GroundTruth) -> int:
    """Attach the predictions to `gt`'s sequences; returns how many masks were kept."""
    path = str(path)
    split = data.get("split", gt.split) if isinstance(data, dict) else gt.split
    if split != gt.split:
        raise InputError(
            f"predictions are for split {split!r}, the ground truth is {gt.split!r}",
            path=path,
            field="split",
        )
    categories = gt.categories
    sequence_of: dict[int, int] = {}
    frame_of: dict[int, int] = {}
    for position, seq in enumerate(gt.sequences):
        for image, index in seq.frame_index.items():
            sequence_of[image] = position
            frame_of[image] = index
    detections: list[Detection] = []
    for number, seq in enumerate(sequence_entries(data, path)):
        where = f"sequence {number}"
        name = _sequence_name(seq, split, path, where)
        track_categories = seq.get("track_category_ids", {})
        frame_paths, segmentations = annotated_frames(seq, path, where)
        for image_path, frame in zip(frame_paths, segmentations, strict=True):
            _check_frame(frame, path, where)
            found = gt.images.get(f"{name}/{image_path}")
            if found is None:
                continue
            position, image = found
            height, width = gt.sequences[position].size
            for local, entry in frame.items():
                track, category, score = _prediction_fields(
                    local, entry, track_categories, path, where
                )
                detections.append(
                    Detection(
                        image, track, category, _rle(entry, height, width, path, where), score
                    )
                )
    detections = _limit_per_image(detections)
    _unique_track_ids(detections, sequence_of)
    for det in detections:
        det.category = categories.parent(det.category)
    _measure(detections)
    per_sequence: list[list[Detection]] = [[] for _ in gt.sequences]
    for det in detections:
        per_sequence[sequence_of[det.image]].append(det)
    for seq, dets in zip(gt.sequences, per_sequence, strict=True):
        seq.pred_tracks = _group_tracks(dets, frame_of)
        seq.pred_by_image = _by_image(dets)
    return len(detections)


def boxes(detections: list[Detection]) -> np.ndarray:
    """The detections' boxes as an (n, 4) float array (what the toolkit's HOTA matches on)."""
    if not detections:
        return np.empty((0, 4))
    return np.asarray([det.box for det in detections], dtype=float)
