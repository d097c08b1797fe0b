"""The non-streaming reference: post-processing each whole track at the end, as the runner did
before frames were finalised one by one (kept here to prove the streaming path equal to it)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from vis_bench.engine.finalise import TrackPostprocessing
from vis_bench.engine.stitching import VideoTrack
from vis_bench.formats.rle import encode


def whole_track_results(
    tracks: list[VideoTrack],
    video_id: int,
    height: int,
    width: int,
    post: TrackPostprocessing,
) -> list[dict[str, Any]]:
    """Every track's float masks resized together, thresholded, tested for emptiness, encoded."""
    empty = encode(np.zeros((height, width), np.uint8))
    results = []
    for track in tracks:
        predictions = post.track_predictions(track)
        if not predictions:
            continue
        present = [i for i, m in enumerate(track.masks) if m is not None]
        segmentations: list[dict[str, Any] | None] = [empty] * len(track.masks)
        if present:
            stack = torch.stack([track.masks[i] for i in present])
            binary = post.masks_to_video(stack, height, width, track.mask_threshold)
            if post.drop_empty_tracks and not binary.any():
                continue
            for k, i in enumerate(present):
                segmentations[i] = encode(binary[k])
        elif post.drop_empty_tracks:
            continue
        for category_id, score, *flags in predictions:
            with_masks = flags[0] if flags else True
            results.append(
                {
                    "video_id": int(video_id),
                    "score": float(score),
                    "category_id": int(category_id),
                    "segmentations": segmentations if with_masks else [None] * len(segmentations),
                }
            )
    return results
