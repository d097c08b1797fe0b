"""SAM 3's video FPS against the number of tracked objects: the measurement behind the authors'
chart (FPS falling as objects grow, on an H100), made on our implementation at the release's
sizes with random weights, one text prompt, the objects' count forced.

    python benchmarks/bench_sam3_objects.py [--objects 1 16 128] [--frames 24] \
        [--device cuda] [--dtype bf16] [--json benchmarks/results/sam3_objects.json]
    python benchmarks/bench_sam3_objects.py --tiny --device cpu --dtype fp32   # a quick check

Why forced: with random weights the detector finds few objects (and trained weights find what
the video holds), so the count is set instead. Every frame runs what the method runs (the ViT
backbone, the text-conditioned detector, the tracker's frame features), but on frame 0 the
detections are replaced by N disjoint square masks in a grid (probability 0.9) and on the other
frames by none; hotstart is off (`hotstart_delay` 0), so the N masklets born on frame 0 stay in
the tracker's states over the whole video and every frame's step propagates, encodes and
scores all of them (`objects_per_frame` in the output says they did). Each count: one warm-up
run of 4 frames, then `--rounds` runs of the video, timed with the device synchronised; the
frame stage (backbone, detector, features, as the plugin computes them per clip) and the passes
(the tracker over all frames, as the plugin runs them at the video's end) apart. Speed does not
depend on the weights' values; bf16 is the authors' autocast on a GPU.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from vis_bench.inference.stopwatch import synchronize
from vis_bench.methods.sam3.hotstart import HotstartSettings
from vis_bench.methods.sam3.options import Sam3Options
from vis_bench.methods.sam3.tokenizer import Tokenizer
from vis_bench.methods.sam3.video_detections import FrameDetections, preprocess_video_frames
from vis_bench.methods.sam3.video_model import Sam3VideoModel
from vis_bench.methods.sam3.video_step import VideoSettings

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "configs/tiny/sam3_untrained.yaml"
DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
#: read from the authors' chart (FPS against tracked objects, H100, bf16): about 26 FPS with one
#: object, under 2 with 128
PUBLISHED = {"gpu": "H100", "fps_read_from_chart": {"1": 26.0, "128": "< 2"}}


def grid_detections(count: int, height: int, width: int, device: torch.device) -> FrameDetections:
    """`count` disjoint square masks in a grid over the (height, width) mask logits, scored 0.9."""
    side = max(1, math.ceil(math.sqrt(count)))
    cell_h, cell_w = height // side, width // side
    masks = torch.full((count, height, width), -10.0, device=device)
    boxes = torch.zeros(count, 4, device=device)
    for k in range(count):
        row, col = divmod(k, side)
        y0, x0 = row * cell_h + cell_h // 4, col * cell_w + cell_w // 4
        y1, x1 = y0 + max(1, cell_h // 2), x0 + max(1, cell_w // 2)
        masks[k, y0:y1, x0:x1] = 10.0
        boxes[k] = torch.tensor([x0 / width, y0 / height, x1 / width, y1 / height])
    return FrameDetections(
        boxes=boxes, masks=masks, scores=torch.full((count,), 0.9, device=device)
    )


def one_run(
    model: Sam3VideoModel,
    images: torch.Tensor,
    video_size: tuple[int, int],
    words,
    count: int,
    device: torch.device,
) -> dict:
    """The frame stage and the passes over `images` with `count` objects born on frame 0."""
    settings = VideoSettings(hotstart=HotstartSettings(hotstart_delay=0))
    synchronize(device)
    start = time.perf_counter()
    inputs = []
    for t in range(images.shape[0]):
        features, found = model.frame_inputs(
            images[t : t + 1].float().to(device), words, settings.score_threshold_detection
        )
        h, w = found[0].masks.shape[-2:]
        forced = grid_detections(count if t == 0 else 0, h, w, device)
        inputs.append((features, [forced]))
    synchronize(device)
    frame_stage = time.perf_counter() - start
    run = model.run_frames(inputs, len(inputs), video_size, [1], settings, keep_steps=False)
    synchronize(device)
    total = time.perf_counter() - start
    return {
        "frame_stage_s": frame_stage,
        "passes_s": total - frame_stage,
        "total_s": total,
        "objects_per_frame": run.objects_per_frame,
    }


def measure(
    model: Sam3VideoModel,
    images: torch.Tensor,
    video_size: tuple[int, int],
    words,
    count: int,
    rounds: int,
    device: torch.device,
) -> dict:
    """One object count: a warm-up, then `rounds` timed runs; medians and FPS."""
    one_run(model, images[:4], video_size, words, count, device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    runs = [one_run(model, images, video_size, words, count, device) for _ in range(rounds)]
    frames = images.shape[0]
    median = {k: statistics.median(r[k] for r in runs) for k in ("frame_stage_s", "passes_s")}
    totals = [r["total_s"] for r in runs]
    objects = runs[-1]["objects_per_frame"]
    return {
        "objects": count,
        "fps": frames / statistics.median(totals),
        "fps_range": [frames / max(totals), frames / min(totals)],
        "frame_stage_ms_per_frame": 1000 * median["frame_stage_s"] / frames,
        "passes_ms_per_frame": 1000 * median["passes_s"] / frames,
        "objects_per_frame_min_max": [min(objects), max(objects)],
        "peak_cuda_mib": (
            torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
        ),
        "rounds_s": totals,
    }


def build(tiny: bool, device: torch.device) -> tuple[Sam3VideoModel, Sam3Options]:
    """The video model with random weights at the release's sizes (or the tests' tiny shape)."""
    values = yaml.safe_load(TINY.read_text())["options"] if tiny else {}
    options = Sam3Options(**values)
    torch.manual_seed(0)
    with torch.device(device):
        model = Sam3VideoModel(options.detector_sizes(), options.tracker_sizes()).eval()
    return model, options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--objects", type=int, nargs="+", default=[1, 16, 128])
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", default="720x1280", help="the video's HxW (masks are made at it)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="bf16")
    parser.add_argument("--tiny", action="store_true", help="the tests' tiny shape (a check)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    from vis_bench.measure.provenance import start_provenance, write_json_with_provenance

    provenance = start_provenance()
    device = torch.device(args.device)
    model, options = build(args.tiny, device)
    rng = np.random.default_rng(0)
    height, width = (int(v) for v in args.size.split("x"))
    frames = rng.integers(0, 256, (args.frames, height, width, 3), dtype=np.uint8)
    images = preprocess_video_frames(frames, options.image)
    dtype = DTYPES[args.dtype]
    rows = []
    with torch.no_grad(), torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
        words = model.encode_prompts(Tokenizer(options.context)(["object"]))
        for count in args.objects:
            rows.append(measure(model, images, (height, width), words, count, args.rounds, device))
            print(json.dumps({k: v for k, v in rows[-1].items() if k != "rounds_s"}), flush=True)
    report = {
        "shape": "tiny (configs/tiny/sam3_untrained.yaml)" if args.tiny else "release",
        "image": options.image,
        "vit": [options.vit_dim, options.vit_depth],
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "dtype": args.dtype,
        "frames": args.frames,
        "video_size": [height, width],
        "prompts": 1,
        "rounds": args.rounds,
        "rows": rows,
        "published": PUBLISHED,
    }
    if args.json:
        write_json_with_provenance(args.json, report, provenance)


if __name__ == "__main__":
    main()
