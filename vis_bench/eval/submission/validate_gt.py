"""Check a ground-truth file before hours of sweeps are spent on it (`validate --gt FILE`).

The readers stop at the first problem (data/ytvis_json.py for training, the metric's loader for
scoring); this check goes on and names every problem with its video, frame and field, as the
results check does (validate.py), so an annotation file made by hand or by a converter can be
fixed in one pass. Errors: what a reader refuses or what makes the evaluator crash or score
something else than meant (ids repeated, a track's frame list not as long as its video, masks of
another size, run lengths that do not cover the frame, categories or videos not listed, `areas`
or `iscrowd` missing). Warnings: what the evaluator accepts but that is probably unintended (a
track never visible, `areas` that disagree with the masks: the area ranges read the field).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pycocotools import mask as mask_utils

from vis_bench.errors import InputError
from vis_bench.eval.submission.validate import Problem, ValidationReport
from vis_bench.formats.occlusion import OcclusionLabelError, label_counts
from vis_bench.jsonio import read_json

Add = Callable[..., None]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def validate_ground_truth(path: str) -> ValidationReport:
    """Every problem of a YouTube-VIS-layout ground-truth file; never raises for its content."""
    report = ValidationReport(results_path=str(path))
    problems = report.problems

    def add(severity: str, code: str, message: str, **where: Any) -> None:
        problems.append(Problem(severity, code, message, **where))

    try:
        data = read_json(path, "ground truth")
    except InputError as err:
        add("error", "json", str(err))
        return report
    if not isinstance(data, dict):
        add("error", "not-an-object", f"top level must be a JSON object, got {type(data).__name__}")
        return report
    for key in ("videos", "categories"):
        if not isinstance(data.get(key), list):
            got = "missing" if key not in data else f"a {type(data[key]).__name__}"
            add("error", "missing-list", f"needs a list {key!r}, got {got}", field=key)
    if problems:
        return report
    videos = _check_videos(data["videos"], add)
    categories = _check_categories(data["categories"], add)
    annotations = data.get("annotations")
    if annotations is None:
        add(
            "error",
            "no-annotations",
            "no annotations (a split without labels): nothing can be scored against it",
            field="annotations",
        )
    elif not isinstance(annotations, list):
        add("error", "missing-list", "'annotations' must be a list", field="annotations")
    else:
        for i, ann in enumerate(annotations):
            _check_track(i, ann, videos, categories, add)
        _repeated_ids(annotations, "annotations", add)
    report.n_results = len(annotations) if isinstance(annotations, list) else 0
    return report


def _repeated_ids(items: list[Any], key: str, add: Add) -> None:
    first: dict[Any, int] = {}
    for i, item in enumerate(items):
        value = item.get("id") if isinstance(item, dict) else None
        if not _is_int(value):
            continue
        if value in first:
            add(
                "error",
                "duplicate-id",
                f"id {value} repeats {key}[{first[value]}]'s; ids must be unique",
                field=f"{key}[{i}].id",
            )
        else:
            first[value] = i


def _check_videos(items: list[Any], add: Add) -> dict[int, tuple[int, int, int]]:
    """Video id -> (height, width, frames) of every usable entry; problems recorded."""
    videos: dict[int, tuple[int, int, int]] = {}
    for i, video in enumerate(items):
        where = f"videos[{i}]"
        if not isinstance(video, dict):
            add("error", "not-an-object", "must be a JSON object", field=where)
            continue
        vid = video.get("id")
        if not _is_int(vid):
            add("error", "bad-id", f"id must be an integer, got {vid!r}", field=f"{where}.id")
            continue
        size = [video.get(key) for key in ("height", "width")]
        for key, value in zip(("height", "width"), size, strict=True):
            if not (_is_int(value) and value > 0):
                message = f"{key} must be a positive integer, got {value!r}"
                add("error", "bad-size", message, video_id=vid, field=f"{where}.{key}")
        names = _frame_names(video, where, vid, add)
        if names is not None and all(_is_int(v) and v > 0 for v in size):
            videos.setdefault(vid, (size[0], size[1], len(names)))
    _repeated_ids(items, "videos", add)
    return videos


def _frame_names(video: dict, where: str, vid: int, add: Add) -> list[str] | None:
    names = video.get("file_names")
    if not isinstance(names, list) or not names:
        message = f"file_names must be a non-empty list of frame paths, got {names!r}"[:160]
        add("error", "bad-file-names", message, video_id=vid, field=f"{where}.file_names")
        return None
    for t, name in enumerate(names):
        if not isinstance(name, str) or not name:
            message = f"must be a frame path, got {name!r}"
            add(
                "error",
                "bad-file-names",
                message,
                video_id=vid,
                frame=t,
                field=f"{where}.file_names",
            )
    if len(set(map(str, names))) != len(names):
        add(
            "error",
            "bad-file-names",
            "lists a frame twice",
            video_id=vid,
            field=f"{where}.file_names",
        )
    length = video.get("length")
    if length is None:
        message = "no length: the evaluator counts the file_names (give `length` to be explicit)"
        add("warning", "no-length", message, video_id=vid, field=f"{where}.length")
    elif length != len(names):
        add(
            "error",
            "length",
            f"length is {length!r} but file_names lists {len(names)} frames; make them agree",
            video_id=vid,
            field=f"{where}.length",
        )
    return names


def _check_categories(items: list[Any], add: Add) -> set[int]:
    ids: set[int] = set()
    for i, category in enumerate(items):
        where = f"categories[{i}]"
        if not isinstance(category, dict) or not _is_int(category.get("id")):
            add("error", "bad-id", "must be an object with an integer id", field=where)
            continue
        ids.add(category["id"])
        if not isinstance(category.get("name"), str):
            add("warning", "no-name", "has no name (tables show the id)", field=f"{where}.name")
    _repeated_ids(items, "categories", add)
    return ids


def _check_track(i: int, ann: Any, videos: dict, categories: set[int], add: Add) -> None:
    where = f"annotations[{i}]"
    if not isinstance(ann, dict):
        add("error", "not-an-object", "must be a JSON object", field=where)
        return
    aid = ann.get("id") if _is_int(ann.get("id")) else None
    vid = ann.get("video_id")

    def here(severity: str, code: str, message: str, **at: Any) -> None:
        add(severity, code, message, annotation_id=aid, video_id=vid, **at)

    for key in ("id", "video_id", "category_id", "segmentations", "areas", "iscrowd"):
        if key not in ann:
            here("error", "missing-field", f"missing {key!r}", field=f"{where}.{key}")
    if "id" in ann and aid is None:
        here("error", "bad-id", f"id must be an integer, got {ann['id']!r}", field=f"{where}.id")
    if "video_id" in ann and vid not in videos:
        message = f"video_id {vid!r} is not a video of the file's `videos`"
        here("error", "unknown-video", message, field=f"{where}.video_id")
    cid = ann.get("category_id")
    if "category_id" in ann and cid not in categories:
        message = f"category_id {cid!r} is not in the file's `categories`"
        here("error", "unknown-category", message, field=f"{where}.category_id")
    if "iscrowd" in ann and ann["iscrowd"] not in (0, 1):
        here(
            "error",
            "bad-iscrowd",
            f"must be 0 or 1, got {ann['iscrowd']!r}",
            field=f"{where}.iscrowd",
        )
    video = videos.get(vid)
    areas = _per_frame(ann, "areas", where, video, here)
    segs = _per_frame(ann, "segmentations", where, video, here)
    if segs is not None and video is not None:
        _check_masks(segs, areas, video, where, here)
    bboxes = _per_frame(ann, "bboxes", where, video, here) if "bboxes" in ann else None
    for t, box in enumerate(bboxes or ()):
        if box is not None and not (
            isinstance(box, list) and len(box) == 4 and all(map(_is_number, box))
        ):
            here(
                "error",
                "bad-bbox",
                "must be [x, y, w, h] or null",
                frame=t,
                field=f"{where}.bboxes",
            )
    if "occlusion" in ann:
        try:
            label_counts(ann["occlusion"])
        except OcclusionLabelError as err:
            here("error", "bad-occlusion", f"occlusion {err}", field=f"{where}.occlusion")


def _per_frame(ann: dict, key: str, where: str, video: Any, here: Add) -> list | None:
    """A per-frame list, checked to have one entry per frame of the track's video."""
    if key not in ann:
        return None
    values = ann[key]
    if not isinstance(values, list):
        message = f"must be a list with one entry per frame, got {type(values).__name__}"
        here("error", "bad-list", message, field=f"{where}.{key}")
        return None
    if video is not None and len(values) != video[2]:
        message = (
            f"has {len(values)} entries but the video has {video[2]} frames; give one entry "
            "per frame (null where the object is not visible)"
        )
        here("error", "frame-count", message, field=f"{where}.{key}")
    return values


