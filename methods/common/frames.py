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
    """[C, h, w] (or any) per-frame tensors -> [T, ...], channels-last when the slices were.

    Channels-last slices are stacked as `[h, w, C]` views, so the one copy writes the
    channels-last batch directly (not NCHW first and then converted).
    """
    first = frames[0]
    if first.dim() == 3 and first.shape[0] > 1 and first.stride(0) == 1:
        return torch.stack([f.permute(1, 2, 0) for f in frames]).permute(0, 3, 1, 2)
    return torch.stack(frames)
