"""VidEoMT's training: the clip forward the authors train, their criterion's class targets, their
optimiser groups and schedule, and their clip sampler."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vis_bench.api import InputError
from vis_bench.api.registration import get_method
from vis_bench.api.training import ClipTargets
from vis_bench.methods.families.mask2former.criterion import VideoSetCriterion
from vis_bench.methods.families.mask2former.matcher import VideoTargets
from vis_bench.methods.videomt.matcher import ClipConsistentMatcher
from vis_bench.methods.videomt.preprocessing import pad_frames
from vis_bench.methods.videomt.training import (
    TRAINING_RECIPE,
    ClipFrameSampler,
    build_criterion,
    clip_outputs,
    mask_probabilities,
    masked_frame,
    query_attention_mask,
    videomt_losses,
)
from vis_bench.train.trainer import lr_factor, scale_layer_rates

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = {
    "backbone": "vit_s",
    "embed_dim": 32,
    "depth": 4,
    "num_heads": 2,
    "query_blocks": [1, 2, 3],
    "num_queries": 6,
    "num_classes": 3,
    "img_size": 64,
}


def _plugin(options: dict | None = None):
    """A small model whose random blocks do something (LayerScale 1e-5 would silence them)."""
    torch.manual_seed(0)
    plugin = get_method("videomt").build(dict(options or SMALL))
    with torch.no_grad():
        for name, param in plugin.model.named_parameters():
            if name.endswith("gamma"):
                param.fill_(0.5)
    return plugin


def _frames(plugin, count: int = 3) -> torch.Tensor:
    torch.manual_seed(1)
    frames = torch.randint(0, 256, (count, 3, 60, 90), dtype=torch.uint8)
    return pad_frames(plugin.preprocess(frames, 60))


def test_the_training_forward_is_the_inference_loop_plus_deep_supervision():
    """Final predictions: the per-frame loop with carried queries, exactly. Auxiliary ones: the
    heads on the un-normed tokens entering each query block but the last (whose loss the
    authors' weight_dict drops)."""
    plugin = _plugin()
    net = plugin.model.backbone
    frames = _frames(plugin)
    out = clip_outputs(net, frames)
    with torch.no_grad():
        loop, _ = plugin.model(frames)
    logits = torch.stack([o.class_logits[0] for o in loop])
    masks = torch.stack([o.mask_logits[0] for o in loop], dim=1)
    assert torch.equal(out["pred_logits"][0], logits)
    assert torch.equal(out["pred_masks"][0], masks)
    assert len(out["aux_outputs"]) == len(SMALL["query_blocks"]) - 1 == 2
    # the first auxiliary prediction of frame 1: [propagated queries, tokens] before block 1,
    # through the heads without the final norm
    tokens, grid = net.frame_tokens(frames[1:2])
    x = torch.cat([loop[0].next_queries, tokens], dim=1)
    expected_logits, expected_masks = net.predict(x, grid, SMALL["num_queries"])
    aux = out["aux_outputs"][0]
    torch.testing.assert_close(aux["pred_logits"][0, 1], expected_logits[0])
    torch.testing.assert_close(aux["pred_masks"][0, :, 1], expected_masks[0])
    # the second: the output of block 1, entering block 2
    x = net.vit.blocks[1](x)
    torch.testing.assert_close(
        out["aux_outputs"][1]["pred_logits"][0, 1], net.predict(x, grid, 6)[0][0]
    )


def test_the_loss_reaches_the_query_updater_through_the_carried_queries():
    """Nothing is detached between frames: a later frame's loss trains the propagation."""
    plugin = _plugin()
    frames = _frames(plugin, 2)
    out = clip_outputs(plugin.model.backbone, frames)
    out["pred_logits"][0, 1].sum().backward()
    assert plugin.model.backbone.query_updater.weight.grad.abs().sum() > 0
    plugin.model.zero_grad()
    clip_outputs(plugin.model.backbone, frames)["pred_logits"][0, 0].sum().backward()
    assert plugin.model.backbone.query_updater.weight.grad is None or not torch.any(
        plugin.model.backbone.query_updater.weight.grad
    )


def test_an_instance_absent_from_the_last_frame_is_matched_as_nothing_but_trained_as_the_last_class():
    """The release's loader labels it with detectron2's default 54 classes: their matcher
    clamps that to "no object", their loss to class K - 1."""
    plugin = _plugin()
    criterion = build_criterion(plugin.model)
    num_classes = SMALL["num_classes"]
    torch.manual_seed(2)
    outputs = {"pred_logits": torch.randn(1, 6, num_classes + 1)}
    masks = torch.zeros(1, 1, 8, 8)
    indices = [(torch.tensor([4]), torch.tensor([0]))]
    mine = criterion.loss_labels(
        outputs, [VideoTargets(torch.tensor([num_classes]), masks)], indices
    )
    family = VideoSetCriterion(num_classes, criterion.matcher, criterion.weight_dict)
    last_class = VideoTargets(torch.tensor([num_classes - 1]), masks)
    assert torch.equal(
        mine["loss_ce"], family.loss_labels(outputs, [last_class], indices)["loss_ce"]
    )
    # the matcher's class cost reads the "no object" probability
    target = VideoTargets(torch.tensor([num_classes]), masks[:, None, 0])
    cost = criterion.matcher.cost_matrix(
        outputs["pred_logits"][0], torch.zeros(6, 1, 8, 8), target, torch.Generator().manual_seed(0)
    )
    no_object = -outputs["pred_logits"][0].softmax(-1)[:, num_classes]
    plain = criterion.matcher.cost_matrix(
        outputs["pred_logits"][0].detach() * 0,
        torch.zeros(6, 1, 8, 8),
        target,
        torch.Generator().manual_seed(0),
    )
    uniform = -1.0 / (num_classes + 1)
    torch.testing.assert_close(cost[:, 0] - plain[:, 0], 2.0 * (no_object - uniform))


def test_the_mask_annealing_follows_eomt_block_by_block():
    windows = [[0.1, 0.2], [0.3, 0.5]]
    assert mask_probabilities(windows, 0, 100) == [1.0, 1.0]
    assert mask_probabilities(windows, 15, 100) == pytest.approx([0.5**0.9, 1.0])
    assert mask_probabilities(windows, 20, 100) == [0.0, 1.0]
    assert mask_probabilities(windows, 40, 100) == pytest.approx([0.0, 0.5**0.9])
    assert mask_probabilities(windows, 50, 100) == [0.0, 0.0]


def test_a_query_attends_only_inside_its_mask_unless_freed():
    plugin = _plugin()
    net = plugin.model.backbone
    grid, queries, prefix = (2, 3), 2, net.vit.num_prefix_tokens
    tokens = queries + prefix + 6
    logits = torch.full((1, queries, 8, 12), -1.0)
    logits[0, 0, :4, :4] = 1.0  # query 0: the top-left patch only
    mask = query_attention_mask(logits, grid, tokens, prefix, 1.0)[0, 0]
    start = queries + prefix
    assert mask[0, start:].tolist() == [True, False, False, False, False, False]
    assert not mask[1, start:].any()  # an empty mask: the query still sees queries and prefix
    assert mask[:, :start].all() and mask[start:].all()
    assert query_attention_mask(logits, grid, tokens, prefix, 0.0) is None
    torch.manual_seed(0)
    freed = torch.stack(
        [query_attention_mask(logits, grid, tokens, prefix, 0.5) for _ in range(200)]
    )
    share = freed[:, 0, 0, 1, start:].all(-1).float().mean()
    assert 0.35 < share < 0.65


def test_masked_attention_changes_the_training_forward_only_while_a_block_is_masked():
    plugin = _plugin()
    net = plugin.model.backbone
    frames = _frames(plugin, 2)
    plain = clip_outputs(net, frames)
    net.attn_mask_probs.zero_()
    off = clip_outputs(net, frames, masked_attention=True)
    torch.testing.assert_close(off["pred_logits"], plain["pred_logits"])
    torch.testing.assert_close(
        off["aux_outputs"][1]["pred_masks"], plain["aux_outputs"][1]["pred_masks"]
    )
    net.attn_mask_probs.fill_(1.0)
    masked = clip_outputs(net, frames, masked_attention=True)
    assert len(masked["aux_outputs"]) == len(plain["aux_outputs"])
    assert not torch.allclose(masked["pred_logits"], plain["pred_logits"])
    # the first auxiliary prediction is made before any masked block: unchanged
    torch.testing.assert_close(
        masked["aux_outputs"][0]["pred_logits"][:, 0], plain["aux_outputs"][0]["pred_logits"][:, 0]
    )
    out, before = masked_frame(net, *net.frame_tokens(frames[:1]), net.initial_queries())
    assert len(before) == len(SMALL["query_blocks"]) and out.next_queries.shape[1] == 6


def test_the_annealing_option_is_checked_and_set_before_each_step():
    with pytest.raises(InputError, match="one \\[start, end\\] pair per query block"):
        get_method("videomt").build({**SMALL, "attn_mask_annealing": [[0.1, 0.2]]})
    with pytest.raises(InputError, match="absent_last_frame"):
        get_method("videomt").build({**SMALL, "absent_last_frame": "sometimes"})
    plugin = _plugin({**SMALL, "attn_mask_annealing": [[0.0, 0.1], [0.1, 0.2], [0.2, 0.3]]})
    plugin.training_step(15, 100)
    assert plugin.model.backbone.attn_mask_probs.tolist() == pytest.approx([0.0, 0.5**0.9, 1.0])
    release = _plugin()
    release.training_step(15, 100)  # the release reads no annealing: the buffer is left alone
    assert release.model.backbone.attn_mask_probs.tolist() == [1.0, 1.0, 1.0]


def test_an_absent_instance_keeps_its_category_when_asked():
    plugin = _plugin()
    criterion = build_criterion(plugin.model)
    frames = _frames(plugin, 2)
    masks = torch.zeros(1, 2, 60, 90)
    masks[0, 0, 10:30, 10:30] = 1.0  # present in the first frame only
    targets = ClipTargets(
        torch.tensor([1]), masks, torch.full((1, 2, 4), 0.1), torch.tensor([[True, False]])
    )
    torch.manual_seed(0)
    release = videomt_losses(plugin.model, criterion, frames, targets, 1.0)
    torch.manual_seed(0)
    own = videomt_losses(
        plugin.model, criterion, frames, targets, 1.0, absent_last_frame="own_category"
    )
    assert not torch.equal(release["loss_ce"], own["loss_ce"])


def test_losses_of_a_clip_carry_the_authors_names_and_weights():
    plugin = _plugin()
    frames = _frames(plugin)
    h, w = 60, 90
    masks = torch.zeros(2, 3, h, w)
    masks[0, :, 10:30, 10:40] = 1
    masks[1, :2, 35:55, 50:80] = 1  # absent from the last frame
    targets = ClipTargets(
        labels=torch.tensor([1, 3]),
        masks=masks,
        boxes=torch.zeros(2, 3, 4),
        valid=masks.flatten(2).any(-1),
    )
    losses = plugin.training_losses(frames[:, :, :h, :w], targets, num_instances=2.0)
    assert set(losses) == {f"loss_{k}{s}" for k in ("ce", "mask", "dice") for s in ("", "_0", "_1")}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())
    sum(losses.values()).backward()
    assert plugin.model.backbone.encoder.backbone.patch_embed.proj.weight.grad is not None


