"""Final masks resized, thresholded and RLE-encoded in one compiled pass, as PyTorch would.

The stitcher's sink resizes each track's mean mask of a frame to the video size (bilinear,
align_corners=False), keeps the pixels above a cut and stores their COCO RLE. PyTorch's resize
materialises an H x W float array per mask (and the threshold an H x W bool, and the encoder
its column-major copy): ~2-3 ms per 720p mask on CPU. `_rle_kernel.resize_encode` decides most
pixels without arithmetic (a convex combination of four values on one side of the cut stays on
that side) and computes only the cells that straddle it, with PyTorch's operations in PyTorch's
order, writing the runs straight into COCO's string: the same RLE bit for bit.

Domain: PyTorch's CPU kernel for one-channel float masks is its generic one, except when the
output is small (H + W <= 128), where it takes another kernel with other rounding; there, and
without the compiled kernel, `resize_encode` returns None and the caller resizes with PyTorch.
"""

from __future__ import annotations

import numpy as np

from vis_bench.eval.rle.bulk_rle import _rle_kernel, available

#: PyTorch dispatches one-channel bilinear resizes with H + W at most this to a kernel of its
#: own (`_use_vectorized_kernel_cond_2d` in ATen's UpSampleKernel.cpp)
SMALL_OUTPUT = 128


def applies(height: int, width: int) -> bool:
    """Whether `resize_encode` gives PyTorch's result at this output size (see the module)."""
    return available() and height + width > SMALL_OUTPUT


def resize_encode(
    masks: np.ndarray, height: int, width: int, cut: float, threads: int = 2
) -> list[tuple[str, bool]] | None:
    """Masks [n, h, w] (float32) -> per mask (compressed RLE string at height x width, whether
    any pixel is foreground), foreground where the bilinear resize exceeds `cut` (a float32);
    None when the compiled kernel cannot give PyTorch's result (see the module docstring)."""
    if not available() or height + width <= SMALL_OUTPUT or masks.ndim != 3:
        return None
    data = np.ascontiguousarray(masks, dtype=np.float32)
    n, h, w = data.shape
    if n == 0:
        return []
    return _rle_kernel.resize_encode(
        data, n, h, w, int(height), int(width), float(np.float32(cut)), int(threads)
    )
