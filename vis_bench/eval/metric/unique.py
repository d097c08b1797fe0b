"""`np.unique` of a plain array by its sorting path, which never touches `numpy.ma`.

NumPy 2's `np.unique` (and `np.union1d`) without an index, inverse or count output first asks
`np.ma.is_masked`, and so imports the masked-array module (several milliseconds of an `eval`
process that uses no masked array). Asking for the counts takes the sorting path instead: the
same sorted distinct values.
"""

from __future__ import annotations

import numpy as np


def unique_sorted(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of `values` (flattened), as `np.unique(values)` gives them."""
    return np.unique(values, return_counts=True)[0]
