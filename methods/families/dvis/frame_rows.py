"""A video's per-frame rows [Q, W] gathered clip by clip into a few chunk tensors.

DVIS++ offline keeps, for every frame of a video, the tracker's outputs and the segmenter's queries
until the refiner runs at the video's end. Kept as per-frame views of each clip's tensors, a long
video holds hundreds of small blocks scattered among the first pass's transient feature maps, and
the refiner then needs them stacked into one [T, Q, W] tensor: the video's queries twice at the
refiner's start, in resident memory the allocator does not give back. `FrameRows` copies each
clip's frames into chunks of about `CHUNK_BYTES` (a few allocations a video) and the refiner reads
and writes them where they are (`TemporalRefiner.last_output` takes either), so the queries are
held once, whatever the video's length.
"""

from __future__ import annotations

import torch

#: the bytes of one chunk (its frames: this over one frame's Q x W floats, at least one)
CHUNK_BYTES = 4 * 2**20


class FrameRows:
    """Frames [T, Q, W] stored as consecutive chunks; reads and writes of frame ranges and of
    track ranges over all frames, in the same order as on one stacked tensor."""

    def __init__(self, chunks: list[torch.Tensor] | None = None, frames: int = 0) -> None:
        self.chunks: list[torch.Tensor] = chunks if chunks is not None else []
        #: frames written so far (the last chunk may have room for more)
        self.frames = frames

    @classmethod
    def of(cls, stacked: torch.Tensor) -> FrameRows:
        """Rows over a stacked [T, Q, W] tensor itself (no copy)."""
        return cls([stacked], int(stacked.shape[0]))

    def __len__(self) -> int:
        return self.frames

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.frames, *self.chunks[0].shape[1:]) if self.chunks else (0,)

    def append(self, frames: torch.Tensor) -> None:
        """Copy a clip's frames [t, Q, W] in after the ones written so far."""
        done = 0
        while done < len(frames):
            room = self._room()
            if room == 0:
                per_frame = frames[0].numel() * frames.element_size()
                size = max(1, CHUNK_BYTES // max(per_frame, 1))
                self.chunks.append(frames.new_empty((size, *frames.shape[1:])))
                room = size
            take = min(room, len(frames) - done)
            start = self._filled_in_last()
            self.chunks[-1][start : start + take] = frames[done : done + take]
            done += take
            self.frames += take

    def copy_first(self, frames: int) -> FrameRows:
        """A new FrameRows holding copies of the first `frames` frames (copy on write: a state
        extended twice keeps each branch's own frames)."""
        rows = FrameRows()
        for part in self._parts(slice(0, frames)):
            rows.append(part)
        return rows

    def stacked(self) -> torch.Tensor:
        """All frames as one [T, Q, W] tensor (a copy unless they are one chunk's)."""
        return self.take(slice(0, self.frames))

    def take(self, frames: slice) -> torch.Tensor:
        """Frames [a:b] as [b - a, Q, W]: a view inside one chunk, else a copy."""
        parts = self._parts(frames)
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def put(self, frames: slice, value: torch.Tensor) -> None:
        """Write [b - a, Q, W] over frames [a:b]."""
        done = 0
        for part in self._parts(frames):
            part.copy_(value[done : done + len(part)])
            done += len(part)

    def tracks(self, picked: slice | torch.Tensor) -> torch.Tensor:
        """Every frame of some tracks, [T, q, W] (a slice or an index tensor of tracks)."""
        parts = [part[:, picked] for part in self._parts(slice(0, self.frames))]
        return parts[0].contiguous() if len(parts) == 1 else torch.cat(parts)

    def put_tracks(self, picked: slice, value: torch.Tensor) -> None:
        """Write [T, q, W] over every frame of the tracks `picked`."""
        done = 0
        for part in self._parts(slice(0, self.frames)):
            part[:, picked] = value[done : done + len(part)]
            done += len(part)

    def _room(self) -> int:
        if not self.chunks:
            return 0
        return int(self.chunks[-1].shape[0]) - self._filled_in_last()

    def _filled_in_last(self) -> int:
        before = sum(int(chunk.shape[0]) for chunk in self.chunks[:-1])
        return self.frames - before

    def _parts(self, frames: slice) -> list[torch.Tensor]:
        """Views of the chunks covering frames [a:b], in order."""
        start, stop = (
            frames.start or 0,
            min(self.frames if frames.stop is None else frames.stop, self.frames),
        )
        parts, offset = [], 0
        for chunk in self.chunks:
            size = int(chunk.shape[0])
            lo, hi = max(start, offset), min(stop, offset + size)
            if lo < hi:
                parts.append(chunk[lo - offset : hi - offset])
            offset += size
            if offset >= stop:
                break
        return parts


def as_rows(frames: torch.Tensor | FrameRows) -> FrameRows:
    """`frames` as FrameRows (a stacked tensor: rows over it, no copy)."""
    return FrameRows.of(frames) if torch.is_tensor(frames) else frames
