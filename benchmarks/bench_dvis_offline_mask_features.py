"""DVIS++ offline's second pass: mask features made again, or kept from the first pass.

    python benchmarks/bench_dvis_offline_mask_features.py [--videos 2] [--rounds 4]
        [--resolution 360] [--threads 2] [--json benchmarks/results/dvis_offline_mask_features.json]

The R50 `dvis-plus-offline` model with random weights (the work done does not depend on them) on
the first videos of configs/default.yaml's synthetic validation split, at `--resolution`, in the
authors' windows of 3 frames, through the runner (`run_method`), with each choice of the option
`keep_mask_features` in one process, alternating within every round (the order rotates from round
to round, so with four rounds every choice runs first once):

- "no": the second pass runs the backbone and the pixel decoder again on each window; nothing is
  kept;
- "disk" (the default): the first pass writes each frame's raw mask features to a temporary
  file and the second pass reads them back; memory flat in the video's length;
- "float32": the first pass keeps them in memory, as the authors do;
- "float16": the same at half the bytes.

Reported per choice: medians over the rounds of the pass's wall and CPU seconds and of the
seconds inside the method's calls, their ratios to "no" in the same round (medians), the bytes
the kept features of the longest video held in memory and on disk, and how the results compare
with "no" (the same predictions, the largest score difference, how many predictions' masks
differ).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pycocotools import mask as mask_utils

from vis_bench.api.registration import get_method
from vis_bench.config import load_config
from vis_bench.inference.runner import run_method
from vis_bench.inference.sources import open_source
from vis_bench.measure.provenance import start_provenance, write_json_with_provenance

CONFIG = "configs/default.yaml"
CHOICES = ("no", "disk", "float32", "float16")
MIB = 1024 * 1024


class KeptBytes:
    """Wraps `refine_video` to record the largest kept mask features of a video, in bytes: in
    memory (tensors) and on disk (handles into the video's spill)."""

    def __init__(self, plugin: Any) -> None:
        self.largest = {"memory": 0, "disk": 0}
        refine_video = plugin.refine_video

        def counting(state: Any) -> Any:
            held = {"memory": 0, "disk": 0}
            for kept in state.mask_features:
                if isinstance(kept, torch.Tensor):
                    held["memory"] += kept.numel() * kept.element_size()
                else:
                    held["disk"] += kept.nbytes
            for where, size in held.items():
                self.largest[where] = max(self.largest[where], size)
            return refine_video(state)

        plugin.refine_video = counting


def one_pass(plugin: Any, source: Any, resolution: int) -> dict[str, Any]:
    start, cpu = time.perf_counter(), time.process_time()
    out = run_method(plugin, source, clip_length=3, stride=3, resolution=resolution)
    return {
        "wall_s": time.perf_counter() - start,
        "cpu_s": time.process_time() - cpu,
        "model_s": out.harness.model_s,
        "results": out.results,
        "frames": out.num_frames,
    }


def track_iou(a: list[Any], b: list[Any]) -> float:
    """IoU of two tracks' masks over all their frames (RLE per frame, None where empty)."""
    inter = union = 0
    for x, y in zip(a, b, strict=True):
        mx = mask_utils.decode(x).astype(bool) if x else None
        my = mask_utils.decode(y).astype(bool) if y else None
        if mx is None and my is None:
            continue
        mx = mx if mx is not None else np.zeros_like(my)
        my = my if my is not None else np.zeros_like(mx)
        inter += int((mx & my).sum())
        union += int((mx | my).sum())
    return inter / union if union else 1.0


def compare(results: list[dict[str, Any]], reference: list[dict[str, Any]]) -> dict[str, Any]:
    """How a choice's predictions differ from the reference's (same order: the method's)."""
    same = [(r["video_id"], r["category_id"]) for r in results] == [
        (r["video_id"], r["category_id"]) for r in reference
    ]
    if not same:
        return {"same_predictions": False}
    return {
        "same_predictions": True,
        "max_score_difference": max(
            (abs(a["score"] - b["score"]) for a, b in zip(results, reference, strict=True)),
            default=0.0,
        ),
        "predictions_with_other_masks": sum(
            a["segmentations"] != b["segmentations"]
            for a, b in zip(results, reference, strict=True)
        ),
        "lowest_track_mask_iou": min(
            (
                track_iou(a["segmentations"], b["segmentations"])
                for a, b in zip(results, reference, strict=True)
            ),
            default=1.0,
        ),
        "predictions": len(results),
    }


def measure(plugin: Any, source: Any, rounds: int, resolution: int) -> dict[str, Any]:
    kept = KeptBytes(plugin)
    runs: dict[str, list[dict[str, Any]]] = {choice: [] for choice in CHOICES}
    largest: dict[str, dict[str, int]] = {}
    for r in range(rounds):
        order = CHOICES[r % len(CHOICES) :] + CHOICES[: r % len(CHOICES)]
        for choice in order:
            plugin.options.keep_mask_features = choice
            kept.largest = {"memory": 0, "disk": 0}
            runs[choice].append(one_pass(plugin, source, resolution))
            largest[choice] = kept.largest
    plugin.options.keep_mask_features = "no"
    frames = runs["no"][0]["frames"]
    report: dict[str, Any] = {"frames_per_pass": frames}
    for choice in CHOICES:
        entry: dict[str, Any] = {}
        for key in ("wall_s", "cpu_s", "model_s"):
            entry[key] = statistics.median(run[key] for run in runs[choice])
            entry[f"{key[:-2]}_vs_no"] = statistics.median(
                a[key] / b[key] for a, b in zip(runs[choice], runs["no"], strict=True)
            )
        entry["kept_mib_longest_video"] = largest[choice]["memory"] / MIB
        entry["on_disk_mib_longest_video"] = largest[choice]["disk"] / MIB
        stable = all(
            json.dumps(run["results"]) == json.dumps(runs[choice][0]["results"])
            for run in runs[choice]
        )
        entry["same_results_every_round"] = stable
        entry["vs_no"] = compare(runs[choice][0]["results"], runs["no"][0]["results"])
        report[choice] = entry
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--resolution", type=int, default=360)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    provenance = start_provenance()
    config = load_config(CONFIG, overrides=[f"dataset.max_videos={args.videos}"])
    source = open_source(config.dataset, CONFIG)
    torch.manual_seed(0)
    plugin = get_method("dvis-plus-offline").build({})
    report: dict[str, Any] = {
        "setting": f"{CONFIG}: first {args.videos} videos, resolution {args.resolution}, "
        "T=3 S=3, R50 with random weights, cpu fp32",
        "threads": torch.get_num_threads(),
        "rounds": args.rounds,
        "loadavg_before": os.getloadavg(),
    }
    report["choices"] = measure(plugin, source, args.rounds, args.resolution)
    report["loadavg_after"] = os.getloadavg()
    for choice in CHOICES:
        entry = report["choices"][choice]
        print(
            f"{choice:8s} wall {entry['wall_s']:.1f} s ({entry['wall_vs_no']:.3f}x of no), "
            f"CPU {entry['cpu_s']:.1f} s ({entry['cpu_vs_no']:.3f}x), kept "
            f"{entry['kept_mib_longest_video']:.1f} MiB in memory, "
            f"{entry['on_disk_mib_longest_video']:.1f} MiB on disk, vs no: {entry['vs_no']}"
        )
    if args.json is not None:
        write_json_with_provenance(args.json, report, provenance, indent=2)


if __name__ == "__main__":
    main()
