"""Small cases for the pictures (`show`, `report`, `diagnose --show`): a synthetic split, results
made from its ground truth with known mistakes, and a run of two toy methods.

`results_from_gt` copies every GT track of a video (so each prediction is exactly one object),
drops the tracks asked for (known misses) and adds a false positive where asked: a box in the
top-left corner present in every frame. `ShiftedToy` ("toy_dark") is a second toy method, so a
run has two rows on its leaderboard.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import torch
import yaml

from tests.helpers.toy_method import ToyPlugin
from vis_bench.api import ClipResult, register_method
from vis_bench.cli import main
from vis_bench.data.synthetic import generate_dataset
from vis_bench.formats import rle


def synthetic_split(folder: Path, videos: int = 3, seed: int = 5) -> tuple[Path, Path, dict]:
    """(annotation file, frame folder, parsed GT) of a small synthetic split, 2-3 objects per
    video, every one visible in every frame."""
    root = generate_dataset(
        folder,
        videos=videos,
        seed=seed,
        min_frames=4,
        max_frames=6,
        sizes=["72x96"],
        min_objects=2,
        max_objects=3,
        enter_leave=0.0,
    )
    gt_path = root / "annotations.json"
    return gt_path, root / "JPEGImages", json.loads(gt_path.read_text())


def _compressed(segmentation: dict | None) -> dict | None:
    if not segmentation:
        return None
    return rle.to_json(rle.encode(rle.decode(segmentation)))


def results_from_gt(
    gt: dict,
    drop: set[int] = frozenset(),
    false_positive: bool = False,
    reverse: bool = False,
) -> list[dict]:
    """Results equal to the GT tracks (scores 0.9, 0.8, ... in file order, reversed with
    `reverse`), without the annotation ids in `drop`, plus a corner box per video if asked."""
    results = []
    for video in gt["videos"]:
        tracks = [a for a in gt["annotations"] if a["video_id"] == video["id"]]
        kept = [a for a in tracks if a["id"] not in drop]
        scores = [0.9 - 0.1 * i for i in range(len(kept))]
        if reverse:
            scores = scores[::-1]
        for track, score in zip(kept, scores, strict=True):
            results.append(
                {
                    "video_id": video["id"],
                    "category_id": track["category_id"],
                    "score": score,
                    "segmentations": [_compressed(s) for s in track["segmentations"]],
                }
            )
        if false_positive:
            box = np.zeros((video["height"], video["width"]), dtype=np.uint8)
            box[1:9, 1:13] = 1
            results.append(
                {
                    "video_id": video["id"],
                    "category_id": tracks[0]["category_id"],
                    "score": 0.95,
                    "segmentations": [rle.to_json(rle.encode(box))] * video["length"],
                }
            )
    return results


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data))
    return path


@register_method("toy_dark")
class ShiftedToy(ToyPlugin):
    """The toy method's opposite: pixels darker than the clip's mean are the instance."""

    spec = dataclasses.replace(ToyPlugin.spec, name="toy_dark", summary="test-only: dark pixels")

    def infer_clip(self, frames: torch.Tensor) -> ClipResult:
        gray = frames.mean(1)
        self.model(frames[:1])
        return ClipResult(
            scores=torch.tensor([0.8]),
            labels=torch.tensor([int(self.options.label)]),
            masks=(gray < gray.mean()).float()[None],
        )


def toy_run(folder: Path) -> Path:
    """A run of `toy` and `toy_dark` on 3 short synthetic videos (in process); its folder."""
    config = {
        "name": "pictures",
        "dataset": {
            "kind": "synthetic",
            "videos": 3,
            "seed": 3,
            "min_frames": 4,
            "max_frames": 6,
            "cache_dir": str(folder / "cache"),
        },
        "methods": [{"name": "toy", "options": {"label": 2}}, {"name": "toy_dark"}],
        "sweep": {"clip_length": ["all"], "resolution": [64]},
        "measure": {"warmup": 0, "repeats": 1, "bootstrap": 100},
        "output": str(folder / "runs"),
    }
    path = folder / "pictures.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["run", "--config", str(path), "--in-process"]) == 0
    return folder / "runs" / "pictures"
