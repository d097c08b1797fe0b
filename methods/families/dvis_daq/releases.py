"""What DVIS-DAQ's released checkpoints share, for the two methods' `variants.py`.

The model zoo (zhang-tao-whu/DVIS_Plus @ c0eb2495, `DVIS_DAQ/MODEL_ZOO.md`) lists online models
with R50 (100 queries), Swin-L and ViT-L (200) on OVIS (25 classes), YouTube-VIS 2019 and 2021
(40), offline models with ViT-L (and R50 on OVIS only), each row with its AP, AP50 and AP75 (no
AR, no FPS), and two VIPSeg models (video panoptic segmentation, which vis-bench does not
evaluate). Every row links the HuggingFace repository zhouyik/DVIS-DAQ, the link text naming the
checkpoint (`model_{dataset}_{mode}_{backbone}`); the page's text also points to the DVIS++
folder of zhangtao-whu/DVIS_Plus. Every config tests at a shorter side of 480 (at most 1333)
keeping the top 20 (sequence, class) pairs; the thresholds differ by dataset (base_plugin.py).
"""

from __future__ import annotations

from typing import Any

from vis_bench.api.variants import Licence, PretrainedVariant, PublishedResult, readme_source
from vis_bench.methods.common.model_zoo import (
    ModelZoo,
    ReleaseKey,
    ReleaseRow,
    ZooFile,
    ZooRow,
    mode_releases,
    zoo_variant,
)
from vis_bench.methods.families.dvis.releases import COMMIT, MAX_SIZE_TEST, REPOSITORY
from vis_bench.methods.families.dvis_daq.base_plugin import MIN_SIZE_TEST

MODEL_ZOO = "DVIS_DAQ/MODEL_ZOO.md"
HUB = "https://huggingface.co/zhouyik/DVIS-DAQ"
LICENCE = Licence(
    code="MIT (the repository's DVIS_Plus/LICENSE)",
    weights="not stated in the model zoo",
    source=f"{REPOSITORY} DVIS_Plus/LICENSE (DVIS_DAQ/ has no licence file of its own); {MODEL_ZOO}",
)
#: backbone key -> (options, label)
BACKBONES: dict[str, tuple[dict[str, Any], str]] = {
    "r50": ({"backbone": "resnet50", "num_queries": 100}, "R50"),
    "swinl": ({"backbone": "swin_l", "num_queries": 200}, "Swin-L"),
    "vitl": ({"backbone": "vit_l", "num_queries": 200}, "ViT-L"),
}
#: dataset key -> (dataset kind, classes, model zoo heading, test settings)
DATASETS: dict[str, tuple[str, int, str, dict[str, Any]]] = {
    "ytvis19": (
        "ytvis2019",
        40,
        "YouTube-VIS 2019",
        {"select_threshold": 0.01, "slot_decides": False},
    ),
    "ytvis21": (
        "ytvis2021",
        40,
        "YouTube-VIS 2021",
        {"select_threshold": 0.01, "slot_decides": False},
    ),
    "ovis": ("ovis", 25, "OVIS", {"select_threshold": 0.1, "slot_decides": True}),
}
#: the offline configs' INFERENCE_SELECT_THRESHOLD where it differs from the online one's
OFFLINE_SELECT = {"ovis": 0.05}
#: the tracker carries its sequences across clips, so every schedule gives the same results
CLIP_LENGTHS = [1, 5, "all"]
ZOO = ModelZoo(
    "DVIS-DAQ", REPOSITORY, COMMIT, MODEL_ZOO, LICENCE, MIN_SIZE_TEST, MAX_SIZE_TEST, CLIP_LENGTHS
)
#: why the VIPSeg rows are named but not run
PANOPTIC = (
    "a video panoptic segmentation model (VIPSeg, 124 thing and stuff classes, evaluated by "
    "VPQ): vis-bench evaluates video instance segmentation only"
)


