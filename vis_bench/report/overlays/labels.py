"""Where a panel's captions go: beside the object each names, over neither it nor another caption.

A caption laid over its own mask hides the very pixels a reader wants to judge, and captions
stacked on one another cannot be read at all (several predictions of one object sit on the same
box). Each caption in turn (the first placed first) takes the cheapest of a few spots around its
mask's bounding box (above, below, left, right, each aligned to either end, and inside the top
as a last resort), moved away from captions already placed where they collide; the cost counts
the mask pixels the caption would cover (its own object's twice, any object's outline more:
`OUTLINE_WEIGHT`) and the distance from the box.
A spot that overlaps a placed caption is taken only when no other spot is free.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: x, y (top left), width, height in panel pixels
Box = tuple[int, int, int, int]
#: what covering one outline pixel costs against one inner mask pixel: an object's outline is
#: what a reader judges its mask by
OUTLINE_WEIGHT = 4


@dataclass(frozen=True)
class LabelRequest:
    """One caption to place: the mask it names (bool [H, W]) and its size in pixels."""

    mask: np.ndarray
    width: int
    height: int


class _Area:
    """Pixel counts inside any rectangle in O(1), from a summed-area table."""

    def __init__(self, mask: np.ndarray):
        table = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1), dtype=np.int64)
        table[1:, 1:] = mask.astype(np.int64).cumsum(axis=0).cumsum(axis=1)
        self.table = table

    def count(self, box: Box) -> int:
        x, y, w, h = box
        t = self.table
        return int(t[y + h, x + w] - t[y, x + w] - t[y + h, x] + t[y, x])


def _bounds(mask: np.ndarray) -> Box | None:
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def union_empty(height: int, width: int) -> np.ndarray:
    return np.zeros((height, width), dtype=bool)


def _outline(mask: np.ndarray) -> np.ndarray:
    """The mask's pixels with a 4-neighbour outside it (the frame's border counts as outside)."""
    inner = np.pad(mask, 1)
    core = (
        inner[1:-1, 1:-1] & inner[:-2, 1:-1] & inner[2:, 1:-1] & inner[1:-1, :-2] & inner[1:-1, 2:]
    )
    return mask & ~core


def _overlap(a: Box, b: Box) -> int:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    dx = min(ax + aw, bx + bw) - max(ax, bx)
    dy = min(ay + ah, by + bh) - max(ay, by)
    return max(0, dx) * max(0, dy)


def _clamped(x: int, y: int, w: int, h: int, width: int, height: int) -> Box:
    return (
        int(np.clip(x, 0, max(0, width - w))),
        int(np.clip(y, 0, max(0, height - h))),
        min(w, width),
        min(h, height),
    )


def _spots(box: Box, w: int, h: int, gap: int = 1) -> list[tuple[int, int]]:
    """Candidate top-left corners around a bounding box, best first when costs tie."""
    x, y, bw, bh = box
    right = x + bw - w
    return [
        (x, y - h - gap),
        (right, y - h - gap),
        (x, y + bh + gap),
        (right, y + bh + gap),
        (x - w - gap, y),
        (x + bw + gap, y),
        (x - w - gap, y + bh - h),
        (x + bw + gap, y + bh - h),
        (x, y),
    ]


def _slid(spot: Box, placed: list[Box], height: int) -> list[Box]:
    """The spot moved up and down past the placed captions it collides with."""
    x, y, w, h = spot
    out = []
    for other in placed:
        if _overlap(spot, other):
            ox, oy, ow, oh = other
            for ny in (oy - h, oy + oh):
                if 0 <= ny <= height - h:
                    out.append((x, ny, w, h))
    return out


def place_labels(requests: list[LabelRequest], height: int, width: int) -> list[Box | None]:
    """A box per request (None for an empty mask), in the order given (see the module)."""
    masks = [r.mask for r in requests if r.mask.any()]
    union = _Area(np.logical_or.reduce(masks) if masks else np.zeros((height, width), bool))
    outlines = _Area(
        np.logical_or.reduce([_outline(m) for m in masks]) if masks else union_empty(height, width)
    )
    placed: list[Box] = []
    out: list[Box | None] = []
    for request in requests:
        box = _bounds(request.mask)
        if box is None:
            out.append(None)
            continue
        own = request.mask
        w, h = request.width, request.height
        spots = [_clamped(x, y, w, h, width, height) for x, y in _spots(box, w, h)]
        spots += [s for spot in spots for s in _slid(spot, placed, height)]
        best = min(
            enumerate(spots),
            key=lambda item: (
                sum(_overlap(item[1], p) for p in placed),
                union.count(item[1])
                + _pixels(own, item[1])
                + OUTLINE_WEIGHT * outlines.count(item[1])
                + _distance(item[1], box) // 4,
                item[0],
            ),
        )[1]
        placed.append(best)
        out.append(best)
    return out


def _pixels(mask: np.ndarray, box: Box) -> int:
    """The mask's pixels inside a box: one caption's few spots are cheaper counted directly than
    through a summed-area table of the whole panel per caption."""
    x, y, w, h = box
    return int(np.count_nonzero(mask[y : y + h, x : x + w]))


def _distance(spot: Box, box: Box) -> int:
    """Pixels between a caption and the box it names (0 when they touch or overlap)."""
    x, y, w, h = spot
    bx, by, bw, bh = box
    dx = max(0, bx - (x + w), x - (bx + bw))
    dy = max(0, by - (y + h), y - (by + bh))
    return int(dx + dy)
