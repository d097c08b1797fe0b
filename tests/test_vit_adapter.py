"""DVIS++'s ViT-L backbone (methods/common/vit_adapter.py): the released keys, the forward's
shapes, strict loading, training switches, the registry entry and the FLOP count (the ViT's
DINOv2 layout: tests/test_vit_dinov2_layout.py).

Numbers of ViT-L itself are checked by VidEoMT's parity (the same ViT blocks); the adapter's
layers were compared once with the authors' code (docs/backbones.md)."""

from __future__ import annotations

import json

import pytest
import torch

from vis_bench.api.flops import count_flops
from vis_bench.cli import main
from vis_bench.methods.common.backbone_registry import (
    BACKBONES,
    backbone_key_list,
    backbone_names,
    build_backbone,
    build_feature_backbone,
    detect_backbone,
    feature_channels,
)
from vis_bench.methods.common.fast_paths import inference_context, prepare_for_inference
from vis_bench.methods.common.vit import ViTConfig
from vis_bench.methods.common.vit_adapter import (
    OUT_STRIDES,
    ViTAdapter,
    ViTAdapterConfig,
    adapter_key_list,
)

LEVELS = list(OUT_STRIDES)


@pytest.fixture(scope="module")
def released_backbone(golden_dir) -> list[list]:
    """The 530 `backbone.*` entries of the authors' ViT-L list, without the prefix."""
    path = golden_dir / "dvis_plus" / "state_dict_keys_online_vitl_ytvis19.json"
    entries = json.loads(path.read_text())
    return [
        [key[len("backbone.") :], shape] for key, shape in entries if key.startswith("backbone.")
    ]


def _small_config(**overrides) -> ViTAdapterConfig:
    """Width 32, four one-block interactions, a 4 x 4 stored position grid."""
    vit = ViTConfig(
        embed_dim=32,
        depth=4,
        num_heads=2,
        img_size=64,
        num_registers=0,
        pos_embed_layout="dinov2",
        mask_token=True,
    )
    values = {
        "interaction_indexes": ((0, 0), (1, 1), (2, 2), (3, 3)),
        "conv_inplane": 8,
        "deform_num_heads": 2,
        **overrides,
    }
    return ViTAdapterConfig(vit=vit, **values)


def test_released_vit_l_keys_and_shapes_equal_the_authors_lists(golden_dir, released_backbone):
    ours = adapter_key_list()
    assert len(released_backbone) == 530
    assert ours == released_backbone  # keys, shapes and order
    assert backbone_key_list("vit_adapter_l") == released_backbone
    assert sum(key.startswith("vit_module.") for key, _ in ours) == 343
    offline = json.loads(
        (golden_dir / "dvis_plus/state_dict_keys_offline_vitl_ytvis19.json").read_text()
    )
    assert [[k[len("backbone.") :], s] for k, s in offline if k.startswith("backbone.")] == ours


def test_small_adapter_gives_res2_to_res5_for_a_non_square_input():
    torch.manual_seed(0)
    model = ViTAdapter(_small_config()).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 96))
    assert list(out) == LEVELS
    for level, stride in OUT_STRIDES.items():
        assert out[level].shape == (2, model.out_channels[level], 64 // stride, 96 // stride)
        assert torch.isfinite(out[level]).all()
    assert model.out_channels == dict.fromkeys(LEVELS, 32)


def test_inference_fast_paths_leave_the_outputs_unchanged():
    torch.manual_seed(0)
    plain, fast = ViTAdapter(_small_config()).eval(), ViTAdapter(_small_config()).eval()
    fast.load_state_dict(plain.state_dict())
    images = torch.randn(1, 3, 96, 64)
    with torch.no_grad():
        expected = plain(images)
    paths = prepare_for_inference(fast)
    with inference_context(paths):
        got = fast(images)
    for level in LEVELS:
        torch.testing.assert_close(got[level], expected[level], rtol=1e-5, atol=1e-5)


def test_input_not_padded_to_32_is_refused():
    model = ViTAdapter(_small_config()).eval()
    with pytest.raises(ValueError, match="multiple of 32"):
        model(torch.randn(1, 3, 64, 80))


def _random_state(entries: list[list], generator: torch.Generator) -> dict[str, torch.Tensor]:
    state = {}
    for key, shape in entries:
        if key.endswith("num_batches_tracked"):
            state[key] = torch.randint(0, 100, shape, generator=generator)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=generator) + 0.5
        else:
            state[key] = torch.randn(shape, generator=generator)
    return state


