"""Pretraining with a teacher (`teacher:`): the backbone being pretrained learns a frozen
backbone's features through a 1x1 projection per level, beside its task."""

from __future__ import annotations

import pytest
import torch

from vis_bench.errors import InputError
from vis_bench.formats.checkpoints import save_project_checkpoint

VIT = {
    "backbone": "vit_s",
    "embed_dim": 32,
    "depth": 4,
    "num_heads": 2,
    "patch_size": 8,
    "img_size": 32,
    "layer_scale_init": 0.1,
}


def _dataset(tmp_path) -> str:
    return (
        f"{{kind: synthetic, videos: 3, seed: 4, min_frames: 5, max_frames: 6, "
        f"cache_dir: {tmp_path / 'cache'}}}"
    )


def _pretrain(tmp_path, name: str, body: str) -> dict[str, float]:
    from vis_bench.train.pretrain import load_pretrain_config, pretrain_backbone

    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"{body}dataset: {_dataset(tmp_path)}\ntask: segmentation\ncrop_size: 32\nbatch: 2\n"
        f"output: {tmp_path / name}.pth\n"
    )
    return pretrain_backbone(load_pretrain_config(path), progress=False, log=lambda _: None)


@pytest.fixture
def resnet_teacher(tmp_path):
    """A tiny ResNet backbone file, as `run_bench.py pretrain` writes one."""
    _pretrain(tmp_path, "teacher", "method: seqformer\noptions: {backbone: tiny}\niterations: 1\n")
    return tmp_path / "teacher.pth"


def test_the_teacher_gives_each_level_normalised_targets_and_trains_only_the_student(
    resnet_teacher,
):
    from vis_bench.train.distill import FeatureTeacher

    teacher = FeatureTeacher(resnet_teacher, [32, 32], crop_size=32)
    images = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    targets = teacher.targets(images, (4, 4))
    # the tiny ResNet's three levels (64 + 128 + 256 channels), each normalised per position
    assert targets.shape == (2, 448, 4, 4)
    for level in targets.split([64, 128, 256], dim=1):
        assert torch.allclose(level.mean(1), torch.zeros(2, 4, 4), atol=1e-4)
    features = [torch.randn(2, 32, 4, 4, requires_grad=True) for _ in range(2)]
    loss = teacher.loss(features, images)
    loss.backward()
    assert loss.item() > 0 and all(f.grad is not None for f in features)
    # only the projections are the teacher module's parameters: the frozen backbone is neither
    # trained nor saved with the student
    names = [name for name, _ in teacher.named_parameters()]
    assert names and all(name.startswith("projections.") for name in names)
    assert all(not p.requires_grad for p in teacher._frozen[1].parameters())


def test_a_vit_pretrains_with_the_resnet_as_teacher(tmp_path, resnet_teacher):
    body = f"method: videomt\noptions: {VIT}\niterations: 2\nteacher: {resnet_teacher}\n"
    result = _pretrain(tmp_path, "vit", body)
    assert 0.0 <= result["accuracy"] <= 1.0
    saved = torch.load(tmp_path / "vit.pth", weights_only=True)
    # the student's weights only, and the record names its teacher
    assert all(key.startswith("vit.") for key in saved["state_dict"])
    assert saved["training"]["config"]["teacher"] == str(resnet_teacher)


def test_a_missing_or_wrong_teacher_file_is_an_error_naming_the_field(tmp_path):
    body = f"method: videomt\noptions: {VIT}\niterations: 1\nteacher: {tmp_path / 'none.pth'}\n"
    with pytest.raises(InputError, match="not found") as err:
        _pretrain(tmp_path, "missing", body)
    assert err.value.field == "teacher"
    model = tmp_path / "model.pth"
    save_project_checkpoint({"w": torch.zeros(1)}, model, "ifc", {"backbone": "tiny"})
    body = f"method: videomt\noptions: {VIT}\niterations: 1\nteacher: {model}\n"
    with pytest.raises(InputError, match="pretrained backbone") as err:
        _pretrain(tmp_path, "wrong", body)
    assert err.value.field == "teacher"
