"""Per-frame features computed once per video under overlapping clips.

A method with per-frame stages (vis_bench/api/per_frame.py) computes them with `frame_features` and the rest
of a clip with `infer_clip_features`. Under a near-online schedule (T=5 S=1: each frame in five
clips) the runner keeps each frame's features while a later clip of the schedule still covers
the frame, as the frame decoder keeps decoded frames, and computes only the frames a clip brings
that no earlier clip had. At most one window's features are held (plus the next clip's new
frames while they are computed), whatever the video's length. The clip's result is the one
`infer_clip` gives: each frame's per-frame stages do not depend on which frames share its batch
(tests/test_feature_reuse.py checks it bit for bit for every method that declares them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vis_bench.api.linking import gives_each_frame_once
from vis_bench.api.per_frame import has_per_frame_stages
from vis_bench.api.plugin import MethodPlugin
from vis_bench.engine.schedule import last_clip_of_frames


def can_reuse_features(plugin: MethodPlugin, enabled: bool) -> bool:
    """Whether a method's per-frame stages can be reused: asked for, declared, and the method is
    given frames more than once (one given each frame once, `gives_each_frame_once`, computes
    every frame once without a cache, and in the same batches with reuse on or off)."""
    linking = plugin.spec.linking
    return enabled and has_per_frame_stages(plugin) and not gives_each_frame_once(linking)


def reuses_features(plugin: MethodPlugin, windows: list[range], enabled: bool) -> bool:
    """Whether the runner reuses frames: it can (`can_reuse_features`) and some frame is in
    two clips."""
    return can_reuse_features(plugin, enabled) and len(windows) > 1


@dataclass
class ReuseCounts:
    """Frames whose per-frame stages ran, and frames the clips took (equal without reuse)."""

    frames_computed: int = 0
    clip_frames: int = 0
    #: the most frames' features held at once
    peak_frames_held: int = 0


class FrameFeatureCache:
    """One video's per-frame features, each computed once and dropped after its last clip."""

    def __init__(self, windows: list[range], counts: ReuseCounts | None = None) -> None:
        self.windows = windows
        self.counts = counts if counts is not None else ReuseCounts()
        self._last_clip = last_clip_of_frames(windows)
        self._held: dict[int, Any] = {}

    def missing(self, index: int) -> list[int]:
        """Positions in window `index` of the frames whose features are not held."""
        return [k for k, frame in enumerate(self.windows[index]) if frame not in self._held]

    def clip_features(self, index: int, compute: Callable[[list[int]], list[Any]]) -> list[Any]:
        """Features of clip `index`'s frames; `compute(positions)` gives those of the frames at
        these positions of the window that no earlier clip computed."""
        window = self.windows[index]
        missing = self.missing(index)
        if missing:
            computed = compute(missing)
            if len(computed) != len(missing):
                raise ValueError(
                    f"frame_features gave {len(computed)} entries for {len(missing)} frames"
                )
            for k, features in zip(missing, computed, strict=True):
                self._held[window[k]] = features
        self.counts.frames_computed += len(missing)
        self.counts.clip_frames += len(window)
        self.counts.peak_frames_held = max(self.counts.peak_frames_held, len(self._held))
        features = [self._held[frame] for frame in window]
        for frame in window:
            if self._last_clip[frame] == index:
                del self._held[frame]
        return features
