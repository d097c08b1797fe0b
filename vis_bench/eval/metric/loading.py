"""Load phase: ground-truth and results JSON into plain per-track arrays.

Both loaders check the fields the metric reads and raise `InputError` naming the file, the entry
and the field, where the official evaluator would crash with a bare KeyError or assertion. They
keep every accepted-but-odd input the official code accepts (short/long frame lists, masks of the
wrong size, categories unknown to the GT), because those change the numbers and must be reproduced.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vis_bench.errors import InputError
from vis_bench.eval.metric.listed_masks import ListedMasks
from vis_bench.eval.rle import bulk_rle
from vis_bench.eval.rle.areas import track_areas
from vis_bench.eval.rle.count_lists import MARKER, CountLists, loads_with_count_lists
from vis_bench.eval.rle.result_strings import ResultStrings, read_ordinary
from vis_bench.eval.rle.text_cuts import CutText
from vis_bench.formats.occlusion import OcclusionLabelError, label_counts, score_from_counts
from vis_bench.formats.results_file import read_results
from vis_bench.formats.ytvis_header import as_int, parse_header
from vis_bench.jsonio import parse_json, read_mapped

RLE = dict[str, Any]


@dataclass
class GroundTruth:
    """GT videos, categories and tracks; tracks are kept in annotation-file order.

    Only tracks whose video and category are listed are kept (the official evaluator selects
    annotations by the listed ids). Frames are compressed RLE dicts or None (absent).
    """

    path: str
    video_ids: list[int]  # sorted, unique: the evaluation universe
    video_size: dict[int, tuple[int, int]]  # (height, width)
    video_length: dict[int, int | None]  # `length`, else len(file_names), else None
    cat_ids: list[int]  # sorted, unique
    cat_names: dict[int, str]
    ann_ids: np.ndarray  # int64 [N]
    video_of: np.ndarray  # int64 [N]
    category_of: np.ndarray  # int64 [N]
    crowd: np.ndarray  # bool [N]
    avg_area: np.ndarray  # float64 [N], from the `areas` field (not from the masks)
    frames: list[list[RLE | None]] = field(repr=False)
    frame_areas: list[np.ndarray] = field(repr=False)  # pixel counts per frame, 0 if absent
    # OVIS: occlusion score per track (NaN without a usable `occlusion` field), whether the
    # track has the field, and the tracks whose labels the OVIS evaluator would crash on
    occ_score: np.ndarray | None = None  # float64 [N]
    occ_labelled: np.ndarray | None = None  # bool [N]
    occ_problems: list[tuple[int, str]] = field(default_factory=list)  # (track, message)
    annotations_null: bool = False  # `"annotations": null` (accepted by the OVIS evaluator)
    #: the GT masks the reader parsed from count lists, already as the metric decodes them
    #: (None when read otherwise, e.g. from the GT cache)
    listed: ListedMasks | None = field(default=None, repr=False)
    #: ids that annotations use but `categories` / `videos` do not list (never scored, as by
    #: the official evaluator) -> the first such annotation's index; they let a check that
    #: meets them in the results blame the ground truth, not the results
    unlisted_categories: dict[int, int] = field(default_factory=dict)
    unlisted_videos: dict[int, int] = field(default_factory=dict)
    #: LV-VIS: category id -> its `partition` (base 0/1, novel 2/3), for those that carry one
    cat_partition: dict[int, Any] = field(default_factory=dict)
    #: LV-VIS: the mean of the int()-truncated truthy areas (NaN where one cannot be truncated);
    #: None when every area is an integer, so it equals `avg_area`
    avg_area_truncated: np.ndarray | None = None

    @property
    def has_occlusion_labels(self) -> bool:
        """True when any evaluated track carries OVIS `occlusion` labels."""
        return self.occ_labelled is not None and bool(self.occ_labelled.any())


@dataclass
class Results:
    """Result tracks in file order; result i has id i + 1 like in the official evaluator."""

    path: str
    video_of: np.ndarray  # int64 [N]
    category_of: np.ndarray  # int64 [N]
    score: np.ndarray  # float64 [N]
    frames: list[list[RLE | None]] = field(repr=False)
    # results carrying an `occlusion` field the OVIS evaluator would crash on: (index, message)
    occ_problems: list[tuple[int, str]] = field(default_factory=list)
    # where the frames are marker dicts, the text their mask strings lie in (result_strings.py)
    strings: ResultStrings | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.frames)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small containers.

    Parsing a GT/results file allocates millions of lists and dicts; every allocation burst
    triggers full GC passes over all live objects (~25% of the load time). Nothing built here
    forms reference cycles, so reference counting still frees everything.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _require(entry: Any, key: str, path: str, where: str) -> Any:
    if not isinstance(entry, dict):
        raise InputError(f"{where} must be a JSON object, got {type(entry).__name__}", path=path)
    if key not in entry:
        raise InputError(f"{where} has no {key!r}", path=path, field=key)
    return entry[key]


def _mean_of_truthy(values: list[Any]) -> float:
    """Mean of the truthy entries (None and 0 skipped), 0 if none: the official avg_area rule."""
    kept = [v for v in values if v]
    if not kept:
        return 0.0
    if all(type(v) is int for v in kept) and abs(total := sum(kept)) < 2**53:
        # Exact integer sum, one correctly rounded division: what numpy's mean gives.
        return total / len(kept)
    # Same numpy mean as the official code, so float areas sum in the same order.
    return float(np.array(kept).mean())


def _truncated_mean(values: list[Any]) -> float | None:
    """LV-VIS's mean area: int() of each truthy area, then the mean (0 if none); None when
    every truthy area is an integer already (then it is `_mean_of_truthy`), NaN when one has
    no integer part (infinite or NaN)."""
    kept = [v for v in values if v]
    if all(type(v) is int for v in kept):
        return None
    try:
        whole = [int(v) for v in kept]
    except (OverflowError, ValueError):
        return float("nan")
    if abs(total := sum(whole)) < 2**53:
        return total / len(whole)
    return float(np.array(whole).mean())


def _gt_frame_rle(seg: Any, height: int, width: int) -> RLE:
    """One truthy GT frame entry -> compressed RLE, as the official `annToRLE` converts it."""
    if isinstance(seg, dict) and isinstance(seg.get("counts"), str) and "size" in seg:
        return seg  # compressed already: the usual entry, no pycocotools import
    from pycocotools import mask as mask_utils  # here: only other entries need it

    if isinstance(seg, list):
        # Polygons, rasterised at the video size and merged (a 4-number polygon is a box: COCO).
        return mask_utils.merge(mask_utils.frPyObjects(seg, height, width))
    if not isinstance(seg, dict) or "counts" not in seg or "size" not in seg:
        raise TypeError("expected polygons or an RLE object with 'counts' and 'size'")
    if isinstance(seg["counts"], list):
        # Uncompressed RLE keeps its own `size` (not the video's).
        return mask_utils.frPyObjects(seg, *seg["size"])
    return seg


def load_ground_truth(path: str | Path, made: CutText | None = None) -> GroundTruth:
    """Read a YouTube-VIS GT file (`videos`, `categories`, `annotations`).

    Uncompressed RLE count lists, most of a released file, are parsed in bulk (count_lists);
    a file that reader is not sure about is parsed the ordinary way, with the same result.
    `made`: the file read and cut before (text_cuts.cut_ground_truth, eval/input_loading.py).
    """
    with paused_gc():
        raw = read_mapped(path, "ground truth") if made is None else made.raw
        fast = loads_with_count_lists(raw, made)
        if fast is not None and _markers_in_place(*fast):
            return _build_ground_truth(fast[0], str(path), fast[1])
        return ground_truth_from_dict(parse_json(raw, path, "ground truth"), str(path))


def _markers_in_place(data: Any, lists: CountLists) -> bool:
    """True when the cut lists are exactly the count lists of GT frames, in document order.

    Walking annotations[*].segmentations[*] must meet marker 0, 1, ... and all of them: a list
    cut anywhere else (or a frame with two "counts" keys) means the fast reading is not sure.
    """
    if type(data) is not dict or type(data.get("annotations")) is not list:
        return False
    expected = 0
    for ann in data["annotations"]:
        segs = ann.get("segmentations") if type(ann) is dict else None
        if type(segs) is not list:
            continue
        for seg in segs:
            if type(seg) is dict and MARKER in seg:
                if seg[MARKER] != expected or "counts" in seg:
                    return False
                expected += 1
    return expected == len(lists)


def ground_truth_from_dict(data: Any, path: str = "<ground truth>") -> GroundTruth:
    """GT from an already parsed JSON object; `path` only names the source in errors."""
    return _build_ground_truth(data, path, None)


def _build_ground_truth(data: Any, path: str, lists: CountLists | None) -> GroundTruth:
    """GT from a parsed document; with `lists`, marker dicts stand for cut count lists."""
    header = parse_header(data, path, strict=False, what="ground truth")
    annotations_null = "annotations" in data and data["annotations"] is None
    if annotations_null:
        data = {**data, "annotations": []}  # the OVIS evaluator reads null as "no annotations"
    if not isinstance(data.get("annotations"), list):
        raise InputError("ground truth needs a list 'annotations'", path=path, field="annotations")
    video_size, video_length = header.video_sizes(), header.video_lengths()
    cat_names = header.category_names()

    ann_ids, videos, cats, crowd, areas, frames = [], [], [], [], [], []
    truncated: dict[int, float] = {}  # track -> LV-VIS mean area, where it differs
    occ = _OcclusionScores()
    pending = _PendingFrames(path, lists)
    first_with_id: dict[int, int] = {}
    unlisted = _Unlisted()
    for i, ann in enumerate(data["annotations"]):
        where = f"annotations[{i}]"
        vid = as_int(_require(ann, "video_id", path, where), path, where, "video_id")
        cid = as_int(_require(ann, "category_id", path, where), path, where, "category_id")
        aid = as_int(_require(ann, "id", path, where), path, where, "id")
        _check_unique_id(first_with_id, aid, i, path)
        if vid not in video_size or cid not in cat_names:
            unlisted.add(vid not in video_size, cid not in cat_names, vid, cid, i)
            continue  # the official evaluator never selects such annotations
        iscrowd, segs, ann_areas = _track_fields(ann, path, where)
        _check_track_length(segs, video_length[vid], path, where, aid, vid)
        frames.append(pending.track(len(frames), segs, video_size[vid], where))
        areas.append(_mean_area(ann_areas, path, where))
        if (whole := _truncated_mean(ann_areas)) is not None:
            truncated[len(areas) - 1] = whole
        occ.add(ann, len(ann_ids), f"{where} (id {aid}, video_id {vid})")
        ann_ids.append(aid)
        videos.append(vid)
        cats.append(cid)
        crowd.append(bool(iscrowd))

    frame_areas = pending.convert(frames)
    return GroundTruth(
        listed=pending.listed_masks(len(frames)),
        path=path,
        video_ids=sorted(video_size),
        video_size=video_size,
        video_length=video_length,
        cat_ids=sorted(cat_names),
        cat_names=cat_names,
        ann_ids=np.array(ann_ids, dtype=np.int64),
        video_of=np.array(videos, dtype=np.int64),
        category_of=np.array(cats, dtype=np.int64),
        crowd=np.array(crowd, dtype=bool),
        avg_area=np.array(areas, dtype=np.float64),
        frames=frames,
        frame_areas=frame_areas,
        occ_score=np.array(occ.scores, dtype=np.float64),
        occ_labelled=np.array(occ.labelled, dtype=bool),
        occ_problems=occ.problems,
        annotations_null=annotations_null,
        **unlisted.fields(),
        cat_partition=header.category_partitions(),
        avg_area_truncated=_with_truncated(areas, truncated),
    )


def _check_unique_id(first_with_id: dict[int, int], aid: int, index: int, path: str) -> None:
    """The official index keeps one annotation per id, so duplicates would silently alias."""
    if aid in first_with_id:
        raise InputError(
            f"annotations[{index}] repeats annotation id {aid} of "
            f"annotations[{first_with_id[aid]}] in the ground truth, and the evaluator would keep "
            "only one of them; annotation ids must be unique: give this track its own id",
            path=path,
            field=f"annotations[{index}].id",
        )
    first_with_id[aid] = index


def _track_fields(ann: Any, path: str, where: str) -> tuple[Any, list, list]:
    """A GT track's `iscrowd`, `segmentations` and `areas`, the two lists checked as lists."""
    iscrowd = _require(ann, "iscrowd", path, where)
    segs = _require(ann, "segmentations", path, where)
    ann_areas = _require(ann, "areas", path, where)
    if not isinstance(segs, list):
        raise InputError(f"{where}: segmentations must be a list", path=path, field="segmentations")
    if not isinstance(ann_areas, list):
        raise InputError(f"{where}: areas must be a list", path=path, field="areas")
    return iscrowd, segs, ann_areas


