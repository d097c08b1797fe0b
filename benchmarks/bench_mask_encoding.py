"""The harness's final-mask step: PyTorch's resize, threshold and RLE against the compiled pass.

    python benchmarks/bench_mask_encoding.py [--frames 10] [--tracks 100] [--rounds 5]
        [--threads 2] [--json benchmarks/results/mask_encoding.json]

When a frame is final the stitcher hands every track's mean mask logits (stride 4 of the
input: 90x160 for a 360x640 input) to `EncodedFrames`, which resizes them to the video size
(720x1280), keeps `> 0` (IFC) or `sigmoid > 0.5` (SeqFormer) and stores their RLE. Both ways run
through `EncodedFrames.frame_final`, the code the runner calls: PyTorch (`masks_to_video`, then
`encode`, as before the compiled pass) and the compiled pass (`mask_cut` given), alternating
within each round on the same masks; the ratio is per round, the median reported. Masks: smooth
blobs (what trained models give) and the same blobs with strong noise (many pixels near the
cut, the compiled pass's worst case). Every RLE must be identical.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vis_bench.api.output import default_masks_to_video, sigmoid_cut
from vis_bench.engine.finalise import EncodedFrames
from vis_bench.measure.provenance import start_provenance, write_json_with_provenance

MASK_SIZE, VIDEO_SIZE = (90, 160), (720, 1280)


def _seqformer_masks_to_video(masks, height, width, threshold):
    """SeqFormer's hook (methods/families/seqformer/base_plugin.py): sigmoid > 0.5 in place."""
    resized = torch.nn.functional.interpolate(
        masks.float()[:, None], size=(height, width), mode="bilinear", align_corners=False
    )[:, 0]
    return (resized.sigmoid_() > 0.5).to(torch.uint8).numpy()


RULES = {
    "logit > 0 (IFC)": (default_masks_to_video, lambda threshold: threshold),
    "sigmoid > 0.5 (SeqFormer)": (_seqformer_masks_to_video, lambda threshold: sigmoid_cut(0.5)),
}


def masks(frames: int, tracks: int, noise: float) -> list[dict[int, torch.Tensor]]:
    """Per frame, each track's mean logits: a blob (a logit slope of 0.2-2 per pixel) + noise."""
    rng = np.random.default_rng(0)
    h, w = MASK_SIZE
    yy, xx = np.mgrid[0:h, 0:w]
    out = []
    for _ in range(frames):
        centre = rng.uniform(0, [h, w], (tracks, 2))
        radius = rng.uniform(2, 30, (tracks, 1, 1))
        slope = rng.uniform(0.2, 2, (tracks, 1, 1))
        distance = np.hypot(yy - centre[:, :1, None], xx - centre[:, 1:, None])
        logits = (radius - distance) * slope + rng.standard_normal((tracks, h, w)) * noise
        out.append({t: torch.from_numpy(logits[t].astype(np.float32)) for t in range(tracks)})
    return out


def _encode(frames: list[dict[int, torch.Tensor]], to_video: Any, cut: Any) -> tuple[float, Any]:
    sink = EncodedFrames(*VIDEO_SIZE, to_video, mask_cut=cut)
    start = time.perf_counter()
    for index, frame in enumerate(frames):
        sink.frame_final(index, frame, 0.0)
    return time.perf_counter() - start, sink._encoded


def measure(frames: list[dict[int, torch.Tensor]], rule: str, rounds: int) -> dict[str, Any]:
    to_video, cut = RULES[rule]
    count = sum(len(f) for f in frames)
    runs: dict[str, list[float]] = {"pytorch": [], "compiled": []}
    identical = True
    for _ in range(rounds):
        plain, plain_rle = _encode(frames, to_video, None)
        fast, fast_rle = _encode(frames, to_video, cut)
        identical &= plain_rle == fast_rle
        runs["pytorch"].append(plain)
        runs["compiled"].append(fast)
    ms = {k: 1e3 * statistics.median(v) / count for k, v in runs.items()}
    ratio = statistics.median(p / f for p, f in zip(runs["pytorch"], runs["compiled"], strict=True))
    return {"ms_per_mask_frame": ms, "speed_up": ratio, "identical_rle": identical, "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--tracks", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    provenance = start_provenance()
    report: dict[str, Any] = {
        "masks": f"{args.tracks} tracks x {args.frames} frames, {MASK_SIZE} -> {VIDEO_SIZE}",
        "threads": torch.get_num_threads(),
        "rounds": args.rounds,
        "cpu_count": os.cpu_count(),
        "loadavg_before": os.getloadavg(),
        "cases": {},
    }
    for kind, noise in (("smooth", 0.0), ("noisy", 1.0)):
        frames = masks(args.frames, args.tracks, noise)
        for rule in RULES:
            result = measure(frames, rule, args.rounds)
            report["cases"][f"{kind}, {rule}"] = result
            ms = result["ms_per_mask_frame"]
            print(
                f"{kind:<6} {rule:<26} pytorch {ms['pytorch']:.3f} ms, compiled "
                f"{ms['compiled']:.3f} ms per 720p mask-frame: {result['speed_up']:.1f}x, "
                f"identical: {result['identical_rle']}"
            )
    report["loadavg_after"] = os.getloadavg()
    if args.json is not None:
        write_json_with_provenance(args.json, report, provenance, indent=2)


if __name__ == "__main__":
    main()
