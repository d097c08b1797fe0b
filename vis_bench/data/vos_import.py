"""A VOS-layout folder (data/vos_layout.py) into a YouTube-VIS ground truth (`import-vos`).

Each video folder of `JPEGImages/` becomes a video, each object index of its masks a track (one
uncompressed RLE per frame, null where the object is absent, with its area and box), each
category of `meta.json` a category (one category, `object`, for every object when there is no
meta.json). The output folder holds `annotations.json`, whose `file_names` are
`<video>/<frame file>` under `frames/` beside it (frames hard-linked where the file system
allows, else copied), so a sweep (`dataset.annotations: DIR`), `eval`, `validate --gt` and
`predict --video DIR/frames/<video>` take it directly.

Frames and videos are taken in natural order (`f2` before `f10`, as `predict` reads a frame
folder). Video ids are 1..N in the order of the video names and category ids 1..K in the order of the
category names, unless `ids_from` names a YouTube-VIS file whose ids to keep (videos matched by
their frame folder, categories by name): the way back from `export-vos`. Everything is checked
before anything is written: frame names (every mask has its frame and, unless `annotated_only`,
every frame its mask), sizes (masks as large as their frames, one size per video) and masks
(index images, objects the meta.json lists); errors name the video, the frame and the field.
The output is written into a temporary folder and renamed into place.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vis_bench.atomic import atomic_directory
from vis_bench.data.frames import frame_files, natural_key
from vis_bench.data.track_fields import frame_fields
from vis_bench.data.vos_layout import (
    FRAMES_DIR,
    MASKS_DIR,
    META_FILE,
    frame_size,
    read_index_png,
    read_meta,
    video_name,
)
from vis_bench.errors import InputError
from vis_bench.jsonio import read_json

ANNOTATIONS_FILE = "annotations.json"
OUTPUT_FRAMES_DIR = "frames"
#: the category of every object when the folder has no meta.json
DEFAULT_CATEGORY = "object"


@dataclass
class VosVideo:
    """One video folder: its frames (files, in name order) and, per frame, its mask or None."""

    name: str
    frames: list[Path]
    masks: list[Path]
    size: tuple[int, int] = (0, 0)  # (width, height)
    #: object index -> per-frame (segmentation, area, bbox) as track_fields.frame_fields gives
    objects: dict[int, list[tuple[Any, Any, Any]]] = field(default_factory=dict)


@dataclass
class ImportSummary:
    videos: int
    frames: int
    tracks: int
    categories: int
    skipped_objects: list[str]  # objects meta.json lists that no mask shows


def _listing(root: Path, annotated_only: bool) -> list[VosVideo]:
    """The videos, each frame paired with its mask by name; unmatched names are errors."""
    frames_root, masks_root = root / FRAMES_DIR, root / MASKS_DIR
    for folder in (frames_root, masks_root):
        if not folder.is_dir():
            raise InputError(
                f"no {folder.name}/ folder: a VOS-layout dataset holds JPEGImages/<video>/"
                "<frame>.jpg and Annotations/<video>/<frame>.png",
                path=str(folder),
            )
    names = sorted((p.name for p in frames_root.iterdir() if p.is_dir()), key=natural_key)
    if not names:
        raise InputError("no video folders", path=str(frames_root))
    videos = []
    for name in names:
        frames = frame_files(frames_root / name, field="frame name")
        mask_dir = masks_root / name
        masks = {p.stem: p for p in mask_dir.glob("*.png")} if mask_dir.is_dir() else {}
        stems = {p.stem for p in frames}
        orphans = sorted(set(masks) - stems)
        if orphans:
            raise InputError(
                f"video {name!r}, frame {orphans[0]!r}: a mask without its frame "
                f"({len(orphans)} such masks); every Annotations/ PNG needs a JPEGImages/ frame "
                "of the same name",
                path=str(masks[orphans[0]]),
                field="frame name",
            )
        if annotated_only:
            frames = [p for p in frames if p.stem in masks]
        missing = [p.stem for p in frames if p.stem not in masks]
        if missing:
            raise InputError(
                f"video {name!r}, frame {missing[0]!r}: no mask ({len(missing)} frames of "
                f"{len(frames)} have none); give every frame a PNG, or pass --annotated-only "
                "to keep only the annotated frames",
                path=str(mask_dir / f"{missing[0]}.png"),
                field="frame name",
            )
        if not frames:
            raise InputError(f"video {name!r} has no annotated frames", path=str(mask_dir))
        videos.append(VosVideo(name, frames, [masks[p.stem] for p in frames]))
    return videos


def _read_masks(video: VosVideo, void_index: int | None) -> None:
    """Every frame's size (one per video) and every object's per-frame masks."""
    sizes = [frame_size(p, f"video {video.name!r}, frame {p.stem!r}") for p in video.frames]
    video.size = sizes[0]
    for path, size in zip(video.frames, sizes, strict=True):
        if size != video.size:
            raise InputError(
                f"video {video.name!r}, frame {path.stem!r}: {size[0]}x{size[1]} but the "
                f"video's first frame is {video.size[0]}x{video.size[1]}; a video has one size",
                path=str(path),
                field="size",
            )
    empty = frame_fields(None)
    n = len(video.frames)
    for t, (frame, mask_path) in enumerate(zip(video.frames, video.masks, strict=True)):
        where = f"video {video.name!r}, frame {frame.stem!r}"
        indices = read_index_png(mask_path, video.size, where)
        present = np.unique(indices)
        for index in present[(present != 0) & (present != (void_index or 0))].tolist():
            track = video.objects.setdefault(int(index), [empty] * n)
            track[t] = frame_fields(indices == index)


def _categories(
    meta: dict[str, Any] | None, reference: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """The output's categories: without meta.json one category (the reference file's only one,
    else `object`); with it the reference file's, else its names in name order (ids 1..K)."""
    if meta is None:
        if reference is not None and len(reference["categories"]) == 1:
            return list(reference["categories"])
        return [{"id": 1, "name": DEFAULT_CATEGORY, "supercategory": "object"}]
    if reference is not None:
        return list(reference["categories"])
    names = sorted(
        {entry["category"] for video in meta.values() for entry in video["objects"].values()}
    )
    return [{"id": i, "name": name, "supercategory": "object"} for i, name in enumerate(names, 1)]


