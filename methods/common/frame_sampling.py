"""How detectron2-based VIS methods draw a training clip's frames (their YTVIS dataset mapper).

IFC and the Mask2Former family share the mapper: a reference frame, plus frames drawn with
replacement from the `SAMPLING_FRAME_RANGE` frames on either side of it (the reference excluded),
sorted. Only the number of frames differs (INPUT.SAMPLING_FRAME_NUM, the training config's
`clip.frames`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: INPUT.SAMPLING_FRAME_RANGE of the authors' configs
SAMPLING_RANGE = 20


@dataclass(frozen=True)
class WindowFrameSampler:
    """The authors' YTVIS dataset mapper: the reference frame plus frames drawn with
    replacement from +-`sampling_range` frames around it."""

    sampling_range: int = SAMPLING_RANGE

    def __call__(
        self, rng: np.random.Generator, length: int, num_frames: int, reference: int
    ) -> list[int]:
        start, stop = (
            max(0, reference - self.sampling_range),
            min(length, reference + self.sampling_range + 1),
        )
        window = [t for t in range(start, stop) if t != reference]
        others = (
            rng.choice(window, num_frames - 1).tolist()
            if window
            else [reference] * (num_frames - 1)
        )
        return sorted([*others, reference])


@dataclass(frozen=True)
class ConsecutiveFrameSampler:
    """The same mapper when SAMPLING_FRAME_RANGE * 2 + 1 == SAMPLING_FRAME_NUM (DVIS++'s
    configs): a run of consecutive frames at a random start, reversed half of the time with
    REVERSE_AGU (the offline model's), whatever the reference frame. A video shorter than the
    clip gives all its frames and random repeats; the authors' code means to sort them (its
    `sorted` result is discarded) and they are sorted here."""

    reverse: bool = False

    def __call__(
        self, rng: np.random.Generator, length: int, num_frames: int, reference: int
    ) -> list[int]:
        if num_frames > length:
            extra = rng.choice(length, num_frames - length).tolist()
            indices = sorted([*range(length), *extra])
        else:
            # random.randrange(length - num_frames): the last possible start is never drawn
            start = int(rng.integers(length - num_frames)) if length > num_frames else 0
            indices = list(range(start, start + num_frames))
        if self.reverse and rng.random() < 0.5:
            indices = indices[::-1]
        return indices
