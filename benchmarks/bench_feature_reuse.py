"""Near-online inference with and without per-frame feature reuse, and IFC against its authors' loop.

    python benchmarks/bench_feature_reuse.py [--frames 36] [--rounds 1] [--threads 2]
        [--methods ifc seqformer] [--json benchmarks/results/feature_reuse.json]

Each method at its published defaults (R50, random weights: weights do not change the work done)
runs one video of `--frames` 360x640 frames through the harness's runner (`run_method`, T=5 S=1,
the published near-online schedule: decoding, preprocessing, `infer_clip`, stitching and the
final masks, all timed) with `feature_reuse` on and off; IFC also runs the project's replica of
its authors' loop (`methods/ifc/authors_loop.py`: preprocessing, the backbone once per video,
their matching and masks, re-implemented around the harness's network; not the authors' code,
see `REFERENCES`). On random weights a clip keeps many degenerate tracks, and the replica's
element-wise matching grows with them, so each variant's number of predictions is recorded beside
its time: a ratio against the replica says which reference it uses and on what. Within each round the variants alternate, so they see the same machine load; ratios are
per round, reported as medians. The predictions with reuse on and off must be identical. Each
method's two halves are also timed alone (per-frame stages on 1 and on T frames, the rest of a
clip): the ratio they allow, with the harness's own work left out, is `model_ratio_ceiling`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vis_bench.api.registration import get_method
from vis_bench.inference.pass_hooks import NO_WARM_UP
from vis_bench.inference.runner import run_method
from vis_bench.measure.provenance import start_provenance, write_json_with_provenance
from vis_bench.methods.ifc.authors_loop import authors_loop_results

HEIGHT, WIDTH = 360, 640
CLIP_LENGTH, STRIDE = 5, 1
#: what each variant is, written into the JSON so a ratio names its reference
REFERENCES = {
    "reuse on": "the harness's runner with per-frame features computed once",
    "reuse off": "the harness's runner recomputing every clip's frames",
    "authors' loop": (
        "the project's replica of IFC's authors' loop (methods/ifc/authors_loop.py: their "
        "soft-IoU matching, merging and masks around this project's network), not the authors' "
        "code; on random weights its element-wise matching runs over many degenerate tracks"
    ),
}


@dataclass
class _Video:
    id: int
    height: int
    width: int
    length: int


class _OneVideo:
    """One video of random frames, held in memory (decoding costs nothing)."""

    def __init__(self, frames: np.ndarray):
        self.frames = frames
        self.video = _Video(1, HEIGHT, WIDTH, len(frames))

    def videos(self) -> list[_Video]:
        return [self.video]

    def read_frames(self, video: Any, indices: list[int]) -> np.ndarray:
        return self.frames[indices]


def _frames(length: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (length, HEIGHT, WIDTH, 3), dtype=np.uint8)


def _harness(plugin: Any, source: _OneVideo, reuse: bool) -> tuple[float, Any]:
    start = time.perf_counter()
    outcome = run_method(
        plugin,
        source,
        clip_length=CLIP_LENGTH,
        stride=STRIDE,
        resolution=None,
        untimed=NO_WARM_UP,
        feature_reuse=reuse,
    )
    return time.perf_counter() - start, outcome


def _authors(plugin: Any, source: _OneVideo) -> tuple[float, int]:
    """Seconds of the replica of the authors' loop, and how many predictions it kept."""
    start = time.perf_counter()
    clip = torch.from_numpy(source.frames).permute(0, 3, 1, 2)
    with torch.inference_mode():
        results = authors_loop_results(
            plugin,
            plugin.preprocess(clip),
            1,
            orig_size=(HEIGHT, WIDTH),
            window=CLIP_LENGTH,
            stride=STRIDE,
        )
    return time.perf_counter() - start, len(results)


def _parts(times: Any) -> dict[str, float]:
    """Where the harness's run went (inference/overhead.py), in seconds."""
    return {
        "preprocess": times.preprocess_s,
        "model": times.model_s,
        "stitch": times.stitch_s,
        "final masks": times.finalise.resize_s + times.finalise.rle_s,
    }