def test_parameter_groups_follow_the_authors_layer_wise_decay():
    """train_net_video.py's build_optimizer: block i at LLRD ** (depth - 1 - i), the patch and
    position embeddings and tokens as block 0, the ViT's final norm and the heads undecayed."""
    plugin = _plugin()
    groups = plugin.parameter_groups(1e-4, 1.0)
    scale_layer_rates(groups, TRAINING_RECIPE.layer_decay)
    rate = {id(p): (g["lr"], g.get("backbone", False)) for g in groups for p in g["params"]}
    named = dict(plugin.model.named_parameters())
    vit = "backbone.encoder.backbone."
    depth = SMALL["depth"]
    for i in range(depth):
        assert rate[id(named[f"{vit}blocks.{i}.attn.qkv.weight"])] == pytest.approx(
            (1e-4 * 0.6 ** (depth - 1 - i), True)
        )
    for name in ("pos_embed", "cls_token", "reg_token", "patch_embed.proj.bias"):
        assert rate[id(named[vit + name])] == pytest.approx((1e-4 * 0.6 ** (depth - 1), True))
    assert rate[id(named[f"{vit}norm.weight"])] == (1e-4, True)
    for name in ("q.weight", "query_updater.weight", "class_head.bias", "upscale.0.conv1.weight"):
        assert rate[id(named["backbone." + name])] == (1e-4, False)
    assert sum(len(g["params"]) for g in groups) == len(named)


