"""Training SAM 3's detector: the matching costs, each loss term against hand-computed values,
the (frame, prompt) targets, and the trainer running the unregistered plugin by import path."""

from __future__ import annotations

import math

import pytest
import torch

from vis_bench.api.training import ClipTargets
from vis_bench.cli import main
from vis_bench.errors import InputError, VisBenchError
from vis_bench.formats.categories import SYNTHETIC
from vis_bench.formats.checkpoints import read_project_checkpoint
from vis_bench.methods.sam3.detector_training.detector_plugin import Sam3DetectorTraining
from vis_bench.methods.sam3.detector_training.forward import detector_outputs
from vis_bench.methods.sam3.detector_training.losses import (
    detector_losses,
    iou_aware_bce,
    mask_losses,
    presence_loss,
    semantic_losses,
)
from vis_bench.methods.sam3.detector_training.matching import match, matching_cost
from vis_bench.methods.sam3.detector_training.targets import PairTargets, pair_targets
from vis_bench.methods.sam3.scoring import joint_logits
from vis_bench.train.trainer import method_class

pytestmark = pytest.mark.usefixtures("one_thread")

PLUGIN_PATH = "vis_bench.methods.sam3.detector_training.detector_plugin:Sam3DetectorTraining"
#: a detector small enough for a test: a 4 x 4 token grid, 5 queries, 2 decoder layers
TINY = {
    "image": 32,
    "patch": 8,
    "vit_dim": 16,
    "vit_depth": 2,
    "vit_heads": 2,
    "window": 2,
    "global_blocks": [1],
    "text_width": 8,
    "text_heads": 2,
    "text_layers": 1,
    "context": 8,
    "d_model": 16,
    "heads": 2,
    "ffn": 32,
    "geometry_layers": 1,
    "encoder_layers": 1,
    "decoder_layers": 2,
    "queries": 5,
    "prompts": ["striped_disc", "dotted_disc", "checker_box"],
    "category_ids": [1, 2, 3],
}


def _bce(logit: float, target: float) -> float:
    return math.log1p(math.exp(logit)) - target * logit


def test_matching_cost_adds_focal_class_l1_and_giou_costs_with_the_released_weights():
    # p = 0.5: focal cost 0.25 * 0.25 * ln 2 - 0.75 * 0.25 * ln 2; L1 0.4; GIoU 0.25
    cost = matching_cost(
        torch.tensor([0.0]),
        torch.tensor([[0.5, 0.5, 0.2, 0.2]]),
        torch.tensor([[0.5, 0.5, 0.4, 0.4]]),
    )
    focal = 0.25 * 0.25 * math.log(2) - 0.75 * 0.25 * math.log(2)
    assert float(cost) == pytest.approx(2 * focal + 5 * 0.4 - 2 * 0.25, abs=1e-6)


def test_each_ground_truth_is_matched_to_the_query_that_fits_it_ordered_by_ground_truth():
    boxes = torch.tensor(
        [[0.2, 0.2, 0.2, 0.2], [0.5, 0.5, 0.1, 0.1], [0.8, 0.8, 0.2, 0.2], [0.5, 0.5, 0.9, 0.9]]
    )
    gt = torch.tensor([[0.8, 0.8, 0.2, 0.2], [0.2, 0.2, 0.2, 0.2]])
    queries, targets = match(torch.zeros(4), boxes, gt)
    assert queries.tolist() == [2, 0] and targets.tolist() == [0, 1]
    # a confident query wins a tie of boxes
    queries, _ = match(torch.tensor([-5.0, 5.0]), boxes[:1].repeat(2, 1), gt[1:])
    assert queries.tolist() == [1]
    queries, targets = match(torch.zeros(4), boxes, gt[:0])
    assert len(queries) == len(targets) == 0


def test_iou_aware_bce_has_a_soft_weighted_positive_and_probability_weighted_negatives():
    logits = torch.tensor([[1.0, -1.0], [2.0, 0.5]])
    loss = iou_aware_bce(
        logits,
        [torch.tensor([0]), torch.tensor([], dtype=torch.long)],
        [torch.tensor([0.5]), torch.tensor([])],
        torch.tensor([1.0, 0.0]),
    )
    p0, p1 = 1 / (1 + math.exp(-1.0)), 1 / (1 + math.exp(1.0))
    soft = p0**0.25 * 0.5**0.75
    positive = 10 * _bce(1.0, soft)
    negative = _bce(-1.0, 0.0) * p1**2
    # the second pair's prompt is absent: zero, but it still counts in the mean
    assert float(loss) == pytest.approx((positive + negative) / 4, rel=1e-5)


