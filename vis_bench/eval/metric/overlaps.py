"""Exact video intersections and unions of many (result track, GT track) pairs at once.

Intersection over a video = sum over frames of |d_t ∩ g_t|; union = sum of |d_t| + |g_t| - I
over the frames both lists have (Python `zip` truncation), minus the frames where both masks
exist with different sizes (the official RLE merge turns those into an empty 0x0 mask, so the
frame vanishes from I and U). All are exact integers held in float64.

The official code merges each pair frame by frame from Python (four pycocotools calls per pair
and frame). Here the frames that can intersect (same label, frame index and size: a "group")
are found with numpy, and all their intersections are counted in one call of the compiled
kernel (bulk_rle), which decodes every mask string once and merges the run lists of each
pair whose foreground spans overlap.

Without the kernel (not built, or a mask it will not take), the same intersections come from
one pycocotools `iou` call per batch (a video), which parses each mask string once per call
and merges in C only the pairs whose bounding boxes overlap. GT columns are flagged crowd, so
an entry is |d ∩ g| / |d|, and |d ∩ g| = rint(o * |d|) is exact (integers below 2^31
recovered from one correctly rounded double). Each group gets a fake mask width inside its
call, so the C code, which merges only masks of equal size, never merges masks of different
groups; run lengths, and so the results, do not depend on the stated width.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from itertools import chain, compress, repeat
from operator import itemgetter

import numpy as np

from vis_bench.eval.metric.unique import unique_sorted
from vis_bench.eval.rle import bulk_rle
from vis_bench.eval.rle.areas import pycocotools_areas
from vis_bench.eval.rle.count_lists import MARKER
from vis_bench.eval.rle.result_strings import ResultStrings

RLE = dict
# Largest IoU matrix (results x GT masks) one pycocotools call may return: 4M doubles, 32 MB.
_MAX_ENTRIES = 4_000_000
# pycocotools keeps mask widths as 32-bit unsigned ints when it computes bounding boxes.
_WIDTH_LIMIT = 2**32


@dataclass
class FrameTable:
    """The present frames of a list of tracks, flattened in track order, then frame order.

    `area` (pixels per present frame, float64) is the loader's numbers for GT; for results it
    is filled from the masks while their intersections are counted (`fill_area`).
    """

    lengths: np.ndarray  # int64 [tracks]: length of each track's frame list
    track: np.ndarray  # int64 [F]
    frame: np.ndarray  # int64 [F]
    height: np.ndarray  # int64 [F]
    width: np.ndarray  # int64 [F]
    segs: list  # [F] the RLE dicts (marker dicts where `strings` is given)
    area: np.ndarray | None = None
    # results located in their text (result_strings.py): frame i's mask string is number
    # source[i] there, and `segs` are marker dicts
    strings: ResultStrings | None = None
    source: np.ndarray | None = None
    # the frames' masks decoded before (while the files were read): frame i's is number
    # mask_index[i] of `predecoded`. GT count lists keep their runs; a results text's scan
    # keeps none, and its strings are decoded again from the text as they are intersected
    predecoded: bulk_rle.DecodedMasks | None = field(default=None, repr=False)
    mask_index: np.ndarray | None = field(default=None, repr=False)
    _decoded: bulk_rle.DecodedMasks | None = field(default=None, repr=False)
    _undecodable: bool = field(default=False, repr=False)

    def decoded(self, rows: np.ndarray | None = None) -> bulk_rle.DecodedMasks | None:
        """The frames' masks decoded by the compiled kernel with the runs of `rows` (default:
        all) kept, and `area` filled if missing; None where pycocotools has to do the work."""
        if self._undecodable:
            return None
        if self.predecoded is not None:
            # decoded while the files were read: rows via `mask_rows`
            if self.area is None:
                self.area = self.predecoded.area[self.mask_index]
            return self.predecoded
        if self._decoded is None or not self._decoded.keeps(slice(None) if rows is None else rows):
            keep = None
            if rows is not None:
                keep = np.zeros(len(self.segs), dtype=bool)
                keep[rows] = True
            if self.strings is None:
                self._decoded = bulk_rle.decode(self.segs, keep)
            else:
                self._decoded = self.strings.decode(self.source, self.height * self.width, keep)
            self._undecodable = self._decoded is None
        if self.area is None and self._decoded is not None:
            self.area = self._decoded.area
        return self._decoded

    def mask_rows(self, rows: np.ndarray) -> np.ndarray:
        """The indices, in what `decoded` returns, of the masks of table rows `rows`."""
        return rows if self.predecoded is None else self.mask_index[rows]

    def use_predecoded(self, masks: bulk_rle.DecodedMasks, index: np.ndarray) -> None:
        """Take frame i's mask as number index[i] of `masks`, decoded before."""
        self.predecoded, self.mask_index = masks, index

    def fill_area(self) -> None:
        """Fill `area` from the masks if the caller did not (parsing each mask once)."""
        if self.area is None and self.decoded(np.zeros(0, dtype=np.int64)) is None:
            self.area = pycocotools_areas(self.rle_segs())  # the kernel would not take them

    def rle_segs(self) -> list:
        """The frames as RLE dicts with their `counts` (pycocotools' input): marker dicts are
        restored from the text once, for the rare pycocotools path."""
        if self.strings is not None:
            self.segs = list(map(self.strings.restored, self.segs))
            self.strings = self.source = None
        return self.segs


