"""RLE helpers round-trip masks and agree with pycocotools on both encodings."""

from __future__ import annotations

import numpy as np
import pytest

from vis_bench.eval import rle


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
