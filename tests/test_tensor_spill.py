"""Tensors spilled to a temporary file come back bit for bit, and a spill that cannot be made
says where and what to do."""

from __future__ import annotations

import pytest
import torch

from vis_bench.api.tensor_spill import SpillError, TensorSpill


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.int64])
def test_tensors_come_back_bit_for_bit_in_their_shape_and_dtype(dtype):
    spill = TensorSpill()
    torch.manual_seed(0)
    tensors = [(torch.randn(3, 5, 7) * 100).to(dtype), torch.zeros(0, dtype=dtype)]
    tensors.append(torch.randn(4, 6).to(dtype).t())  # not contiguous
    handles = [spill.put(t) for t in tensors]
    assert spill.nbytes == sum(t.numel() * t.element_size() for t in tensors)
    for handle, tensor in zip(reversed(handles), reversed(tensors), strict=True):
        back = handle.load()
        assert back.dtype == dtype and back.shape == tensor.shape
        assert torch.equal(back, tensor)
    spill.close()


def test_a_spill_in_a_missing_folder_names_it_and_the_fix(tmp_path):
    missing = tmp_path / "not-there"
    with pytest.raises(SpillError, match="not-there.*set TMPDIR"):
        TensorSpill(str(missing))


def test_a_failed_write_names_the_folder_and_the_fix(tmp_path, monkeypatch):
    spill = TensorSpill(str(tmp_path), fallback="or keep_mask_features: no")

    def full(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.pwrite", full)
    with pytest.raises(SpillError, match=f"{tmp_path}.*No space left.*keep_mask_features: no"):
        spill.put(torch.ones(4))
