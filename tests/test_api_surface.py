"""The method API is one small, documented surface: at most about 20 names, each listed in
docs/architecture.md, and every optional capability's module and protocol listed beside them."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from typing import Protocol

import vis_bench.api as api
from vis_bench.api.capabilities import CAPABILITIES

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def _section() -> str:
    return DOC.read_text().split("## The method API", 1)[1].split("\n## ", 1)[0]


def test_the_api_is_small_and_every_name_exists():
    assert len(api.__all__) <= 20
    assert sorted(api.__all__) == sorted(set(api.__all__))
    for name in api.__all__:
        assert hasattr(api, name), name


def test_every_api_name_is_documented_and_the_count_is_the_doc_s():
    section = _section()
    undocumented = [name for name in api.__all__ if f"`{name}`" not in section]
    assert not undocumented, f"API names missing from docs/architecture.md: {undocumented}"
    (count,) = re.findall(r"a\s+core of (\d+) names", DOC.read_text())
    assert int(count) == len(api.__all__)


def test_every_capability_module_and_protocol_is_documented():
    section = _section()
    found = 0
    for module_name in sorted({capability.module for capability in CAPABILITIES}):
        assert f"`{module_name}`" in section, module_name
        module = importlib.import_module(module_name)
        protocols = [
            name
            for name, value in vars(module).items()
            if inspect.isclass(value)
            and value.__module__ == module_name
            and Protocol in getattr(value, "__mro__", ())
        ]
        for name in protocols:
            assert f"`{name}`" in section, f"{module_name}.{name}"
        found += len(protocols)
    assert found >= 8
