"""GT masks the reader parsed from count lists, kept as the metric's decoder would give them.

The GT reader (loading.py) parses each uncompressed count list once; keeping the values lets
the metric read a GT track's runs instead of decoding the compressed strings just made of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vis_bench.eval.rle import bulk_rle


@dataclass
class ListedMasks:
    """GT frames read from count lists, kept as their runs (`count_lists.CountLists.runs`):
    `masks` holds list k's runs at index k and `pixels[k]` its pixel total (-1: none). The
    present frames of GT track i are lists `frame_lists[track_start[i]:][:track_count[i]]`;
    `track_count[i]` is -1 when a frame of the track was not a cut list (the metric then
    decodes the track's strings itself)."""

    masks: bulk_rle.DecodedMasks
    pixels: np.ndarray
    frame_lists: np.ndarray
    track_start: np.ndarray
    track_count: np.ndarray

    def restricted(self, keep: np.ndarray) -> ListedMasks:
        """The same masks for the tracks `keep` selects (a boolean mask over the tracks), in
        their order: what a GT restricted to some videos reads (eval/stats/subset.py)."""
        return ListedMasks(
            self.masks,
            self.pixels,
            self.frame_lists,
            self.track_start[keep],
            self.track_count[keep],
        )

    def frames_of(self, tracks: np.ndarray) -> np.ndarray | None:
        """The lists of the present frames of `tracks`, flattened in track then frame order (a
        frame table's rows), or None when a track has a frame that was not a cut list."""
        tracks = np.asarray(tracks, dtype=np.int64)
        counts = self.track_count[tracks]
        if (counts < 0).any():
            return None
        before = np.cumsum(counts) - counts
        at = np.arange(int(counts.sum())) + np.repeat(self.track_start[tracks] - before, counts)
        return self.frame_lists[at]
