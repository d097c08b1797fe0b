"""Parse and validate a YouTube-VIS-layout annotation file (YouTube-VIS 2019/2021, OVIS).

OVIS files add `annotations[].occlusion`, one level per frame; they are kept on the records
(`Annotation.occlusion`) and checked like the other per-frame lists.

Every check here is cheap (no mask decoding, no image reading) and raises `InputError` naming the
file and the JSON field (`videos[3].length`, `annotations[12].segmentations[4].size`), so a broken
file is reported where it enters instead of as a KeyError deep inside training or evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vis_bench.data.videos import Annotation, Category, Video
from vis_bench.formats.occlusion import OcclusionLabelError, label_counts
from vis_bench.formats.ytvis_header import StrictReader, parse_header, short
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
    return _Parser(str(path)).parse(read_json(path, "annotation file"))


class _Parser(StrictReader):
    """The strict view of a whole file: the header (formats.ytvis_header), then the tracks."""

    def parse(self, data: Any) -> AnnotationFile:
        header = parse_header(data, str(self.path), strict=True)
        categories = tuple(Category(c.id, c.name, c.supercategory) for c in header.categories)
        videos = {
            v.id: Video(v.id, v.width, v.height, v.length, v.file_names) for v in header.videos
        }
        raw_anns = header.annotations
        has_annotations = raw_anns is not None
        if has_annotations and not isinstance(raw_anns, list):
            raise self.fail(f"must be a list or null, got {type(raw_anns).__name__}", "annotations")
        tracks = self.annotations(raw_anns or [], videos, {c.id for c in categories})
        full = tuple(
            Video(v.id, v.width, v.height, v.length, v.file_names, tuple(tracks.get(v.id, ())))
            for v in videos.values()
        )
        return AnnotationFile(Path(self.path), header.info, categories, full, has_annotations)

    def annotations(
        self, items: list[Any], videos: dict[int, Video], category_ids: set[int]
    ) -> dict[int, list[Annotation]]:
        tracks: dict[int, list[Annotation]] = {}
        seen: set[int] = set()
        for _, where, item, aid in self.entries(items, "annotations"):
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
                raise self.fail(f"must be 0 or 1, got {short(iscrowd)}", f"{where}.iscrowd")
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
