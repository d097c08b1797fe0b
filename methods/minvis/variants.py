"""MinVIS's released checkpoints (NVlabs/MinVIS MODEL_ZOO.md, files on the HuggingFace repository
deahuang/MinVIS-Model-Zoo).

R50 (100 queries) and Swin-L (IN21k, 200 queries) for YouTube-VIS 2019, 2021 and OVIS, trained on
every annotated frame, plus Swin-L files trained on 10 %, 5 % and 1 % of the annotated frames
(the paper's partial-supervision study; the same architecture). The model zoo's numbers are the
files' own; the paper's are averages over several runs, kept beside them. Test sizes: R50 360;
Swin-L 480, except on YouTube-VIS 2021 (360: its configs comment the larger size out, "OOM when
using a larger test size"). The authors publish no checksum; the sha256 given is the one
HuggingFace shows for the file it serves (the Git LFS object), where it could be read.
"""

from __future__ import annotations

from vis_bench.api.variants import Licence, PretrainedVariant, PublishedResult, readme_source

REPOSITORY = "NVlabs/MinVIS"
COMMIT = "d039c54b9831b623e27f2edb1d28b8e84d694cda"
PAPER = (
    "MinVIS: A Minimal Video Instance Segmentation Framework without Video-based Training, "
    "arXiv 2208.02245 (NeurIPS 2022)"
)
LICENCE = Licence(
    code="NVIDIA Source Code License-NC",
    weights="CC-BY-NC-SA-4.0",
    source=f"{REPOSITORY} LICENSE and README.md 'License'",
)
HUB = "https://huggingface.co/deahuang/MinVIS-Model-Zoo/resolve/main"
#: backbone -> (options, test size, label in the model zoo, file stem, config stem, GPUs)
BACKBONES = {
    "r50": ({"backbone": "resnet50", "num_queries": 100}, 360, "R50", "R50", "R50", 8),
    "swinl": (
        {"backbone": "swin_l", "num_queries": 200},
        480,  # 360 on YouTube-VIS 2021 (SWIN_2021_SIZE)
        "Swin-L",
        "swin_large",
        "swin/video_maskformer2_swin_large_IN21k_384",
        16,
    ),
}
#: dataset key -> (dataset kind, classes, model zoo heading, file prefix, config folder)
DATASETS = {
    "ytvis19": ("ytvis2019", 40, "YouTubeVIS 2019", "ytvis19", "youtubevis_2019"),
    "ytvis21": ("ytvis2021", 40, "YouTubeVIS 2021", "ytvis21", "youtubevis_2021"),
    "ovis": ("ovis", 25, "Occluded VIS", "ovis", "ovis"),
}
SWIN_2021_SIZE = 360
#: file -> the sha256 HuggingFace shows for it (not found for the others)
HOSTED_SHA256 = {
    "minvis_ytvis19_R50.pth": "601f32311d14a5695033cbbf0e5a67f98f73fd5c4ab44749a10431e7c06f8866",
    "minvis_ytvis19_swin_large.pth": (
        "5750072b22b0885ffdcecd1d4e983d2b808f7a6d3392f77a68c6bec8f147951c"
    ),
    "minvis_ytvis19_swin_large_r5.pth": (
        "e748a5867a7c7500c28b20864503507d6d07f76ca31659e84519ade91d25477f"
    ),
    "minvis_ytvis19_swin_large_r1.pth": (
        "8a325498442007b0ad046300096e96b0b7626470c08c8ac76054df956f26d833"
    ),
    "minvis_ytvis21_R50.pth": "a679383305d1096e69ea8ea83fe013537966a8fb4acd675a514c2c4347da95d7",
    "minvis_ytvis21_swin_large_r10.pth": (
        "bd224e5898645a7a6ebbff6a071177dabc9289730158810cb332fbae09cacbeb"
    ),
    "minvis_ytvis21_swin_large_r5.pth": (
        "cfbec4d57d8d4dadb999f1ac805ef7ba66f4abe6b54a57a6cfdbd79f2eedf0e2"
    ),
    "minvis_ytvis21_swin_large_r1.pth": (
        "a362b22fc7bf34140adae4104870bd126f01dee0659dae46bb084e1aa1b8f462"
    ),
    "minvis_ovis_R50.pth": "5bde648e5f315f95b0048b15e56fab94ab7f89d831cab3a6da2b534eab89f13f",
    "minvis_ovis_swin_large.pth": "45882d63e56e2eeec2c04034099c38a5201f76295fe480f3c4245d45872872bb",
    "minvis_ovis_swin_large_r10.pth": (
        "2a4985b002811e1c183e37297c25fd1c891040b480325ab7ec6e3876e84caf3a"
    ),
    "minvis_ovis_swin_large_r5.pth": (
        "1cdef8ef43e7bc2fcdd1e17f2b1d033e7f71d2d22ba6ad504243bff0b1d8c438"
    ),
    "minvis_ovis_swin_large_r1.pth": (
        "63f0d2b052fdfb4d3a2756de2be37e1a1dc750f27e43131ea64b1c8d59ac588a"
    ),
}
HOSTED_NOTE = "sha256 as HuggingFace shows it for the served file (Git LFS); not the authors'"
SPECIFIC = (
    "The number of this specific checkpoint; the model zoo says it differs from the paper's, "
    "which averages several runs."
)


