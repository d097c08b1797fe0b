"""A seeded evaluation case of LV-VIS's size, for timing the LV-VIS metric.

1,000 videos of 8-24 frames at 360x640 and LV-VIS's 1,196 categories (ids 1..1196: 722 base with
`partition` 0 or 1, 474 novel with 2 or 3, the counts of LV-VIS's vocabulary), about 3 GT tracks
per video, each of a category drawn from all 1,196, so most categories have some GT and the
(video, category) grid the official evaluator walks is 1,000 x 1,196. Results are made as in
ytvis_scale_case.py: perturbed detections of the GT tracks, wrong-class duplicates (of any of
the 1,196 categories), worse second copies and false positives, about 9 per video. Masks are
compressed RLE in both files. Written into a temporary folder (`$VIS_BENCH_CACHE` or the system's
temp folder, keyed by the parameters) and reused.

Run `python benchmarks/lvvis_scale_case.py [--cache DIR]` to build it and print the paths.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from ytvis_scale_case import (
    _compress,
    _perturbed,
    _random_track,
    _result,
    _track_masks,
    cached_case,
)

CASE_VERSION = 1


@dataclass(frozen=True)
class LvvisCaseSpec:
    seed: int = 0
    n_videos: int = 1000
    min_frames: int = 8
    max_frames: int = 24
    height: int = 360
    width: int = 640
    n_base: int = 722
    n_novel: int = 474
    gt_per_video: float = 3.0  # mean GT tracks per video (Poisson + 1)
    fp_per_video: float = 4.0  # mean false-positive tracks per video

    def key(self) -> str:
        return f"lvvis_scale_v{CASE_VERSION}_" + "_".join(str(v) for v in asdict(self).values())


def categories(spec: LvvisCaseSpec, rng: np.random.Generator) -> list[dict]:
    """Ids 1..K in shuffled roles: n_base base (partition 0 or 1), the rest novel (2 or 3)."""
    k = spec.n_base + spec.n_novel
    novel = set(rng.choice(np.arange(1, k + 1), size=spec.n_novel, replace=False).tolist())
    return [
        {
            "id": c,
            "name": f"lvcat_{c:04d}",
            "partition": int(rng.integers(2, 4) if c in novel else rng.integers(0, 2)),
        }
        for c in range(1, k + 1)
    ]


def generate(spec: LvvisCaseSpec) -> tuple[dict, list[dict]]:
    """Build the GT dict and the results list in memory."""
    rng = np.random.default_rng(spec.seed)
    h, w = spec.height, spec.width
    cats = categories(spec, rng)
    cat_ids = [c["id"] for c in cats]
    videos, annotations, results = [], [], []
    for vid in rng.permutation(np.arange(1, spec.n_videos + 1)).tolist():
        n_frames = int(rng.integers(spec.min_frames, spec.max_frames + 1))
        names = [f"{vid:05d}/{5 * t:05d}.jpg" for t in range(n_frames)]
        videos.append({"id": vid, "width": w, "height": h, "length": n_frames, "file_names": names})
        for _ in range(1 + int(rng.poisson(spec.gt_per_video - 1))):
            cat = int(rng.choice(cat_ids))
            tr = _random_track(rng, n_frames, h, w)
            runs = _track_masks(tr, n_frames, h, w)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "video_id": vid,
                    "category_id": cat,
                    "iscrowd": 0,
                    "segmentations": [_compress(c, h, w) for c in runs],
                    "areas": [None if c is None else int(sum(c[1::2])) for c in runs],
                    "bboxes": [None] * n_frames,
                    "height": h,
                    "width": w,
                    "length": 1,
                }
            )
            quality = rng.uniform(0.2, 1.0)
            if rng.random() < 0.9:  # detected, with a score that tracks quality
                score = float(np.clip(quality + rng.normal(0, 0.15), 0.01, 0.99))
                pred = _perturbed(rng, tr, quality)
                results.append(_result(vid, cat, score, pred, n_frames, h, w))
            if rng.random() < 0.5:  # wrong-class duplicate, any of the vocabulary
                pred = _perturbed(rng, tr, quality)
                other = int(rng.choice(cat_ids))
                results.append(_result(vid, other, rng.uniform(0.02, 0.5), pred, n_frames, h, w))
            if rng.random() < 0.25:  # second, worse copy of the right class
                pred = _perturbed(rng, tr, quality * 0.6)
                results.append(_result(vid, cat, rng.uniform(0.02, 0.4), pred, n_frames, h, w))
        for _ in range(int(rng.poisson(spec.fp_per_video))):
            tr = _random_track(rng, n_frames, h, w)
            cat = int(rng.choice(cat_ids))
            results.append(_result(vid, cat, rng.uniform(0.01, 0.6), tr, n_frames, h, w))
    results = [results[i] for i in rng.permutation(len(results))]
    gt = {
        "info": {"description": f"vis-bench synthetic LV-VIS-sized case {spec.key()}"},
        "licenses": [],
        "videos": videos,
        "categories": cats,
        "annotations": annotations,
    }
    return gt, results


def build_case(
    cache_dir: str | Path | None = None, spec: LvvisCaseSpec | None = None
) -> tuple[Path, Path]:
    """Paths of (gt.json, results.json), generating them once per spec into the cache."""
    return cached_case(cache_dir, spec or LvvisCaseSpec(), generate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None, help="folder for the generated case")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    gt_path, res_path = build_case(args.cache, LvvisCaseSpec(seed=args.seed))
    gt = json.loads(gt_path.read_text())
    n_res = len(json.loads(res_path.read_text()))
    with_gt = len({a["category_id"] for a in gt["annotations"]})
    print(
        f"gt:      {gt_path} ({len(gt['videos'])} videos, {len(gt['categories'])} categories, "
        f"{with_gt} with GT, {len(gt['annotations'])} tracks)"
    )
    print(f"results: {res_path} ({n_res} results)")


if __name__ == "__main__":
    main()