def _mean_area(ann_areas: list, path: str, where: str) -> float:
    """The track's mean area over its truthy frames, as the official evaluator takes it."""
    try:
        return _mean_of_truthy(ann_areas)
    except (TypeError, ValueError):
        raise InputError(
            f"{where}: areas must hold numbers or null", path=path, field="areas"
        ) from None


class _Unlisted:
    """The ids annotations use that `videos` / `categories` do not list (GroundTruth fields)."""

    def __init__(self) -> None:
        self.videos: dict[int, int] = {}
        self.categories: dict[int, int] = {}

    def add(self, video: bool, category: bool, vid: int, cid: int, index: int) -> None:
        if video:
            self.videos.setdefault(vid, index)
        if category:
            self.categories.setdefault(cid, index)

    def fields(self) -> dict[str, dict[int, int]]:
        return {"unlisted_videos": self.videos, "unlisted_categories": self.categories}


def _check_track_length(
    segs: list, length: int | None, path: str, where: str, aid: int, vid: int
) -> None:
    """A GT track gives one entry per frame of its video: with more or fewer, the metric would
    compare it over other frames than the results', and blame the results for the difference."""
    if length is not None and len(segs) != length:
        raise InputError(
            f"{where} (id {aid}) has {len(segs)} segmentations entries, but its video "
            f"{vid} has {length} frames (`length` / file_names in `videos`); give one entry "
            "per frame of the video, null where the object is absent",
            path=path,
            field=f"{where}.segmentations",
        )