def test_presence_loss_is_half_the_mean_bce_of_the_presence_logits():
    loss = presence_loss(torch.tensor([0.0, 2.0]), torch.tensor([1.0, 0.0]))
    assert float(loss) == pytest.approx(0.5 * (_bce(0.0, 1.0) + _bce(2.0, 0.0)) / 2, rel=1e-5)


def test_mask_losses_upsample_predictions_to_the_ground_truth():
    logits = torch.full((1, 2, 2), -20.0)
    logits[0, 0, 0] = 20.0
    gt = torch.zeros(1, 4, 4)
    gt[0, :2, :2] = 1.0
    focal, dice = mask_losses(logits, gt, 1.0)
    assert float(focal) < 1e-4 and float(dice) < 0.1
    focal, dice = mask_losses(-logits, gt, 1.0)
    assert float(focal) > 1.0 and float(dice) > 0.9


def test_the_semantic_map_learns_the_union_of_a_present_concepts_instances_only():
    semantic = torch.zeros(2, 1, 2, 2, requires_grad=True)
    union = torch.tensor([[1.0, 1.0], [0.0, 0.0]])
    pairs = PairTargets(
        boxes=[torch.zeros(2, 4), torch.zeros(0, 4)],
        masks=[torch.stack([union * torch.tensor([[1.0, 0.0]]), union]), torch.zeros(0, 2, 2)],
    )
    focal, dice = semantic_losses(semantic, pairs)
    # p = 0.5 everywhere: focal 0.25 x ln 2 x (0.6 on the two object pixels, 0.4 on the others)
    assert focal.item() == pytest.approx(0.25 * math.log(2) * (0.6 + 0.4) / 2, rel=1e-5)
    assert dice.item() == pytest.approx(1 - 3 / 5, rel=1e-5)
    (focal + dice).backward()
    assert semantic.grad[0].abs().sum() > 0 and semantic.grad[1].abs().sum() == 0


def _clip_targets() -> ClipTargets:
    """Two frames of 8 x 8: a category-2 instance in both, a category-3 instance in frame 1."""
    masks = torch.zeros(2, 2, 8, 8)
    masks[0, :, :4, :4] = 1.0
    masks[1, 1, 4:, 4:] = 1.0
    boxes = torch.tensor(
        [[[0.25, 0.25, 0.5, 0.5]] * 2, [[1e-6] * 4, [0.75, 0.75, 0.5, 0.5]]], dtype=torch.float32
    )
    valid = torch.tensor([[True, True], [False, True]])
    return ClipTargets(labels=torch.tensor([2, 3]), masks=masks, boxes=boxes, valid=valid)


def test_pairs_take_the_visible_instances_of_their_prompts_category_in_their_frame():
    pairs = pair_targets(_clip_targets(), [1, 2, 3])
    assert [len(b) for b in pairs.boxes] == [0, 1, 0, 0, 1, 1]
    assert pairs.present.tolist() == [0.0, 1.0, 0.0, 0.0, 1.0, 1.0]
    assert pairs.num_boxes == 3
    assert torch.equal(pairs.masks[5][0], _clip_targets().masks[1, 1])


def test_detector_losses_supervise_every_layer_and_absent_prompts_train_only_presence():
    torch.manual_seed(0)
    plugin = Sam3DetectorTraining.build(TINY)
    frames = plugin.preprocess(torch.randint(0, 255, (2, 3, 8, 8), dtype=torch.uint8))
    outputs = detector_outputs(plugin.model.detector, frames, plugin.tokens)
    assert outputs.class_logits.shape == (2, 6, 5) and outputs.presence_logits.shape == (2, 6)
    # the last layer's outputs are those of the detector's own forward pass
    direct = plugin.model.detector(frames, plugin.tokens)
    torch.testing.assert_close(outputs.class_logits[-1], direct.class_logits[..., 0])
    torch.testing.assert_close(outputs.masks, direct.pred_masks)
    losses = detector_losses(outputs, pair_targets(_clip_targets(), [1, 2, 3]), 3.0)
    assert set(losses) == {
        *(f"{k}_0" for k in ("loss_bbox", "loss_giou", "loss_ce", "presence_loss")),
        *("loss_bbox", "loss_giou", "loss_ce", "presence_loss", "loss_mask", "loss_dice"),
        *("loss_semantic_seg", "loss_semantic_dice"),
    }
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    decoder = plugin.model.detector.transformer.decoder
    assert decoder.presence_token.weight.grad.abs().sum() > 0
    # a clip in which no prompt's concept appears: no class or box loss, only presence
    empty = ClipTargets(
        labels=torch.tensor([7]),
        masks=torch.zeros(1, 2, 8, 8),
        boxes=torch.full((1, 2, 4), 0.5),
        valid=torch.tensor([[True, True]]),
    )
    losses = detector_losses(outputs, pair_targets(empty, [1, 2, 3]), 1.0)
    assert losses["loss_ce"].item() == 0.0 and losses["loss_bbox"].item() == 0.0
    assert losses["presence_loss"].item() > 0.0