def _authors_schedule(step: int, total: int, backbone: bool) -> float:
    """TwoStageWarmupPolySchedule.get_lr's factor, its warm-up shifted by one step (the trainer
    gives the first warm-up step 1 / n, the authors 0)."""
    first, second = 500, 1000
    if not backbone:
        if step < first:
            return (step + 1) / first
        return (1 - (step - first) / (total - first)) ** 0.9
    if step < first:
        return 0.0
    if step < first + second:
        return (step - first + 1) / second
    return (1 - (step - first - second) / (total - first - second)) ** 0.9


def test_the_schedule_is_the_authors_two_stage_warm_up_and_poly_decay():
    total = 40000
    for step in (0, 1, 250, 499, 500, 501, 1000, 1499, 1500, 1501, 20000, 39999):
        for backbone in (False, True):
            assert lr_factor(step, total, TRAINING_RECIPE, backbone) == pytest.approx(
                _authors_schedule(step, total, backbone)
            ), (step, backbone)


def test_clips_are_consecutive_frames_never_the_last_window():
    sampler = ClipFrameSampler()
    rng = np.random.default_rng(0)
    starts = set()
    for _ in range(400):
        clip = sampler(rng, 9, 5, reference=int(rng.integers(9)))
        assert clip == list(range(clip[0], clip[0] + 5))
        starts.add(clip[0])
    assert starts == {0, 1, 2, 3}  # randrange(9 - 5): the window starting at 4 is never drawn
    assert sampler(rng, 5, 5, reference=3) == [0, 1, 2, 3, 4]
    short = sampler(rng, 3, 5, reference=0)
    assert short[:3] == [0, 1, 2] and len(short) == 5 and set(short[3:]) <= {0, 1, 2}
    # another clip length: the reference frame and frames within +-2 of it
    other = sampler(rng, 20, 3, reference=10)
    assert 10 in other and all(8 <= t <= 12 for t in other) and other == sorted(other)


