"""The compiled kernel's cuts of the metric's two input texts, made before NumPy is imported.

Cutting a released-size GT's count lists out of its text (parsing and compressing them on two
threads) and a results file's mask strings out of its own is most of reading them, and all of
it runs without the GIL. This module imports only the standard library and the kernel, so an
`eval` process's loader threads (eval/input_loading.py) start those cuts within milliseconds,
and they run on the cores that the imports of NumPy and the metric, which hold the GIL, leave
idle. The cuts are the kernel's raw output; bulk_rle wraps them into arrays, and count_lists /
result_strings check them exactly as when they cut the text themselves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vis_bench.formats.results_file import results_text
from vis_bench.jsonio import read_mapped

try:
    from vis_bench.eval.rle import _rle_kernel
except ImportError:  # built without a C compiler: pycocotools does the work
    _rle_kernel = None

# pycocotools' encoder allots 6 characters per count and writes one more (the terminator), so
# long counts overrun its buffer; below 2**24 a count takes at most 5 (frames of up to 4096^2).
MAX_COMPRESSIBLE = 2**24


def kernel_on() -> bool:
    """True when the compiled kernel is built and not turned off (`VIS_BENCH_RLE_KERNEL=0`)."""
    return _rle_kernel is not None and os.environ.get("VIS_BENCH_RLE_KERNEL", "1") != "0"


@dataclass
class CutText:
    """A file's text (read_mapped) and the kernel's cut of it: its raw output, or None when
    the kernel is off or cut nothing it was sure of (the reader then parses the text itself)."""

    raw: Any
    cut: tuple | None


def count_lists_cut(raw: Any, limit: int = MAX_COMPRESSIBLE) -> tuple | None:
    """The kernel's `cut_count_lists` of a GT text (bulk_rle.count_lists_from reads it)."""
    if not kernel_on():
        return None
    return _rle_kernel.cut_count_lists(raw, int(limit)) or None  # None / False: not cut


def result_strings_cut(raw: Any) -> tuple | None:
    """The kernel's `cut_result_strings` of a results text (bulk_rle.result_strings_from reads it)."""
    return _rle_kernel.cut_result_strings(raw) if kernel_on() else None


def cut_ground_truth(path: str | Path) -> CutText:
    """A GT file mapped and its count lists cut (errors as read_mapped's)."""
    raw = read_mapped(path, "ground truth")
    return CutText(raw, count_lists_cut(raw))


def cut_results(path: str | Path) -> CutText:
    """A results file mapped (or a submission zip's JSON, read) and its mask strings cut
    (errors as results_text's)."""
    raw = results_text(path)
    return CutText(raw, result_strings_cut(raw))