def _with_truncated(areas: list[float], truncated: dict[int, float]) -> np.ndarray | None:
    """The tracks' LV-VIS mean areas, or None when none differs from `areas`."""
    if not truncated:
        return None
    out = np.array(areas, dtype=np.float64)
    out[list(truncated)] = list(truncated.values())
    return out


class _OcclusionScores:
    """Occlusion scores of the GT tracks as they are read (OVIS; formats/occlusion.py).

    Every track is scored whether or not the OVIS metric is asked for, so that a malformed label
    list only matters when it is: the YouTube-VIS evaluator never reads the field.
    """

    def __init__(self) -> None:
        self.scores: list[float] = []
        self.labelled: list[bool] = []
        self.problems: list[tuple[int, str]] = []

    def add(self, ann: dict, track: int, where: str) -> None:
        if "occlusion" not in ann:
            self.scores.append(np.nan)
            self.labelled.append(False)
            return
        self.labelled.append(True)
        try:
            self.scores.append(score_from_counts(*label_counts(ann["occlusion"])))
        except OcclusionLabelError as err:
            self.scores.append(np.nan)
            self.problems.append((track, f"{where}: occlusion {err}"))


# pycocotools keeps a mask's height and width as size_t.
_SIZE_LIMIT = 2**63


def _plain_size(size: Any) -> bool:
    """[h, w] of Python ints pycocotools takes as they are (anything else: ordinary path)."""
    return (
        type(size) is list
        and len(size) == 2
        and type(size[0]) is int
        and type(size[1]) is int
        and 0 <= size[0] < _SIZE_LIMIT
        and 0 <= size[1] < _SIZE_LIMIT
    )


