"""VidEoMT's fixture results through the harness's own clip-to-clip path, and the comparison of
final results (scores, labels, query ids, RLE masks) with the fixture's.

The harness links a `CarriedState` method's clips with `QueryTrackLinker`, hands each clip the
previous clip's state and the count of frames earlier clips covered, and resizes and RLE-encodes
each frame with the method's `masks_to_video` (`EncodedFrames`). Run here under several clip
schedules, it must give the fixture's results each time: the per-frame loop is the method.
"""

from __future__ import annotations

from typing import Any

import torch

from vis_bench.api import CarriedState
from vis_bench.parity import (
    EncodedFrames,
    ParityReport,
    QueryTrackLinker,
    clip_windows,
    compare_results,
    tracks_as_fixture_results,
)

#: (clip length, stride): the released one frame per call, the whole video, overlapping clips
SCHEDULES = ((1, 1), ("all", None), (3, 2))


def harness_results(
    plugin: Any, frames: torch.Tensor, output_size: tuple[int, int], clip_length: Any, stride: Any
) -> dict[str, Any]:
    """A video's results as the harness makes them under one clip schedule."""
    height, width = output_size
    encoded = EncodedFrames(height, width, plugin.masks_to_video)
    linker = QueryTrackLinker(CarriedState(), plugin.video_predictions, [encoded])
    length = int(frames.shape[0])
    for window in clip_windows(length, clip_length, stride):
        seen = linker.seen_frames(window)
        with torch.inference_mode():
            result = plugin.infer_clip(frames[list(window)], state=linker.state, seen=seen)
        linker.add_clip(window, result)
    tracks = linker.finish()
    return tracks_as_fixture_results(encoded, tracks, length)


def harness_checks(
    report: ParityReport, plugin: Any, frames: torch.Tensor, sizes: dict, post: dict
) -> None:
    """Every schedule of `SCHEDULES` gives the fixture's results."""
    output = tuple(int(v) for v in sizes["orig_size"])
    for clip_length, stride in SCHEDULES:
        results = harness_results(plugin, frames, output, clip_length, stride)
        name = f"harness T={clip_length}" + (f" S={stride}" if stride else "")
        compare_results(report, name, results, post, ordered=True)
