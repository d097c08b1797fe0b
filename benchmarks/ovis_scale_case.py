"""A seeded evaluation case shaped like OVIS valid, for timing the OVIS metric.

140 videos of 40-100 frames at 720x1280, 25 categories, about 6 tracks per video drawn from 1-3
categories per video (OVIS is crowded: many instances of one category share a video, which is
what makes the occlusion ranges re-match), every GT frame labelled no / slight / severe
occlusion (null where the track is absent) from a per-track occlusion tendency. Results are made
as in ytvis_scale_case.py: perturbed detections of the GT tracks, wrong-class duplicates, worse
second copies and false positives. Cached like that case.

Run `python benchmarks/ovis_scale_case.py [--cache DIR]` to build it and print the paths.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from ytvis_scale_case import (
    _perturbed,
    _random_track,
    _result,
    _track_masks,
    cached_case,
)

from vis_bench.formats.categories import OVIS
from vis_bench.formats.occlusion import OCCLUSION_LABELS

CASE_VERSION = 1


@dataclass(frozen=True)
class OvisCaseSpec:
    seed: int = 0
    n_videos: int = 140
    min_frames: int = 40
    max_frames: int = 100
    height: int = 720
    width: int = 1280
    gt_per_video: float = 6.0  # mean GT tracks per video (Poisson + 1)
    max_categories_per_video: int = 3
    fp_per_video: float = 6.0

    def key(self) -> str:
        return f"ovis_scale_v{CASE_VERSION}_" + "_".join(str(v) for v in asdict(self).values())


def _labels(rng: np.random.Generator, present: list[bool]) -> list[str | None]:
    """Per-frame occlusion labels: a track-level tendency p, each frame no / slight / severe
    with probabilities (1 - p)^2, 2p(1 - p), p^2; null where the track is absent."""
    p = rng.uniform(0, 0.8)
    probs = [(1 - p) ** 2, 2 * p * (1 - p), p * p]
    draws = rng.choice(3, size=len(present), p=probs)
    labels = [OCCLUSION_LABELS[d] if on else None for d, on in zip(draws, present, strict=True)]
    if not any(present):
        labels[0] = "severe_occlusion"  # fully hidden throughout: still labelled
    return labels


def generate(spec: OvisCaseSpec) -> tuple[dict, list[dict]]:
    """Build the GT dict and the results list in memory."""
    rng = np.random.default_rng(spec.seed)
    h, w = spec.height, spec.width
    cat_ids = list(OVIS.ids)
    videos, annotations, results = [], [], []
    for vid in rng.permutation(np.arange(1, spec.n_videos + 1)).tolist():
        n_frames = int(rng.integers(spec.min_frames, spec.max_frames + 1))
        names = [f"{vid:05d}/img_{5 * t + 1:07d}.jpg" for t in range(n_frames)]
        videos.append({"id": vid, "width": w, "height": h, "length": n_frames, "file_names": names})
        n_cats = int(rng.integers(1, spec.max_categories_per_video + 1))
        video_cats = rng.choice(cat_ids, size=n_cats, replace=False).tolist()
        for _ in range(1 + int(rng.poisson(spec.gt_per_video - 1))):
            cat = int(rng.choice(video_cats))
            tr = _random_track(rng, n_frames, h, w)
            runs = _track_masks(tr, n_frames, h, w)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "video_id": vid,
                    "category_id": cat,
                    "iscrowd": 0,
                    "segmentations": [
                        None if c is None else {"counts": c, "size": [h, w]} for c in runs
                    ],
                    "areas": [None if c is None else int(sum(c[1::2])) for c in runs],
                    "bboxes": [None] * n_frames,
                    "occlusion": _labels(rng, [c is not None for c in runs]),
                    "height": h,
                    "width": w,
                    "length": 1,
                }
            )
            quality = rng.uniform(0.2, 1.0)
            if rng.random() < 0.9:
                score = float(np.clip(quality + rng.normal(0, 0.15), 0.01, 0.99))
                pred = _perturbed(rng, tr, quality)
                results.append(_result(vid, cat, score, pred, n_frames, h, w))
            if rng.random() < 0.5:
                pred = _perturbed(rng, tr, quality)
                other = int(rng.choice(cat_ids))
                results.append(_result(vid, other, rng.uniform(0.02, 0.5), pred, n_frames, h, w))
            if rng.random() < 0.25:
                pred = _perturbed(rng, tr, quality * 0.6)
                results.append(_result(vid, cat, rng.uniform(0.02, 0.4), pred, n_frames, h, w))
        for _ in range(int(rng.poisson(spec.fp_per_video))):
            tr = _random_track(rng, n_frames, h, w)
            cat = int(rng.choice(video_cats if rng.random() < 0.7 else cat_ids))
            results.append(_result(vid, cat, rng.uniform(0.01, 0.6), tr, n_frames, h, w))
    results = [results[i] for i in rng.permutation(len(results))]
    gt = {
        "info": {"description": f"vis-bench synthetic OVIS-shaped case {spec.key()}"},
        "licenses": [],
        "videos": videos,
        "categories": OVIS.as_json(),
        "annotations": annotations,
    }
    return gt, results


def build_case(
    cache_dir: str | Path | None = None, spec: OvisCaseSpec | None = None
) -> tuple[Path, Path]:
    """Paths of (gt.json, results.json), generating them once per spec into the cache."""
    return cached_case(cache_dir, spec or OvisCaseSpec(), generate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None, help="cache folder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    gt_path, res_path = build_case(args.cache, OvisCaseSpec(seed=args.seed))
    gt = json.loads(gt_path.read_text())
    n_res = len(json.loads(res_path.read_text()))
    print(f"gt:      {gt_path} ({len(gt['videos'])} videos, {len(gt['annotations'])} tracks)")
    print(f"results: {res_path} ({n_res} results)")


if __name__ == "__main__":
    main()