def _listed_track(segs: list) -> bool:
    """Every frame null or a marker dict of a plain size. The kernel's check (markers in turn
    from the first one, sizes up to 2**31) is stricter and far faster; where it says no, the
    plain rule decides."""
    if bulk_rle.available():
        first = next((seg for seg in segs if seg is not None), None)
        if first is None:
            return True
        marker = first.get(MARKER) if type(first) is dict else None
        if type(marker) is int and bulk_rle.plain_marker_frames(segs, marker) >= 0:
            return True
    return all(
        seg is None or (type(seg) is dict and MARKER in seg and _plain_size(seg.get("size")))
        for seg in segs
    )


class _PendingFrames:
    """Frames converted after the walk, in bulk: uncompressed RLE given as Python lists
    (`uncompressed`), and count lists cut out by the fast reader, by whole tracks
    (`listed_tracks`: every frame null or such a list) or one by one (`listed`)."""

    def __init__(self, path: str, lists: CountLists | None) -> None:
        self.path = path
        self.lists = lists
        self.uncompressed: list[tuple[int, int, dict, str]] = []
        self.listed_tracks: list[tuple[int, list]] = []
        self.listed: list[tuple[int, int, dict]] = []
        self._flat_lists: np.ndarray | None = None

    def track(
        self, index: int, segs: list, video_hw: tuple[int, int], where: str
    ) -> list[RLE | None]:
        """Frames of GT track `index`; None where absent or still to be converted."""
        if self.lists is not None and _listed_track(segs):
            self.listed_tracks.append((index, segs))
            return [None] * len(segs)
        track: list[RLE | None] = []
        for t, seg in enumerate(segs):
            track.append(None)
            if not seg:
                continue
            if type(seg) is dict and self.lists is not None and MARKER in seg:
                if _plain_size(seg.get("size")):
                    self.listed.append((index, t, seg))
                    continue
                seg = self.lists.restore(seg)  # odd size: the ordinary path decides
            if type(seg) is dict and type(seg.get("counts")) is list and "size" in seg:
                self.uncompressed.append((index, t, seg, where))
            else:
                track[t] = _converted(seg, *video_hw, self.path, f"{where}.segmentations[{t}]")
        return track

    def convert(self, frames: list[list[RLE | None]]) -> list[np.ndarray]:
        """Fill the pending frames with compressed RLE; returns the per-frame pixel counts."""
        _convert_uncompressed(self.uncompressed, frames, self.path)
        if self.lists is None:
            return track_areas(frames)
        strings = self.lists.compressed
        for track, t, seg in self.listed:
            frames[track][t] = {"size": seg["size"], "counts": strings[seg[MARKER]]}
        areas: list[np.ndarray | None] = [None] * len(frames)
        # Whole tracks of cut lists: pixel counts straight from the parsed counts.
        flat = [seg for _, segs in self.listed_tracks for seg in segs]
        ks = [0 if seg is None else seg[MARKER] + 1 for seg in flat]
        rles = [
            None if k == 0 else {"size": seg["size"], "counts": strings[k - 1]}
            for seg, k in zip(flat, ks, strict=True)
        ]
        flat_areas = np.concatenate([[0.0], self.lists.foreground])[ks]
        start = 0
        for track, segs in self.listed_tracks:
            frames[track] = rles[start : start + len(segs)]
            areas[track] = flat_areas[start : start + len(segs)]
            start += len(segs)
        self._flat_lists = np.array(ks, dtype=np.int64) - 1  # -1: absent
        rest = [i for i, a in enumerate(areas) if a is None]
        for i, a in zip(rest, track_areas([frames[i] for i in rest]), strict=True):
            areas[i] = a
        return areas

    def listed_masks(self, n_tracks: int) -> ListedMasks | None:
        """The runs of the cut lists, and which of them each whole-list track's frames are
        (after `convert`)."""
        if self.lists is None or self.lists.runs is None or self._flat_lists is None:
            return None
        present = self._flat_lists >= 0
        seen = np.concatenate([[0], np.cumsum(present)])
        lengths = [len(segs) for _, segs in self.listed_tracks]
        bounds = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])
        tracks = np.array([track for track, _ in self.listed_tracks], dtype=np.int64)
        track_start = np.zeros(n_tracks, dtype=np.int64)
        track_count = np.full(n_tracks, -1, dtype=np.int64)
        track_start[tracks] = seen[bounds[:-1]]
        track_count[tracks] = seen[bounds[1:]] - seen[bounds[:-1]]
        frame_lists = self._flat_lists[present]
        return ListedMasks(
            self.lists.runs, self.lists.pixels, frame_lists, track_start, track_count
        )


