"""Parse and validate a YouTube-VIS-layout annotation file (YouTube-VIS 2019/2021, OVIS).

OVIS files add `annotations[].occlusion`, one level per frame; they are kept on the records
(`Annotation.occlusion`) and checked like the other per-frame lists.

Every check here is cheap (no mask decoding, no image reading) and raises `InputError` naming the
file and the JSON field (`videos[3].length`, `annotations[12].segmentations[4].size`), so a broken
file is reported where it enters instead of as a KeyError deep inside training or evaluation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vis_bench.data.videos import Annotation, Category, Video
from vis_bench.errors import InputError
from vis_bench.eval.occlusion import OcclusionLabelError, label_counts
from vis_bench.jsonio import read_json


@dataclass(frozen=True)
class AnnotationFile:
    """What a file holds once validated; `has_annotations` is False for test-style files."""

    path: Path
    info: dict[str, Any]
    categories: tuple[Category, ...]
    videos: tuple[Video, ...]
    has_annotations: bool


def load_annotation_file(path: str | Path) -> AnnotationFile:
    """Read and validate one annotation file; see the module docstring for what is checked."""
    path = Path(path)
    return _Parser(path).parse(read_json(path, "annotation file"))


class _Parser:
    def __init__(self, path: Path):
        self.path = path

    def fail(self, message: str, field: str) -> InputError:
        return InputError(message, path=str(self.path), field=field)

    def get(self, obj: dict[str, Any], key: str, where: str, kind: type | tuple[type, ...]) -> Any:
        if key not in obj:
            raise self.fail("required field is missing", f"{where}.{key}")
        value = obj[key]
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            names = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            raise self.fail(
                f"expected {names}, got {type(value).__name__} {_short(value)}", f"{where}.{key}"
            )
        return value

    def positive(self, obj: dict[str, Any], key: str, where: str) -> int:
        value = self.get(obj, key, where, int)
        if value <= 0:
            raise self.fail(f"must be a positive integer, got {value}", f"{where}.{key}")
        return value

    def parse(self, data: Any) -> AnnotationFile:
        if not isinstance(data, dict):
            raise self.fail(f"top level must be a JSON object, got {type(data).__name__}", "$")
        for key in ("videos", "categories"):
            if key not in data:
                raise self.fail("required top-level field is missing", key)
            if not isinstance(data[key], list):
                raise self.fail(f"must be a list, got {type(data[key]).__name__}", key)
        categories = self.categories(data["categories"])
        videos = self.videos(data["videos"])
        raw_anns = data.get("annotations")
        has_annotations = raw_anns is not None
        if has_annotations and not isinstance(raw_anns, list):
            raise self.fail(f"must be a list or null, got {type(raw_anns).__name__}", "annotations")
        tracks = self.annotations(raw_anns or [], videos, {c.id for c in categories})
        info = data.get("info") if isinstance(data.get("info"), dict) else {}
        full = tuple(
            Video(v.id, v.width, v.height, v.length, v.file_names, tuple(tracks.get(v.id, ())))
            for v in videos.values()
        )
        return AnnotationFile(self.path, info, categories, full, has_annotations)

    def categories(self, items: list[Any]) -> tuple[Category, ...]:
        out: dict[int, Category] = {}
        for i, item in enumerate(items):
            where = f"categories[{i}]"
            if not isinstance(item, dict):
                raise self.fail("must be an object", where)
            cid = self.get(item, "id", where, int)
            name = self.get(item, "name", where, str)
            if cid in out:
                raise self.fail(f"duplicate category id {cid}", f"{where}.id")
            out[cid] = Category(cid, name, str(item.get("supercategory", "")))
        return tuple(out.values())

    def videos(self, items: list[Any]) -> dict[int, Video]:
        out: dict[int, Video] = {}
        for i, item in enumerate(items):
            where = f"videos[{i}]"
            if not isinstance(item, dict):
                raise self.fail("must be an object", where)
            vid = self.get(item, "id", where, int)
            if vid in out:
                raise self.fail(
                    f"duplicate video id {vid}; video ids must be unique", f"{where}.id"
                )
            where = f"videos[{i}] (id {vid})"
            width = self.positive(item, "width", where)
            height = self.positive(item, "height", where)
            length = self.positive(item, "length", where)
            names = self.get(item, "file_names", where, list)
            if not all(isinstance(n, str) for n in names):
                raise self.fail("every entry must be a string path", f"{where}.file_names")
            if len(names) != length:
                raise self.fail(
                    f"length is {length} but file_names lists {len(names)} frames; "
                    "make `length` equal the number of file_names",
                    f"{where}.length",
                )
            out[vid] = Video(vid, width, height, length, tuple(names))
        return out

    def annotations(
        self, items: list[Any], videos: dict[int, Video], category_ids: set[int]
    ) -> dict[int, list[Annotation]]:
        tracks: dict[int, list[Annotation]] = {}
        seen: set[int] = set()
        for i, item in enumerate(items):
            where = f"annotations[{i}]"
            if not isinstance(item, dict):
                raise self.fail("must be an object", where)
            aid = self.get(item, "id", where, int)
            if aid in seen:
                raise self.fail(f"duplicate annotation id {aid}", f"{where}.id")
            seen.add(aid)
            vid = self.get(item, "video_id", where, int)
            video = videos.get(vid)
            if video is None:
                raise self.fail(f"video id {vid} is not in `videos`", f"{where}.video_id")
            cid = self.get(item, "category_id", where, int)
            if cid not in category_ids:
                raise self.fail(f"category id {cid} is not in `categories`", f"{where}.category_id")
            segs = self.per_frame(item, "segmentations", where, video, required=True)
            for t, seg in enumerate(segs):
                self.segmentation(seg, f"{where}.segmentations[{t}]", video)
            areas = self.per_frame(item, "areas", where, video, required=False)
            bboxes = self.per_frame(item, "bboxes", where, video, required=False)
            if bboxes is not None:
                for t, box in enumerate(bboxes):
                    if box is not None and not _is_box(box):
                        raise self.fail("must be [x, y, w, h] or null", f"{where}.bboxes[{t}]")
            occlusion = self.occlusion(item, where, video)
            iscrowd = item.get("iscrowd", 0)
            if iscrowd not in (0, 1):
                raise self.fail(f"must be 0 or 1, got {_short(iscrowd)}", f"{where}.iscrowd")
            ann = Annotation(
                id=aid,
                video_id=vid,
                category_id=cid,
                height=video.height,
                width=video.width,
                segmentations=tuple(segs),
                areas=None if areas is None else tuple(areas),
                bboxes=None if bboxes is None else tuple(bboxes),
                iscrowd=int(iscrowd),
                occlusion=occlusion,
            )
            tracks.setdefault(vid, []).append(ann)
        return tracks

    def per_frame(
        self, item: dict[str, Any], key: str, where: str, video: Video, *, required: bool
    ) -> list[Any] | None:
        if key not in item and not required:
            return None
        values = self.get(item, key, where, list)
        if len(values) != video.length:
            raise self.fail(
                f"has {len(values)} entries but video {video.id} has {video.length} frames; "
                "give one entry per frame (null where the instance is not visible)",
                f"{where}.{key}",
            )
        return values

    def occlusion(
        self, item: dict[str, Any], where: str, video: Video
    ) -> tuple[str | None, ...] | None:
        """OVIS per-frame occlusion levels: one per frame, each a known level or null."""
        if "occlusion" not in item:
            return None
        if item["occlusion"] is None:
            raise self.fail(
                "must be a list of per-frame occlusion levels (omit the key when there are none)",
                f"{where}.occlusion",
            )
        labels = self.per_frame(item, "occlusion", where, video, required=True)
        try:
            label_counts(labels)
        except OcclusionLabelError as err:
            raise self.fail(str(err), f"{where}.occlusion") from None
        return tuple(labels)

    def segmentation(self, seg: Any, where: str, video: Video) -> None:
        if seg is None or isinstance(seg, list):
            return  # absent, or polygons (rasterised at the video size when decoded)
        if not isinstance(seg, dict):
            raise self.fail(f"must be RLE, polygons or null, got {type(seg).__name__}", where)
        counts = seg.get("counts")
        size = seg.get("size")
        if counts is None or size is None:
            raise self.fail("RLE needs both `counts` and `size`", where)
        expected = [video.height, video.width]
        if list(size) != expected:
            raise self.fail(
                f"mask size {list(size)} differs from video {video.id}'s size "
                f"[height, width] = {expected}",
                f"{where}.size",
            )
        if isinstance(counts, list):
            if sum(counts) != video.height * video.width:
                raise self.fail(
                    f"run lengths sum to {sum(counts)}, not height*width = "
                    f"{video.height * video.width}",
                    f"{where}.counts",
                )
        elif not isinstance(counts, str):
            raise self.fail("RLE counts must be a list of ints or a string", f"{where}.counts")


def _is_box(box: Any) -> bool:
    return (
        isinstance(box, list)
        and len(box) == 4
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in box)
    )


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
