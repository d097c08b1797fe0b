"""docs/adding_a_benchmark.md is true: its LV-VIS declarations are the registered ones, and its
example of a newly registered metric renders in a table as the page says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vis_bench.eval import benchmarks
from vis_bench.eval.declared import KINDS, METRICS

PAGE = Path(__file__).resolve().parents[1] / "docs" / "adding_a_benchmark.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)


def test_the_page_stays_short():
    assert PAGE.stat().st_size < 8 * 1024


def test_the_lvvis_metric_on_the_page_is_the_registered_one():
    namespace = dict(vars(benchmarks))
    # registering an equal declaration again is a no-op; a different one would be refused
    exec(_blocks()[0], namespace)
    assert namespace["LVVIS"] is METRICS["lvvis"]


def test_the_lvvis_kind_on_the_page_is_the_registered_one(monkeypatch):
    registered = KINDS["lvvis"]
    made = []
    monkeypatch.setattr(KINDS, "register", made.append)
    exec(_blocks()[1], dict(vars(benchmarks)))
    assert made == [registered]


def test_the_example_of_a_new_metric_runs_as_written():
    exec(_blocks()[2], {})
    assert "tracking" not in METRICS  # registered for the example's block only


def test_the_example_fails_when_its_metric_is_not_registered():
    """The example's assertion can fail: without the registration the columns are not shown."""
    code = _blocks()[2].replace("with METRICS.registered(tracking):", "if True:")
    with pytest.raises((AssertionError, IndexError)):
        exec(code, {})
