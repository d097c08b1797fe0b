"""Config values that would pass loading and then fail every cell are refused at load."""

from __future__ import annotations

import pytest
import torch

from vis_bench.config import load_config, parse_config
from vis_bench.errors import InputError

BASE = {"name": "t", "dataset": {"kind": "synthetic"}, "methods": ["seqformer"]}


def _error(data) -> InputError:
    with pytest.raises(InputError) as caught:
        parse_config(data, "cfg.yaml")
    return caught.value


@pytest.mark.parametrize(
    "measure, field",
    [
        ({"threads": -2}, "measure.threads"),
        ({"threads": 0}, "measure.threads"),
        ({"repeats": 0}, "measure.repeats"),
        ({"warmup": -1}, "measure.warmup"),
        ({"cell_timeout_s": 0}, "measure.cell_timeout_s"),
    ],
)
def test_measure_ranges(measure, field):
    err = _error({**BASE, "measure": measure})
    assert err.field == field and err.path == "cfg.yaml"


def test_a_list_option_names_the_element_and_its_type():
    err = _error({**BASE, "sweep": {"resolution": ["abc"]}})
    assert err.field == "sweep.resolution"
    assert "element 0, 'abc', is a str, not int or null" in str(err)
    assert "list of (int or null)" in str(err)


@pytest.mark.parametrize(
    "data, field, suggestion",
    [
        ({**BASE, "sweep": {"clip_lenght": [5]}}, "sweep.clip_lenght", "'clip_length'"),
        ({**BASE, "mesure": {}}, "mesure", "'measure'"),
        ({**BASE, "measure": {"repeat": 2}}, "measure.repeat", "'repeats'"),
    ],
)
def test_unknown_keys_suggest_the_close_name(data, field, suggestion):
    err = _error(data)
    assert err.field == field and f"did you mean {suggestion}?" in str(err)


def test_a_device_string_must_be_cpu_or_cuda_index():
    assert _error({**BASE, "sweep": {"device": ["cuda:x"]}}).field == "sweep.device"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")
def test_cuda_on_a_machine_without_it_fails_at_load(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text("name: t\ndataset: {kind: synthetic}\nmethods: [seqformer]\n")
    with pytest.raises(InputError) as caught:
        load_config(path, ["sweep.device=[cuda]"])
    # the flag that asked for it is named, not the config file the user did not change
    assert caught.value.field == "--set sweep.device=[cuda]" and caught.value.path is None
    assert "sweep.device=[cpu]" in str(caught.value)
    # parsing alone (records made on a GPU machine, read here) still works
    assert parse_config({**BASE, "sweep": {"device": ["cuda"]}}).sweep.device == ["cuda"]
