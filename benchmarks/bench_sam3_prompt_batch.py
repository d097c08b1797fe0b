"""SAM 3's video model with every prompt's detector and tracker work batched on each frame,
against the same model run one prompt at a time (the backbone and the text encoder once either
way), on the public fixture's weights and video with many prompts.

    python benchmarks/bench_sam3_prompt_batch.py [--prompts 25] [--rounds 3] [--threads 1]

Prompts: the fixture's words and their pairs (its token table holds only the fixture prompts'
tokens, so the other pairs detect the same things differently), `--prompts` of them. Within a
round the two alternate, so they see the same machine load; the ratio is per round, reported
with its median and the load average before and after. The masklets of the two are compared:
ids and labels, the largest score difference, and the masklets whose masks differ in a pixel (a
batched product may round differently, which can decide a near-tie).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from dataclasses import replace
from pathlib import Path

import torch

from vis_bench.methods.sam3.fixtures import detector_sizes, load_gz, tracker_sizes
from vis_bench.methods.sam3.tokenizer import Tokenizer
from vis_bench.methods.sam3.video_model import Sam3VideoModel, VideoRun
from vis_bench.methods.sam3.video_step import VideoSettings

FIXTURE = Path(__file__).resolve().parents[1] / "tests/fixtures/golden/sam3/public"
WORDS = ("person", "red car", "car", "red", "person red", "red person", "car person")


def prompts(count: int) -> list[str]:
    """The fixture's words, then pairs of them, `count` in all."""
    pairs = [f"{a} {b}" for a in WORDS for b in WORDS]
    return [*WORDS, *pairs][:count]


def compare(batched: VideoRun, alone: VideoRun) -> dict:
    pairs = list(zip(batched.masklets, alone.masklets, strict=False))
    return {
        "masklets": [len(batched.masklets), len(alone.masklets)],
        "same_ids_and_labels": [(m.obj_id, m.label) for m in batched.masklets]
        == [(m.obj_id, m.label) for m in alone.masklets],
        "max_score_difference": max((abs(a.score - b.score) for a, b in pairs), default=0.0),
        "masklets_with_other_pixels": [
            [a.obj_id, int((a.masks ^ b.masks).sum())]
            for a, b in pairs
            if not torch.equal(a.masks, b.masks)
        ],
        "objects_per_frame": batched.objects_per_frame,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prompts", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    case = load_gz(FIXTURE / "video_case.pt.gz")
    model = Sam3VideoModel(detector_sizes(FIXTURE), tracker_sizes(FIXTURE)).eval()
    model.load_state_dict(load_gz(FIXTURE / "weights.pt.gz"), strict=True)
    tokens = Tokenizer(detector_sizes(FIXTURE).text.context)(prompts(args.prompts))
    frames, labels = case["frames_uint8"].numpy(), list(range(args.prompts))
    load_before, seconds, runs = os.getloadavg(), {"batched": [], "one_at_a_time": []}, {}
    for _ in range(args.rounds):
        for name, batch in (("one_at_a_time", 1), ("batched", 0)):
            start = time.perf_counter()
            runs[name] = model.run(
                frames, tokens, labels, replace(VideoSettings(), prompt_batch=batch)
            )
            seconds[name].append(time.perf_counter() - start)
    ratios = [a / b for a, b in zip(seconds["one_at_a_time"], seconds["batched"], strict=True)]
    report = {
        "prompts": args.prompts,
        "frames": int(frames.shape[0]),
        "threads": args.threads,
        "seconds": seconds,
        "ratio_per_round": ratios,
        "median_ratio": statistics.median(ratios),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        **compare(runs["batched"], runs["one_at_a_time"]),
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
