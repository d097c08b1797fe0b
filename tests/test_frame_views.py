"""Per-frame tensors of one batch are put back together as that batch, without a copy."""

from __future__ import annotations

import torch

from vis_bench.methods.common.frames import stack_frame_views


def test_slices_of_one_batch_are_the_batch_itself():
    batch = torch.randn(4, 7, 8, 3)
    frames = [batch[i] for i in range(4)]
    stacked = stack_frame_views(frames)
    assert stacked.data_ptr() == batch.data_ptr()
    assert torch.equal(stacked, torch.stack(frames))


def test_channels_last_slices_keep_their_layout():
    batch = torch.randn(3, 5, 6, 4).contiguous(memory_format=torch.channels_last)
    stacked = stack_frame_views([batch[i] for i in range(3)])
    assert stacked.data_ptr() == batch.data_ptr() and stacked.stride() == batch.stride()
    assert torch.equal(stacked, batch)


def test_anything_else_is_copied():
    batch = torch.randn(4, 6, 5)
    for frames in (
        [batch[2], batch[3], batch[0]],  # out of order
        [batch[0], batch[2]],  # a gap
        [batch[0, :3], batch[1, :3]],  # slices that do not cover their frame
        [torch.randn(6, 5), torch.randn(6, 5)],  # two allocations
    ):
        stacked = stack_frame_views(frames)
        assert torch.equal(stacked, torch.stack(frames))
        assert stacked.data_ptr() != batch.data_ptr()
