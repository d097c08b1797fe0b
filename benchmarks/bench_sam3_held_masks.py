"""Peak memory of SAM 3's method part on a long synthetic video with many objects: its masks held
as RLE while the passes run (the plugin as shipped) against every step and output kept at the
video's size (`run_frames(keep_steps=True)`, as the passes held them until the video's end).

    python benchmarks/bench_sam3_held_masks.py [--frames 60] [--size 480x854] \
        [--json benchmarks/results/sam3_held_masks.json]

Each way runs in its own process (its peak RSS is its own): configs/tiny/sam3_untrained.yaml's
options (untrained; detections above 0.2, so every prompt's objects are born and tracked), all 8
synthetic prompts, one synthetic video through the method's calls as the harness makes them (the
clip, the passes at the video's end, then the chosen masklets' masks 8 frames at a time). The
masks given back are compared by their foreground pixel count.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
import yaml
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
UNTRAINED = REPO / "configs/tiny/sam3_untrained.yaml"
WINDOW = 8


def video_frames(cache: Path, frames: int, size: str) -> torch.Tensor:
    """uint8 [T, 3, H, W] of the first video of a seeded synthetic set (generated once)."""
    from vis_bench.data.synthetic import ensure_synthetic_dataset, synthetic_spec

    spec = synthetic_spec(videos=1, seed=0, min_frames=frames, max_frames=frames, sizes=[size])
    root = ensure_synthetic_dataset(cache, spec)
    files = sorted((root / "JPEGImages").glob("*/*.jpg"))
    array = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files])
    return torch.from_numpy(array).permute(0, 3, 1, 2).contiguous()


def measure(keep_steps: bool, frames: torch.Tensor) -> dict:
    """One way's figures in this process: peak RSS over the video, masklets, objects."""
    from vis_bench.api.registration import get_method

    torch.manual_seed(0)
    plugin = get_method("sam3").build(yaml.safe_load(UNTRAINED.read_text())["options"])
    if keep_steps:
        run_frames = plugin.model.run_frames
        plugin.model.run_frames = lambda *a, **k: run_frames(*a, **{**k, "keep_steps": True})
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    refinement = plugin.refine_video(plugin.infer_clip(frames).state)
    pixels = 0
    for start in range(0, len(frames), WINDOW):
        indices = list(range(start, min(start + WINDOW, len(frames))))
        pixels += int(plugin.refined_masks(frames[indices], refinement, indices).gt(0).sum())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "peak_rss_mib": round(peak, 1),
        "rss_before_the_video_mib": round(before, 1),
        "masklets": len(refinement.slots),
        "objects_max": max(plugin.objects_per_frame),
        "foreground_pixels": pixels,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--size", default="480x854")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/vis_bench_sam3_held_masks"))
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--one", choices=("held", "kept"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.one:  # the child process: one way, its figures on stdout
        frames = video_frames(args.cache, args.frames, args.size)
        print(json.dumps(measure(args.one == "kept", frames)))
        return
    from vis_bench.measure.provenance import start_provenance, write_json_with_provenance

    provenance = start_provenance()
    common = ["--frames", str(args.frames), "--size", args.size, "--cache", str(args.cache)]
    ways = {}
    for way in ("held", "kept"):
        command = [sys.executable, __file__, *common, "--one", way]
        out = subprocess.run(command, check=True, capture_output=True, text=True, env=os.environ)
        ways[way] = json.loads(out.stdout.strip().splitlines()[-1])
    report = {"frames": args.frames, "size": args.size, "prompts": 8, **ways}
    print(json.dumps(report, indent=1))
    if args.json:
        write_json_with_provenance(args.json, report, provenance)


if __name__ == "__main__":
    main()