def frame_table(tracks: list[list[RLE | None]], strings: ResultStrings | None = None) -> FrameTable:
    """Flatten tracks of RLE dicts (None where absent). Sizes must be integers (the loaders
    check them, and pycocotools, which takes nothing else, reads them for the areas). With
    `strings`, the dicts are marker dicts of a located results text (result_strings.py)."""
    columns = bulk_rle.frame_columns(tracks, strings is not None)
    if columns is not None:  # the kernel's one pass
        lengths, present, height, width, source, segs = columns
    else:
        lengths = np.fromiter(map(len, tracks), dtype=np.int64, count=len(tracks))
        flat = list(chain.from_iterable(tracks))
        is_present = list(map(operator.is_not, flat, repeat(None)))  # C-level loops throughout
        present = np.flatnonzero(np.array(is_present, dtype=bool))
        segs = list(compress(flat, is_present))
        sizes = list(map(itemgetter("size"), segs))
        height = np.fromiter(map(itemgetter(0), sizes), dtype=np.int64, count=len(sizes))
        width = np.fromiter(map(itemgetter(1), sizes), dtype=np.int64, count=len(sizes))
        source = None
        if strings is not None:
            source = np.fromiter(map(itemgetter(MARKER), segs), dtype=np.int64, count=len(segs))
    track = np.repeat(np.arange(len(tracks)), lengths)[present]
    table = FrameTable(
        lengths=lengths,
        track=track,
        frame=present - (np.cumsum(lengths) - lengths)[track],
        height=height,
        width=width,
        segs=segs,
        strings=strings,
        source=source,
    )
    if strings is not None and strings.scanned is not None:
        table.use_predecoded(strings.scanned, source)
    return table