#: backbone key -> the name its configs end in
CONFIG_NAMES = {"r50": "R50", "swinl": "SwinL", "vitl": "VitAdapterL"}
#: (mode, backbone, dataset) -> (AP / AP50 / AP75, the MODEL_ZOO.md lines) of every VIS row, in
#: the order the methods declare them
RELEASES: dict[ReleaseKey, ReleaseRow] = {
    ("online", "r50", "ovis"): ((38.7, 65.5, 37.6), "24-32"),
    ("online", "swinl", "ovis"): ((49.5, 76.1, 51.7), "44-52"),
    ("online", "vitl", "ovis"): ((53.7, 78.7, 58.2), "54-62"),
    ("online", "r50", "ytvis19"): ((55.2, 78.7, 61.9), "90-98"),
    ("online", "swinl", "ytvis19"): ((65.7, 88.1, 73.6), "100-108"),
    ("online", "vitl", "ytvis19"): ((68.3, 88.5, 76.1), "110-118"),
    ("online", "r50", "ytvis21"): ((50.4, 72.4, 55.0), "146-154"),
    ("online", "swinl", "ytvis21"): ((61.1, 84.2, 68.2), "156-164"),
    ("online", "vitl", "ytvis21"): ((62.4, 83.6, 70.8), "166-174"),
    ("offline", "r50", "ovis"): ((43.5, 72.5, 43.8), "34-42"),
    ("offline", "vitl", "ovis"): ((57.1, 83.8, 62.9), "64-72"),
    ("offline", "vitl", "ytvis19"): ((69.2, 90.8, 76.8), "120-128"),
    ("offline", "vitl", "ytvis21"): ((64.5, 86.3, 72.4), "176-184"),
}
#: the rows whose configs set MODEL.VIDEO_HEAD.USE_LOCAL_ATTN True (the ViT-L offline configs of
#: OVIS and YouTube-VIS 2021)
LOCAL_ATTENTION = {("offline", "vitl", "ovis"), ("offline", "vitl", "ytvis21")}
#: the VIPSeg rows (online only): backbone -> (VPQ, VPQ-thing, VPQ-stuff, the MODEL_ZOO.md lines)
PANOPTIC_RELEASES: dict[ReleaseKey, ReleaseRow] = {
    "r50": ((42.1, 41.7, 42.5), "202-210"),
    "vitl": ((57.4, 60.4, 54.7), "212-220"),
}


def method_variants(method: str) -> tuple[PretrainedVariant, ...]:
    """Every model-zoo row of `method` (`dvis-daq-online` or `-offline`): the VIS rows, then
    the VIPSeg ones (named, not supported)."""
    vis = [release_variant(method, *row) for row in mode_releases(method, RELEASES)]
    panoptic = PANOPTIC_RELEASES if method.endswith("-online") else {}
    return (*vis, *(panoptic_variant(method, key, *row) for key, row in panoptic.items()))


def release_config(mode: str, backbone: str, dataset: str) -> str:
    """A release's config under `DVIS_DAQ/configs/dvis_daq/`: one per dataset, mode and backbone
    (the ViT-L ones in the dataset's `vit_adapter/`)."""
    folder = f"{dataset}/vit_adapter" if backbone == "vitl" else dataset
    return f"{folder}/DAQ_{mode.capitalize()}_{CONFIG_NAMES[backbone]}.yaml"


def release_variant(
    method: str, key: ReleaseKey, metrics: tuple[float, float, float], lines: str
) -> PretrainedVariant:
    """The model-zoo row `key` of `method` (`dvis-daq-online` or `-offline`): its AP, AP50,
    AP75 and the MODEL_ZOO.md lines it is on; its config follows from the row
    (`release_config`)."""
    mode, backbone, dataset = key
    config = release_config(mode, backbone, dataset)
    options, label = BACKBONES[backbone]
    kind, classes, heading, settings = DATASETS[dataset]
    settings = dict(settings)
    if mode == "offline" and dataset in OFFLINE_SELECT:
        settings["select_threshold"] = OFFLINE_SELECT[dataset]
    if (mode, backbone, dataset) in LOCAL_ATTENTION:
        settings["local_attention"] = True
    link = f"model_{dataset}_{mode}_{backbone}"
    file = ZooFile(
        f"name not confirmed (the model zoo's link text: {link})",
        HUB,
        notes="the file name inside the HuggingFace repository was not read",
    )
    row = ZooRow(method, (backbone, label), (kind, heading), metrics, lines, config)
    return zoo_variant(ZOO, row, {**options, "num_classes": classes, **settings}, file, dataset)


def panoptic_variant(
    method: str, backbone: str, metrics: tuple[float, float, float], lines: str
) -> PretrainedVariant:
    """A VIPSeg row: named with its VPQ numbers, not run (`unsupported`)."""
    options, label = BACKBONES[backbone]
    vpq, thing, stuff = metrics
    return PretrainedVariant(
        name=f"{method}.{backbone}_vipseg",
        summary=f"DVIS-DAQ online {label}, VIPSeg (video panoptic; VPQ {vpq}, VPQ-thing "
        f"{thing}, VPQ-stuff {stuff}, MODEL_ZOO.md lines {lines})",
        options=dict(options),
        dataset="vipseg",
        label_space="vipseg",
        resolution=MIN_SIZE_TEST,
        max_size=MAX_SIZE_TEST,
        release_file=f"name not confirmed (the model zoo's link text: model_vipseg_online_{backbone})",
        url=HUB,
        licence=LICENCE,
        training_data="VIPSeg train",
        unsupported=PANOPTIC,
        backbone=label,
        published=(
            PublishedResult(
                id=f"{method}-{backbone}-vipseg",
                dataset="vipseg",
                metrics={"VPQ": vpq, "VPQ-thing": thing, "VPQ-stuff": stuff},
                source=readme_source(
                    REPOSITORY,
                    COMMIT,
                    MODEL_ZOO,
                    f"VIPSeg, DVIS-DAQ online {label} (lines {lines})",
                ),
                training="VIPSeg train",
                gpu="not stated",
                notes="video panoptic quality, not comparable with the VIS numbers",
            ),
        ),
    )
