"""The cells' workers wait passively at OpenMP barriers unless told otherwise: a machine shared
with other work then slows the sweep in proportion to the load, not by threads spinning in turn."""

from __future__ import annotations

import pytest

from vis_bench.config import parse_config
from vis_bench.errors import InputError
from vis_bench.sweep.isolation import set_wait_policy


def test_the_sweep_sets_passive_waiting_unless_the_environment_says_otherwise(monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert set_wait_policy("passive") == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # the user's own setting wins
    assert set_wait_policy("passive") == "ACTIVE"
    monkeypatch.delenv("OMP_WAIT_POLICY")
    assert set_wait_policy(None) is None  # null: the environment's (here: none)


def test_an_unknown_policy_is_refused_naming_the_field():
    config = {
        "name": "x",
        "dataset": {"kind": "synthetic"},
        "methods": [{"name": "toy"}],
        "measure": {"omp_wait_policy": "spin"},
    }
    with pytest.raises(InputError, match=r"measure.omp_wait_policy.*passive, active or null"):
        parse_config(config)