def _area_before(frames: FrameTable, tracks: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Per (track, limit): total area of that track's present frames with index < limit."""
    span = int(max(frames.lengths.max(initial=0), limit.max(initial=0))) + 1
    key = frames.track * span + frames.frame  # sorted: track-major, then frame
    running = np.concatenate([[0.0], np.cumsum(frames.area)])  # exact: integers < 2**53
    upto = np.searchsorted(key, tracks * span + limit)
    start = np.searchsorted(key, tracks * span)
    return running[upto] - running[start]


def track_overlaps(
    d: FrameTable,
    g: FrameTable,
    d_label: np.ndarray,
    g_label: np.ndarray,
    d_batch: np.ndarray,
    pairs_d: np.ndarray,
    pairs_g: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (intersection, union) of the pairs (d track pairs_d[k], g track pairs_g[k]).

    Masks intersect only within a label (e.g. a (video, category) pair): list pairs of equal
    labels. `d_batch` groups labels into pycocotools calls (e.g. by video) and must not
    decrease as the label grows; GT masks join the call of their label.
    """
    both = bool(len(d.track) and len(g.track))
    codes = _size_codes(d, g) if both else None
    none = np.zeros(len(pairs_d))
    # first the intersections: their pass over the masks also gives the areas
    inter = (
        _intersections(d, g, codes, d_label, g_label, d_batch, pairs_d, pairs_g) if both else none
    )
    d.fill_area()
    g.fill_area()
    vanished = _vanished(d, g, codes, d_label, g_label, pairs_d, pairs_g) if both else none
    common = np.minimum(d.lengths[pairs_d], g.lengths[pairs_g])  # zip stops at the shorter
    union = _area_before(d, pairs_d, common) + _area_before(g, pairs_g, common)
    return inter, union - inter - vanished


def _size_codes(d: FrameTable, g: FrameTable) -> tuple[np.ndarray, np.ndarray, int]:
    """Small integer codes for the distinct (height, width) of the d and the g frames."""
    heights, h_code = np.unique(np.concatenate([d.height, g.height]), return_inverse=True)
    widths, w_code = np.unique(np.concatenate([d.width, g.width]), return_inverse=True)
    codes = h_code.ravel() * len(widths) + w_code.ravel()
    return codes[: len(d.track)], codes[len(d.track) :], len(heights) * len(widths)


def _label_frame(d: FrameTable, g: FrameTable, d_label: np.ndarray, g_label: np.ndarray):
    """(label, frame index) of every d and g frame as one int64 key each."""
    n_frames = int(max(d.frame.max(), g.frame.max())) + 1
    return d_label[d.track] * n_frames + d.frame, g_label[g.track] * n_frames + g.frame


@dataclass
class _Groups:
    """Frames with a partner, sorted by group key; group q owns d rows
    `d_rows[d_off[q]:d_off[q + 1]]`, likewise g rows, and entries `e_off[q]:e_off[q + 1]`
    (all its (d, g) combinations, d-major)."""

    d_rows: np.ndarray
    g_rows: np.ndarray
    d_off: np.ndarray
    g_off: np.ndarray
    e_off: np.ndarray
    entry_d: np.ndarray  # position in d_rows of each entry's d frame
    entry_g: np.ndarray


def _groups(d_key: np.ndarray, g_key: np.ndarray) -> _Groups:
    """Group the frames by key (one stable sort of both sides); keep groups with both a d
    and a g frame."""
    n_d = len(d_key)
    keys = np.concatenate([d_key, g_key])
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    group_of = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(keys)]))
    is_d = order < n_d
    count_d = np.bincount(group_of, weights=is_d, minlength=len(starts)).astype(np.int64)
    count_g = np.diff(np.r_[starts, len(keys)]) - count_d
    both = (count_d > 0) & (count_g > 0)
    keep = both[group_of]
    d_rows = order[keep & is_d]  # stable: d rows in flat order inside each group
    g_rows = order[keep & ~is_d] - n_d
    n_d, n_g = count_d[both], count_g[both]
    sizes = n_d * n_g
    group = np.repeat(np.arange(len(sizes)), sizes)
    local = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    d_off = np.concatenate([[0], np.cumsum(n_d)])
    g_off = np.concatenate([[0], np.cumsum(n_g)])
    return _Groups(
        d_rows=d_rows,
        g_rows=g_rows,
        d_off=d_off,
        g_off=g_off,
        e_off=np.concatenate([[0], np.cumsum(sizes)]),
        entry_d=d_off[group] + local // n_g[group],
        entry_g=g_off[group] + local % n_g[group],
    )


def _intersections(d, g, codes, d_label, g_label, d_batch, pairs_d, pairs_g) -> np.ndarray:
    """Per requested pair, the sum over frames of |d_t ∩ g_t| (same size frames only)."""
    inter = np.zeros(len(pairs_d))
    d_size, g_size, n_sizes = codes
    d_lf, g_lf = _label_frame(d, g, d_label, g_label)
    grp = _groups(d_lf * n_sizes + d_size, g_lf * n_sizes + g_size)
    if len(grp.d_off) == 1:
        return inter  # no frame of any d has a g of its group
    values = _entry_intersections(d, g, grp, d_batch)
    # Sum the frames of each requested pair (d track, g track).
    n_gt = int(g.track.max()) + 1
    pair_key = pairs_d * n_gt + pairs_g
    order = np.argsort(pair_key, kind="stable")
    entry_key = d.track[grp.d_rows[grp.entry_d]] * n_gt + g.track[grp.g_rows[grp.entry_g]]
    at = np.minimum(np.searchsorted(pair_key[order], entry_key), len(order) - 1)
    wanted = pair_key[order][at] == entry_key
    inter += np.bincount(order[at[wanted]], weights=values[wanted], minlength=len(pairs_d))
    return inter


def _entry_intersections(
    d: FrameTable, g: FrameTable, grp: _Groups, d_batch: np.ndarray
) -> np.ndarray:
    """|d ∩ g| of every group entry: merged from each side's runs decoded once (the compiled
    kernel), or from pycocotools `iou` calls where the kernel cannot take the masks."""
    d_rows, g_rows = grp.d_rows[grp.entry_d], grp.g_rows[grp.entry_g]
    d_masks = d.decoded(d_rows)
    g_masks = g.decoded(g_rows) if d_masks is not None else None
    if g_masks is None:
        d.fill_area()
        d.rle_segs()
        ratio = _crowd_ratios(d, g, grp, d_batch)
        return np.rint(ratio * d.area[d_rows])
    d_at, g_at = d.mask_rows(d_rows), g.mask_rows(g_rows)
    if not d_masks.keeps(d_at) and d.strings is not None:
        return d.strings.intersections(d_at, g_masks, g_at)  # scanned: runs from the text
    return bulk_rle.intersections(d_masks, d_at, g_masks, g_at)


def _crowd_ratios(d: FrameTable, g: FrameTable, grp: _Groups, d_batch: np.ndarray) -> np.ndarray:
    """|d ∩ g| / |d| of every group entry, from one pycocotools `iou` call per batch."""
    from pycocotools import mask as mask_utils  # here: only crowd tracks need it

    first = grp.d_rows[grp.d_off[:-1]]  # one frame per group: they share its size
    calls, sizes = _calls_and_sizes(d, grp, d_batch[d.track[first]], first)
    dm = _masks(d.segs, grp.d_rows, sizes, np.diff(grp.d_off))
    gm = _masks(g.segs, grp.g_rows, sizes, np.diff(grp.g_off))
    flat = []
    d_off, g_off = grp.d_off.tolist(), grp.g_off.tolist()
    for a, b in calls:
        d_lo, d_hi, g_lo, g_hi = d_off[a], d_off[b], g_off[a], g_off[b]
        o = mask_utils.iou(dm[d_lo:d_hi], gm[g_lo:g_hi], [1] * (g_hi - g_lo))
        flat.append(np.asarray(o, dtype=np.float64).ravel(order="F"))
    # Each call returned an [m, n] matrix in column-major order: entry (r, c) at r + c * m.
    starts, ends = (np.array(edges, dtype=np.int64) for edges in zip(*calls, strict=True))
    call_offset = np.concatenate([[0], np.cumsum([len(f) for f in flat])])
    call_of_group = np.repeat(np.arange(len(calls)), ends - starts)
    call = call_of_group[np.repeat(np.arange(len(first)), np.diff(grp.e_off))]  # per entry
    rows = grp.entry_d - grp.d_off[starts][call]
    cols = grp.entry_g - grp.g_off[starts][call]
    m = (grp.d_off[ends] - grp.d_off[starts])[call]
    return np.concatenate(flat)[call_offset[call] + rows + cols * m]


def _calls_and_sizes(d: FrameTable, grp: _Groups, group_batch: np.ndarray, first: np.ndarray):
    """The calls (ranges of groups) and each group's [height, fake width] inside its call.

    The fake widths w + k * stride (k = 1, 2, ... inside a call) keep masks of different groups
    apart; they must stay below pycocotools' 32-bit limit, which caps the groups per call.
    """
    heights, widths = d.height[first], d.width[first]
    stride = 1 << max(20, int(widths.max()).bit_length())
    most_groups = (_WIDTH_LIMIT - 1 - int(widths.max())) // stride - 1
    calls = list(_calls(group_batch, grp, max(most_groups, 1)))
    local = np.zeros(len(first), dtype=np.int64)
    for a, b in calls:
        local[a:b] = np.arange(b - a) + 1
    fake = widths + local * stride if most_groups >= 1 else widths  # one group a call: as is
    return calls, [[h, w] for h, w in zip(heights.tolist(), fake.tolist(), strict=True)]


def _calls(group_batch: np.ndarray, grp: _Groups, most_groups: int):
    """Ranges [a, b) of groups for one pycocotools call each: one batch at a time, split
    further when the call's IoU matrix would exceed _MAX_ENTRIES or it has too many groups."""
    d_off, g_off = grp.d_off, grp.g_off
    bounds = np.flatnonzero(np.r_[True, group_batch[1:] != group_batch[:-1], True])
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        if b - a <= most_groups and (d_off[b] - d_off[a]) * (g_off[b] - g_off[a]) <= _MAX_ENTRIES:
            yield a, b
            continue
        start = a
        for q in range(a + 1, b + 1):
            if (
                q == b
                or q - start == most_groups
                or (d_off[q + 1] - d_off[start]) * (g_off[q + 1] - g_off[start]) > _MAX_ENTRIES
            ):
                yield start, q
                start = q


def _masks(segs: list, rows: np.ndarray, sizes: list, per_group: np.ndarray) -> list[dict]:
    """RLE dicts for pycocotools: each frame's string with its group's (fake) size."""
    group_of = np.repeat(np.arange(len(sizes)), per_group).tolist()
    return [
        {"size": sizes[q], "counts": segs[r]["counts"]}
        for q, r in zip(group_of, rows.tolist(), strict=True)
    ]


def _vanished(d, g, codes, d_label, g_label, pairs_d, pairs_g) -> np.ndarray:
    """Per pair, |d_t| + |g_t| summed over frames where both exist with different sizes
    (malformed input: such frames drop out of the official I and U)."""
    out = np.zeros(len(pairs_d))
    d_size, g_size, n_sizes = codes
    if n_sizes == 1:
        return out  # one mask size throughout: the normal case
    d_lf, g_lf = _label_frame(d, g, d_label, g_label)
    label_frame = np.concatenate([d_lf, g_lf])
    combos = unique_sorted(label_frame * n_sizes + np.concatenate([d_size, g_size]))
    frames, n_kinds = np.unique(combos // n_sizes, return_counts=True)
    mixed = frames[n_kinds > 1]
    if len(mixed) == 0:
        return out  # every (label, frame) has a single mask size: the normal case
    pair_index = {
        (int(i), int(j)): k for k, (i, j) in enumerate(zip(pairs_d, pairs_g, strict=True))
    }
    d_sel = np.flatnonzero(np.isin(d_lf, mixed))
    g_sel = np.flatnonzero(np.isin(g_lf, mixed))
    for x in d_sel.tolist():
        for y in g_sel[g_lf[g_sel] == d_lf[x]].tolist():
            k = pair_index.get((int(d.track[x]), int(g.track[y])))
            if k is not None and d_size[x] != g_size[y]:
                out[k] += d.area[x] + g.area[y]
    return out