def _converted(seg: Any, height: int, width: int, path: str, where: str) -> RLE:
    try:
        return _gt_frame_rle(seg, height, width)
    except (TypeError, ValueError, KeyError, IndexError, OverflowError) as err:
        # OverflowError: a negative count or size (pycocotools keeps them unsigned).
        raise InputError(
            f"{where} is not a polygon list or RLE ({err})", path=path, field="segmentations"
        ) from None


def _convert_uncompressed(
    pending: list[tuple[int, int, dict, str]], frames: list[list[RLE | None]], path: str
) -> None:
    """Uncompressed RLE -> compressed, in one pycocotools call (each keeps its own size)."""
    if not pending:
        return
    from pycocotools import mask as mask_utils  # here: an eval of compressed RLE never needs it

    try:
        converted = mask_utils.frPyObjects([seg for _, _, seg, _ in pending], 0, 0)
    except (TypeError, ValueError, KeyError, IndexError, OverflowError):
        # Find the culprit for the message.
        for _, t, seg, where in pending:
            _converted(seg, 0, 0, path, f"{where}.segmentations[{t}]")
        raise
    for (track, t, _, _), rle in zip(pending, converted, strict=True):
        frames[track][t] = rle


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_result_frame(seg: Any, path: str, index: int, vid: int, t: int) -> None:
    where = f"result {index} (video_id {vid}) segmentations[{t}]"
    if isinstance(seg, list):
        from vis_bench.formats.rle import describe_list_entry  # here: it imports pycocotools

        raise InputError(
            f"{where} is {describe_list_entry(seg)}; results must be compressed RLE "
            "(counts a string): encode a mask array with vis_bench.formats.rle.encode(mask)",
            path=path,
            field="segmentations",
        )
    if not isinstance(seg, dict) or "size" not in seg or "counts" not in seg:
        raise InputError(
            f"{where} must be null or a compressed RLE object with 'size' and 'counts'",
            path=path,
            field="segmentations",
        )
    if not isinstance(seg["counts"], str):
        raise InputError(
            f"{where} is uncompressed RLE (counts a list); results must be compressed RLE "
            "(counts a string): convert each entry with vis_bench.formats.rle.to_json(rle)",
            path=path,
            field="segmentations",
        )
    size = seg["size"]
    if not (isinstance(size, list) and len(size) == 2 and all(_is_count(v) for v in size)):
        raise InputError(
            f"{where}: 'size' must be [height, width], got {size!r}",
            path=path,
            field="segmentations",
        )


