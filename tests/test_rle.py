"""RLE helpers round-trip masks and agree with pycocotools on both encodings."""

from __future__ import annotations

import numpy as np
import pytest

from vis_bench.eval.rle import areas as bulk_areas
from vis_bench.formats import rle


@pytest.mark.parametrize("shape", [(1, 1), (5, 4), (17, 23), (64, 96)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_roundtrip_compressed_and_uncompressed(shape, seed):
    rng = np.random.default_rng(seed)
    mask = (rng.random(shape) > 0.6).astype(np.uint8)
    compressed = rle.encode(mask)
    assert isinstance(compressed["counts"], str)
    np.testing.assert_array_equal(rle.decode(compressed), mask)
    uncompressed = rle.encode_uncompressed(mask)
    assert sum(uncompressed["counts"]) == mask.size
    np.testing.assert_array_equal(rle.decode(uncompressed), mask)
    assert rle.to_compressed(uncompressed)["counts"].decode() == compressed["counts"]
    assert rle.area(uncompressed) == int(mask.sum())


def test_uncompressed_starts_with_zero_run_when_first_pixel_is_set():
    mask = np.ones((2, 2), np.uint8)
    assert rle.encode_uncompressed(mask)["counts"] == [0, 4]
    assert rle.encode_uncompressed(np.zeros((2, 3), np.uint8))["counts"] == [6]


def test_mask_areas_handles_more_than_255_masks():
    # pycocotools 2.0.11 `area` overflows on lists longer than 255; mask_areas chunks.
    masks = [rle.encode(np.eye(3, dtype=np.uint8) * (i % 2)) for i in range(600)]
    areas = bulk_areas.mask_areas(masks)
    assert areas.shape == (600,)
    assert areas.tolist() == [3.0 * (i % 2) for i in range(600)]


def test_track_areas_zero_where_absent():
    m = rle.encode(np.ones((2, 3), np.uint8))
    assert [a.tolist() for a in bulk_areas.track_areas([[m, None], [], [None, None, m]])] == [
        [6.0, 0.0],
        [],
        [0.0, 0.0, 6.0],
    ]
