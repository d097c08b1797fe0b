"""One parity style: intermediates come from forward hooks, weights from one shared loader.

No forward of a model takes a parity switch (an `all_layers`, a `trace` dict, ...): parity
reads what it compares through `vis_bench.parity.captured_outputs`, and every parity module
loads a fixture's weights through `load_fixture_weights`, which names mismatched keys.
"""

from __future__ import annotations

import importlib
import inspect
import re
import shutil

import pytest
import torch
from torch import nn

from vis_bench.errors import InputError
from vis_bench.parity import ParityReport, captured_outputs, load_fixture_weights

#: every module of the methods that defines a network
MODEL_MODULES = (
    "vis_bench.methods.families.seqformer.model",
    "vis_bench.methods.families.seqformer.transformer",
    "vis_bench.methods.families.seqformer.segmentation",
    "vis_bench.methods.mssts.paper",
    "vis_bench.methods.mssts.release",
    "vis_bench.methods.ifc.model",
    "vis_bench.methods.ifc.transformer",
    "vis_bench.methods.common.swin",
    "vis_bench.methods.common.backbone",
    "vis_bench.methods.common.mlp",
    "vis_bench.methods.common.ms_deform_attn",
)
#: parameter names of a switch that makes a forward record or compute extra for parity
PARITY_SWITCH = re.compile(r"^(all_layers|trace|intermediates?|capture\w*|parity\w*|debug\w*)$")


def _modules_with_forwards() -> list[type[nn.Module]]:
    classes = []
    for name in MODEL_MODULES:
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, nn.Module) and cls.__module__ == name:
                classes.append(cls)
    return classes


@pytest.mark.parametrize("cls", _modules_with_forwards(), ids=lambda c: c.__qualname__)
def test_no_forward_takes_a_parity_switch(cls):
    for method in ("forward", "forward_features", "forward_post_backbone"):
        fn = getattr(cls, method, None)
        if fn is None:
            continue
        switches = [p for p in inspect.signature(fn).parameters if PARITY_SWITCH.match(p)]
        assert not switches, f"{cls.__qualname__}.{method} takes {switches}: use forward hooks"


def test_seqformer_forward_returns_no_intermediates():
    from vis_bench.methods.families.seqformer.model import build

    model = build(
        {
            "hidden_dim": 32,
            "dim_feedforward": 64,
            "enc_layers": 1,
            "dec_layers": 2,
            "num_queries": 4,
            "backbone": None,
        }
    )
    t = 2
    sizes = {"res3": (512, 4, 6), "res4": (1024, 2, 3), "res5": (2048, 1, 2)}
    feats = {k: torch.randn(t, c, h, w) for k, (c, h, w) in sizes.items()}
    masks = {k: torch.zeros(t, h, w, dtype=torch.bool) for k, (_, h, w) in sizes.items()}
    with torch.no_grad():
        out = model.forward_features(
            feats, masks, torch.zeros(t, 32, 48, dtype=torch.bool), (48, 32)
        )
    assert "intermediate" not in out and "aux_outputs" not in out


def test_captured_outputs_reads_outputs_and_any_positional_input():
    class Two(nn.Module):
        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return a * b

    model = nn.Sequential()
    model.add_module("two", Two())
    a, b = torch.ones(2), torch.full((2,), 3.0)
    with captured_outputs(model, {"out": "two"}, {"a": "two", "b": ("two", 1)}) as got:
        model.two(a, b)
    assert got["a"][0] is a and got["b"][0] is b and torch.equal(got["out"][0], a * b)
    model.two(a, b)  # hooks are gone after the block
    assert len(got["out"]) == 1


def _mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def test_load_fixture_weights_loads_half_fixtures_as_float32(tmp_path):
    source, target = _mlp(), nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    torch.save({k: v.half() for k, v in source.state_dict().items()}, tmp_path / "sd.pt")
    report = ParityReport("m", "f")
    load_fixture_weights(report, target, tmp_path / "sd.pt")
    assert [(c.name, c.passed, c.structural) for c in report.checks] == [
        ("state_dict keys", True, True)
    ]
    assert target[0].weight.dtype == torch.float32
    torch.testing.assert_close(target[0].weight, source[0].weight.half().float(), rtol=0, atol=0)


def test_load_fixture_weights_names_missing_and_unexpected_keys(tmp_path):
    state = _mlp().state_dict()
    del state["0.bias"]
    state["3.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "sd.pt")
    report = ParityReport("m", "f")
    load_fixture_weights(report, _mlp(), tmp_path / "sd.pt")
    (check,) = report.checks
    assert not check.passed and check.structural and not report.passed
    assert "1 missing ['0.bias']" in check.detail
    assert "1 unexpected ['3.weight']" in check.detail
    assert "state_dict keys" in report.format() and "MISMATCH" in report.format()


def test_load_fixture_weights_checks_order_and_shapes(tmp_path):
    state = _mlp().state_dict()
    torch.save(dict(reversed(list(state.items()))), tmp_path / "reversed.pt")
    report = ParityReport("m", "f")
    load_fixture_weights(report, _mlp(), tmp_path / "reversed.pt", check_order=True)
    assert not report.checks[0].passed and "another order" in report.checks[0].detail
    state["0.weight"] = torch.zeros(5, 3)
    torch.save(state, tmp_path / "wrong_shape.pt")
    with pytest.raises(InputError, match="do not fit"):
        load_fixture_weights(ParityReport("m", "f"), _mlp(), tmp_path / "wrong_shape.pt")
    with pytest.raises(InputError, match="missing"):
        load_fixture_weights(ParityReport("m", "f"), _mlp(), tmp_path / "absent.pt")


@pytest.mark.usefixtures("one_thread")
def test_seqformer_parity_reports_a_renamed_fixture_key(golden_dir, tmp_path):
    from vis_bench.methods.families.seqformer.parity import run_parity

    fixture = tmp_path / "fx"
    shutil.copytree(golden_dir / "seqformer" / "public", fixture)
    for path in fixture.iterdir():
        path.chmod(0o644)
    state = torch.load(fixture / "state_dict.pt", weights_only=True)
    state["detr.class_embed.1.bias_renamed"] = state.pop("detr.class_embed.1.bias")
    torch.save(state, fixture / "state_dict.pt")
    report = run_parity(fixture, None)
    keys = next(c for c in report.checks if c.name == "state_dict keys")
    assert not keys.passed and not report.passed
    assert "missing ['detr.class_embed.1.bias']" in keys.detail
    assert "unexpected ['detr.class_embed.1.bias_renamed']" in keys.detail