def _result_frames(segs: list, path: str, index: int, vid: int) -> list[RLE | None]:
    """A result's frames, falsy entries as None; raises InputError for a malformed entry.

    The common case (every entry null or a compressed RLE dict) is checked in one pass (in C
    where the RLE kernel is built).
    """
    plain = bulk_rle.plain_result_frames(segs)
    if (
        plain
        or plain is None
        and all(
            seg is None
            or (
                type(seg) is dict
                and type(seg.get("counts")) is str
                and type(seg.get("size")) is list
                and len(seg["size"]) == 2
            )
            for seg in segs
        )
    ):
        return list(segs)
    track: list[RLE | None] = []
    for t, seg in enumerate(segs):
        if not seg:
            track.append(None)
            continue
        if (
            type(seg) is not dict
            or type(seg.get("counts")) is not str
            or type(seg.get("size")) is not list
            or len(seg["size"]) != 2
        ):
            _check_result_frame(seg, path, index, vid, t)
        track.append(seg)
    return track


def load_results(path: str | Path, gt: GroundTruth) -> Results:
    """Read a results list; every video id must be a GT video (the official code aborts too).

    An empty list is accepted and means "no results" (documented deviation: the official code
    crashes with IndexError).
    """
    with paused_gc():
        return results_from_list(read_results(path), gt, str(path))