def _config(backbone: str, dataset: str, share: str) -> str:
    stem = BACKBONES[backbone][4]
    folder = DATASETS[dataset][4]
    if backbone == "r50":
        stem = "video_maskformer2_R50"
    suffix = f"_r{share}" if share != "100" else ""
    return f"configs/{folder}/{stem}_bs32_8ep_frame{suffix}.yaml"


def _zoo(backbone: str, dataset: str, share: str, ap: float, file: str) -> PublishedResult:
    kind, _, heading, _, _ = DATASETS[dataset]
    label, gpus = BACKBONES[backbone][2], BACKBONES[backbone][5]
    key = f"minvis-{backbone}-{kind}" + (f"-r{share}" if share != "100" else "")
    return PublishedResult(
        id=f"{key}-model-zoo",
        dataset=kind,
        metrics={"AP": ap},
        source=readme_source(
            REPOSITORY,
            COMMIT,
            "MODEL_ZOO.md",
            f"Video Instance Segmentation, {heading} ({label}, {share}% annotation; "
            f"config {_config(backbone, dataset, share)})",
        ),
        training=f"{heading} train, {share}% of the annotated frames (one frame per sample; "
        f"{file})",
        gpu=f"not stated for inference (training on {gpus} GPUs per the model zoo)",
        # a record that names no variant is compared with the full-annotation file
        preferred=share == "100",
        notes=SPECIFIC,
    )


def _paper(backbone: str, dataset: str, ap: float) -> PublishedResult:
    kind, _, heading, _, _ = DATASETS[dataset]
    label = BACKBONES[backbone][2]
    return PublishedResult(
        id=f"minvis-{backbone}-{kind}-paper",
        dataset=kind,
        metrics={"AP": ap},
        source={
            "kind": "paper",
            "paper": PAPER,
            "table": f"main results, {heading} ({label}), averaged over runs",
        },
        kind="paper",
        training=f"{heading} train (average of several runs)",
        gpu="not stated",
    )


def _variant(
    backbone: str, dataset: str, ap: float, paper: float | None = None, share: str = "100"
) -> PretrainedVariant:
    options, size, label, stem, _, _ = BACKBONES[backbone]
    kind, classes, heading, prefix, _ = DATASETS[dataset]
    if backbone == "swinl" and dataset == "ytvis21":
        size = SWIN_2021_SIZE
    part = f"_r{share}" if share != "100" else ""
    file = f"minvis_{prefix}_{stem}{part}.pth"
    published = (_zoo(backbone, dataset, share, ap, file),)
    if paper is not None:
        published += (_paper(backbone, dataset, paper),)
    annotated = f", {share}% of the annotated frames" if share != "100" else ""
    return PretrainedVariant(
        name=f"minvis.{backbone}_{dataset}{part}",
        summary=f"MinVIS {label}, {heading}{annotated}",
        options={**options, "num_classes": classes, "min_size_test": size},
        dataset=kind,
        label_space=kind,
        resolution=size,
        max_size=1333,
        release_file=file,
        url=f"{HUB}/{file}",
        sha256=HOSTED_SHA256.get(file),
        notes=HOSTED_NOTE if file in HOSTED_SHA256 else "",
        licence=LICENCE,
        training_data=f"{heading} train, {share}% of the annotated frames",
        published=published,
    )


VARIANTS = (
    _variant("r50", "ytvis19", 47.3, paper=47.4),
    _variant("swinl", "ytvis19", 62.0, paper=61.6),
    _variant("swinl", "ytvis19", 60.9, share="10"),
    _variant("swinl", "ytvis19", 59.7, share="5"),
    _variant("swinl", "ytvis19", 58.9, share="1"),
    _variant("r50", "ytvis21", 43.9, paper=44.2),
    _variant("swinl", "ytvis21", 55.4),
    _variant("swinl", "ytvis21", 54.8, share="10"),
    _variant("swinl", "ytvis21", 54.5, share="5"),
    _variant("swinl", "ytvis21", 52.6, share="1"),
    _variant("r50", "ovis", 26.7, paper=25.0),
    _variant("swinl", "ovis", 41.7),
    _variant("swinl", "ovis", 37.1, share="10"),
    _variant("swinl", "ovis", 35.7, share="5"),
    _variant("swinl", "ovis", 31.8, share="1"),
)
