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


def stack_frame_views(frames: list[torch.Tensor]) -> torch.Tensor:
    """`torch.stack(frames)`, as a view without a copy when the frames are consecutive slices
    of one batch (the frames of one `frame_features` call, as without feature reuse or with
    T = all): the batch itself. Only for tensors the clip reads and never writes in place."""
    if torch.compiler.is_compiling():
        return torch.stack(frames)  # storage pointers cannot be traced; the compiler fuses
    first = frames[0]
    step = first.numel()
    ptr, storage = first.data_ptr(), first.untyped_storage().data_ptr()
    consecutive = _dense(first) and all(
        f.shape == first.shape
        and f.stride() == first.stride()
        and f.dtype == first.dtype
        and f.untyped_storage().data_ptr() == storage
        and f.data_ptr() == ptr + i * step * first.element_size()
        for i, f in enumerate(frames)
    )
    if not consecutive:
        return torch.stack(frames)
    return first.as_strided(
        (len(frames), *first.shape), (step, *first.stride()), first.storage_offset()
    )


def _dense(t: torch.Tensor) -> bool:
    """Whether `t` covers exactly `t.numel()` consecutive elements (in some dimension order)."""
    expected = 1
    for dim in sorted(range(t.dim()), key=t.stride):
        if t.size(dim) != 1 and t.stride(dim) != expected:
            return False
        expected *= t.size(dim)
    return True
