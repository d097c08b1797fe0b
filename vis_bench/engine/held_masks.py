"""A video's held-back masks: in memory up to a budget, the older ones in a temporary file.

A query-track method's video predictions are decided at the video's end (engine/query_tracks.py),
so every frame's working-resolution masks of all N slots wait until then, and only the kept
slots' are finalised. Held in memory, they would grow with the video. Here the newest frames stay
in memory up to `memory_bytes`; older ones are written, exactly as they are, to an unnamed
temporary file (a `TensorSpill`, deleted when closed), up to `disk_bytes`; at the end only the
kept slots' planes
are read back, one read per (frame, slot). Only when both budgets are full is the oldest frame
handed back whole, for the caller to finalise every slot of it at once (the full cost for that
frame, the same results).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from vis_bench.api.tensor_spill import SpilledTensor, TensorSpill


@dataclass
class HeldFrame:
    """One frame's masks [N, h, w] in slot order: in memory (`masks`) or in the file
    (`spilled`), with the dtype to finalise them in."""

    frame: int
    dtype: torch.dtype
    threshold: float
    masks: torch.Tensor | None = None
    spilled: SpilledTensor | None = None

    @property
    def nbytes(self) -> int:
        if self.masks is not None:
            return self.masks.numel() * self.masks.element_size()
        assert self.spilled is not None
        return self.spilled.nbytes


class HeldMasks:
    """The held frames of one video, oldest first (see the module docstring)."""

    def __init__(self, memory_bytes: int, disk_bytes: int, device_bytes: int | None = None) -> None:
        """`device_bytes`: the in-memory budget where the masks are on an accelerator (its
        memory, not the host's; None: `memory_bytes` there too)."""
        self.memory_bytes = int(memory_bytes)
        self.host_bytes = self.memory_bytes
        self.device_bytes = None if device_bytes is None else int(device_bytes)
        self.disk_bytes = int(disk_bytes)
        self._frames: deque[HeldFrame] = deque()
        #: the frames still in memory, oldest first: always the newest of `_frames`
        self._resident: deque[HeldFrame] = deque()
        self._spill_file: TensorSpill | None = None
        self.in_memory = 0
        self.on_disk = 0
        #: frames written to the file, over the video
        self.frames_spilled = 0

    def __len__(self) -> int:
        return len(self._frames)

    def add(self, frame: int, masks: torch.Tensor, dtype: torch.dtype, threshold: float) -> None:
        """Hold a frame's masks; older in-memory frames go to the file past the memory budget."""
        held = HeldFrame(frame, dtype, threshold, masks=masks)
        on_device = masks.device.type != "cpu" and self.device_bytes is not None
        self.memory_bytes = self.device_bytes if on_device else self.host_bytes
        self._frames.append(held)
        self._resident.append(held)
        self.in_memory += held.nbytes
        while (
            self.in_memory > self.memory_bytes and self.disk_bytes > 0 and len(self._resident) > 1
        ):
            self._spill(self._resident.popleft())

    def over_budget(self) -> bool:
        """A budget is exceeded after `add` moved what it could to the file (the file is full,
        or one frame alone is larger than the memory budget): the caller finalises the oldest
        frame (`pop_oldest`) until it is not."""
        return bool(self._frames) and (
            self.on_disk > self.disk_bytes or self.in_memory > self.memory_bytes
        )

    def pop_oldest(self) -> tuple[HeldFrame, torch.Tensor]:
        """The oldest frame and all its slots' masks (read back if it was written out)."""
        held = self._frames.popleft()
        masks = held.masks if held.masks is not None else held.spilled.load()
        self._forget(held)
        return held, masks

    def drain(self, slots: Sequence[int]) -> Iterator[tuple[HeldFrame, dict[int, torch.Tensor]]]:
        """Every held frame, oldest first, with the masks of `slots` only; the store is empty
        (and its file closed) afterwards."""
        slots = list(slots)
        while self._frames:
            held = self._frames.popleft()
            if held.masks is not None:
                planes = {slot: held.masks[slot] for slot in slots}
            else:
                planes = {slot: held.spilled.load(slot) for slot in slots}
            self._forget(held)
            yield held, planes
        self.close()

    def close(self) -> None:
        if self._spill_file is not None:
            self._spill_file.close()
            self._spill_file = None

    def _spill(self, held: HeldFrame) -> None:
        assert held.masks is not None
        if self._spill_file is None:
            self._spill_file = TensorSpill()
        self.in_memory -= held.nbytes
        held.spilled, held.masks = self._spill_file.put(held.masks), None
        self.on_disk += held.nbytes
        self.frames_spilled += 1

    def _forget(self, held: HeldFrame) -> None:
        """`held`, just taken off the front of `_frames`, no longer counts."""
        if held.masks is not None:
            self._resident.popleft()  # the oldest frame in memory is the oldest of all
            self.in_memory -= held.nbytes
        else:
            self.on_disk -= held.nbytes
