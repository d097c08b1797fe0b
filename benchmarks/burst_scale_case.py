"""A seeded BURST-format case larger than the public golden cases, for timing `--metric burst`.

300 sequences of 4-14 annotated frames at 720x1280 (BURST annotates about one frame a second),
200 LVIS classes (60 of the toolkit's common list, 140 others), about 4 GT tracks per sequence
from 1-3 classes, tracks absent in some frames; per sequence a few `neg_category_ids` and now
and then a `not_exhaustive_category_ids` class. Predictions: perturbed copies of most GT tracks
(some split into two fragments), wrong-class duplicates and low-score false positives, on the
annotated frames. Objects are the moving, growing ellipses of ytvis_scale_case.py. Cached like
that case (`$VIS_BENCH_CACHE` or /tmp/vis_bench_cache).

Run `python benchmarks/burst_scale_case.py [--cache DIR]` to build it and print the paths.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from ytvis_scale_case import (
    Track,
    _compress,
    _perturbed,
    _random_track,
    _track_masks,
    _write_json,
    default_cache_dir,
)

from vis_bench.eval.burst.categories import burst_categories

CASE_VERSION = 1


@dataclass(frozen=True)
class BurstCaseSpec:
    seed: int = 0
    n_sequences: int = 300
    min_frames: int = 4
    max_frames: int = 14
    height: int = 720
    width: int = 1280
    n_common: int = 60
    n_uncommon: int = 140
    gt_per_sequence: float = 3.0  # mean GT tracks per sequence (Poisson + 1)
    fp_per_sequence: float = 3.0

    def key(self) -> str:
        return f"burst_scale_v{CASE_VERSION}_" + "_".join(str(v) for v in asdict(self).values())


def _classes(rng: np.random.Generator, spec: BurstCaseSpec) -> list[int]:
    cats = burst_categories()
    usable = [
        cid
        for cid in cats.names
        if cid not in cats.distractors
        and cid not in cats.merged
        and cid not in cats.merged.values()
    ]
    common = [cid for cid in usable if cid in cats.common]
    other = [cid for cid in usable if cid not in cats.common]
    return [
        *rng.choice(common, spec.n_common, replace=False).tolist(),
        *rng.choice(other, spec.n_uncommon, replace=False).tolist(),
    ]


def _frames_of(track: Track, n: int, h: int, w: int, rng: np.random.Generator) -> list:
    """Compressed masks per annotated frame, None where absent (some frames dropped at random)."""
    masks = [_compress(runs, h, w) for runs in _track_masks(track, n, h, w)]
    return [m if m is not None and rng.random() > 0.1 else None for m in masks]


def _sequence_frames(tracks: list[tuple[str, list]], n: int, *, score: dict | None = None):
    frames: list[dict] = [{} for _ in range(n)]
    for local, masks in tracks:
        for t, mask in enumerate(masks):
            if mask is not None:
                entry = {"rle": mask["counts"], "is_gt": score is None}
                if score is not None:
                    entry["score"] = score[local]
                frames[t][local] = entry
    return frames


class _Predictions:
    """One sequence's prediction tracks, numbered 1, 2, ... as they are added."""

    def __init__(self, rng: np.random.Generator, n: int, h: int, w: int):
        self.rng, self.n, self.h, self.w = rng, n, h, w
        self.tracks: list[tuple[str, list]] = []
        self.categories: dict[str, int] = {}
        self.scores: dict[str, float] = {}

    def add(self, track: Track, category: int, score: float, frames: slice | None = None) -> None:
        local = str(len(self.tracks) + 1)
        masks = _frames_of(track, self.n, self.h, self.w, self.rng)
        if frames is not None:
            kept = range(self.n)[frames]
            masks = [m if t in kept else None for t, m in enumerate(masks)]
        self.tracks.append((local, masks))
        self.categories[local] = int(category)
        self.scores[local] = round(float(score), 3)


