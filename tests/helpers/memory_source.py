"""Frame sources held in memory, for runner and sweep tests that need no dataset on disk."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class MemoryVideo:
    id: int
    height: int
    width: int
    length: int


class MemorySource:
    """Videos of a bright square moving one pixel right per frame (picklable: a worker process
    gets its own copy)."""

    gt_path = None

    def __init__(self, lengths=(6, 9), size=(24, 32)):
        self._videos = [MemoryVideo(i + 1, size[0], size[1], n) for i, n in enumerate(lengths)]
        self.identity = {"kind": "memory", "videos": len(lengths), "lengths": list(lengths)}

    @property
    def dataset_id(self) -> str:
        return "mem-" + "-".join(str(n) for n in self.identity["lengths"])

    def label(self) -> str:
        return f"memory ({len(self._videos)} videos)"

    def videos(self):
        return self._videos

    def read_frames(self, video, indices):
        frames = np.zeros((len(indices), video.height, video.width, 3), np.uint8)
        for k, t in enumerate(indices):
            frames[k, 4:12, 2 + t : 10 + t] = 255
        return frames
