"""Query-track linking: full-resolution masks of the kept slots only, against every slot's.

    python benchmarks/bench_query_track_masks.py [--videos 8] [--rounds 5] [--threads 2]
        [--json benchmarks/results/query_track_masks.json]

The tiny VidEoMT and DVIS++ online models of configs/default.yaml on the first videos of its
synthetic validation split, at its resolution (144) and clip length 5 (stride 3), through the
runner (`run_method`), two ways in one process, alternating within each round (which goes first
alternates too): as the engine runs now (each frame's working-resolution masks held until the
video's predictions are chosen, then only the kept slots resized, thresholded and RLE-encoded),
and as before (`deferred_bytes=0`: every slot of every frame finalised as its clip is linked).
Reported per method: medians over the rounds of the pass's wall and CPU seconds and of the
finalisation's seconds (resize and RLE), their ratios (now / before), and whether the results
are identical (they must be).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import torch

import vis_bench.inference.runner as runner
from vis_bench.config import load_config
from vis_bench.engine.query_tracks import QueryTrackLinker
from vis_bench.inference.sources import open_source
from vis_bench.measure.provenance import start_provenance, write_json_with_provenance
from vis_bench.sweep.methods import resolve_methods
from vis_bench.sweep.worker import build_plugin

CONFIG = "configs/default.yaml"
METHODS = ("videomt", "dvis-plus-online")


class EveryFrameLinker(QueryTrackLinker):
    """The linker as before: nothing held, every slot finalised as its clip is linked."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs, deferred_bytes=0, spill_bytes=0)


class FirstVideos:
    """The first `n` videos of a source."""

    def __init__(self, source: Any, n: int) -> None:
        self.source, self.n = source, n

    def videos(self) -> list[Any]:
        return list(self.source.videos())[: self.n]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.source, name)


def one_pass(plugin: Any, source: Any, linker: type, resolution: int) -> dict[str, Any]:
    runner.QueryTrackLinker = linker
    try:
        start, cpu = time.perf_counter(), time.process_time()
        out = runner.run_method(plugin, source, clip_length=5, stride=3, resolution=resolution)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    finally:
        runner.QueryTrackLinker = QueryTrackLinker
    finalise = out.harness.finalise
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "timed_s": out.seconds_end_to_end,
        "finalise_s": finalise.resize_s + finalise.rle_s,
        "results": json.dumps(out.results, sort_keys=True),
        "frames": out.num_frames,
    }


def measure(plugin: Any, source: Any, rounds: int, resolution: int) -> dict[str, Any]:
    ways = {"kept slots": QueryTrackLinker, "every slot": EveryFrameLinker}
    runs: dict[str, list[dict[str, Any]]] = {way: [] for way in ways}
    for r in range(rounds):
        order = list(ways) if r % 2 == 0 else list(ways)[::-1]
        for way in order:
            runs[way].append(one_pass(plugin, source, ways[way], resolution))
    results = {way: {run["results"] for run in runs[way]} for way in ways}
    identical = len(results["kept slots"] | results["every slot"]) == 1

    def med(way: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[way])

    report: dict[str, Any] = {"frames_per_pass": runs["kept slots"][0]["frames"]}
    for key in ("wall_s", "cpu_s", "timed_s", "finalise_s"):
        now, before = med("kept slots", key), med("every slot", key)
        report[key] = {"kept slots": now, "every slot": before, "ratio": now / before}
    per_round = [
        a["wall_s"] / b["wall_s"]
        for a, b in zip(runs["kept slots"], runs["every slot"], strict=True)
    ]
    report["wall_ratio_per_round"] = per_round
    report["identical_results"] = identical
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    provenance = start_provenance()
    config = load_config(CONFIG)
    source = FirstVideos(open_source(config.dataset, CONFIG), args.videos)
    resolution = int(config.sweep.resolution[0])
    report: dict[str, Any] = {
        "setting": f"{CONFIG}: first {args.videos} videos, resolution {resolution}, T=5 S=3, "
        "cpu fp32",
        "threads": torch.get_num_threads(),
        "rounds": args.rounds,
        "loadavg_before": os.getloadavg(),
        "methods": {},
    }
    for entry in resolve_methods(config):
        if entry.name not in METHODS:
            continue
        plugin, _ = build_plugin(entry)
        result = measure(plugin, source, args.rounds, resolution)
        report["methods"][entry.name] = result
        print(
            f"{entry.name}: wall {result['wall_s']['ratio']:.3f}x, CPU "
            f"{result['cpu_s']['ratio']:.3f}x, finalisation {result['finalise_s']['ratio']:.3f}x "
            f"({result['finalise_s']['every slot']:.2f} -> "
            f"{result['finalise_s']['kept slots']:.2f} s), identical: "
            f"{result['identical_results']}"
        )
    report["loadavg_after"] = os.getloadavg()
    if args.json is not None:
        write_json_with_provenance(args.json, report, provenance, indent=2)


if __name__ == "__main__":
    main()