def _reference(path: Path | None) -> dict[str, Any] | None:
    """The ids to keep: video folder -> id and category name -> id of a YouTube-VIS file."""
    if path is None:
        return None
    data = read_json(path, "reference YouTube-VIS file")
    from vis_bench.formats.ytvis_header import parse_header

    header = parse_header(data, str(path), strict=False, what="reference file")
    videos = {video_name(v.file_names or (), v.id): v.id for v in header.videos}
    return {
        "path": str(path),
        "videos": videos,
        "category_ids": {c.name: c.id for c in header.categories},
        "categories": [
            {"id": c.id, "name": c.name, "supercategory": c.supercategory or "object"}
            for c in header.categories
        ],
    }


def _video_ids(videos: list[VosVideo], reference: dict[str, Any] | None) -> list[int]:
    if reference is None:
        return list(range(1, len(videos) + 1))
    unknown = [v.name for v in videos if v.name not in reference["videos"]]
    if unknown:
        raise InputError(
            f"video {unknown[0]!r} ({len(unknown)} in all) is not a video of the reference file "
            "(matched by the folder its frames are in); import without --ids-from, or give "
            "the file these videos came from",
            path=reference["path"],
            field="videos",
        )
    return [reference["videos"][v.name] for v in videos]


def _object_categories(
    video: VosVideo, meta: dict[str, Any] | None, category_ids: dict[str, int], source: str
) -> tuple[dict[int, int], list[str]]:
    """Each object index's category id, and the objects meta.json lists that no mask shows."""
    if meta is None:
        (only,) = category_ids.values()
        return dict.fromkeys(video.objects, only), []
    listed = meta.get(video.name, {"objects": {}})["objects"]
    ids = {}
    for index in sorted(video.objects):
        entry = listed.get(str(index))
        if entry is None:
            frame = next(
                f.stem
                for f, fields in zip(video.frames, video.objects[index], strict=True)
                if fields[0] is not None
            )
            raise InputError(
                f"video {video.name!r}, frame {frame!r}: object index {index} is not in "
                f"meta.json's objects of the video; list it with its category",
                path=source,
                field=f"videos.{video.name}.objects.{index}",
            )
        name = entry["category"]
        if name not in category_ids:
            raise InputError(
                f"video {video.name!r}, object {index}: category {name!r} is not a category "
                "of the reference file (--ids-from); categories are matched by name",
                path=source,
                field=f"videos.{video.name}.objects.{index}.category",
            )
        ids[index] = category_ids[name]
    skipped = [f"{video.name}/{k}" for k in listed if int(k) not in video.objects]
    return ids, skipped


