"""Every released (method, backbone) builds exactly the authors' state-dict layout.

The golden key lists (tests/fixtures/golden/backbones) were written by the authors' own code.
Models are built on the meta device, so Swin-L and ResNeXt-101 cost no memory.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from tests.helpers.tracked import repo_relative, tracked_params
from vis_bench.api.state_dict_keys import key_list, meta_model
from vis_bench.cli import main
from vis_bench.methods.common.backbone import ResNet
from vis_bench.methods.common.backbone_registry import BACKBONES, detect_backbone
from vis_bench.records.store import read_records

#: golden file stem -> (registry method, options)
GOLDEN_MODELS = {
    "seqformer_r101": ("seqformer", {"backbone": "resnet101"}),
    "seqformer_x101_64x4d": ("seqformer", {"backbone": "resnext101_64x4d"}),
    "seqformer_x101_32x8d": ("seqformer", {"backbone": "resnext101_32x8d"}),
    "seqformer_swinl": ("seqformer", {"backbone": "swin_l"}),
    "mssts_swinl": ("mssts-release", {"backbone": "swin_l"}),
    "mssts_swinl_inference6x6": (
        "mssts-release",
        {"backbone": "swin_l", "enc_layers": 6, "dec_layers": 6},
    ),
    "ifc_r101": ("ifc", {"backbone": "resnet101"}),
}


@pytest.fixture(scope="module")
def backbones_dir(golden_dir):
    return golden_dir / "backbones"


def test_every_golden_key_list_is_covered(backbones_dir):
    stems = {p.stem.removeprefix("state_dict_keys_") for p in backbones_dir.glob("*.json")}
    stems.discard("param_counts")
    assert stems == set(GOLDEN_MODELS)


@pytest.mark.parametrize("stem", sorted(GOLDEN_MODELS))
def test_model_has_the_authors_keys_shapes_and_order(backbones_dir, stem):
    method, options = GOLDEN_MODELS[stem]
    expected = json.loads((backbones_dir / f"state_dict_keys_{stem}.json").read_text())
    model = meta_model(method, options)
    assert key_list(model.state_dict()) == expected


@pytest.mark.parametrize("stem", sorted(GOLDEN_MODELS))
def test_parameter_counts_equal_the_authors_build(backbones_dir, stem):
    counts = json.loads((backbones_dir / "param_counts.json").read_text())
    authors = counts[f"state_dict_keys_{stem}.json"]
    method, options = GOLDEN_MODELS[stem]
    model = meta_model(method, options)
    assert sum(p.numel() for p in model.parameters()) == authors["params_unique"]
    assert sum(v.numel() for v in model.state_dict().values()) == authors["state_dict_numel"]
    body = model.detr.backbone[0]
    body = body.backbone if method == "ifc" else body.body
    backbone_params = authors.get("backbone_body_params", authors.get("backbone_params"))
    assert sum(p.numel() for p in body.parameters()) == backbone_params


@pytest.mark.parametrize("stem", sorted(GOLDEN_MODELS))
def test_backbone_is_detected_from_the_authors_keys(backbones_dir, stem):
    entries = json.loads((backbones_dir / f"state_dict_keys_{stem}.json").read_text())
    state = {key: torch.empty(shape, device="meta") for key, shape in entries}
    assert detect_backbone(state).name == GOLDEN_MODELS[stem][1]["backbone"]


def _body_state(depth: int, groups: int, width_per_group: int) -> dict[str, torch.Tensor]:
    with torch.device("meta"):
        body = ResNet(depth, groups, width_per_group)
    return {f"detr.backbone.0.body.{k}": v for k, v in body.state_dict().items()}


def test_resnext_groups_are_read_from_the_grouped_conv():
    found = detect_backbone(_body_state(101, 64, 4))
    assert found.name == "resnext101_64x4d"
    assert "groups 64 = 256 / 4" in found.describe()
    # an unreleased layout (ResNeXt-50 32x4d) is not mistaken for a release
    assert detect_backbone(_body_state(50, 32, 4)).name is None


@pytest.mark.parametrize(
    ("name", "conv2"), [("resnext101_32x8d", [256, 8, 3, 3]), ("resnext101_64x4d", [256, 4, 3, 3])]
)
def test_resnext_width_formula(name, conv2):
    spec = BACKBONES[name]
    with torch.device("meta"):
        body = ResNet(spec.depth, spec.groups, spec.width_per_group)
    assert list(body.layer1[0].conv2.weight.shape) == conv2
    assert list(body.layer4[0].conv2.weight.shape[:2]) == [2048, 2048 // spec.groups]
    assert body.layer4[-1].conv3.out_channels == 2048


def test_swin_levels_feed_the_input_projections():
    model = meta_model("seqformer", {"backbone": "swin_l"})
    channels = [proj[0].in_channels for proj in model.detr.input_proj]
    assert channels == [384, 768, 1536, 1536]  # level 3: 3x3/2 conv on the last Swin stage
    assert model.detr.input_proj[3][0].kernel_size == (3, 3)
    assert model.detr.backbone[0].strides == [8, 16, 32]


def test_ifc_r101_puts_the_stride_in_the_1x1_conv():
    model = meta_model("ifc", {"backbone": "resnet101"})
    block = model.detr.backbone[0].backbone.res3[0]
    assert (block.conv1.stride, block.conv2.stride) == ((2, 2), (1, 1))
    r50 = meta_model("ifc", {}).detr.backbone[0].backbone.res3[0]
    assert (r50.conv1.stride, r50.conv2.stride) == ((1, 1), (2, 2))


@pytest.mark.parametrize(
    ("method", "backbone", "message"),
    [
        ("seqformer", "resnext101", "resnext101_64x4d (models/x101_64d.py)"),
        ("seqformer", "swin_b", "not supported"),
        ("ifc", "swin_l", "ResNet-50 and ResNet-101 only"),
    ],
)
def test_unknown_backbones_are_input_errors(capsys, method, backbone, message):
    assert main(["keys", "--method", method, "--backbone", backbone]) == 2
    assert message in capsys.readouterr().err


def test_keys_command_writes_the_golden_file_byte_for_byte(backbones_dir, tmp_path, capsys):
    out = tmp_path / "keys.json"
    argv = ["keys", "--method", "mssts-release", "--backbone", "swin_l"]
    assert main([*argv, "--set", "enc_layers=6", "--set", "dec_layers=6", "--out", str(out)]) == 0
    golden = backbones_dir / "state_dict_keys_mssts_swinl_inference6x6.json"
    assert out.read_bytes() == golden.read_bytes()
    assert "843 entries" in capsys.readouterr().out


def test_keys_command_prints_to_stdout_without_out(capsys):
    assert main(["keys", "--method", "ifc", "--backbone", "resnet101"]) == 0
    captured = capsys.readouterr()
    entries = json.loads(captured.out)
    assert entries[0] == ["detr.transformer.memory_bus", [8, 256]]
    assert len(entries) == 684
    assert "684 entries" in captured.err


@pytest.mark.parametrize("config", tracked_params("configs/ytvis*.yaml"), ids=repo_relative)
def test_release_configs_build_their_methods(config: Path):
    """Every method of a committed real-data config builds with its options (on meta: no
    weights); a config of one's own beside them is not the project's to check."""
    data = yaml.safe_load(config.read_text())
    for method in data["methods"]:
        model = meta_model(method["name"], method.get("options") or {})
        assert sum(p.numel() for p in model.parameters()) > 0


def test_methods_command_lists_each_methods_backbones(capsys):
    assert main(["methods"]) == 0
    lines, current, listed = capsys.readouterr().out.splitlines(), None, {}
    for line in lines:
        if not line.startswith(" "):
            current = line.split(":")[0]
        elif line.strip().startswith("backbones:"):
            listed[current] = line.split(":", 1)[1].strip()
    assert "resnext101_64x4d, swin_l" in listed["seqformer"]
    assert "swin_l" in listed["mssts-release"]
    assert listed["ifc"] == "resnet50, resnet101, resnet, tiny"


@pytest.mark.slow
def test_a_sweep_runs_the_larger_backbones(tmp_path, capsys):
    """Random weights, reduced heads, one short synthetic video at 64 px."""
    small = {"hidden_dim": 32, "dim_feedforward": 64, "num_queries": 5}
    config = {
        "name": "backbones",
        "dataset": {
            "kind": "synthetic",
            "videos": 1,
            "min_frames": 3,
            "max_frames": 3,
            "cache_dir": str(tmp_path / "cache"),
        },
        "methods": [
            {
                "name": "seqformer",
                "options": {
                    "backbone": "resnext101_64x4d",
                    **small,
                    "enc_layers": 1,
                    "dec_layers": 1,
                },
            },
            {"name": "ifc", "options": {"backbone": "resnet101", **small}},
        ],
        "sweep": {"clip_length": ["all"], "resolution": [64]},
        "measure": {"warmup": 0, "repeats": 1, "memory": False, "fps": False},
        "output": str(tmp_path / "runs"),
    }
    path = tmp_path / "backbones.yaml"
    path.write_text(yaml.safe_dump(config))
    # random weights of the released heads predict classes the synthetic data does not have
    assert main(["run", "--config", str(path), "--allow-dropped"]) == 0
    records = read_records(tmp_path / "runs" / "backbones")
    assert [r["status"] for r in records] == ["ok", "ok"], [r.get("error") for r in records]
    assert all(r["gmacs_per_frame"] > 0 for r in records)