def test_a_clip_has_one_assignment_made_where_each_instance_first_appears():
    """Instance A is seen from frame 0, B only from frame 2. A takes the query that fits it at
    frame 0; B, matched on frame 2, cannot take that query even though it fits B best there."""
    num_classes, a, b = 3, 0, 2
    logits = torch.zeros(3, 4, num_classes + 1)
    logits[0, 1, a] = 8.0  # frame 0: query 1 is A's
    logits[2, 1, b] = 8.0  # frame 2: query 1 looks most like B ...
    logits[2, 3, b] = 5.0  # ... and query 3 next
    masks = torch.zeros(2, 3, 16, 16)
    masks[0, :, 2:8, 2:8] = 1
    masks[1, 2, 9:14, 9:14] = 1
    frames = [VideoTargets(torch.tensor([a, b]), masks[:, [f]]) for f in range(3)]
    outputs = {"pred_logits": logits, "pred_masks": torch.zeros(3, 4, 1, 4, 4)}
    matcher = ClipConsistentMatcher(num_points=64)
    indices = matcher(outputs, frames, torch.Generator().manual_seed(0))
    assert len(indices) == 3 and all(
        torch.equal(q, indices[0][0]) and torch.equal(i, indices[0][1]) for q, i in indices
    )
    assert dict(zip(indices[0][1].tolist(), indices[0][0].tolist(), strict=True)) == {0: 1, 1: 3}
    # matched frame by frame instead, frame 2 would give B query 1
    alone = ClipConsistentMatcher(num_points=64)(
        {"pred_logits": logits[2:], "pred_masks": torch.zeros(1, 4, 1, 4, 4)},
        [VideoTargets(torch.tensor([b]), masks[1:, [2]])],
        torch.Generator().manual_seed(0),
    )
    assert alone[0][0].tolist() == [1]