def _check_masks(segs: list, areas: list | None, video: tuple, where: str, here: Add) -> None:
    height, width, _ = video
    visible = 0
    for t, seg in enumerate(segs):
        if not seg:
            continue
        pixels, problem = _mask_pixels(seg, height, width)
        if problem is not None:
            here("error", *problem, frame=t, field=f"{where}.segmentations")
            continue
        visible += 1
        if areas is None or t >= len(areas):
            continue
        area = areas[t]
        if area is not None and not _is_number(area):
            message = f"must be a number or null, got {area!r}"
            here("error", "bad-area", message, frame=t, field=f"{where}.areas")
        elif (area or 0) != pixels:
            message = (
                f"area {area!r} but the mask has {pixels} pixels; the area ranges (APs/m/l) "
                "read the field"
            )
            here("warning", "area", message, frame=t, field=f"{where}.areas")
    if visible == 0:
        message = "the track is empty in every frame"
        here("warning", "never-visible", message, field=f"{where}.segmentations")


def _mask_pixels(seg: Any, height: int, width: int) -> tuple[int, tuple[str, str] | None]:
    """The foreground pixels of one frame entry (RLE, or polygons at the video's size), or the
    (code, message) of why it cannot be read."""
    if isinstance(seg, list):
        if not all(
            isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0 and all(map(_is_number, p))
            for p in seg
        ):
            return 0, ("bad-mask", "polygons must be lists of x, y pairs (at least 3 points)")
        rle = mask_utils.merge(mask_utils.frPyObjects(seg, height, width))
        return int(mask_utils.area(rle)), None
    if not isinstance(seg, dict) or "counts" not in seg or "size" not in seg:
        kind = type(seg).__name__
        return 0, ("bad-mask", f"must be RLE ('size' and 'counts'), polygons or null, got {kind}")
    size, counts = seg["size"], seg["counts"]
    if not isinstance(size, list) or size != [height, width]:
        message = f"mask size {size!r} differs from the video's [height, width] {[height, width]}"
        return 0, ("mask-size", message)
    if isinstance(counts, list):
        if not all(_is_int(c) and c >= 0 for c in counts) or sum(counts) != height * width:
            message = (
                f"run lengths must be counts >= 0 summing to height * width = {height * width}"
            )
            return 0, ("bad-rle", message)
        return int(sum(counts[1::2])), None
    if not isinstance(counts, str):
        return 0, ("bad-rle", "RLE counts must be a list of run lengths or a compressed string")
    try:
        mask = mask_utils.decode({"size": [height, width], "counts": counts.encode("ascii")})
    except (UnicodeEncodeError, ValueError, TypeError):
        return 0, ("bad-rle", "compressed RLE counts are not a valid string for this size")
    return int(mask.sum()), None
