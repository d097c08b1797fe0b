"""Per-frame GMACs of a method's clip inference, broken down by its declared modules."""

from __future__ import annotations

import pytest
import torch

import tests.helpers.toy_method as toy
from vis_bench.api.execution import execution_info
from vis_bench.measure.model_flops import clip_flops
from vis_bench.methods.seqformer.plugin import SeqFormerPlugin


def test_toy_conv_is_counted_per_frame():
    plugin = toy.ToyPlugin.build({})
    clip = torch.rand(4, 3, 8, 10)
    report = clip_flops(plugin, clip)
    # the toy runs a 1x1 conv 3->1 on the first frame only: 80 pixels x 3 MACs, over 4 frames
    assert report["gmacs_per_frame"] * 1e9 == pytest.approx(80 * 3 / 4)


def test_every_seqformer_module_is_counted_including_aliased_heads():
    torch.manual_seed(0)
    plugin = SeqFormerPlugin.build(
        {"hidden_dim": 32, "dim_feedforward": 64, "enc_layers": 1, "dec_layers": 1}
    )
    clip = plugin.preprocess(torch.randint(0, 255, (2, 3, 64, 96), dtype=torch.uint8))
    report = clip_flops(plugin, clip)
    modules = report["gmacs_per_frame_by_module"]
    assert set(modules) == set(plugin.flops_modules())
    assert all(value > 0 for value in modules.values())  # the box heads are registered twice
    assert sum(modules.values()) <= report["gmacs_per_frame"] * (1 + 1e-9)
    # parameters keep their requires_grad flags after counting
    assert all(p.requires_grad for p in plugin.model.detr.class_embed.parameters())


def test_deformable_attention_flops_do_not_depend_on_the_core():
    """Both cores count the op's formula (5 multiply-adds per channel and sampling point), so
    a model's FLOPs are the same whichever ran; counting the reference's grid_samples would
    give 4 of those 5."""
    from vis_bench.api.flops import count_flops
    from vis_bench.methods.common.ms_deform_attn_core import use_ms_deform_attn_core

    torch.manual_seed(0)
    plugin = SeqFormerPlugin.build(
        {"hidden_dim": 32, "dim_feedforward": 64, "enc_layers": 1, "dec_layers": 1}
    )
    frames = torch.randint(0, 255, (2, 3, 64, 96), dtype=torch.uint8)
    clip = plugin.preprocess(frames, shorter_side=64)
    compiled = count_flops(plugin.model, (clip,), forward=plugin.infer_clip)
    with use_ms_deform_attn_core(None):
        reference = count_flops(plugin.model, (clip,), forward=plugin.infer_clip)
    attention = compiled.by_op["vis_bench_ops.ms_deform_attn"]
    assert attention > 0
    assert reference.by_op["vis_bench_ops.ms_deform_attn_pytorch"] == attention
    assert not any("grid_sampler" in op for op in reference.by_op)
    assert reference.total == compiled.total


def test_a_method_with_deformable_attention_names_the_core_that_ran():
    """The record's `execution` gets the core from the plugin's hook; the harness knows no kernel."""
    from vis_bench.methods.common.ms_deform_attn_core import use_ms_deform_attn_core

    torch.manual_seed(0)
    plugin = SeqFormerPlugin.build(
        {"hidden_dim": 32, "dim_feedforward": 64, "enc_layers": 1, "dec_layers": 1}
    )
    clip = plugin.preprocess(torch.randint(0, 255, (2, 3, 64, 96), dtype=torch.uint8), 64)
    plugin.reset_execution_info()
    assert plugin.execution_info()["deform_attn_core"] is None
    with use_ms_deform_attn_core(None):
        plugin.infer_clip(clip)
    assert plugin.execution_info()["deform_attn_core"] == ["reference"]
    plugin.reset_execution_info()
    assert plugin.execution_info()["deform_attn_core"] is None
    assert execution_info(toy.ToyPlugin.build({})) == {}


@pytest.mark.slow
def test_a_record_names_the_fast_paths_and_those_that_were_off(monkeypatch):
    """Two plugins, paths all on and one off: the execution info tells the records apart."""
    from vis_bench.methods.common.fast_paths import ENV_VAR, FastPaths

    torch.manual_seed(0)
    options = {"hidden_dim": 32, "dim_feedforward": 64, "enc_layers": 1, "dec_layers": 1}
    clip = torch.randint(0, 255, (2, 3, 64, 96), dtype=torch.uint8)
    monkeypatch.delenv(ENV_VAR, raising=False)
    on = SeqFormerPlugin.build(options)
    on.infer_clip(on.preprocess(clip, 64))
    on_info = on.execution_info()
    monkeypatch.setenv(ENV_VAR, "all,-query_masks")
    off = SeqFormerPlugin.build(options)
    off.infer_clip(off.preprocess(clip, 64))
    assert on_info["fast_paths"] == list(FastPaths.names())
    assert on_info["non_default"] == [] and on_info["fast_paths_env"] is None
    assert "query_masks" not in off.execution_info()["fast_paths"]
    assert off.execution_info()["non_default"] == ["fast path query_masks off"]
    assert off.execution_info()["fast_paths_env"] == "all,-query_masks"


