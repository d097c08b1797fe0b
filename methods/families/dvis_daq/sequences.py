"""A video's instance sequences as DVIS-DAQ's tracker keeps them (`VideoInstanceSequence`).

Each sequence is born on the frame its anchor query is first valid and carried by its track
query from then on. What the next frame reads of it: its last output (the track query) and its
similarity-guided position embedding (the track's query position). What the video's results
read: its per-frame class logits and last-layer outputs (masks are made from those), over every
frame it exists, valid or kept while invalid. Memory per sequence and frame is a few vectors;
the per-frame masks the authors store are made again from the outputs when needed.

Sequence ids: the authors draw each anchor's id with Python's `random.randint(0, 100000)` (one
draw per anchor and frame, valid or not), used only as the key of their sequence dict. That
dict keeps birth order, tracks keep their order from frame to frame, and the results name
sequences by their index (online) — so the ids never reach a result; here a sequence's id is
its birth index.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

#: raw position embeddings a sequence's fusion compares with (the authors' `maximum_chache`,
#: 10, counting the newest one itself)
POSITION_MEMORY = 10


@dataclass
class InstanceSequence:
    """One sequence: born on frame `start`, carried while valid or invalid for fewer than the
    kick-out count of frames in a row."""

    index: int
    start: int
    query: torch.Tensor
    fused_position: torch.Tensor | None = None
    recent_positions: list[torch.Tensor] = field(default_factory=list)
    logits: list[torch.Tensor] = field(default_factory=list)
    outputs: list[torch.Tensor] = field(default_factory=list)
    appearance: list[bool] = field(default_factory=list)
    invalid_frames: int = 0
    dead: bool = False

    @property
    def num_frames(self) -> int:
        """Frames it exists on, valid or not."""
        return len(self.logits)

    def append(self, output: torch.Tensor, logits: torch.Tensor, valid: bool) -> None:
        """A frame's last-layer output [C] and class logits [K+1]."""
        self.query = output
        self.outputs.append(output)
        self.logits.append(logits)
        self.appearance.append(valid)

    def update_position(self, position: torch.Tensor) -> None:
        """Similarity-guided fusion: beta = max(0, mean cosine of the new raw position to the
        previous ones kept), fused = (1 - beta) fused + beta new."""
        self.recent_positions.append(position)
        if self.fused_position is None:
            self.fused_position = position
        else:
            previous = torch.stack(self.recent_positions[:-1])
            similarity = (F.normalize(previous, dim=-1) @ F.normalize(position, dim=-1)).sum()
            beta = (similarity / previous.shape[0]).clamp(min=0)
            self.fused_position = (1 - beta) * self.fused_position + beta * position
        del self.recent_positions[: -(POSITION_MEMORY - 1)]


@dataclass
class SequenceHub:
    """A video's sequences in birth order and its current tracks (indices, in track order)."""

    sequences: list[InstanceSequence] = field(default_factory=list)
    tracks: list[int] = field(default_factory=list)
    frames: int = 0

    def track_queries(self) -> list[InstanceSequence]:
        return [self.sequences[i] for i in self.tracks]
