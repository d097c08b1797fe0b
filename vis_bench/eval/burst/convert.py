"""YouTube-VIS-format predictions as BURST predictions, by the rule SAM 3's BURST wrapper used.

Per result (`video_id` = the BURST sequence id, one mask per annotated frame): with a score
threshold T, results scoring <= T are dropped; a frame with zero area is no detection; with
overlap removal, each video's masks are painted in ascending score order (on equal scores the
later result in the file wins) and every result keeps only its visible pixels. The track id is
the result's 1-based position among its video's results in file order, each frame carries the
result's video-level score, and empty frames are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from vis_bench.errors import InputError


@dataclass(frozen=True)
class ConversionSettings:
    """The two choices a YouTube-VIS -> BURST conversion makes; recorded with the numbers."""

    score_threshold: float | None = None
    remove_overlap: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"score_threshold": self.score_threshold, "remove_overlap": self.remove_overlap}


def _compressed(rle: Any, height: int, width: int, path: str, where: str) -> dict | None:
    """A compressed RLE of the frame's mask, or None for no mask."""
    if rle is None:
        return None
    if not isinstance(rle, dict) or "counts" not in rle:
        raise InputError(
            f"{where}: a mask must be an RLE dict or null", path=path, field="segmentations"
        )
    size = rle.get("size", [height, width])
    if list(size) != [height, width]:
        raise InputError(
            f"{where}: mask size {size} differs from the sequence's {[height, width]}",
            path=path,
            field="segmentations",
        )
    if isinstance(rle["counts"], list):
        return mask_utils.frPyObjects(rle, height, width)
    counts = rle["counts"]
    return {"counts": counts.encode() if isinstance(counts, str) else counts, "size": size}


def _frame_masks(result: dict, count: int, height: int, width: int, path: str, where: str):
    segmentations = result.get("segmentations")
    if not isinstance(segmentations, list) or len(segmentations) != count:
        got = len(segmentations) if isinstance(segmentations, list) else "no"
        raise InputError(
            f"{where}: {got} masks for {count} annotated frames (one per annotated frame, "
            "null for none)",
            path=path,
            field="segmentations",
        )
    # the results' own `areas` decide, as in SAM 3's wrapper; without them, the masks' areas
    areas = result.get("areas")
    if not isinstance(areas, list) or len(areas) != count:
        areas = None
    masks = []
    for t, rle in enumerate(segmentations):
        mask = _compressed(rle, height, width, path, where)
        if mask is not None:
            area = areas[t] if areas is not None else mask_utils.area(mask)
            if area == 0:
                mask = None
        masks.append(mask)
    return masks


def _remove_overlap(kept: list[tuple[int, float, list, int]], height: int, width: int) -> None:
    """Paint in ascending score order; each result keeps its visible pixels (in place)."""
    order = sorted(range(len(kept)), key=lambda i: kept[i][1])
    frames = len(kept[0][2]) if kept else 0
    for t in range(frames):
        owner = np.full((height, width), -1, dtype=np.int32)
        for i in order:
            mask = kept[i][2][t]
            if mask is not None:
                owner[mask_utils.decode(mask).astype(bool)] = i
        for i in order:
            if kept[i][2][t] is None:
                continue
            visible = np.asfortranarray((owner == i).astype(np.uint8))
            kept[i][2][t] = mask_utils.encode(visible) if visible.any() else None


def ytvis_to_burst(
    results: list, gt_data: dict, settings: ConversionSettings, path: str
) -> dict[str, Any]:
    """The BURST prediction dict for `results`; `gt_data` is the parsed BURST GT file."""
    sequences = {seq.get("id"): seq for seq in gt_data.get("sequences", [])}
    by_video: dict[Any, list[tuple[float, dict, int]]] = {}
    for number, result in enumerate(results):
        where = f"result {number}"
        if not isinstance(result, dict):
            raise InputError(f"{where} must be a JSON object", path=path)
        video = result.get("video_id")
        if video not in sequences:
            raise InputError(
                f"{where}: video_id {video!r} is no sequence id of the ground truth",
                path=path,
                field="video_id",
            )
        try:
            score = float(result["score"])
            category = int(result["category_id"])
        except (KeyError, TypeError, ValueError):
            raise InputError(
                f"{where} needs a numeric 'score' and 'category_id'", path=path, field="score"
            ) from None
        by_video.setdefault(video, []).append((score, result, category))
    out_sequences = []
    for seq in gt_data.get("sequences", []):
        height, width = seq["height"], seq["width"]
        count = len(seq["annotated_image_paths"])
        kept = []
        for score, result, category in by_video.get(seq.get("id"), []):
            if settings.score_threshold is not None and score <= settings.score_threshold:
                continue
            # the track id: the position among the video's results that pass the threshold
            position = len(kept) + 1
            where = f"result for video {seq.get('id')} (track {position})"
            masks = _frame_masks(result, count, height, width, path, where)
            kept.append((position, score, masks, category))
        if settings.remove_overlap:
            _remove_overlap(kept, height, width)
        frames: list[dict[str, Any]] = [{} for _ in range(count)]
        track_categories = {}
        for position, score, masks, category in kept:
            for t, mask in enumerate(masks):
                if mask is not None:
                    counts = mask["counts"]
                    frames[t][str(position)] = {
                        "rle": counts.decode() if isinstance(counts, bytes) else counts,
                        "score": score,
                        "is_gt": False,
                    }
            track_categories[str(position)] = category
        out_sequences.append(
            {
                **{
                    k: v for k, v in seq.items() if k not in ("segmentations", "track_category_ids")
                },
                "track_category_ids": track_categories,
                "segmentations": frames,
            }
        )
    return {"split": gt_data.get("split"), "sequences": out_sequences}
