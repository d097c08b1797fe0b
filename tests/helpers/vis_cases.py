"""Small seeded YouTube-VIS cases built in memory: moving boxes, and predictions of them.

GT is written like the released files (uncompressed RLE, `areas`, `file_names`); predictions are
compressed RLE. `jitter` moves each predicted box by up to that many pixels per frame, so a
method with a larger jitter overlaps less and scores lower on the same videos.
"""

from __future__ import annotations

import numpy as np

from vis_bench.formats import rle

H, W = 24, 32


def box(y: int, x: int, h: int, w: int) -> np.ndarray:
    mask = np.zeros((H, W), dtype=np.uint8)
    mask[max(y, 0) : max(y + h, 0), max(x, 0) : max(x + w, 0)] = 1
    return mask


def _track_boxes(rng: np.random.Generator, length: int) -> list[tuple[int, int, int, int] | None]:
    h, w = int(rng.integers(5, 10)), int(rng.integers(5, 12))
    y, x = int(rng.integers(0, H - h)), int(rng.integers(0, W - w))
    dy, dx = int(rng.integers(-1, 2)), int(rng.integers(-1, 2))
    first = int(rng.integers(0, 2)) if length > 3 else 0
    boxes: list[tuple[int, int, int, int] | None] = []
    for t in range(length):
        if t < first:
            boxes.append(None)
            continue
        yy = int(np.clip(y + dy * t, 0, H - h))
        xx = int(np.clip(x + dx * t, 0, W - w))
        boxes.append((yy, xx, h, w))
    return boxes


def make_gt(
    n_videos: int = 12,
    seed: int = 0,
    lengths: tuple[int, int] = (3, 7),
    n_categories: int = 3,
    max_tracks: int = 3,
    first_video_id: int = 1,
) -> dict:
    """A GT dict; `gt["_boxes"][ann_id]` keeps each track's boxes for `predict`."""
    rng = np.random.default_rng(seed)
    videos, annotations, boxes = [], [], {}
    ann_id = 1
    for vid in range(first_video_id, first_video_id + n_videos):
        length = int(rng.integers(lengths[0], lengths[1] + 1))
        videos.append(
            {
                "id": vid,
                "height": H,
                "width": W,
                "length": length,
                "file_names": [f"vid{vid:04d}/{5 * t:05d}.jpg" for t in range(length)],
            }
        )
        for _ in range(int(rng.integers(1, max_tracks + 1))):
            track = _track_boxes(rng, length)
            masks = [None if b is None else box(*b) for b in track]
            annotations.append(
                {
                    "id": ann_id,
                    "video_id": vid,
                    "category_id": int(rng.integers(1, n_categories + 1)),
                    "iscrowd": 0,
                    "height": H,
                    "width": W,
                    "length": 1,
                    "segmentations": [
                        None if m is None else rle.encode_uncompressed(m) for m in masks
                    ],
                    "areas": [None if m is None else int(m.sum()) for m in masks],
                    "bboxes": [None if b is None else [b[1], b[0], b[3], b[2]] for b in track],
                }
            )
            boxes[ann_id] = track
            ann_id += 1
    categories = [{"id": c, "name": f"class{c}"} for c in range(1, n_categories + 1)]
    return {
        "videos": videos,
        "categories": categories,
        "annotations": annotations,
        "_boxes": boxes,
    }


def public(gt: dict) -> dict:
    """The GT without the helper's private key (what gets written to disk)."""
    return {k: v for k, v in gt.items() if not k.startswith("_")}


def predict(
    gt: dict,
    seed: int = 1,
    jitter: int = 0,
    miss: float = 0.0,
    false_positives: float = 0.0,
    skip_videos: frozenset[int] = frozenset(),
) -> list[dict]:
    """One prediction per GT track (boxes moved by up to `jitter` px), some missed, some FPs."""
    rng = np.random.default_rng(seed)
    lengths = {v["id"]: v["length"] for v in gt["videos"]}
    results = []
    for ann in gt["annotations"]:
        vid = ann["video_id"]
        if vid in skip_videos or rng.random() < miss:
            continue
        masks = []
        for b in gt["_boxes"][ann["id"]]:
            if b is None:
                masks.append(None)
                continue
            dy, dx = rng.integers(-jitter, jitter + 1, size=2) if jitter else (0, 0)
            masks.append(box(b[0] + int(dy), b[1] + int(dx), b[2], b[3]))
        score = float(np.round(rng.uniform(0.5, 1.0), 4))
        results.append(_result(vid, ann["category_id"], score, masks))
    for vid, length in lengths.items():
        if vid in skip_videos or rng.random() >= false_positives:
            continue
        track = _track_boxes(rng, length)
        masks = [None if b is None else box(*b) for b in track]
        score = float(np.round(rng.uniform(0.0, 0.6), 4))
        category = int(rng.integers(1, len(gt["categories"]) + 1))
        results.append(_result(vid, category, score, masks))
    return results


def _result(vid: int, category: int, score: float, masks: list) -> dict:
    return {
        "video_id": vid,
        "category_id": category,
        "score": score,
        "segmentations": [None if m is None or not m.any() else rle.encode(m) for m in masks],
    }


def resampled(gt: dict, results: list[dict], weights: dict[int, int]) -> tuple[dict, list[dict]]:
    """GT/results where video v appears weights[v] times, copies numbered in (v, copy) order.

    File order inside each copy is kept, so score and IoU ties resolve as for the original.
    """
    videos = {v["id"]: v for v in gt["videos"]}
    new_videos, new_anns, new_results = [], [], []
    next_vid, next_ann = 1, 1
    for vid in sorted(videos):
        for _ in range(weights.get(vid, 0)):
            new_videos.append({**videos[vid], "id": next_vid})
            for ann in gt["annotations"]:
                if ann["video_id"] == vid:
                    new_anns.append({**ann, "id": next_ann, "video_id": next_vid})
                    next_ann += 1
            new_results += [{**r, "video_id": next_vid} for r in results if r["video_id"] == vid]
            next_vid += 1
    out = {k: v for k, v in gt.items() if k not in ("videos", "annotations", "_boxes")}
    return {**out, "videos": new_videos, "annotations": new_anns}, new_results
