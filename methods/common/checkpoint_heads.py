"""What a query decoder's heads tell of the model a state dict was saved from."""

from __future__ import annotations

from collections.abc import Mapping

import torch


def query_and_class_counts(
    state_dict: Mapping[str, torch.Tensor], queries_key: str, classes_key: str
) -> dict[str, int]:
    """`num_queries` from the rows of the query embedding `queries_key` and `num_classes` from
    those of the class head `classes_key` (its last row is "no object"), where the file has
    them."""
    found: dict[str, int] = {}
    for key, name, less in ((queries_key, "num_queries", 0), (classes_key, "num_classes", 1)):
        value = state_dict.get(key)
        if value is not None:
            found[name] = int(value.shape[0]) - less
    return found