def test_parameter_groups_follow_the_released_rates_layer_decay_and_weight_decay():
    plugin = Sam3DetectorTraining.build(TINY)
    groups = plugin.parameter_groups(1e-3, 0.5)
    named = {id(p): n for n, p in plugin.model.named_parameters()}
    found = {}
    for group in groups:
        for p in group["params"]:
            found[named[id(p)]] = group
    trunk = "detector.backbone.vision_backbone.trunk."
    assert found[f"{trunk}blocks.1.attn.qkv.weight"]["layer_decay_exponent"] == 1
    assert found[f"{trunk}blocks.0.attn.qkv.weight"]["layer_decay_exponent"] == 2
    assert found[f"{trunk}patch_embed.proj.weight"]["layer_decay_exponent"] == 3
    assert found[f"{trunk}pos_embed"]["layer_decay_exponent"] == 0
    assert found[f"{trunk}blocks.0.attn.qkv.weight"]["lr"] == pytest.approx(5e-4)
    text = found["detector.backbone.language_backbone.resizer.weight"]
    assert text["lr"] == pytest.approx(5e-4 * 0.2)
    rest = found["detector.transformer.decoder.presence_token.weight"]
    assert rest["lr"] == pytest.approx(1e-3) and not rest["backbone"]
    assert found[f"{trunk}blocks.0.norm1.weight"]["weight_decay"] == 0.0
    assert found["detector.transformer.decoder.bbox_embed.layers.0.bias"]["weight_decay"] == 0.0
    assert "weight_decay" not in found["detector.transformer.decoder.bbox_embed.layers.0.weight"]
    assert len(found) == sum(1 for _ in plugin.model.parameters())


def test_a_text_encoder_trained_from_scratch_may_take_the_full_rate():
    plugin = Sam3DetectorTraining.build({**TINY, "text_lr_mult": 1.0})
    text = plugin.model.detector.backbone.language_backbone.resizer.weight
    rates = {id(p): g["lr"] for g in plugin.parameter_groups(1e-3, 0.5) for p in g["params"]}
    assert rates[id(text)] == pytest.approx(1e-3)
    with pytest.raises(InputError, match="> 0"):
        Sam3DetectorTraining.build({**TINY, "text_lr_mult": 0.0})


def test_a_frozen_trunk_is_in_no_group_and_needs_no_gradient():
    plugin = Sam3DetectorTraining.build({**TINY, "train_trunk": False})
    trunk = plugin.model.detector.backbone.vision_backbone.trunk
    grouped = {id(p) for group in plugin.parameter_groups(1e-3, 0.5) for p in group["params"]}
    assert not any(id(p) in grouped or p.requires_grad for p in trunk.parameters())
    neck = plugin.model.detector.backbone.vision_backbone.convs
    assert all(id(p) in grouped for p in neck.parameters())


def test_every_detection_is_an_instance_of_its_own_frame_labelled_by_its_prompt():
    torch.manual_seed(0)
    plugin = Sam3DetectorTraining.build({**TINY, "score_threshold": 0.0})
    frames = plugin.preprocess(torch.randint(0, 255, (3, 3, 20, 30), dtype=torch.uint8))
    result = plugin.infer_clip(frames)
    assert len(result) > 0 and set(result.labels.tolist()) <= {1, 2, 3}
    visible = result.masks.flatten(2).amax(-1) > 0
    assert (visible.sum(1) == 1).all()