def test_a_state_dict_of_the_listed_shapes_loads_strictly_and_runs():
    config = _small_config()
    state = _random_state(adapter_key_list(config), torch.Generator().manual_seed(3))
    model = ViTAdapter(config).eval()
    model.load_state_dict(state, strict=True)
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    with torch.no_grad():
        assert torch.isfinite(model(torch.randn(1, 3, 64, 64))["res2"]).all()


def test_the_released_shapes_load_strictly_and_a_wrong_or_missing_key_is_named(released_backbone):
    """At full ViT-L size on the meta device (shapes without storage)."""
    with torch.device("meta"):
        model = build_feature_backbone("vit_adapter_l")
        state = {key: torch.empty(shape) for key, shape in released_backbone}
    model.load_state_dict(state, strict=True)
    wrong = dict(state)
    key = "interactions.3.extra_extractors.1.ffn.fc1.weight"
    wrong[key] = torch.empty(255, 1024, device="meta")
    with pytest.raises(RuntimeError, match=f"size mismatch for {key}"):
        model.load_state_dict(wrong, strict=True)
    missing = {k: v for k, v in state.items() if k != "vit_module.mask_token"}
    with pytest.raises(RuntimeError, match="Missing key.*vit_module.mask_token"):
        model.load_state_dict(missing, strict=True)


def _train_step(config: ViTAdapterConfig, state: dict | None) -> ViTAdapter:
    torch.manual_seed(0)
    model = ViTAdapter(config).train()
    if state is not None:
        model.load_state_dict(state)
    images = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    sum(feature.square().mean() for feature in model(images).values()).backward()
    return model


@pytest.mark.slow
def test_frozen_vit_gets_no_gradient_and_checkpointing_changes_no_gradient():
    recomputed = _train_step(_small_config(with_cp=True), None)
    kept = _train_step(_small_config(with_cp=False), recomputed.state_dict())
    assert all(p.grad is None for p in recomputed.vit_module.parameters())
    adapter = {n: p for n, p in recomputed.named_parameters() if not n.startswith("vit_module.")}
    assert all(p.grad is not None for p in adapter.values())
    assert recomputed.level_embed.grad.abs().sum() > 0
    for name, param in kept.named_parameters():
        if name in adapter:
            torch.testing.assert_close(param.grad, adapter[name].grad, rtol=1e-4, atol=1e-6)
    trained = _train_step(_small_config(freeze_vit=False), recomputed.state_dict())
    # the mask token and the final norm are never read by the adapter
    unused = ("mask_token", "norm.weight", "norm.bias")
    vit = [p for n, p in trained.vit_module.named_parameters() if n not in unused]
    assert all(p.grad is not None for p in vit)


def test_the_adapter_is_a_named_feature_backbone_apart_from_the_bodies():
    assert BACKBONES["vit_adapter_l"].family == "vit_adapter"
    assert "vit_adapter_l" not in backbone_names() and "swin_l" in backbone_names()
    assert feature_channels("vit_adapter_l") == dict.fromkeys(LEVELS, 1024)
    with pytest.raises(ValueError, match="not built by build_backbone"):
        build_backbone("vit_adapter_l")
    with pytest.raises(ValueError, match="not built by build_feature_backbone"):
        build_feature_backbone("swin_l")


def test_seqformer_does_not_take_the_adapter(capsys):
    assert main(["keys", "--method", "seqformer", "--backbone", "vit_adapter_l"]) == 2
    assert "not supported" in capsys.readouterr().err


def test_a_released_state_dict_is_detected_as_the_adapter(released_backbone):
    with torch.device("meta"):
        state = {f"backbone.{key}": torch.empty(shape) for key, shape in released_backbone}
    found = detect_backbone(state)
    assert found.name == "vit_adapter_l"
    assert "embed_dim 1024, depth 24; 4 interactions" in found.describe()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"interaction_indexes": ((0, 0), (1, 1), (2, 2), (3, 4))}, "not within"),
        ({"interaction_indexes": ((0, 1), (2, 3))}, "4 interactions"),
    ],
)
def test_configurations_the_adapter_cannot_run_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        _small_config(**overrides)


def test_flop_count_covers_the_adapter_with_the_registered_formulas():
    with torch.device("meta"):
        model = ViTAdapter(_small_config()).eval()
        images = torch.empty(1, 3, 64, 96)
    report = count_flops(model, (images,), modules=["spm", "interactions", "vit_module", "up"])
    assert all(value > 0 for value in report.by_module.values())
    assert any("ms_deform_attn" in op for op in report.by_op)
