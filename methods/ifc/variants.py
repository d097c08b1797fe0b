"""IFC's released checkpoints (sukjunhwang/IFC README, "Model Checkpoints (YTVIS 2019)").

Both files are on Google Drive (no checksum published) and test at shorter side 360 (longer side
at most 1333). The README warns that they are the best of several training runs and asks to cite
the camera-ready paper's averages instead; the numbers below are the files' own.
"""

from __future__ import annotations

from vis_bench.api.variants import Licence, PretrainedVariant, PublishedResult, readme_source

REPOSITORY = "sukjunhwang/IFC"
COMMIT = "880d646352661a165f1008de94d0432f1f43de3e"
PAPER = (
    "Video Instance Segmentation using Inter-Frame Communication Transformers, arXiv 2106.03299 "
    "(NeurIPS 2021)"
)
LICENCE = Licence(
    code="Apache-2.0",
    weights="not stated apart from the code's",
    source=f"{REPOSITORY} LICENSE and README.md",
)
TRAINING = "COCO pretraining, then YouTube-VIS 2019 train"
BEST_OF_RUNS = (
    "The README says the checkpoints are the best of several training runs and asks to cite the "
    "averaged scores of the camera-ready paper instead."
)
NAMES = ("AP", "AP50", "AP75", "AR1", "AR10", "FPS")
#: what both released files share: the dataset they were trained and scored on, the test size
#: (shorter side 360, longer at most 1333), the licence and the training data
RELEASE_SETTING = {
    "dataset": "ytvis2019",
    "label_space": "ytvis2019",
    "resolution": 360,
    "max_size": 1333,
    "licence": LICENCE,
    "training_data": TRAINING,
}


def _row(result_id: str, table: str, metrics: tuple[float, ...], **setting) -> PublishedResult:
    return PublishedResult(
        id=result_id,
        dataset="ytvis2019",
        metrics=dict(zip(NAMES, metrics, strict=True)),
        source=readme_source(REPOSITORY, COMMIT, "README.md", table, PAPER),
        training=TRAINING,
        gpu="not stated",
        **setting,
    )


VARIANTS = (
    PretrainedVariant(
        name="ifc.r50_ytvis19",
        summary="IFC R50, YouTube-VIS 2019 (near-online T=5 or whole-video T=36)",
        options={"backbone": "resnet50"},
        release_file="IFC R-50 model (Google Drive)",
        url="https://drive.google.com/uc?export=download&id=1dwkg91omYLmcIA7ze6MZdZj4H5mWT5Fv",
        **RELEASE_SETTING,
        published=(
            _row(
                "ifc-r50-t5",
                "Model Checkpoints (YTVIS 2019), ResNet-50 row, T=5",
                (41.6, 63.2, 45.6, 43.6, 53.0, 46.5),
                clip_length=5,
                stride=1,
                notes=f"{BEST_OF_RUNS} FPS = total time to produce the results of all videos "
                "(matching included) / number of frames.",
            ),
            _row(
                "ifc-r50-t36",
                "Model Checkpoints (YTVIS 2019), ResNet-50 row, T=36",
                (42.8, 65.8, 46.8, 43.8, 51.2, 107.1),
                clip_length=[36, "all"],
                notes="T=36 covers every YouTube-VIS 2019 valid video in one clip (the longest "
                f"has 36 frames), so it is the whole-video setting. {BEST_OF_RUNS}",
            ),
        ),
    ),
    PretrainedVariant(
        name="ifc.r101_ytvis19",
        summary="IFC R101 (MSRA weights, BGR input), YouTube-VIS 2019, whole-video T=36",
        options={"backbone": "resnet101"},
        release_file="IFC R-101 model (Google Drive)",
        url="https://drive.google.com/uc?export=download&id=1s2GnnpDqYIcP-_wX1Rm5vO3VnrfotaCv",
        **RELEASE_SETTING,
        published=(
            _row(
                "ifc-r101-t36",
                "Model Checkpoints (YTVIS 2019), ResNet-101 row, T=36",
                (44.6, 69.2, 49.5, 44.0, 52.1, 89.4),
                clip_length=[36, "all"],
                notes=BEST_OF_RUNS,
            ),
        ),
    ),
)
