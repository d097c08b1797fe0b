"""What DVIS++'s released checkpoints share, for the two methods' `variants.py`.

The model zoo (zhang-tao-whu/DVIS_Plus @ c0eb2495, `DVIS_Plus/MODEL_ZOO.md`) lists an online
and an offline model per backbone (R50 with 100 queries, ViT-L with 200) and dataset (YouTube-VIS
2019 and 2021: 40 classes; OVIS: 25), each row with its own AP, AP50 and AP75 (no AR, no FPS).
Every config tests at a shorter side of 480 (at most 1333) in windows of 3 frames, keeping the
top 10 (track, class) pairs: the methods' defaults, so a variant's options are its backbone,
queries and classes.

The files sit in the folder `DVIS++/weights/` of the HuggingFace repository zhangtao-whu/DVIS_Plus,
named `{online|offline}_{r50|vitl}_{dataset}_{AP x 10}.pth`. Only two names were read there with
their sha256 (below); for the others the declaration says the name is not confirmed rather than
state one the pattern suggests.
"""

from __future__ import annotations

from vis_bench.api.variants import Licence, PretrainedVariant
from vis_bench.methods.common.model_zoo import (
    ModelZoo,
    ReleaseKey,
    ReleaseRow,
    ZooFile,
    ZooRow,
    mode_releases,
    zoo_variant,
)
from vis_bench.methods.families.dvis.base_plugin import MIN_SIZE_TEST

REPOSITORY = "zhang-tao-whu/DVIS_Plus"
COMMIT = "c0eb2495"
MODEL_ZOO = "DVIS_Plus/MODEL_ZOO.md"
MAX_SIZE_TEST = 1333
LICENCE = Licence(
    code="MIT",
    weights="not stated in the model zoo (the HuggingFace repository is tagged MIT)",
    source=(
        f"{REPOSITORY} DVIS_Plus/LICENSE ('Copyright (c) 2023 zhangtao'; some files carry "
        "NVIDIA's MinVIS header); MODEL_ZOO.md; the licence tag of the HuggingFace repository "
        "zhangtao-whu/DVIS_Plus"
    ),
)
HUB = "https://huggingface.co/zhangtao-whu/DVIS_Plus"
WEIGHTS_FOLDER = "DVIS++/weights"
#: the files whose names were read in the weights folder -> the sha256 HuggingFace shows
CONFIRMED_FILES = {
    "offline_r50_ovis_412.pth": "ed812bffdc52e4830b0058a0ddacca06c81239e9a1b464c66c23c04003326af8",
    "online_vitl_ytvis21_623.pth": (
        "db6e76b886ecd5d22b66065af697268828564bb523494e3608432868f04cb60a"
    ),
}
HOSTED_NOTE = "sha256 as HuggingFace shows it for the served file (Git LFS); not the authors'"
#: backbone key -> (options, label)
BACKBONES = {
    "r50": ({"backbone": "resnet50", "num_queries": 100}, "R50"),
    "vitl": ({"backbone": "vit_l", "num_queries": 200}, "ViT-L"),
}
#: dataset key -> (dataset kind, classes, model zoo heading)
DATASETS = {
    "ytvis19": ("ytvis2019", 40, "YouTube-VIS 2019"),
    "ytvis21": ("ytvis2021", 40, "YouTube-VIS 2021"),
    "ovis": ("ovis", 25, "OVIS"),
}
#: the released window is 3 frames; the tracker's state is carried across clips, so every
#: schedule gives the same tracks (docs/methods/dvis_plus.md)
CLIP_LENGTHS = [1, 3, "all"]
ZOO = ModelZoo(
    "DVIS++", REPOSITORY, COMMIT, MODEL_ZOO, LICENCE, MIN_SIZE_TEST, MAX_SIZE_TEST, CLIP_LENGTHS
)


