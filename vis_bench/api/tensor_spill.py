"""Tensors kept on disk instead of in memory, for data that must be held over a whole video.

Whatever needs something of every frame again at the video's end (the harness: a query-track
method's held-back masks, engine/held_masks.py; a method: each frame's features, read again for
its masks once the whole video is decided) either holds it in memory, which grows with the video without bound, or
makes it again, which costs a second pass of the network. A spill
writes each tensor once to an anonymous temporary file, keeps only a small handle per tensor,
and reads it back when asked: the process's memory stays flat in the video's length, the
tensors come back bit for bit, and reading a frame's features costs far less than computing
them again.

The file lives in Python's temporary folder (`TMPDIR`, else /tmp). It has no name on disk and
goes with the spill: when the last handle is dropped (or the process ends) the operating system
frees its space. Where /tmp is a RAM disk (tmpfs), set `TMPDIR` to a folder on a disk, or the
spill takes memory after all.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import torch


class SpillError(RuntimeError):
    """A spill could not be written or read (the message names the folder and the fix)."""


class TensorSpill:
    """An append-only temporary file of tensors; `put` returns the handle to `get` it back."""

    def __init__(self, directory: str | None = None, fallback: str = "") -> None:
        """`fallback`: what the user can do instead of spilling, added to an error's advice."""
        self.directory = directory or tempfile.gettempdir()
        self.fallback = fallback
        try:
            self._file = tempfile.TemporaryFile(dir=self.directory)
        except OSError as error:
            raise SpillError(self._advice(f"cannot make a temporary file: {error}")) from None
        self._end = 0

    def put(self, tensor: torch.Tensor) -> SpilledTensor:
        """Write a tensor (any dtype, any device) and return its handle."""
        flat = tensor.detach().to("cpu").contiguous().reshape(-1)
        data = flat.view(torch.uint8).numpy()
        offset = self._end
        try:
            written = os.pwrite(self._file.fileno(), data, offset)
        except OSError as error:
            raise SpillError(self._advice(f"cannot write {data.nbytes} bytes: {error}")) from None
        if written != data.nbytes:
            raise SpillError(self._advice(f"wrote {written} of {data.nbytes} bytes"))
        self._end += data.nbytes
        shape = tuple(tensor.shape)
        return SpilledTensor(self, offset, shape, tensor.dtype, data.nbytes, tensor.device)

    def get(self, handle: SpilledTensor, row: int | None = None) -> torch.Tensor:
        """The tensor a handle names, or its `row` along the first dimension, read into new
        memory on the device it was written from (an accelerator's tensor goes back there, so
        what reads it works where it would have worked had it never left)."""
        shape, offset, count = handle.shape, handle.offset, handle.nbytes
        if row is not None:
            count //= handle.shape[0]
            shape, offset = shape[1:], offset + row * count
        buffer = torch.empty(count, dtype=torch.uint8)
        read = os.preadv(self._file.fileno(), [buffer.numpy()], offset)
        if read != count:
            raise SpillError(self._advice(f"read {read} of {count} bytes"))
        return buffer.view(handle.dtype).reshape(shape).to(handle.device)

    @property
    def nbytes(self) -> int:
        """Bytes written so far (the file's size)."""
        return self._end

    def close(self) -> None:
        """Free the file now rather than when the last handle goes."""
        self._file.close()

    def _advice(self, what: str) -> str:
        instead = f" ({self.fallback})" if self.fallback else ""
        return (
            f"spilling tensors to a temporary file in {self.directory}: {what}; free space "
            f"there or set TMPDIR to a folder with room{instead}"
        )


@dataclass(frozen=True)
class SpilledTensor:
    """Where one tensor lies in its spill; `load` reads it back."""

    spill: TensorSpill
    offset: int
    shape: tuple[int, ...]
    dtype: torch.dtype
    nbytes: int
    #: where the tensor was when written, and where `load` puts it back
    device: torch.device = torch.device("cpu")

    def load(self, row: int | None = None) -> torch.Tensor:
        """The whole tensor, or its `row` along the first dimension."""
        return self.spill.get(self, row)