def generate(spec: BurstCaseSpec) -> tuple[dict, dict]:
    """The GT dict and the prediction dict, in memory."""
    rng = np.random.default_rng(spec.seed)
    classes = _classes(rng, spec)
    h, w = spec.height, spec.width
    gt_sequences, pred_sequences = [], []
    for index in range(spec.n_sequences):
        n = int(rng.integers(spec.min_frames, spec.max_frames + 1))
        paths = [f"frame{30 * t + 1:04d}.jpg" for t in range(n)]
        present = rng.choice(classes, int(rng.integers(1, 4)), replace=False).tolist()
        head = {
            "id": index + 1,
            "width": w,
            "height": h,
            "seq_name": f"v_{index:05d}",
            "dataset": ("ArgoVerse", "BDD", "Charades", "LaSOT", "YFCC100M")[index % 5],
            "fps": 30,
            "all_image_paths": paths,
            "annotated_image_paths": paths,
            "neg_category_ids": rng.choice(classes, 3, replace=False).tolist(),
            "not_exhaustive_category_ids": present[:1] if rng.random() < 0.2 else [],
        }
        gt_tracks, gt_cats = [], {}
        preds = _Predictions(rng, n, h, w)
        add_pred = preds.add

        for _ in range(1 + int(rng.poisson(spec.gt_per_sequence))):
            track = _random_track(rng, n, h, w)
            category = int(rng.choice(present))
            local = str(len(gt_tracks) + 1)
            gt_tracks.append((local, _frames_of(track, n, h, w, rng)))
            gt_cats[local] = category
            if rng.random() < 0.9:
                copy = _perturbed(rng, track, float(rng.uniform(0.5, 1.0)))
                if rng.random() < 0.2 and n > 2:  # a fragment: two prediction tracks
                    cut = n // 2
                    add_pred(copy, category, rng.uniform(0.5, 1.0), slice(0, cut))
                    add_pred(copy, category, rng.uniform(0.5, 1.0), slice(cut, n))
                else:
                    add_pred(copy, category, rng.uniform(0.3, 1.0))
            if rng.random() < 0.25:
                wrong = int(rng.choice(classes))
                add_pred(_perturbed(rng, track, 0.7), wrong, rng.uniform(0.1, 0.6))
        for _ in range(int(rng.poisson(spec.fp_per_sequence))):
            category = int(rng.choice([*present, *head["neg_category_ids"]]))
            add_pred(_random_track(rng, n, h, w), category, rng.uniform(0.02, 0.4))
        gt_sequences.append(
            {
                **head,
                "track_category_ids": gt_cats,
                "segmentations": _sequence_frames(gt_tracks, n),
            }
        )
        pred_sequences.append(
            {
                **head,
                "track_category_ids": preds.categories,
                "segmentations": _sequence_frames(preds.tracks, n, score=preds.scores),
            }
        )
    gt = {"split": "val", "categories": [], "sequences": gt_sequences}
    return gt, {"split": "val", "sequences": pred_sequences}


def build_case(cache_dir: str | Path | None = None, spec: BurstCaseSpec | None = None):
    """(GT folder holding all_classes.json, pred.json), generated once per spec into the cache."""
    spec = spec or BurstCaseSpec()
    folder = Path(cache_dir or default_cache_dir()) / spec.key()
    gt_dir, pred = folder / "gt", folder / "pred.json"
    if not (gt_dir / "all_classes.json").is_file() or not pred.is_file():
        gt_dir.mkdir(parents=True, exist_ok=True)
        gt, predictions = generate(spec)
        _write_json(pred, predictions)
        _write_json(gt_dir / "all_classes.json", gt)
        (folder / "spec.json").write_text(json.dumps(asdict(spec), indent=1) + "\n")
    return gt_dir, pred


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None)
    args = parser.parse_args()
    gt_dir, pred = build_case(args.cache)
    print(gt_dir / "all_classes.json")
    print(pred)


if __name__ == "__main__":
    main()