def test_the_vit_as_a_backbone_gives_the_query_blocks_input_and_the_final_tokens():
    """The first map is what the first query block reads (layer-normed, no weights), so a
    dense pretraining can ask for the category there, not only after the last block."""
    from vis_bench.api.training import backbone_module

    plugin = get_method("videomt").build({**SMALL, "patch_size": 8, "img_size": 32})
    network = plugin.model.backbone.eval()
    images = torch.rand(2, 3, 32, 48)
    with torch.no_grad():
        maps = backbone_module(plugin)(images)
        tokens, grid = network.vit.embed(images)
        tokens = network.vit.run_blocks(tokens, 0, network.config.first_query_block)
    assert list(maps) == ["query_input", "patches"]
    assert grid == (4, 6) and maps["patches"].shape == maps["query_input"].shape == (2, 32, 4, 6)
    normed = torch.nn.functional.layer_norm(tokens, (32,))[:, network.vit.num_prefix_tokens :]
    assert torch.allclose(maps["query_input"].flatten(2).transpose(1, 2), normed, atol=1e-6)


def test_a_dense_pretraining_fills_the_vit_and_waits_out_the_first_warm_up(tmp_path):
    """`pretrain` trains the ViT through `backbone_module` (its patch tokens as maps, each
    labelling the pixels on its own with `level_losses`); `backbone_init` loads it; in the first step the ViT's rate is still 0 (the two-stage
    warm-up), so the trained ViT is the pretrained one exactly."""
    from vis_bench.config import DatasetConfig
    from vis_bench.train.config import ClipConfig, OptimConfig, TrainConfig
    from vis_bench.train.pretrain import load_pretrain_config, pretrain_backbone
    from vis_bench.train.trainer import train

    options = {**SMALL, "patch_size": 8, "img_size": 32, "num_classes": 8}
    dataset = {
        "kind": "synthetic",
        "videos": 3,
        "seed": 4,
        "min_frames": 5,
        "max_frames": 6,
        "cache_dir": str(tmp_path / "cache"),
    }
    path = tmp_path / "vit.yaml"
    path.write_text(
        f"method: videomt\noptions: {options}\ndataset: {dataset}\ntask: segmentation\n"
        f"crop_size: 32\nbatch: 2\niterations: 2\nlevel_losses: true\n"
        f"output: {tmp_path / 'vit.pth'}\n"
    )
    pretrain_backbone(load_pretrain_config(path), progress=False, log=lambda _: None)
    pretrained = torch.load(tmp_path / "vit.pth", weights_only=True)["state_dict"]
    assert "vit.blocks.3.mlp.fc2.weight" in pretrained and "vit.pos_embed" in pretrained
    config = TrainConfig(
        name="vit-init",
        method="videomt",
        dataset=DatasetConfig(**dataset),
        options=options,
        clip=ClipConfig(frames=3, scales=[48], max_size=96),
        optim=OptimConfig(iterations=1, warmup_iters=2, backbone_warmup_iters=2),
        backbone_init=str(tmp_path / "vit.pth"),
        output=str(tmp_path / "videomt.pth"),
        work_dir=str(tmp_path / "work"),
    )
    train(config, progress=False, log=lambda _: None)
    trained = torch.load(tmp_path / "videomt.pth", weights_only=True)["state_dict"]
    for key, value in pretrained.items():
        assert torch.equal(trained["backbone.encoder.backbone." + key[len("vit.") :]], value), key
