"""Opt-in disk cache of a loaded ground truth, for scoring many results files against one split.

Parsing a released-format GT (uncompressed RLE as JSON integer lists) and compressing its masks
is the most expensive part of an end-to-end run. The cache stores the loaded GroundTruth as plain
numpy arrays (no pickle) in `cache_dir`, keyed by the GT file's absolute path, size and mtime, so
an edited or replaced file is parsed again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from vis_bench.atomic import atomic_file
from vis_bench.eval.metric.loading import GroundTruth, load_ground_truth

CACHE_VERSION = 4  # 2: OVIS occlusion scores; 3: unlisted ids, a self-contradicting GT
# refused; 4: LV-VIS partitions and truncated areas


def cache_file(gt_path: str | Path, cache_dir: str | Path) -> Path:
    """Where the cache of this GT file (in its current state) lives."""
    path = Path(gt_path).resolve()
    st = path.stat()
    key = f"{path}|{st.st_size}|{st.st_mtime_ns}|v{CACHE_VERSION}"
    return Path(cache_dir) / f"gt-{hashlib.sha256(key.encode()).hexdigest()[:20]}.npz"


def _to_arrays(gt: GroundTruth) -> dict[str, np.ndarray]:
    lengths = [len(frames) for frames in gt.frames]
    flat = [seg for frames in gt.frames for seg in frames]
    blobs = [b"" if seg is None else _counts_bytes(seg["counts"]) for seg in flat]
    sizes = np.array([(0, 0) if seg is None else seg["size"] for seg in flat], dtype=np.int64)
    meta = {
        "path": gt.path,
        "video_ids": gt.video_ids,
        "video_size": [[v, *gt.video_size[v]] for v in gt.video_ids],
        "video_length": [[v, gt.video_length[v]] for v in gt.video_ids],
        "cat_ids": gt.cat_ids,
        "cat_names": [[c, gt.cat_names[c]] for c in gt.cat_ids],
        "occ_problems": [[track, message] for track, message in gt.occ_problems],
        "annotations_null": gt.annotations_null,
        "unlisted_categories": sorted(gt.unlisted_categories.items()),
        "unlisted_videos": sorted(gt.unlisted_videos.items()),
        "cat_partition": [[c, p] for c, p in gt.cat_partition.items()],
    }
    return {
        "meta": np.array(json.dumps(meta)),
        "ann_ids": gt.ann_ids,
        "video_of": gt.video_of,
        "category_of": gt.category_of,
        "crowd": gt.crowd,
        "avg_area": gt.avg_area,
        "track_len": np.array(lengths, dtype=np.int64),
        "present": np.array([seg is not None for seg in flat], dtype=bool),
        "sizes": sizes.reshape(-1, 2),
        "offsets": np.cumsum([0, *map(len, blobs)]).astype(np.int64),
        "blob": np.frombuffer(b"".join(blobs), dtype=np.uint8),
        "areas": np.concatenate(gt.frame_areas) if gt.frame_areas else np.zeros(0),
        "occ_score": gt.occ_score,
        "occ_labelled": gt.occ_labelled,
        "avg_area_truncated": (
            np.zeros(0) if gt.avg_area_truncated is None else gt.avg_area_truncated
        ),
    }


def _counts_bytes(counts) -> bytes:
    return counts.encode("ascii") if isinstance(counts, str) else bytes(counts)


def _from_arrays(z) -> GroundTruth:
    meta = json.loads(str(z["meta"]))
    blob = z["blob"].tobytes()
    offsets = z["offsets"].tolist()
    sizes = z["sizes"].tolist()
    present = z["present"].tolist()
    flat = [
        {"size": sizes[k], "counts": blob[offsets[k] : offsets[k + 1]]} if present[k] else None
        for k in range(len(present))
    ]
    bounds = np.cumsum(z["track_len"])[:-1].tolist() if len(z["track_len"]) else []
    starts, ends = [0, *bounds], [*bounds, len(flat)]
    frames = [flat[a:b] for a, b in zip(starts, ends, strict=True)] if len(z["track_len"]) else []
    areas = np.split(z["areas"], bounds) if frames else []
    return GroundTruth(
        path=meta["path"],
        video_ids=meta["video_ids"],
        video_size={v: (h, w) for v, h, w in meta["video_size"]},
        video_length={v: n for v, n in meta["video_length"]},
        cat_ids=meta["cat_ids"],
        cat_names={c: n for c, n in meta["cat_names"]},
        ann_ids=z["ann_ids"],
        video_of=z["video_of"],
        category_of=z["category_of"],
        crowd=z["crowd"],
        avg_area=z["avg_area"],
        frames=frames,
        frame_areas=areas,
        occ_score=z["occ_score"],
        occ_labelled=z["occ_labelled"],
        occ_problems=[(int(track), str(message)) for track, message in meta["occ_problems"]],
        annotations_null=bool(meta["annotations_null"]),
        unlisted_categories={int(c): int(i) for c, i in meta["unlisted_categories"]},
        unlisted_videos={int(v): int(i) for v, i in meta["unlisted_videos"]},
        cat_partition={c: p for c, p in meta["cat_partition"]},
        avg_area_truncated=(
            z["avg_area_truncated"] if len(z["avg_area_truncated"]) == len(z["ann_ids"]) else None
        ),
    )


def load_ground_truth_cached(gt_path: str | Path, cache_dir: str | Path) -> GroundTruth:
    """Load from the cache when it matches the file, else parse and (re)write the cache."""
    target = cache_file(gt_path, cache_dir)
    if target.is_file():
        try:
            with np.load(target, allow_pickle=False) as z:
                return _from_arrays(z)
        except (OSError, ValueError, KeyError):
            pass  # unreadable cache: rebuild it below
    gt = load_ground_truth(gt_path)
    with atomic_file(target) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **_to_arrays(gt))  # a handle: np.savez would append ".npz" to a path
    return gt