def test_the_trainer_builds_an_unregistered_plugin_from_its_import_path(tmp_path):
    assert method_class(PLUGIN_PATH) is Sam3DetectorTraining
    with pytest.raises(InputError, match="failed to import") as err:
        method_class(
            "vis_bench.methods.sam3.detector_training.detector_plugin:Nothing", "sam3.yaml"
        )
    assert err.value.field == "method" and "sam3.yaml" in str(err.value)
    with pytest.raises(VisBenchError, match="not a MethodPlugin"):
        method_class("vis_bench.methods.sam3.detector_training.detector_plugin:Sam3DetectorModel")
    path = tmp_path / "sam3.yaml"
    path.write_text(
        f"method: '{PLUGIN_PATH}'\n"
        f"options: {TINY}\n"
        f"dataset: {{kind: synthetic, videos: 3, seed: 4, min_frames: 5, max_frames: 6, "
        f"cache_dir: {tmp_path / 'cache'}}}\n"
        "clip: {frames: 2, scales: [48]}\n"
        "optim: {iterations: 2}\n"
        f"output: {tmp_path / 'out.pth'}\n"
        f"work_dir: {tmp_path / 'work'}\n"
    )
    assert main(["train", "--config", str(path), "--no-progress"]) == 0
    saved = read_project_checkpoint(tmp_path / "out.pth")
    assert saved.method == "sam3-detector"
    assert all(key.startswith("detector.") for key in saved.state_dict)
    # the method's own strict loader reads it back: a later stage can start from it
    report = Sam3DetectorTraining.build(saved.config).load_checkpoint(str(tmp_path / "out.pth"))
    assert report.loaded == len(saved.state_dict) and not report.missing


def test_pretrain_trains_the_trunk_whose_map_the_detector_reads_and_backbone_init_loads_it(
    tmp_path,
):
    """`pretrain` builds the plugin from its import path and labels pixels from the trunk's
    last map (the one level "trunk"); the detector's training starts from exactly that trunk."""
    from vis_bench.api.training import backbone_module

    plugin = Sam3DetectorTraining.build(TINY)
    trunk = plugin.model.detector.backbone.vision_backbone.trunk
    images = plugin.preprocess(torch.randint(0, 255, (2, 3, 40, 48), dtype=torch.uint8))
    with torch.no_grad():
        maps = backbone_module(plugin)(images)
        assert list(maps) == ["trunk"] and torch.equal(maps["trunk"], trunk(images))
    dataset = (
        f"{{kind: synthetic, videos: 3, seed: 4, min_frames: 5, max_frames: 6, "
        f"cache_dir: {tmp_path / 'cache'}}}"
    )
    (tmp_path / "trunk.yaml").write_text(
        f"method: '{PLUGIN_PATH}'\noptions: {TINY}\ndataset: {dataset}\n"
        f"task: segmentation\ncrop_size: 32\nbatch: 2\niterations: 2\n"
        f"output: {tmp_path / 'trunk.pth'}\n"
    )
    assert main(["pretrain", "--config", str(tmp_path / "trunk.yaml"), "--no-progress"]) == 0
    pretrained = read_project_checkpoint(tmp_path / "trunk.pth").state_dict
    assert "trunk.blocks.1.attn.qkv.weight" in pretrained and "trunk.pos_embed" in pretrained
    assert not torch.equal(
        pretrained["trunk.patch_embed.proj.weight"], trunk.patch_embed.proj.weight
    )
    (tmp_path / "detector.yaml").write_text(
        f"method: '{PLUGIN_PATH}'\noptions: {TINY}\ndataset: {dataset}\n"
        "clip: {frames: 1, scales: [48]}\n"
        "optim: {iterations: 1, warmup_iters: 2, backbone_warmup_iters: 2}\n"
        f"backbone_init: {tmp_path / 'trunk.pth'}\n"
        f"output: {tmp_path / 'detector.pth'}\nwork_dir: {tmp_path / 'work'}\n"
    )
    assert main(["train", "--config", str(tmp_path / "detector.yaml"), "--no-progress"]) == 0
    trained = read_project_checkpoint(tmp_path / "detector.pth").state_dict
    # in the first warm-up step the rate is 0: the trained trunk is the pretrained one
    prefix = "detector.backbone.vision_backbone."
    for key, value in pretrained.items():
        assert torch.equal(trained[prefix + key], value), key


