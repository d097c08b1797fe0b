"""SeqFormer's released checkpoints (wjf5203/SeqFormer README, "Model zoo").

Every file is on Google Drive under the model's name (the authors publish no checksum); all test
at shorter side 360 with no cap on the longer side, over the whole video in one clip. The R50
ablation model and the joint-training R50 share one architecture, so only the user's file name
tells them apart.
"""

from __future__ import annotations

from vis_bench.api.variants import Licence, PretrainedVariant, PublishedResult, readme_source

REPOSITORY = "wjf5203/SeqFormer"
COMMIT = "09c23db58590948b7ba75d7ba0947bf84961ae0f"
PAPER = (
    "SeqFormer: Sequential Transformer for Video Instance Segmentation, arXiv 2112.08275 "
    "(ECCV 2022)"
)
LICENCE = Licence(
    code="MIT",
    weights="not stated apart from the code's",
    source=f"{REPOSITORY} LICENSE",
)
JOINT = "YouTube-VIS 2019 train + COCO 2017 (joint)"
GPU = "NVIDIA Tesla V100 (training; the README gives no inference GPU)"


def _drive(file_id: str) -> str:
    """Google Drive's download address of a file (its `/view` page is HTML)."""
    return f"https://drive.google.com/uc?export=download&id={file_id}"


def _readme(table: str, metrics: tuple[float, ...], result_id: str, **extra) -> PublishedResult:
    names = ("AP", "AP50", "AP75", "AR1", "AR10")
    source = readme_source(REPOSITORY, COMMIT, "README.md", table)
    return PublishedResult(
        id=result_id,
        dataset="ytvis2019",
        metrics=dict(zip(names, metrics, strict=True)),
        source=source,
        gpu=GPU,
        **extra,
    )


def _variant(name: str, summary: str, backbone: str, file: str, drive: str, **extra):
    return PretrainedVariant(
        name=f"seqformer.{name}",
        summary=summary,
        options={"backbone": backbone},
        dataset="ytvis2019",
        label_space="ytvis2019",
        resolution=360,
        max_size=None,
        release_file=file,
        url=_drive(drive),
        licence=LICENCE,
        training_data=extra.pop("training_data", JOINT),
        **extra,
    )


VARIANTS = (
    _variant(
        "r50_ytvis19",
        "SeqFormer R50, YouTube-VIS 2019 + COCO joint training",
        "resnet50",
        "SeqFormer_r50 (Google Drive)",
        "1ecKUrt9vNZscI4gaGCrvjRLu6rDM9wNX",
        published=(
            _readme(
                "Model zoo, YouTube-VIS model (SeqFormer_r50)",
                (47.4, 69.8, 51.8, 45.5, 54.8),
                "seqformer-r50-coco-joint",
                preferred=True,
                notes=f"{PAPER}: abstract, 47.4 AP with ResNet-50",
            ),
        ),
    ),
    _variant(
        "r50_ytvis19_ablation",
        "SeqFormer R50, YouTube-VIS 2019 train only (the ablation model)",
        "resnet50",
        "SeqFormer_ablation (Google Drive)",
        "1fI8_1h_UDaZiwOupCOa4_tRPWa49uzDr",
        training_data="YouTube-VIS 2019 train only (no COCO joint training)",
        published=(
            _readme(
                "Model zoo, Ablation model (SeqFormer_ablation)",
                (45.1, 66.9, 50.5, 45.6, 54.6),
                "seqformer-r50-ytvis-only",
                notes="The setting a model trained on YouTube-VIS alone (e.g. with "
                "configs/r50_seqformer_ablation.sh) should be compared with.",
            ),
        ),
    ),
    _variant(
        "r101_ytvis19",
        "SeqFormer R101, YouTube-VIS 2019 + COCO joint training",
        "resnet101",
        "SeqFormer_r101 (Google Drive)",
        "1bUaMVz5zITzKzqnQC8aM9Ul0KrQ6sKgn",
        published=(
            _readme(
                "Model zoo, YouTube-VIS model (SeqFormer_r101)",
                (49.0, 71.1, 55.7, 46.8, 56.9),
                "seqformer-r101-coco-joint",
            ),
        ),
    ),
    _variant(
        "x101_ytvis19",
        "SeqFormer ResNeXt-101 32x8d, YouTube-VIS 2019 + COCO joint training",
        "resnext101_32x8d",
        "SeqFormer_x101 (Google Drive)",
        "1cB9cleZWmiited6JEYVZ9P9PyfyAzy_m",
        notes="configs/x101_seqformer.sh passes torchvision's resnext101_32x8d; "
        "`check-checkpoint` reads the groups from the file if it is the 64x4d layout",
        published=(
            _readme(
                "Model zoo, YouTube-VIS model (SeqFormer_x101)",
                (51.2, 75.3, 58.0, 46.5, 57.3),
                "seqformer-x101-coco-joint",
            ),
        ),
    ),
    _variant(
        "swinl_ytvis19",
        "SeqFormer Swin-L (window 12), YouTube-VIS 2019 + COCO joint training",
        "swin_l",
        "SeqFormer_swin_L (Google Drive)",
        "1lENhEaMVhP9DylTcQFElPMVQOfKqmo0a",
        published=(
            _readme(
                "Model zoo, YouTube-VIS model (SeqFormer_swin_L)",
                (59.3, 82.1, 66.4, 51.7, 64.4),
                "seqformer-swin-l",
            ),
        ),
    ),
)
