"""Per-frame features put back together into a clip, in the layout the batched forward had.

A method's `frame_features` returns one entry per frame (slices of a batched forward); the rest
of its clip stacks them again. `torch.stack` always writes NCHW, while the fast paths hand
channels-last maps on: a convolution on the other layout runs another kernel, whose float
rounding differs. `stack_frames` restores the layout the slices came from, so a clip built from
per-frame features computes exactly what the batched forward computed.
"""

from __future__ import annotations

import torch


def stack_frames(frames: list[torch.Tensor]) -> torch.Tensor:
    """[C, h, w] (or any) per-frame tensors -> [T, ...], channels-last when the slices were."""
    stacked = torch.stack(frames)
    first = frames[0]
    if first.dim() == 3 and first.shape[0] > 1 and first.stride(0) == 1:
        return stacked.contiguous(memory_format=torch.channels_last)
    return stacked