#: (mode, backbone, dataset) -> (AP / AP50 / AP75, the MODEL_ZOO.md lines) of every row, in the
#: order the methods declare them
RELEASES: dict[ReleaseKey, ReleaseRow] = {
    ("online", "r50", "ovis"): ((37.2, 62.8, 37.3), "204-214"),
    ("online", "vitl", "ovis"): ((49.6, 72.5, 55.0), "228-238"),
    ("online", "r50", "ytvis19"): ((55.5, 80.2, 60.1), "270-280"),
    ("online", "vitl", "ytvis19"): ((67.7, 88.8, 75.3), "294-304"),
    ("online", "r50", "ytvis21"): ((50.0, 72.2, 54.5), "336-346"),
    ("online", "vitl", "ytvis21"): ((62.3, 82.7, 70.2), "360-370"),
    ("offline", "r50", "ovis"): ((41.2, 68.9, 40.9), "216-226"),
    ("offline", "vitl", "ovis"): ((53.4, 78.9, 58.5), "240-250"),
    ("offline", "r50", "ytvis19"): ((56.7, 81.4, 62.0), "282-292"),
    ("offline", "vitl", "ytvis19"): ((68.3, 90.3, 76.1), "306-316"),
    ("offline", "r50", "ytvis21"): ((52.0, 75.4, 57.8), "348-358"),
    ("offline", "vitl", "ytvis21"): ((63.9, 86.7, 71.5), "372-382"),
}
#: the R50 OVIS rows' configs (the YouTube-VIS R50 rows name none)
R50_OVIS_CONFIGS = {
    "online": "ovis/DVIS_Plus_Online_R50_16wIter.yaml",
    "offline": "ovis/DVIS_Plus_Offline_R50.yaml",
}


def vit_config(dataset: str, mode: str) -> str:
    """The ViT-L configs' path under the authors' `configs/dvis_Plus/`."""
    return f"{dataset}/vit_adapter/DVIS_Plus_{mode.capitalize()}_VitAdapterL.yaml"


def release_config(mode: str, backbone: str, dataset: str) -> str:
    """A row's config under `configs/dvis_Plus/`, "" where the model zoo names none."""
    if backbone == "vitl":
        return vit_config(dataset, mode)
    return R50_OVIS_CONFIGS[mode] if dataset == "ovis" else ""


def method_variants(method: str) -> tuple[PretrainedVariant, ...]:
    """Every model-zoo row of `method` (`dvis-plus-online` or `-offline`)."""
    return tuple(release_variant(method, *row) for row in mode_releases(method, RELEASES))


def release_variant(
    method: str, key: ReleaseKey, metrics: tuple[float, float, float], lines: str
) -> PretrainedVariant:
    """The model-zoo row `key` of `method` (`dvis-plus-online` or `-offline`): its AP, AP50,
    AP75 and the MODEL_ZOO.md lines they are on."""
    mode, backbone, dataset = key
    config = release_config(mode, backbone, dataset)
    options, label = BACKBONES[backbone]
    kind, classes, heading = DATASETS[dataset]
    stem = f"{mode}_{backbone}_{dataset}"
    name = f"{stem}_{round(metrics[0] * 10)}.pth"  # looked up among the confirmed names only
    if name in CONFIRMED_FILES:
        url = f"{HUB}/resolve/main/{WEIGHTS_FOLDER}/{name}"
        file = ZooFile(name, url, CONFIRMED_FILES[name], HOSTED_NOTE)
    else:
        named = f"name not confirmed ({WEIGHTS_FOLDER}/ names: {stem}_<AP x 10>.pth)"
        file = ZooFile(named, f"{HUB}/tree/main/{WEIGHTS_FOLDER}")
    config = f"configs/dvis_Plus/{config}" if config else ""
    row = ZooRow(method, (backbone, label), (kind, heading), metrics, lines, config)
    return zoo_variant(ZOO, row, {**options, "num_classes": classes}, file, dataset)
