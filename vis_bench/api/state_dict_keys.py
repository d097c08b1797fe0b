"""A method's state-dict layout without building its weights.

Models are built on the meta device (`torch.device("meta")`): every parameter has its shape and
no storage, so a Swin-L model costs no memory. The key lists use the golden files' JSON format:
`[key, shape]` per entry, state-dict order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from vis_bench.api.plugin import MethodPlugin
from vis_bench.api.registration import get_method

KeyList = list[list[Any]]  # [[key, [d0, d1, ...]], ...]


def meta_plugin(method: str, options: Mapping[str, Any]) -> MethodPlugin:
    """The plugin `method` builds with `options`, its model on the meta device (shapes only):
    what the options make of the architecture and the test preprocessing, at no cost."""
    plugin_class = get_method(method)
    with torch.device("meta"):
        return plugin_class.build(dict(options))


def meta_model(method: str, options: Mapping[str, Any]) -> nn.Module:
    """The model `method` builds with `options`, on the meta device (shapes only)."""
    return meta_plugin(method, options).model


def key_list(state_dict: Mapping[str, torch.Tensor]) -> KeyList:
    return [[key, list(value.shape)] for key, value in state_dict.items()]


def format_key_list(entries: KeyList) -> str:
    """One `[key, shape]` entry per line, as the golden files are written."""
    return "[\n" + ",\n".join(json.dumps(entry) for entry in entries) + "\n]\n"