def test_the_tiny_config_builds_a_detector_under_the_shipped_size_limit():
    from pathlib import Path

    from vis_bench.train.config import load_train_config

    config = load_train_config(
        Path(__file__).resolve().parents[1] / "configs/tiny/sam3_detector.yaml"
    )
    plugin = method_class(config.method).build(dict(config.options))
    # the prompts are the synthetic label space's names, prompt p for category id p + 1
    assert tuple(plugin.options.prompts) == SYNTHETIC.names
    assert list(plugin.options.category_ids) == list(SYNTHETIC.ids)
    # float16 weights: 2 bytes a number, under the 10 MB a shipped tiny model may take
    assert 2 * sum(p.numel() for p in plugin.model.parameters()) < 10e6


def test_the_objective_fits_one_clip_its_present_prompts_scoring_high_the_absent_low():
    torch.manual_seed(0)
    plugin = Sam3DetectorTraining.build(TINY)
    frames = plugin.preprocess(torch.randint(0, 255, (2, 3, 8, 8), dtype=torch.uint8))
    targets = _clip_targets()
    optimiser = torch.optim.AdamW(plugin.model.parameters(), lr=1e-3)
    for _ in range(150):
        losses = plugin.training_losses(frames, targets, float(len(targets)))
        optimiser.zero_grad()
        sum(losses.values()).backward()
        optimiser.step()
    plugin.model.eval()
    with torch.no_grad():
        out = plugin.model.detector(frames, plugin.tokens)
    # pairs t * 3 + p: category 2 (prompt 1) in both frames, category 3 (prompt 2) in frame 1
    present = out.presence_logits[:, 0].sigmoid() > 0.5
    assert present.tolist() == [False, True, False, False, True, True]
    best = joint_logits(out.class_logits, out.presence_logits).sigmoid()[..., 0].amax(1)
    assert (best[present] > 0.5).all() and (best[~present] < 0.5).all()


def test_a_trained_detector_becomes_a_sam3_video_checkpoint_that_loads_strictly(tmp_path):
    """The video method needs the whole model in one file: the detector's weights by name,
    the tracker as initialised; the `sam3` method reads it back strictly, same detector."""
    from dataclasses import asdict

    from tools.sam3_video_checkpoint import video_checkpoint
    from vis_bench.api.registration import get_method
    from vis_bench.formats.checkpoints import save_project_checkpoint

    torch.manual_seed(1)
    detector = Sam3DetectorTraining.build(TINY)
    weights = detector.model.state_dict()
    save_project_checkpoint(weights, tmp_path / "d.pth", "sam3-detector", asdict(detector.options))
    video_checkpoint(tmp_path / "d.pth", tmp_path / "video.pth")
    saved = read_project_checkpoint(tmp_path / "video.pth")
    assert saved.method == "sam3"
    plugin = get_method("sam3").build(saved.config)
    report = plugin.load_checkpoint(str(tmp_path / "video.pth"))
    assert not report.missing and not report.unexpected
    assert plugin.prompts == TINY["prompts"] and plugin.category_ids == TINY["category_ids"]
    state = plugin.model.state_dict()
    trunk = "detector.backbone.vision_backbone.trunk.blocks.1.attn.qkv.weight"
    assert torch.equal(state[trunk], weights[trunk].half().float())
    with pytest.raises(InputError, match="not a SAM 3 detector"):
        video_checkpoint(tmp_path / "video.pth", tmp_path / "again.pth")
    # a threshold chosen for the small model replaces the detector's, and the file says so
    video_checkpoint(tmp_path / "d.pth", tmp_path / "low.pth", score_threshold=0.25)
    low = read_project_checkpoint(tmp_path / "low.pth").config
    assert (
        low["score_threshold_detection"] == 0.25
        and saved.config["score_threshold_detection"] == 0.5
    )


def test_the_joining_command_answers_a_missing_file_in_one_line(tmp_path):
    """A stage not yet trained (its output absent) is the usual mistake: an error naming the
    file, no traceback."""
    from tools.sam3_video_checkpoint import main

    missing = tmp_path / "sam3_detector_tiny.pth"
    with pytest.raises(SystemExit, match=r"^error: .*sam3_detector_tiny\.pth: checkpoint file"):
        main([str(missing), str(tmp_path / "out.pth")])
    assert not (tmp_path / "out.pth").exists()
