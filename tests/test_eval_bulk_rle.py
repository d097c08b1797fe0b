"""The compiled RLE kernel decodes and intersects masks exactly as pycocotools does, and hands
malformed masks back to pycocotools instead of guessing."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from tests.helpers.rle_kernel import require_rle_kernel
from vis_bench.eval.rle import areas, bulk_rle
from vis_bench.formats import rle


@pytest.fixture(autouse=True)
def kernel_on(monkeypatch):
    """Skip without a C compiler, fail on a broken build; and test the kernel even when the
    environment turned it off."""
    require_rle_kernel()
    monkeypatch.setenv("VIS_BENCH_RLE_KERNEL", "1")


def _random_masks(rng: np.random.Generator, n: int, shape: tuple[int, int]) -> list[np.ndarray]:
    masks = []
    for k in range(n):
        kind = k % 4
        if kind == 0:
            m = rng.random(shape) < rng.uniform(0.05, 0.95)  # noisy: many short runs
        elif kind == 1:
            m = np.zeros(shape, dtype=bool)
            y, x = rng.integers(0, shape[0]), rng.integers(0, shape[1])
            m[y : y + int(rng.integers(1, 40)), x : x + int(rng.integers(1, 40))] = True
        elif kind == 2:
            m = np.zeros(shape, dtype=bool) if k % 8 == 2 else np.ones(shape, dtype=bool)
        else:
            m = np.zeros(shape, dtype=bool)
            m[-1, -1] = True  # a lone last pixel
        masks.append(m.astype(np.uint8))
    return masks


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (48, 64), (300, 2)])
def test_decode_gives_the_runs_and_areas_of_pycocotools(shape):
    rng = np.random.default_rng(sum(shape))
    masks = _random_masks(rng, 24, shape)
    segs = [rle.encode(m) for m in masks]
    segs[1] = {**segs[1], "counts": segs[1]["counts"].encode()}  # bytes are read too
    decoded = bulk_rle.decode(segs)
    assert decoded is not None and len(decoded) == len(segs)
    for i, (m, seg) in enumerate(zip(masks, segs, strict=True)):
        runs = decoded.counts[decoded.offsets[i] : decoded.offsets[i + 1]]
        assert runs.tolist() == rle.encode_uncompressed(m)["counts"]
        assert decoded.area[i] == float(mask_utils.area(rle.to_compressed(seg))) == m.sum()
        pixels = np.flatnonzero(m.ravel(order="F"))
        if len(pixels):
            assert (decoded.first[i], decoded.end[i]) == (pixels[0], pixels[-1] + 1)
        else:
            assert (decoded.first[i], decoded.end[i]) == (0, 0)


def test_intersections_are_exact_pixel_counts():
    rng = np.random.default_rng(3)
    shape = (37, 29)
    a_masks, b_masks = _random_masks(rng, 30, shape), _random_masks(rng, 20, shape)
    a = bulk_rle.decode([rle.encode(m) for m in a_masks])
    b = bulk_rle.decode([rle.encode(m) for m in b_masks])
    a_rows = np.repeat(np.arange(30), 20)
    b_rows = np.tile(np.arange(20), 30)
    got = bulk_rle.intersections(a, a_rows, b, b_rows)
    want = [int((a_masks[i] & b_masks[j]).sum()) for i, j in zip(a_rows, b_rows, strict=True)]
    assert got.tolist() == want


def test_intersections_check_their_rows():
    a = bulk_rle.decode([rle.encode(np.ones((2, 2), dtype=np.uint8))])
    with pytest.raises(IndexError):
        bulk_rle.intersections(a, np.array([1]), a, np.array([0]))
    assert bulk_rle.intersections(a, np.array([], dtype=np.int64), a, np.array([])).shape == (0,)


@pytest.mark.parametrize(
    "bad",
    [
        {"size": [2, 3], "counts": "13"},  # runs of 1 + 3 pixels in a 6-pixel frame
        {"size": [2, 2], "counts": "05"},  # 0 + 5 pixels in a 4-pixel frame
        {"size": [2, 2], "counts": "0 4"},  # a character outside the format
        {"size": [2, 2], "counts": "0\x004"},  # an embedded NUL
        {"size": [2, 2], "counts": "0P"},  # ends inside a count (0x20 set on the last char)
        {"size": [2, 2], "counts": ""},  # no runs at all
        {"size": [2, 2], "counts": [0, 4]},  # uncompressed: not the kernel's input
        {"size": [2], "counts": "04"},
        {"size": ["2", 2], "counts": "04"},
        {"counts": "04"},
    ],
)
def test_malformed_masks_are_left_to_pycocotools(bad):
    good = rle.encode(np.ones((2, 2), dtype=np.uint8))
    assert bulk_rle.decode([good, bad]) is None
    assert bulk_rle.decode([good]) is not None


def test_the_kernel_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("VIS_BENCH_RLE_KERNEL", "0")
    assert not bulk_rle.available()
    assert bulk_rle.decode([rle.encode(np.ones((2, 2), dtype=np.uint8))]) is None
    # the areas still come, from pycocotools
    assert areas.mask_areas([rle.encode(np.ones((2, 2), dtype=np.uint8))]).tolist() == [4.0]


def test_masks_not_kept_still_give_areas_and_refuse_intersections():
    rng = np.random.default_rng(5)
    masks = _random_masks(rng, 12, (9, 11))
    segs = [rle.encode(m) for m in masks]
    keep = np.zeros(12, dtype=bool)
    keep[[1, 4, 7]] = True
    part = bulk_rle.decode(segs, keep)
    whole = bulk_rle.decode(segs)
    np.testing.assert_array_equal(part.area, [m.sum() for m in masks])
    np.testing.assert_array_equal(part.first, whole.first)
    rows = np.array([1, 4, 7, 7])
    others = np.array([0, 3, 11, 7])
    np.testing.assert_array_equal(
        bulk_rle.intersections(part, rows, whole, others),
        [int((masks[i] & masks[j]).sum()) for i, j in zip(rows, others, strict=True)],
    )
    with pytest.raises(ValueError, match="not kept"):
        bulk_rle.intersections(part, np.array([2]), whole, np.array([2]))


class _Dict(dict):
    pass


@pytest.mark.parametrize(
    "segs, plain",
    [
        ([None, {"size": [2, 2], "counts": "04"}], True),
        ([], True),
        ([{"size": [2, 2], "counts": b"04"}], False),  # bytes: not what a JSON file gives
        ([{"size": (2, 2), "counts": "04"}], False),
        ([{"size": [2], "counts": "04"}], False),
        ([{"counts": "04"}], False),
        ([_Dict(size=[2, 2], counts="04")], False),
        ([[], None], False),
        ([0], False),
    ],
)
def test_plain_result_frames_is_the_loaders_common_case(segs, plain):
    assert bulk_rle.plain_result_frames(segs) is plain


def _runs_mask(counts: list[int]) -> np.ndarray:
    """The flat mask of a run list (background first)."""
    return np.repeat(np.arange(len(counts)) % 2, counts).astype(bool)


def test_intersections_take_zero_length_runs_anywhere():
    """Count lists (GT files give them as they are) may hold zero-length runs at any place
    and end on either kind of run: the interval walk counts exactly the shared pixels."""
    rng = np.random.default_rng(11)
    total = 60
    lists = [[], [total], [0, total], [0, 0, total], [total, 0]]
    for _ in range(60):
        cuts = np.sort(rng.integers(0, total + 1, rng.integers(1, 12)))
        counts = np.diff(np.concatenate([[0], cuts, [total]])).tolist()  # zeros where cuts repeat
        lists.append(counts)
    lists = [c for c in lists if sum(c) == total]
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in lists])]).astype(np.int64)
    masks = [_runs_mask(c) for c in lists]
    fg = [np.flatnonzero(m) for m in masks]
    decoded = bulk_rle.DecodedMasks(
        counts=np.array([v for c in lists for v in c], dtype=np.uint32),
        offsets=offsets,
        first=np.array([f[0] if len(f) else 0 for f in fg], dtype=np.int64),
        end=np.array([f[-1] + 1 if len(f) else 0 for f in fg], dtype=np.int64),
        area=np.array([m.sum() for m in masks], dtype=np.float64),
    )
    n = len(lists)
    a_rows, b_rows = np.repeat(np.arange(n), n), np.tile(np.arange(n), n)
    got = bulk_rle.intersections(decoded, a_rows, decoded, b_rows)
    want = [int((masks[i] & masks[j]).sum()) for i, j in zip(a_rows, b_rows, strict=True)]
    assert got.tolist() == want


def test_no_mask_decodes_to_nothing_from_a_list_or_a_text():
    """An empty selection (a results file whose only mask the kernel refused) gives empty
    arrays, not the kernel's one-byte buffers read as masks."""
    nothing = np.zeros(0, dtype=np.int64)
    for decoded in (bulk_rle.decode([]), bulk_rle.decode_text(b"[]", nothing, nothing, nothing)):
        assert decoded is not None
        assert len(decoded.counts) == 0 and decoded.offsets.tolist() == [0]
        assert len(decoded.area) == 0
