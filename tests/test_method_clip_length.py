"""A method entry's own `clip_length`: its cells take only those of the sweep's clip lengths (a
method whose tracks do not depend on the clip schedule need not repeat its AP), the other
methods keep every clip length and their cells' keys, and a length the sweep does not have is
refused, naming the entry's field."""

from __future__ import annotations

import pytest

import tests.helpers.toy_method  # noqa: F401  (registers the "toy" method)
from tests.helpers.quick_rounds import QUICK_ROUNDS
from vis_bench.config import parse_config
from vis_bench.errors import InputError
from vis_bench.sweep import expand_cells, resolve_methods


def _config(tmp_path, own: object = None, sweep: dict | None = None):
    limited = {"name": "toy", "label": "limited"}
    if own is not None:
        limited["clip_length"] = own
    return parse_config(
        {
            "name": "method-clip-length",
            "dataset": {"kind": "synthetic", "videos": 1, "cache_dir": str(tmp_path / "cache")},
            "methods": [{"name": "toy", "label": "every"}, limited],
            "sweep": sweep or {"clip_length": ["all", 5, 3]},
            "measure": {**QUICK_ROUNDS, "warmup": 0, "flops": False, "ap": False},
        }
    )


def _cells(config):
    return [(c.method.label, c.clip_length) for c in expand_cells(config, resolve_methods(config))]


def test_an_entry_takes_only_its_own_clip_lengths(tmp_path):
    config = _config(tmp_path, ["all", 3])
    assert _cells(config) == [
        ("every", "all"),
        ("every", 5),
        ("every", 3),
        ("limited", "all"),
        ("limited", 3),
    ]


def test_the_other_entries_keep_their_cells_and_keys(tmp_path):
    def keys(config):
        cells = expand_cells(config, resolve_methods(config))
        return {c.label(): c.key("d") for c in cells}

    limited, unlimited = keys(_config(tmp_path, ["all"])), keys(_config(tmp_path))
    assert len(limited) == 4 and len(unlimited) == 6
    assert all(unlimited[label] == key for label, key in limited.items())


def test_with_a_clip_schedule_the_pairs_lengths_count(tmp_path):
    sweep = {"clip_schedule": [["all"], [5, 2], [5, 5]]}
    config = _config(tmp_path, [5], sweep)
    assert _cells(config) == [
        ("every", "all"),
        ("every", 5),
        ("every", 5),
        ("limited", 5),
        ("limited", 5),
    ]


@pytest.mark.parametrize("bad", [[10], [], 7, ["ALL"]])
def test_a_length_outside_the_sweep_is_refused(tmp_path, bad):
    with pytest.raises(InputError, match=r"methods\[1\]\.clip_length"):
        _config(tmp_path, bad)