def results_from_list(
    data: Any, gt: GroundTruth, path: str = "<results>", strings: ResultStrings | None = None
) -> Results:
    """Results from an already parsed list (e.g. predictions still in memory).

    With `strings`, `data` is a results text parsed with its mask strings cut out
    (`result_strings.read_located`); unless every cut is a plain frame, in order, the text is
    parsed again the ordinary way, so the checks and messages are those of an ordinary read.
    """
    if strings is not None:
        try:
            return _results(data, gt, path, strings)
        except _NotLocated:
            return results_from_list(read_ordinary(strings.raw, path), gt, path)
    return _results(data, gt, path, None)


def _unlisted_video(gt: GroundTruth, vid: int, path: str, where: str) -> None:
    """A results video the GT's annotations use but its `videos` does not list: the ground
    truth's mistake, named as such."""
    first = gt.unlisted_videos.get(vid)
    if first is not None:
        raise InputError(
            f"annotations[{first}] has video_id {vid}, which the ground truth's `videos` does "
            f"not list, and the results ({path}, {where}) predict it; add video {vid} to "
            "`videos` (id, height, width, length, file_names) or remove its annotations",
            path=gt.path,
            field=f"annotations[{first}].video_id",
        )


class _NotLocated(Exception):
    """A located results text whose cuts are not exactly its plain frames."""


def _results(data: Any, gt: GroundTruth, path: str, strings: ResultStrings | None) -> Results:
    if not isinstance(data, list):
        raise InputError(
            f"results must be a JSON list of predictions, got {type(data).__name__}", path=path
        )
    n = len(data)
    video_of = np.empty(n, dtype=np.int64)
    category_of = np.empty(n, dtype=np.int64)
    score = np.empty(n, dtype=np.float64)
    frames: list[list[RLE | None]] = []
    occ_problems: list[tuple[int, str]] = []
    known_videos = gt.video_size
    next_marker = 0
    for i, res in enumerate(data):
        where = f"result {i}"
        vid = as_int(_require(res, "video_id", path, where), path, where, "video_id")
        if vid not in known_videos:
            _unlisted_video(gt, vid, path, where)
            raise InputError(
                f"{where} has video_id {vid}, which is not a video of the ground truth "
                f"{gt.path}; use the video ids of the matching split",
                path=path,
                field="video_id",
            )
        video_of[i] = vid
        category_of[i] = as_int(
            _require(res, "category_id", path, where), path, where, "category_id"
        )
        value = _require(res, "score", path, f"{where} (video_id {vid})")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(
                f"{where} (video_id {vid}): score must be a number, got {value!r}",
                path=path,
                field="score",
            )
        score[i] = value
        segs = _require(res, "segmentations", path, f"{where} (video_id {vid})")
        if not isinstance(segs, list):
            raise InputError(
                f"{where} (video_id {vid}): segmentations must be a list (one entry per frame)",
                path=path,
                field="segmentations",
            )
        if strings is None:
            frames.append(_result_frames(segs, path, i, vid))
        else:
            next_marker = bulk_rle.plain_marker_frames(segs, next_marker)
            if next_marker < 0:
                raise _NotLocated
            frames.append(list(segs))
        if "occlusion" in res and category_of[i] in gt.cat_names:
            # Unused by the metric, but the OVIS evaluator parses it (on results of the GT's
            # categories) and aborts if it cannot.
            try:
                label_counts(res["occlusion"])
            except OcclusionLabelError as err:
                occ_problems.append((i, f"{where} (video_id {vid}): occlusion {err}"))
    if strings is not None and next_marker != len(strings):
        raise _NotLocated  # a string was cut somewhere else
    return Results(
        path=path,
        video_of=video_of,
        category_of=category_of,
        score=score,
        frames=frames,
        occ_problems=occ_problems,
        strings=strings,
    )
