"""Clip schedule: which frame windows a method sees for window length T and stride S.

The rule is the near-online reference's (the authors' code the stitcher comes from): windows
start at 0, S, 2S, ...; the first window that would reach or pass the last frame is shifted left
to end exactly at it, and the schedule stops there. T = "all" (or T >= L) gives one clip, the whole video, which is
every method's offline inference.
"""

from __future__ import annotations

import math


def default_stride(clip_length: int) -> int:
    """Half-overlapping clips: enough shared frames for soft-IoU stitching."""
    return max(1, math.ceil(clip_length / 2))


def clip_windows(num_frames: int, clip_length: int | str, stride: int | None = None) -> list[range]:
    """Frame index ranges of the clips covering a video of `num_frames` frames."""
    if num_frames <= 0:
        return []
    if clip_length == "all" or int(clip_length) >= num_frames:
        return [range(0, num_frames)]
    length = int(clip_length)
    step = default_stride(length) if stride is None else int(stride)
    if length <= 0 or step <= 0 or step > length:
        raise ValueError(
            f"need 0 < stride <= clip length (otherwise frames are skipped), got T={length}, "
            f"S={step}"
        )
    windows = []
    for start in range(0, num_frames, step):
        end = start + length
        if end >= num_frames:
            windows.append(range(max(0, num_frames - length), num_frames))
            break
        windows.append(range(start, end))
    return windows


def last_clip_of_frames(windows: list[range]) -> dict[int, int]:
    """frame -> index of the last window covering it (after which nothing needs the frame)."""
    last: dict[int, int] = {}
    for index, window in enumerate(windows):
        for frame in window:
            last[frame] = index
    return last
