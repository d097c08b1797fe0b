"""The training loop: every method trains, runs are seeded, and a resumed run ends identically."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from tests.helpers.tiny import tiny_options
from vis_bench.api.registration import discovered_methods, get_method
from vis_bench.api.training import TrainingRecipe, backbone_module
from vis_bench.cli import main
from vis_bench.config import DatasetConfig, MethodConfig
from vis_bench.errors import InputError
from vis_bench.formats.checkpoints import read_project_checkpoint
from vis_bench.sweep.methods import resolve_method
from vis_bench.sweep.worker import build_plugin
from vis_bench.train.config import ClipConfig, OptimConfig, TrainConfig, load_train_config
from vis_bench.train.trainer import headline_losses, is_image_step, lr_factor, make_adamw, train

pytestmark = pytest.mark.usefixtures("one_thread")
REPO = Path(__file__).resolve().parents[1]


def _built(entry: MethodConfig):
    """What a sweep's worker builds for a method entry (checked as a config would be)."""
    return build_plugin(resolve_method(entry, 0, "<test>"))[0]


#: every method that trains (its spec has a recipe), from the registry
TRAINABLE = [name for name in discovered_methods() if get_method(name).spec.training is not None]


def _config(tmp_path, method: str, iterations: int = 4, **extra) -> TrainConfig:
    return TrainConfig(
        name=f"test-{method}",
        method=method,
        dataset=DatasetConfig(
            kind="synthetic",
            videos=4,
            seed=11,
            min_frames=5,
            max_frames=7,
            cache_dir=str(tmp_path / "cache"),
        ),
        options=tiny_options(method),
        clip=ClipConfig(frames=3, scales=[48], max_size=96),
        optim=OptimConfig(iterations=iterations, lr=1e-3, backbone_lr_mult=1.0),
        output=str(tmp_path / f"{method}.pth"),
        work_dir=str(tmp_path / f"work-{method}"),
        checkpoint_every=2,
        **extra,
    )


@pytest.mark.slow
@pytest.mark.parametrize("method", TRAINABLE)
def test_each_method_trains_and_its_weights_load_from_the_checkpoint_alone(tmp_path, method):
    config = _config(tmp_path, method, iterations=3)
    torch.manual_seed(0)
    before = {
        k: v.clone()
        for k, v in _built(MethodConfig(method, options=config.options)).model.state_dict().items()
    }
    outcome = train(config, progress=False, log=lambda _: None)
    assert outcome.iterations == 3
    info = read_project_checkpoint(config.output)
    assert info.method == method and info.config == config.options
    assert info.training["iterations"] == 3
    # the sweep builds the model from the checkpoint's own options
    plugin = _built(MethodConfig(method, checkpoint=config.output))
    after = plugin.model.state_dict()
    assert after.keys() == before.keys()
    assert any(not torch.equal(after[k], before[k]) for k in after)


