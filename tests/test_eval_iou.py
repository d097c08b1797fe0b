"""Video IoU: exact integer sums over frames, with the official truncation and size quirks."""

from __future__ import annotations

import numpy as np
import pytest

import vis_bench.eval.metric.overlaps as overlaps_module
from vis_bench.eval.metric.iou import video_overlaps
from vis_bench.eval.rle import areas
from vis_bench.formats import rle


def _random_mask(rng, shape, kind):
    if kind == "empty":
        return np.zeros(shape, np.uint8)
    if kind == "noise":  # fragmented: many runs per column, bbox far from tight
        return (rng.random(shape) > 0.7).astype(np.uint8)
    h, w = shape
    yy, xx = np.mgrid[:h, :w]
    cy, cx = rng.uniform(0, h), rng.uniform(0, w)
    ry, rx = rng.uniform(2, h / 2), rng.uniform(2, w / 2)
    return (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1).astype(np.uint8)


def _random_track(rng, n_frames, shape, p_absent=0.25, odd_shape=None):
    masks = []
    for _ in range(n_frames):
        if rng.random() < p_absent:
            masks.append(None)
            continue
        use = odd_shape if odd_shape is not None and rng.random() < 0.3 else shape
        masks.append(_random_mask(rng, use, rng.choice(["blob", "blob", "noise", "empty"])))
    return masks


def _brute_force(d_masks, g_masks):
    """The official loop, with numpy masks: zip-truncated, different sizes vanish."""
    inter = union = 0
    for d, g in zip(d_masks, g_masks, strict=False):
        if d is not None and g is not None:
            if d.shape != g.shape:
                continue
            inter += int((d & g).sum())
            union += int((d | g).sum())
        elif g is not None:
            union += int(g.sum())
        elif d is not None:
            union += int(d.sum())
    return inter, union


def _as_rles(track):
    return [None if m is None else rle.encode(m) for m in track]


@pytest.mark.parametrize("seed", range(6))
def test_overlaps_equal_brute_force_with_quirks(seed):
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(5, 30)), int(rng.integers(5, 30)))
    odd = (shape[0] + 1, shape[1]) if seed % 2 else None
    d = [_random_track(rng, int(rng.integers(3, 9)), shape, odd_shape=odd) for _ in range(4)]
    g = [_random_track(rng, int(rng.integers(3, 9)), shape, odd_shape=odd) for _ in range(3)]
    d_rles, g_rles = [_as_rles(t) for t in d], [_as_rles(t) for t in g]
    inter, union = video_overlaps(
        d_rles, g_rles, areas.track_areas(d_rles), areas.track_areas(g_rles)
    )
    for i in range(len(d)):
        for j in range(len(g)):
            assert (inter[i, j], union[i, j]) == _brute_force(d[i], g[j]), (i, j)


def test_frames_past_the_shorter_list_count_for_nothing():
    full = np.ones((4, 4), np.uint8)
    d = [_as_rles([full])]  # one frame
    g = [_as_rles([full, full, full])]  # GT continues: not penalised (zip truncation)
    inter, union = video_overlaps(d, g, areas.track_areas(d), areas.track_areas(g))
    assert (inter[0, 0], union[0, 0]) == (16, 16)


def test_mismatched_size_frame_vanishes_from_union():
    a = np.ones((4, 4), np.uint8)
    b = np.ones((4, 5), np.uint8)
    d = [_as_rles([b, a])]
    g = [_as_rles([a, a])]
    inter, union = video_overlaps(d, g, areas.track_areas(d), areas.track_areas(g))
    assert (inter[0, 0], union[0, 0]) == (16, 16)  # frame 0 adds neither |d| nor |g|


def test_large_videos_are_split_by_frames_with_identical_sums(monkeypatch):
    rng = np.random.default_rng(7)
    shape = (12, 10)
    d = [_as_rles(_random_track(rng, 9, shape)) for _ in range(5)]
    g = [_as_rles(_random_track(rng, 9, shape)) for _ in range(4)]
    args = (d, g, areas.track_areas(d), areas.track_areas(g))
    whole = video_overlaps(*args)
    monkeypatch.setattr(overlaps_module, "_MAX_ENTRIES", 6)  # forces many frame chunks
    chunked = video_overlaps(*args)
    np.testing.assert_array_equal(whole[0], chunked[0])
    np.testing.assert_array_equal(whole[1], chunked[1])


@pytest.mark.parametrize(
    "max_entries, width_limit",
    [(4_000_000, 2**32), (6, 2**32), (10**6, 2**22), (10**6, 2**21)],
)
def test_track_overlaps_over_labels_and_batches(monkeypatch, max_entries, width_limit):
    # Several labels (video, category pairs) in two batches (videos); small limits force
    # calls split by matrix size and by the number of fake widths one call can hold.
    monkeypatch.setattr(overlaps_module, "_MAX_ENTRIES", max_entries)
    monkeypatch.setattr(overlaps_module, "_WIDTH_LIMIT", width_limit)
    rng = np.random.default_rng(11)
    shape = (9, 11)
    d = [_random_track(rng, int(rng.integers(2, 7)), shape, odd_shape=(9, 12)) for _ in range(9)]
    g = [_random_track(rng, int(rng.integers(2, 7)), shape, odd_shape=(9, 12)) for _ in range(6)]
    d_label = np.array([0, 0, 1, 1, 1, 2, 3, 3, 3])
    g_label = np.array([0, 1, 1, 2, 3, 3])
    batch = d_label // 2  # labels 0, 1 -> call 0; labels 2, 3 -> call 1
    pairs = [(i, j) for i in range(len(d)) for j in range(len(g)) if d_label[i] == g_label[j]]
    pairs_d = np.array([i for i, _ in pairs])
    pairs_g = np.array([j for _, j in pairs])
    d_frames = overlaps_module.frame_table([_as_rles(t) for t in d])
    g_frames = overlaps_module.frame_table([_as_rles(t) for t in g])
    d_frames.area = areas.mask_areas(d_frames.segs)
    g_frames.area = areas.mask_areas(g_frames.segs)
    inter, union = overlaps_module.track_overlaps(
        d_frames, g_frames, d_label, g_label, batch, pairs_d, pairs_g
    )
    for k, (i, j) in enumerate(pairs):
        assert (inter[k], union[k]) == _brute_force(d[i], g[j]), (i, j)