def stage_costs(plugin: Any, source: _OneVideo, repeats: int = 5) -> dict[str, float]:
    """Median seconds of the method's two halves on this video's first clip: its per-frame
    stages on one frame and on the clip's T frames, and the rest of the clip from features.
    They bound what reuse can give: per clip, recomputing costs `frames T + rest` and reuse
    `frames 1 + rest` once the window is full."""
    clip = plugin.preprocess(torch.from_numpy(source.frames[:CLIP_LENGTH]).permute(0, 3, 1, 2))

    def median_of(call: Any) -> float:
        call()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    with torch.inference_mode():
        features = plugin.frame_features(clip)
        return {
            "frame_features_1": median_of(lambda: plugin.frame_features(clip[:1])),
            f"frame_features_{CLIP_LENGTH}": median_of(lambda: plugin.frame_features(clip)),
            "rest_of_clip": median_of(lambda: plugin.infer_clip_features(features)),
        }


def reuse_ceiling(costs: dict[str, float], frames: int) -> float:
    """The model's off / on ratio these stage costs allow on a video of `frames` frames under
    T=5 S=1 (harness work left out): every clip recomputes T frames, or each frame once."""
    clips = frames - CLIP_LENGTH + 1
    one, clip, rest = (
        costs["frame_features_1"],
        costs[f"frame_features_{CLIP_LENGTH}"],
        costs["rest_of_clip"],
    )
    off = clips * (clip + rest)
    on = clip + (clips - 1) * one + clips * rest
    return off / on


def measure(method: str, frames: int, rounds: int) -> dict[str, Any]:
    """Seconds per variant and round, per-frame costs, ratios, and whether outputs agreed."""
    torch.manual_seed(0)
    plugin = get_method(method).build({})
    source = _OneVideo(_frames(frames))
    warm = _OneVideo(source.frames[:6])  # one-time costs (kernels for each batch size) out
    for reuse in (True, False):
        _harness(plugin, warm, reuse)
    seconds: dict[str, list[float]] = {"reuse on": [], "reuse off": []}
    if method == "ifc":
        seconds["authors' loop"] = []
    identical = True
    parts: dict[str, dict[str, float]] = {}
    predictions: dict[str, int] = {}
    for _ in range(rounds):
        on, run_on = _harness(plugin, source, True)
        off, run_off = _harness(plugin, source, False)
        identical &= run_on.results == run_off.results
        for name, run in (("reuse on", run_on), ("reuse off", run_off)):
            parts[name] = _parts(run.harness)
        seconds["reuse on"].append(on)
        seconds["reuse off"].append(off)
        predictions.update({"reuse on": len(run_on.results), "reuse off": len(run_off.results)})
        if method == "ifc":
            replica, predictions["authors' loop"] = _authors(plugin, source)
            seconds["authors' loop"].append(replica)
    per_frame = {k: statistics.median(v) / frames for k, v in seconds.items()}
    ratios = {
        "reuse off / reuse on": statistics.median(
            off / on for off, on in zip(seconds["reuse off"], seconds["reuse on"], strict=True)
        )
    }
    if method == "ifc":
        ratios["authors' loop / reuse on"] = statistics.median(
            a / on for a, on in zip(seconds["authors' loop"], seconds["reuse on"], strict=True)
        )
    costs = stage_costs(plugin, source)
    return {
        "seconds": seconds,
        "stage_seconds": costs,
        "model_ratio_ceiling": reuse_ceiling(costs, frames),
        "harness_seconds_last_round": parts,
        "seconds_per_frame": per_frame,
        "ratios": ratios,
        "identical_predictions": identical,
        "references": {name: REFERENCES[name] for name in seconds},
        "predictions": predictions,
        "weights": "random (published defaults, R50)",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=36)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--methods", nargs="+", default=["ifc", "seqformer"])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    provenance = start_provenance()
    report: dict[str, Any] = {
        "video": f"{args.frames} frames, {HEIGHT}x{WIDTH}",
        "schedule": f"T={CLIP_LENGTH} S={STRIDE}",
        "threads": torch.get_num_threads(),
        "rounds": args.rounds,
        "cpu_count": os.cpu_count(),
        "loadavg_before": os.getloadavg(),
        "methods": {},
    }
    for method in args.methods:
        result = measure(method, args.frames, args.rounds)
        report["methods"][method] = result
        costs = ", ".join(f"{k} {v:.2f} s/frame" for k, v in result["seconds_per_frame"].items())
        ratios = ", ".join(f"{k} {v:.2f}x" for k, v in result["ratios"].items())
        print(f"{method}: {costs}; {ratios}; identical: {result['identical_predictions']}")
        print(f"  stages {result['stage_seconds']}; ceiling {result['model_ratio_ceiling']:.2f}x")
    report["loadavg_after"] = os.getloadavg()
    if args.json is not None:
        write_json_with_provenance(args.json, report, provenance, indent=2)


if __name__ == "__main__":
    main()