def test_mask2former_pixel_decoder_attention_is_counted_by_the_op_formula():
    """The pixel decoder's deformable attention counts the same whichever core runs, every
    declared module is counted, and the decoder's attention (SDPA) is not missed."""
    from vis_bench.api.flops import count_flops
    from vis_bench.api.registration import get_method
    from vis_bench.methods.common.ms_deform_attn_core import use_ms_deform_attn_core

    torch.manual_seed(0)
    plugin = get_method("mask2former-vis").build(
        {
            "backbone": "tiny",
            "hidden_dim": 32,
            "conv_dim": 32,
            "mask_dim": 32,
            "dim_feedforward": 64,
            "nheads": 4,
            "enc_layers": 1,
            "dec_layers": 3,
            "num_queries": 6,
            "num_classes": 3,
        }
    )
    clip = plugin.preprocess(torch.randint(0, 255, (2, 3, 64, 96), dtype=torch.uint8), 64)
    compiled = count_flops(plugin.model, (clip,), forward=plugin.infer_clip)
    with use_ms_deform_attn_core(None):
        reference = count_flops(plugin.model, (clip,), forward=plugin.infer_clip)
    attention = compiled.by_op["vis_bench_ops.ms_deform_attn"]
    assert attention > 0
    assert reference.by_op["vis_bench_ops.ms_deform_attn_pytorch"] == attention
    assert reference.total == compiled.total
    report = clip_flops(plugin, clip)
    modules = report["gmacs_per_frame_by_module"]
    assert set(modules) == set(plugin.flops_modules())
    assert all(value > 0 for value in modules.values())


class _PromptedModel(torch.nn.Module):
    """A shared 1x1 conv per frame, then a linear layer per prompt on its pooled features."""

    def __init__(self) -> None:
        super().__init__()
        self.shared = torch.nn.Conv2d(3, 4, 1)
        self.heads = torch.nn.Linear(4, 2)


class _PromptedPlugin:
    def __init__(self, prompts: int, per_prompt: list[str]) -> None:
        self.model = _PromptedModel()
        self.prompts, self.modules = prompts, per_prompt

    def infer_clip(self, clip: torch.Tensor) -> torch.Tensor:
        pooled = self.model.shared(clip).mean((2, 3))
        return torch.stack([self.model.heads(pooled) for _ in range(self.prompts)])

    def per_prompt_modules(self) -> list[str]:
        return self.modules

    def prompt_count(self) -> int:
        return self.prompts


def test_a_prompted_methods_flops_split_into_the_shared_part_and_one_prompts_part():
    clip = torch.rand(2, 3, 5, 6)
    report = clip_flops(_PromptedPlugin(3, ["heads"]), clip)
    split = report["gmacs_per_frame_split"]
    # per frame: the conv 30 pixels x 3 x 4 MACs; each prompt's linear 4 x 2 MACs
    assert split["shared"] * 1e9 == pytest.approx(30 * 3 * 4)
    assert split["per_prompt"] * 1e9 == pytest.approx(4 * 2)
    assert split["prompts"] == 3
    assert report["gmacs_per_frame"] * 1e9 == pytest.approx(30 * 3 * 4 + 3 * 4 * 2)
    assert "gmacs_per_frame_split" not in clip_flops(toy.ToyPlugin.build({}), clip)


def test_per_prompt_modules_inside_one_another_are_refused():
    with pytest.raises(ValueError, match="'heads.weight'.*inside 'heads'"):
        clip_flops(_PromptedPlugin(2, ["heads", "heads.weight"]), torch.rand(1, 3, 4, 4))


def test_sam3s_per_prompt_flops_do_not_depend_on_the_prompt_count():
    """SAM 3 runs its backbone once per frame for all prompts: more prompts add only the
    prompt-conditioned detector's share, the same for each."""
    from tests.test_sam3_plugin import FIXTURE_OPTIONS
    from vis_bench.api.registration import get_method

    frames = torch.randint(0, 255, (1, 3, 72, 96), dtype=torch.uint8)
    splits = []
    for prompts in (["person"], ["person", "red car", "dog"]):
        torch.manual_seed(0)
        options = {**FIXTURE_OPTIONS, "categories": "", "prompts": prompts}
        plugin = get_method("sam3").build(options)
        splits.append(clip_flops(plugin, plugin.preprocess(frames))["gmacs_per_frame_split"])
    one, three = splits
    assert (one["prompts"], three["prompts"]) == (1, 3)
    # the same per prompt, up to the few ops whose size follows a prompt's token count
    assert three["per_prompt"] == pytest.approx(one["per_prompt"], rel=1e-3)
    assert one["per_prompt"] > 0
    # the text encoder's share grows with the prompts; the backbone's does not
    assert three["shared"] > one["shared"] > 0


def test_a_cells_flops_record_carries_the_prompt_split():
    from types import SimpleNamespace

    from vis_bench.sweep.worker import _flops

    job = SimpleNamespace(measure=SimpleNamespace(flops=True))
    outcome = SimpleNamespace(first_clip=torch.rand(2, 3, 5, 6), warmup_probe=None)
    flops = _flops(job, _PromptedPlugin(3, ["heads"]), outcome, params=0)
    assert flops.gmacs_per_frame_split["prompts"] == 3
    assert flops.gmacs_per_frame_split["per_prompt"] * 1e9 == pytest.approx(4 * 2)