@pytest.mark.slow
def test_resumed_training_ends_with_the_same_weights(tmp_path):
    straight = _config(tmp_path / "a", "seqformer")
    train(straight, progress=False, log=lambda _: None)
    interrupted = _config(tmp_path / "b", "seqformer")
    first = train(interrupted, progress=False, log=lambda _: None, stop_after=2)
    assert first.iterations == 2 and not (tmp_path / "b" / "seqformer.pth").exists()
    second = train(interrupted, progress=False, log=lambda _: None)
    assert second.resumed_from == 2
    a = torch.load(straight.output, weights_only=True)["state_dict"]
    b = torch.load(interrupted.output, weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_changed_config_does_not_resume_a_foreign_state(tmp_path):
    config = _config(tmp_path, "ifc")
    train(config, progress=False, log=lambda _: None, stop_after=2)
    changed = _config(tmp_path, "ifc", seed=5)
    with pytest.raises(Exception, match="different config"):
        train(changed, progress=False, log=lambda _: None)


def test_half_weights_halve_the_file_and_load_as_float32(tmp_path):
    config = _config(tmp_path, "ifc", iterations=1, half_weights=True)
    train(config, progress=False, log=lambda _: None)
    stored = torch.load(config.output, weights_only=True)["state_dict"]
    assert all(v.dtype == torch.float16 for v in stored.values() if v.is_floating_point())
    plugin = _built(MethodConfig("ifc", checkpoint=config.output))
    assert all(p.dtype == torch.float32 for p in plugin.model.parameters())


def test_the_fused_optimiser_takes_the_reference_adamw_steps():
    torch.manual_seed(0)
    weights = [torch.nn.Parameter(torch.randn(5, 3)), torch.nn.Parameter(torch.randn(7))]
    copies = [torch.nn.Parameter(w.detach().clone()) for w in weights]
    groups = [{"params": [weights[0]], "lr": 1e-2}, {"params": [weights[1]], "lr": 1e-3}]
    fused = make_adamw(groups, 1e-2, 1e-4, weights)
    reference = torch.optim.AdamW(
        [{"params": [copies[0]], "lr": 1e-2}, {"params": [copies[1]], "lr": 1e-3}],
        lr=1e-2,
        weight_decay=1e-4,
        foreach=False,
    )
    assert fused.defaults["fused"]
    for _ in range(5):
        grads = [torch.randn_like(w) for w in weights]
        for params, optimizer in ((weights, fused), (copies, reference)):
            for w, g in zip(params, grads, strict=True):
                w.grad = g.clone()
            optimizer.step()
    for w, c in zip(weights, copies, strict=True):
        torch.testing.assert_close(w, c, rtol=1e-6, atol=1e-7)


def test_image_steps_come_first_or_spread_over_the_run():
    staged = [is_image_step(i, 10, ClipConfig(image_stage=0.4)) for i in range(10)]
    assert staged == [True] * 4 + [False] * 6
    mixed = [is_image_step(i, 100, ClipConfig(image_mix=0.4)) for i in range(100)]
    assert sum(mixed) == 40
    # evenly spread: every window of five steps holds two image steps
    assert all(sum(mixed[i : i + 5]) == 2 for i in range(0, 100, 5))
    assert not any(is_image_step(i, 100, ClipConfig()) for i in range(100))


def test_image_stage_and_image_mix_are_exclusive(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text(
        "method: ifc\ndataset: {kind: synthetic}\nclip: {image_stage: 0.2, image_mix: 0.2}\n"
    )
    with pytest.raises(InputError, match="not both") as err:
        load_train_config(path)
    assert "clip.image_mix" in str(err.value)


def test_step_schedule_with_warmup():
    recipe = TrainingRecipe(
        lr=1.0,
        weight_decay=0,
        clip_max_norm=0,
        lr_drops=(0.5, 0.75),
        frame_sampler=lambda rng, length, frames, ref: [ref] * frames,
        warmup_iters=4,
    )
    factors = [lr_factor(i, 8, recipe) for i in range(8)]
    assert factors == pytest.approx([0.25, 0.5, 0.75, 1.0, 0.1, 0.1, 0.01, 0.01])


def test_train_config_errors_name_the_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("method: ifc\ndataset: {kind: synthetic}\noptim: {lr: fast}\n")
    with pytest.raises(InputError, match="optim.lr"):
        load_train_config(path)
    path.write_text("method: ifc\ndataset: {kind: synthetic}\nclip: {frame: 5}\n")
    with pytest.raises(InputError, match="clip.frame"):
        load_train_config(path)
    path.write_text("method: ifc\n")
    with pytest.raises(InputError, match="dataset"):
        load_train_config(path)
    path.write_text("method: ifc\ndataset: {kind: synthetic}\nbackbone_init: nowhere.pth\n")
    with pytest.raises(InputError, match="pretrain") as err:
        load_train_config(path)
    assert err.value.field == "backbone_init"


def test_shipped_tiny_configs_parse():
    configs = 0
    for method in discovered_methods():
        stem = method.replace("-", "_")
        path = REPO / "configs" / "tiny" / f"{stem}.yaml"
        if not path.is_file():
            continue
        configs += 1
        try:
            config = load_train_config(path)
        except InputError as err:  # a stage that starts from an uncommitted earlier stage
            assert err.field == "init_checkpoint", err
            continue
        assert config.method == method and config.output.endswith(f"{stem}_tiny.pth")
    assert configs >= 1


def test_the_log_names_the_last_layers_loss_terms_beside_the_total():
    losses = {"loss_ce": 1.5, "loss_ce_0": 2.0, "loss_mask": 0.25, "total": 9.0, "step": 50}
    assert headline_losses(losses) == "total 9.000, ce 1.500, mask 0.250"
    assert headline_losses({"loss": 0.5}) == "loss 0.500"


def test_train_command_runs_a_config_end_to_end(tmp_path, capsys):
    path = tmp_path / "tiny.yaml"
    path.write_text(
        "method: ifc\n"
        f"options: {tiny_options('ifc')}\n"
        f"dataset: {{kind: synthetic, videos: 3, seed: 4, min_frames: 5, max_frames: 6, "
        f"cache_dir: {tmp_path / 'cache'}}}\n"
        "clip: {frames: 3, scales: [48]}\n"
        "optim: {iterations: 2}\n"
        f"output: {tmp_path / 'out.pth'}\n"
        f"work_dir: {tmp_path / 'work'}\n"
    )
    assert main(["train", "--config", str(path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "done: 2 steps" in out
    # the last layer's terms are named beside the total, not only the total
    assert re.search(r"last losses: total [\d.]+, \w+ [\d.]+", out), out
    assert (tmp_path / "out.pth").is_file()
    # the weights carry the categories they were trained on: a sweep checks them
    from vis_bench.formats.categories import check_label_space
    from vis_bench.formats.checkpoint_labels import carried_label_space
    from vis_bench.formats.checkpoints import open_checkpoint

    carried = carried_label_space(open_checkpoint(tmp_path / "out.pth"))
    assert isinstance(carried, tuple) and check_label_space(carried, "synthetic").is_identity


#: the trainable methods whose tiny model has the tiny backbone the `pretrain` command makes
TINY_BACKBONE = [name for name in TRAINABLE if tiny_options(name).get("backbone") == "tiny"]


def _backbone_prefix(plugin) -> str:
    """Where the method's backbone module sits in its model's state dict."""
    module = backbone_module(plugin)
    return next(f"{name}." for name, sub in plugin.model.named_modules() if sub is module)


@pytest.mark.slow
def test_pretrained_backbone_fits_every_method_and_carries_trained_statistics(tmp_path):
    from vis_bench.train.pretrain import load_pretrain_config, pretrain_backbone

    path = tmp_path / "backbone.yaml"
    path.write_text(
        "method: ifc\n"
        "options: {backbone: tiny}\n"
        f"dataset: {{kind: synthetic, videos: 3, seed: 4, min_frames: 5, max_frames: 6, "
        f"cache_dir: {tmp_path / 'cache'}}}\n"
        "crop_size: 32\nbatch: 4\niterations: 3\n"
        f"output: {tmp_path / 'backbone.pth'}\n"
    )
    result = pretrain_backbone(load_pretrain_config(path), progress=False, log=lambda _: None)
    assert 0.0 <= result["accuracy"] <= 1.0
    weights = torch.load(tmp_path / "backbone.pth", weights_only=True)["state_dict"]
    # the frozen statistics are the ones BatchNorm gathered while pretraining
    assert not torch.equal(
        weights["bn1.running_mean"], torch.zeros_like(weights["bn1.running_mean"])
    )
    for method in TINY_BACKBONE:
        config = _config(
            tmp_path / method, method, iterations=1, backbone_init=str(tmp_path / "backbone.pth")
        )
        train(config, progress=False, log=lambda _: None)
        trained = torch.load(config.output, weights_only=True)["state_dict"]
        prefix = _backbone_prefix(_built(MethodConfig(method, options=config.options)))
        assert torch.equal(trained[prefix + "bn1.running_var"], weights["bn1.running_var"])


def test_dense_pretraining_labels_every_object_pixel_with_its_category(tmp_path):
    from vis_bench.inference.sources import open_source
    from vis_bench.train.pretrain import FrameSampler, load_pretrain_config, pretrain_backbone

    path = tmp_path / "backbone.yaml"
    path.write_text(
        "method: seqformer\n"
        "options: {backbone: tiny}\n"
        f"dataset: {{kind: synthetic, videos: 3, seed: 4, min_frames: 5, max_frames: 6, "
        f"cache_dir: {tmp_path / 'cache'}}}\n"
        "task: segmentation\ncrop_size: 64\nbatch: 2\niterations: 3\n"
        f"output: {tmp_path / 'backbone.pth'}\n"
    )
    config = load_pretrain_config(path)
    dataset = open_source(config.dataset, str(path)).dataset
    sampler = FrameSampler(dataset, 64, seed=0)
    video, t = sampler.items[0]
    label = sampler.label_map(video, t)
    for ann in video.annotations:
        mask = ann.mask(t)
        if mask is not None:
            assert (label[mask.astype(bool)] == sampler.categories.index(ann.category_id) + 1).all()
    covered = sum(a.mask(t).astype(bool) for a in video.annotations if a.mask(t) is not None)
    assert (label[~covered.astype(bool)] == 0).all()
    frames, labels = sampler.draw(3)
    assert frames.shape == (3, 3, 64, 64) and frames.dtype == torch.uint8
    assert labels.shape == (3, 64, 64) and labels.max() <= len(sampler.categories)
    result = pretrain_backbone(config, progress=False, log=lambda _: None)
    assert 0.0 <= result["accuracy"] <= 1.0
    provenance = torch.load(tmp_path / "backbone.pth", weights_only=True)
    assert "bn1.running_mean" in provenance["state_dict"]


def test_pretraining_scores_unseen_videos_when_given_and_recolours_its_examples(tmp_path):
    from vis_bench.train.pretrain import load_pretrain_config, pretrain_backbone

    path = tmp_path / "backbone.yaml"
    data = "kind: synthetic, videos: 3, min_frames: 5, max_frames: 6"
    path.write_text(
        "method: seqformer\n"
        "options: {backbone: tiny}\n"
        f"dataset: {{{data}, seed: 4, cache_dir: {tmp_path / 'cache'}}}\n"
        f"validation: {{{data}, seed: 5, cache_dir: {tmp_path / 'cache'}}}\n"
        "task: segmentation\ncrop_size: 32\nbatch: 2\niterations: 2\nrecolour: true\n"
        f"output: {tmp_path / 'backbone.pth'}\n"
    )
    config = load_pretrain_config(path)
    assert config.validation is not None and config.validation.seed == 5 and config.recolour
    lines: list[str] = []
    result = pretrain_backbone(config, progress=False, log=lines.append)
    assert 0.0 <= result["unseen_accuracy"] <= 1.0
    record = torch.load(tmp_path / "backbone.pth", weights_only=True)["training"]
    assert record["unseen_accuracy"] == result["unseen_accuracy"]
    assert record["config"]["recolour"] is True
    assert "on unseen videos" in lines[-1]


@pytest.mark.parametrize(
    ("body", "match", "field"),
    [
        # an unknown task
        ("method: ifc\ndataset: {kind: synthetic}\ntask: detection\n", "segmentation", "task"),
        # level_losses labels pixels: only the dense task has them
        (
            "method: videomt\ndataset: {kind: synthetic}\nlevel_losses: true\n",
            "task: segmentation",
            "level_losses",
        ),
        # a teacher's weight must be positive (0 or less would ignore or unlearn it)
        (
            "method: videomt\ndataset: {kind: synthetic}\nteacher_weight: 0\n",
            "above 0",
            "teacher_weight",
        ),
    ],
)
def test_a_pretraining_config_error_names_its_field(tmp_path, body, match, field):
    from vis_bench.train.pretrain import load_pretrain_config

    path = tmp_path / "backbone.yaml"
    path.write_text(body)
    with pytest.raises(InputError, match=match) as err:
        load_pretrain_config(path)
    assert err.value.field == field


def test_a_backbone_file_of_another_shape_is_refused(tmp_path):
    from vis_bench.formats.checkpoints import save_project_checkpoint

    bad = tmp_path / "bad.pth"
    save_project_checkpoint({"conv1.weight": torch.zeros(1)}, bad, "backbone", {})
    config = _config(tmp_path, "ifc", iterations=1, backbone_init=str(bad))
    with pytest.raises(InputError, match="does not fit the backbone"):
        train(config, progress=False, log=lambda _: None)
