"""Mask2Former-VIS's released checkpoints that vis-bench can load (facebookresearch/Mask2Former
MODEL_ZOO.md, "Video Instance Segmentation").

The R50 and Swin-L (IN21k, 200 queries) files for YouTube-VIS 2019 and 2021. The model zoo also
releases R101, Swin-T, Swin-S and Swin-B files, whose backbones the project does not build. "Any
model on this page contains its md5 prefix in its file name" (MODEL_ZOO.md:13): `check-checkpoint`
compares it. Test sizes (INPUT.MIN_SIZE_TEST of the configs): R50 360; Swin-L 480 on 2019 but 360
on 2021, whose config comments the larger size out ("OOM when using a larger test size").
"""

from __future__ import annotations

from vis_bench.api.variants import Licence, PretrainedVariant, PublishedResult, readme_source

REPOSITORY = "facebookresearch/Mask2Former"
COMMIT = "9b0651c6c1d5b3af2e6da0589b719c514ec0d69a"
PAPER = (
    "Mask2Former for Video Instance Segmentation, arXiv 2112.10764 (Table 1: YouTube-VIS 2019, "
    "Table 2: 2021)"
)
LICENCE = Licence(
    code="MIT",
    weights="CC-BY-NC-4.0",
    source=f"{REPOSITORY} LICENSE; MODEL_ZOO.md 'License' (every model of the model zoo)",
)
BASE_URL = "https://dl.fbaipublicfiles.com/maskformer/video_mask2former"
#: backbone -> (options, test size, config folder part, file stem of the config)
BACKBONES = {
    "r50": ({"backbone": "resnet50", "num_queries": 100}, 360, "", "R50_bs16_8ep"),
    "swinl": (
        {"backbone": "swin_l", "num_queries": 200},
        480,
        "swin/",
        "swin_large_IN21k_384_bs16_8ep",
    ),
}
DATASETS = {
    "ytvis19": ("ytvis2019", "ytvis_2019", "6k"),
    "ytvis21": ("ytvis2021", "ytvis_2021", "8k"),
}


def _variant(
    backbone: str, dataset: str, ap: float, model_id: str, digest: str, size: int | None = None
) -> PretrainedVariant:
    options, default_size, folder, stem = BACKBONES[backbone]
    size = size or default_size
    kind, zoo, iterations = DATASETS[dataset]
    year = kind[-4:]
    config = f"configs/youtubevis_{year}/{folder}video_maskformer2_{stem}.yaml"
    label = {"r50": "R50", "swinl": "Swin-L (IN21k, 200 queries)"}[backbone]
    training = (
        f"YouTube-VIS {year} train, {iterations} iterations from the COCO instance-segmentation "
        "model (MODEL.WEIGHTS of the config)"
    )
    result = PublishedResult(
        id=f"mask2former-vis-{backbone}-{kind}",
        dataset=kind,
        metrics={"AP": ap},
        source=readme_source(
            REPOSITORY,
            COMMIT,
            "MODEL_ZOO.md",
            f"Video Instance Segmentation, YouTubeVIS {year} ({label.split(' ')[0]}, "
            f"model id {model_id}; config {config})",
            PAPER,
        ),
        training=training,
        gpu="not stated in the model zoo",
    )
    return PretrainedVariant(
        name=f"mask2former-vis.{backbone}_{dataset}",
        summary=f"Mask2Former-VIS {label}, YouTube-VIS {year}",
        options={**options, "min_size_test": size},
        dataset=kind,
        label_space=kind,
        resolution=size,
        max_size=1333,
        release_file=f"model_final_{digest}.pkl",
        url=f"{BASE_URL}/{zoo}/video_maskformer2_{stem}/model_final_{digest}.pkl",
        md5=digest,
        licence=LICENCE,
        training_data=training,
        published=(result,),
    )


VARIANTS = (
    _variant("r50", "ytvis19", 46.4, "51130652_3", "34112b"),
    _variant("swinl", "ytvis19", 60.4, "50908813_0", "c5c739"),
    _variant("r50", "ytvis21", 40.6, "51130652_7", "b8aae2"),
    _variant("swinl", "ytvis21", 52.6, "50908813_6", "4da256", size=360),
)
