"""SAM 3's hotstart bookkeeping (forward in time): per masklet its first frame, the frames it
went unmatched, a keep-alive counter, and how often a later masklet shared a detection with an
earlier one; masklets born within the last `delay` frames are removed once unmatched, or
duplicated, on enough frames."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class HotstartSettings:
    """The released values (`model_builder.py`); the fixture's scaled case overrides some."""

    hotstart_delay: int = 15
    hotstart_unmatch_thresh: int = 8
    hotstart_dup_thresh: int = 8
    init_trk_keep_alive: int = 30
    max_trk_keep_alive: int = 30
    min_trk_keep_alive: int = -1
    suppress_unmatched_only_within_hotstart: bool = True
    decrease_trk_keep_alive_for_empty_masklets: bool = False

    @classmethod
    def named_in(cls, values: Mapping[str, Any]) -> HotstartSettings:
        """The settings `values` names (options, a fixture's overrides); the others keep the
        released value, and entries that name no setting are not read."""
        known = cls.__dataclass_fields__
        return cls(**{name: value for name, value in values.items() if name in known})


@dataclass
class HotstartState:
    """The bookkeeping of one prompt's pass over a video."""

    settings: HotstartSettings = field(default_factory=HotstartSettings)
    first_frame: dict[int, int] = field(default_factory=dict)
    unmatched_frames: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    keep_alive: dict[int, int] = field(default_factory=dict)
    overlap_frames: dict[tuple[int, int], list[int]] = field(
        default_factory=lambda: defaultdict(list)
    )
    removed: set[int] = field(default_factory=set)
    #: frame -> masklets hidden on it for lack of matches (keep-alive <= 0), when enabled
    suppressed: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))

    def update(
        self,
        frame: int,
        new_ids: list[int],
        matched_tracks: dict[int, list[int]],
        unmatched: list[int],
        empty: list[int],
    ) -> set[int]:
        """One frame's association outcome -> the masklets newly removed on it."""
        s = self.settings
        for obj in new_ids:
            self.first_frame.setdefault(obj, frame)
            self.keep_alive[obj] = s.init_trk_keep_alive
        for obj in {t for ids in matched_tracks.values() for t in ids}:
            self.keep_alive[obj] = min(s.max_trk_keep_alive, self.keep_alive[obj] + 1)
        for obj in unmatched:
            self.unmatched_frames[obj].append(frame)
            self.keep_alive[obj] = max(s.min_trk_keep_alive, self.keep_alive[obj] - 1)
        if s.decrease_trk_keep_alive_for_empty_masklets:
            for obj in empty:
                self.keep_alive[obj] = max(s.min_trk_keep_alive, self.keep_alive[obj] - 1)

        horizon = frame - s.hotstart_delay
        removed: set[int] = set()
        for obj, frames in self.unmatched_frames.items():
            if obj in self.removed or obj in removed:
                continue
            if len(frames) >= s.hotstart_unmatch_thresh and self.first_frame[obj] > horizon:
                removed.add(obj)
            if (
                self.keep_alive[obj] <= 0
                and not s.suppress_unmatched_only_within_hotstart
                and obj not in removed
            ):
                self.suppressed[frame].add(obj)

        for ids in matched_tracks.values():
            if len(ids) < 2:
                continue
            earliest = min(ids, key=lambda t: self.first_frame[t])
            for obj in ids:
                if obj != earliest:
                    self.overlap_frames[(earliest, obj)].append(frame)
        for (_, obj), frames in self.overlap_frames.items():
            if obj in self.removed or obj in removed:
                continue
            if self.first_frame[obj] > horizon and len(frames) >= s.hotstart_dup_thresh:
                removed.add(obj)
        self.removed |= removed
        return removed