def _place_frames(video: VosVideo, target: Path) -> list[str]:
    """The video's frames under `target/<video>/` (hard links where possible); their
    `file_names`."""
    folder = target / video.name
    folder.mkdir(parents=True)
    names = []
    for frame in video.frames:
        destination = folder / frame.name
        try:
            os.link(frame, destination)
        except OSError:
            shutil.copyfile(frame, destination)
        names.append(f"{video.name}/{frame.name}")
    return names


def _video_documents(
    video: VosVideo, vid: int, labels: dict[int, int], file_names: list[str], first_id: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The video's `videos` entry and its objects' `annotations` (ids from `first_id`)."""
    width, height = video.size
    entry = {
        "id": vid,
        "width": width,
        "height": height,
        "length": len(file_names),
        "file_names": file_names,
    }
    tracks = []
    for index in sorted(video.objects):
        segs, areas, boxes = (list(column) for column in zip(*video.objects[index], strict=True))
        tracks.append(
            {
                "id": first_id + len(tracks),
                "video_id": vid,
                "category_id": labels[index],
                "iscrowd": 0,
                "height": height,
                "width": width,
                "length": 1,
                "segmentations": segs,
                "areas": areas,
                "bboxes": boxes,
            }
        )
    return entry, tracks


def import_vos(
    root: str | Path,
    out: str | Path,
    *,
    ids_from: str | Path | None = None,
    annotated_only: bool = False,
    void_index: int | None = None,
    overwrite: bool = False,
) -> ImportSummary:
    """Read the VOS-layout folder `root` into `out/annotations.json` and `out/frames/` (see the
    module docstring); returns what was imported."""
    root = Path(root)
    videos = _listing(root, annotated_only)
    meta = read_meta(root)
    reference = _reference(None if ids_from is None else Path(ids_from))
    categories = _categories(meta, reference)
    category_ids = {c["name"]: c["id"] for c in categories}
    video_ids = _video_ids(videos, reference)
    entries: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    skipped: list[str] = []
    with atomic_directory(out, overwrite=overwrite) as tmp:
        for video, vid in zip(videos, video_ids, strict=True):
            _read_masks(video, void_index)
            labels, unseen = _object_categories(video, meta, category_ids, str(root / META_FILE))
            skipped += unseen
            file_names = _place_frames(video, tmp / OUTPUT_FRAMES_DIR)
            entry, tracks = _video_documents(video, vid, labels, file_names, len(annotations) + 1)
            entries.append(entry)
            annotations += tracks
            video.objects = {}  # written into the document below: free the masks now
        document = {
            "info": {
                "description": "imported from a VOS-layout folder by vis-bench import-vos",
                "source": root.name,
            },
            "videos": entries,
            "categories": categories,
            "annotations": annotations,
        }
        (tmp / ANNOTATIONS_FILE).write_text(json.dumps(document, separators=(",", ":")))
    frames = sum(len(v.frames) for v in videos)
    return ImportSummary(len(videos), frames, len(annotations), len(categories), skipped)
