"""The stitcher's float state for IFC's near-online schedule, at its worst case.

    python benchmarks/bench_stitcher_state.py [--frames 36 --clip 5 --stride 1 --tracks 100]

IFC at 360x640 predicts masks at stride 8 (45x80) for at most 100 queries; here every query is a
track in every clip (random logits that stay put, so the tracks match across clips), which is
the most the streaming stitcher can hold. Prints its peak number of float tensors and bytes,
and the same for a video twice as long (equal under a near-online schedule). The IFC authors'
merge buffers hold a float mask per track and frame of the whole video instead (1.9 GB at 36
frames by the issue's measurement).
"""

from __future__ import annotations

import argparse

import torch

from vis_bench.api.plugin import ClipResult
from vis_bench.engine.finalise import EncodedFrames
from vis_bench.engine.schedule import clip_windows
from vis_bench.engine.stitching import ClipStitcher

MASK_H, MASK_W = 45, 80  # stride 8 of 360x640
VIDEO_H, VIDEO_W = 720, 1280
NUM_CLASSES = 40


def stitcher_peak(frames: int, clip: int, stride: int, tracks: int) -> tuple[int, int, int]:
    """(tracks, peak tensors, peak bytes) of one video stitched under (clip, stride)."""
    gen = torch.Generator().manual_seed(0)
    base = torch.randn(tracks, 1, MASK_H, MASK_W, generator=gen) * 4
    windows = clip_windows(frames, clip, stride)
    stitcher = ClipStitcher.for_schedule(
        windows, class_aware=False, sinks=[EncodedFrames(VIDEO_H, VIDEO_W)]
    )
    for window in windows:
        shape = (tracks, len(window), MASK_H, MASK_W)
        logits = base.expand(shape) + 0.1 * torch.randn(shape, generator=gen)
        stitcher.add_clip(
            window,
            ClipResult(
                scores=torch.rand(tracks, generator=gen),
                labels=torch.randint(1, NUM_CLASSES + 1, (tracks,), generator=gen),
                masks=logits.sigmoid(),
                mask_logits=logits,
                class_probs=torch.rand(tracks, NUM_CLASSES + 1, generator=gen).softmax(-1),
            ),
        )
    stitcher.finish()
    return stitcher.num_tracks, stitcher.peak_tensors, stitcher.peak_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=36)
    parser.add_argument("--clip", type=int, default=5)
    parser.add_argument("--stride", type=int, default=1)
    parser.add_argument("--tracks", type=int, default=100)
    args = parser.parse_args()
    print(f"T={args.clip} S={args.stride}, masks {MASK_H}x{MASK_W}, video {VIDEO_H}x{VIDEO_W}")
    for frames in (args.frames, 2 * args.frames):
        tracks, tensors, nbytes = stitcher_peak(frames, args.clip, args.stride, args.tracks)
        print(
            f"{frames} frames: {tracks} tracks, peak {tensors} float tensors, "
            f"{nbytes / 2**20:.1f} MiB"
        )


if __name__ == "__main__":
    main()
