"""A seeded evaluation case the size of YouTube-VIS 2021 valid, for timing the metric.

421 videos of 20-36 frames at 720x1280, about 1,300 GT tracks over 40 categories and about
4,200 results. Objects are wobbly ellipses that move and grow along smooth paths, some appear
late or leave early; results are perturbed copies of GT tracks (shifted, rescaled, with their own
boundary noise, some frames missed), wrong-class duplicates and false positives. GT is stored as
uncompressed RLE like the released files, results as compressed RLE like a submission.

Masks are built directly as run lengths from per-column spans (every column of a wobbly ellipse
is one run), so making the case takes seconds, not a rasterisation of 10^10 pixels. The files are
cached under a folder keyed by the parameters, so repeated benchmark runs reuse them.

Run `python benchmarks/ytvis_scale_case.py [--cache DIR]` to build it and print the paths.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

CASE_VERSION = 1


@dataclass(frozen=True)
class CaseSpec:
    seed: int = 0
    n_videos: int = 421
    min_frames: int = 20
    max_frames: int = 36
    height: int = 720
    width: int = 1280
    n_categories: int = 40
    gt_per_video: float = 3.2  # mean GT tracks per video (Poisson + 1)
    fp_per_video: float = 5.3  # mean false-positive tracks per video

    def key(self) -> str:
        return f"ytvis_scale_v{CASE_VERSION}_" + "_".join(str(v) for v in asdict(self).values())


def default_cache_dir() -> Path:
    base = os.environ.get("VIS_BENCH_CACHE") or os.path.join(
        tempfile.gettempdir(), "vis_bench_cache"
    )
    return Path(base)


@dataclass
class Track:
    """Smooth ellipse path: centre, radii and wobble per frame, presence interval."""

    cy: np.ndarray
    cx: np.ndarray
    ry: np.ndarray
    rx: np.ndarray
    wobble: np.ndarray  # [3] amplitude (fraction of ry), frequency, phase
    first: int
    last: int  # inclusive


def _random_track(rng: np.random.Generator, n_frames: int, h: int, w: int) -> Track:
    # Mean radius log-uniform: areas from ~30x30 px to ~450x450 px (small, medium and large).
    r = float(np.exp(rng.uniform(np.log(18), np.log(260))))
    aspect = rng.uniform(0.5, 1.6)
    ry0, rx0 = r * np.sqrt(aspect), r / np.sqrt(aspect)
    t = np.arange(n_frames)
    cy0, cx0 = rng.uniform(0.15 * h, 0.85 * h), rng.uniform(0.15 * w, 0.85 * w)
    vy, vx = rng.normal(0, 4.0), rng.normal(0, 7.0)
    amp, freq, phase = rng.uniform(0, 20), rng.uniform(0.1, 0.4), rng.uniform(0, 6.3)
    grow = rng.uniform(-0.012, 0.012)
    scale = np.clip(1 + grow * t, 0.5, 1.6)
    cy = cy0 + vy * t + amp * np.sin(freq * t + phase)
    cx = cx0 + vx * t + amp * np.cos(freq * t + phase)
    first, last = 0, n_frames - 1
    if rng.random() < 0.2:
        first = int(rng.integers(0, n_frames // 2))
    if rng.random() < 0.2:
        last = int(rng.integers(n_frames // 2, n_frames))
    wob = np.array([rng.uniform(0.02, 0.12), rng.uniform(2, 6), rng.uniform(0, 6.3)])
    return Track(cy, cx, ry0 * scale, rx0 * scale, wob, first, last)


def _perturbed(rng: np.random.Generator, track: Track, quality: float) -> Track:
    """A prediction of `track`: offset and rescaled by an amount that shrinks with quality."""
    n = len(track.cy)
    err = (1 - quality) * 0.35
    dy = rng.normal(0, err, n).cumsum() * 0.3 + rng.normal(0, err)
    dx = rng.normal(0, err, n).cumsum() * 0.3 + rng.normal(0, err)
    s = 1 + rng.normal(0, err * 0.6)
    wob = track.wobble.copy()
    wob[2] += rng.normal(0, 1.0)
    first = min(track.last, track.first + int(rng.integers(0, 3)))
    return Track(
        track.cy + dy * track.ry,
        track.cx + dx * track.rx,
        track.ry * s,
        track.rx * s,
        wob,
        first,
        track.last,
    )


def _frame_runs(tr: Track, t: int, h: int, w: int) -> list[int] | None:
    """Uncompressed RLE counts of frame t (column-major, starting with a zero run)."""
    cy, cx, ry, rx = tr.cy[t], tr.cx[t], tr.ry[t], tr.rx[t]
    x0, x1 = max(0, int(np.ceil(cx - rx))), min(w, int(np.floor(cx + rx)) + 1)
    if x1 <= x0:
        return None
    xs = np.arange(x0, x1)
    half = ry * np.sqrt(np.clip(1 - ((xs - cx) / rx) ** 2, 0, 1))
    amp, freq, phase = tr.wobble
    half = half * (1 + amp * np.sin(freq * np.pi * (xs - cx) / rx + phase + 0.3 * t))
    top = np.clip(np.round(cy - half), 0, h).astype(np.int64)
    bot = np.clip(np.round(cy + half), 0, h).astype(np.int64)
    keep = bot > top
    if not keep.any():
        return None
    starts = xs[keep] * h + top[keep]
    ends = xs[keep] * h + bot[keep]
    # Drop the empty zero runs between a column ending at the bottom and the next starting at 0.
    touch = np.flatnonzero(ends[:-1] == starts[1:])
    if len(touch):
        ends = np.delete(ends, touch)
        starts = np.delete(starts, touch + 1)
    bounds = np.empty(2 * len(starts) + 2, dtype=np.int64)
    bounds[0], bounds[-1] = 0, h * w
    bounds[1:-1:2], bounds[2:-1:2] = starts, ends
    counts = np.diff(bounds)
    if counts[-1] == 0:
        counts = counts[:-1]
    return counts.tolist()


def _track_masks(tr: Track, n_frames: int, h: int, w: int) -> list[list[int] | None]:
    return [_frame_runs(tr, t, h, w) if tr.first <= t <= tr.last else None for t in range(n_frames)]


def _compress(counts: list[int] | None, h: int, w: int) -> dict | None:
    if counts is None:
        return None
    rle = mask_utils.frPyObjects({"counts": counts, "size": [h, w]}, h, w)
    return {"size": [h, w], "counts": rle["counts"].decode("ascii")}


def generate(spec: CaseSpec) -> tuple[dict, list[dict]]:
    """Build the GT dict and the results list in memory."""
    rng = np.random.default_rng(spec.seed)
    h, w = spec.height, spec.width
    cat_ids = list(range(1, spec.n_categories + 1))
    videos, annotations, results = [], [], []
    video_ids = rng.permutation(np.arange(1, spec.n_videos + 1)).tolist()
    ann_id = 1
    for vid in video_ids:
        n_frames = int(rng.integers(spec.min_frames, spec.max_frames + 1))
        videos.append(
            {
                "id": vid,
                "width": w,
                "height": h,
                "length": n_frames,
                "file_names": [f"{vid:05d}/{5 * t:05d}.jpg" for t in range(n_frames)],
            }
        )
        for _ in range(1 + int(rng.poisson(spec.gt_per_video - 1))):
            cat = int(rng.choice(cat_ids))
            tr = _random_track(rng, n_frames, h, w)
            runs = _track_masks(tr, n_frames, h, w)
            segs = [None if c is None else {"counts": c, "size": [h, w]} for c in runs]
            areas = [None if c is None else int(sum(c[1::2])) for c in runs]
            annotations.append(
                {
                    "id": ann_id,
                    "video_id": vid,
                    "category_id": cat,
                    "iscrowd": 0,
                    "segmentations": segs,
                    "areas": areas,
                    "bboxes": [None] * n_frames,
                    "height": h,
                    "width": w,
                    "length": 1,
                }
            )
            ann_id += 1
            quality = rng.uniform(0.2, 1.0)
            if rng.random() < 0.9:  # detected, with a score that tracks quality
                pred = _perturbed(rng, tr, quality)
                score = float(np.clip(quality + rng.normal(0, 0.15), 0.01, 0.99))
                results.append(_result(vid, cat, score, pred, n_frames, h, w))
            if rng.random() < 0.5:  # wrong-class duplicate
                pred = _perturbed(rng, tr, quality)
                other = int(rng.choice(cat_ids))
                score = float(rng.uniform(0.02, 0.5))
                results.append(_result(vid, other, score, pred, n_frames, h, w))
            if rng.random() < 0.25:  # second, worse copy of the right class
                pred = _perturbed(rng, tr, quality * 0.6)
                score = float(rng.uniform(0.02, 0.4))
                results.append(_result(vid, cat, score, pred, n_frames, h, w))
        for _ in range(int(rng.poisson(spec.fp_per_video))):
            tr = _random_track(rng, n_frames, h, w)
            score = float(rng.uniform(0.01, 0.6))
            results.append(_result(vid, int(rng.choice(cat_ids)), score, tr, n_frames, h, w))
    order = rng.permutation(len(results))
    results = [results[i] for i in order]
    gt = {
        "info": {"description": f"vis-bench synthetic scale case {spec.key()}"},
        "licenses": [],
        "videos": videos,
        "categories": [
            {"id": c, "name": f"cat{c:02d}", "supercategory": "object"} for c in cat_ids
        ],
        "annotations": annotations,
    }
    return gt, results


def _result(vid: int, cat: int, score: float, tr: Track, n_frames: int, h: int, w: int) -> dict:
    runs = _track_masks(tr, n_frames, h, w)
    return {
        "video_id": vid,
        "category_id": cat,
        "score": round(score, 6),
        "segmentations": [_compress(c, h, w) for c in runs],
    }


def _write_json(path: Path, data) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, separators=(",", ":"))
    os.replace(tmp, path)


def build_case(
    cache_dir: str | Path | None = None, spec: CaseSpec | None = None
) -> tuple[Path, Path]:
    """Paths of (gt.json, results.json), generating them once per spec into the cache."""
    return cached_case(cache_dir, spec or CaseSpec(), generate)


def cached_case(cache_dir: str | Path | None, spec, generate) -> tuple[Path, Path]:
    """(gt.json, results.json) of `generate(spec)`, written once into the cache folder named by
    `spec.key()` (the scale cases of the other benchmarks share it)."""
    folder = Path(cache_dir or default_cache_dir()) / spec.key()
    gt_path, res_path = folder / "gt.json", folder / "results.json"
    if gt_path.is_file() and res_path.is_file():
        return gt_path, res_path
    folder.mkdir(parents=True, exist_ok=True)
    gt, results = generate(spec)
    _write_json(res_path, results)
    _write_json(gt_path, gt)
    return gt_path, res_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None, help="cache folder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    gt_path, res_path = build_case(args.cache, CaseSpec(seed=args.seed))
    gt = json.loads(gt_path.read_text())
    n_res = len(json.loads(res_path.read_text()))
    print(f"gt:      {gt_path} ({len(gt['videos'])} videos, {len(gt['annotations'])} tracks)")
    print(f"results: {res_path} ({n_res} results)")


if __name__ == "__main__":
    main()
