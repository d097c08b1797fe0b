"""VidEoMT's released checkpoints (tue-mps/videomt model_zoo/dinov2.md and dinov3.md, files on the
HuggingFace repository tue-mps/VidEoMT; no checksum published).

The DINOv2 models load here: ViT-S/B/L for YouTube-VIS 2019, ViT-L for 2021, 2022 and OVIS (25
classes, shorter side 544; the others 448). The YouTube-VIS 2022 row gives the long videos' AP
and AR10 (AP^L, AR^L_10: `mAP_L` and `AR10_L` of the 2022 scoring program, which `eval
--short-videos --long-videos` and a `ytvis2022` dataset compute), so a record of that dataset is
compared with it. The DINOv3 models are named so that a config asking for one is refused with
the reason: they need another ViT (rotary position embeddings), which vis-bench does not build.

The published FPS were measured by the authors' own protocol (benchmark.py: the per-frame
network call only, fp16 autocast, torch.compile, on an H100; docs/timing_protocols.md), not end
to end.
"""

from __future__ import annotations

from vis_bench.api.variants import Licence, PretrainedVariant, PublishedResult, readme_source

REPOSITORY = "tue-mps/videomt"
COMMIT = "39411e940499f34f54d7c9f031a34111bab190d6"
LICENCE = Licence(
    code="MIT",
    weights="not stated apart from the code's",
    source=f"{REPOSITORY} LICENSE",
)
#: the DINOv3 models derive from facebook/dinov3-vitl16-pretrain-lvd1689m (a gated repository)
DINOV3_LICENCE = Licence(
    code="MIT",
    weights="DINOv3 License (of the ViT they are trained from; the authors state none)",
    source=f"{REPOSITORY} LICENSE; huggingface.co/facebook/dinov3-vitl16-pretrain-lvd1689m",
)
#: the DINOv3 configs set no MIN_SIZE_TEST: their base configs' 480 applies
DINOV3_SIZE = 480
HUB = "https://huggingface.co/tue-mps/VidEoMT/resolve/main"
GPU = "NVIDIA H100 (the model zoo: 'FPS measured on NVIDIA H100 with default torch.compile')"
#: dataset key -> (dataset kind, label space, classes, shorter side, model zoo heading)
DATASETS = {
    "ytvis19": ("ytvis2019", "ytvis2019", 40, 448, "YouTube-VIS 2019"),
    "ytvis21": ("ytvis2021", "ytvis2021", 40, 448, "YouTube-VIS 2021"),
    "ytvis22": ("ytvis2022", "ytvis2021", 40, 448, "YouTube-VIS 2022"),
    "ovis": ("ovis", "ovis", 25, 544, "OVIS"),
}
SIZES = {
    "vits": ("vit_s", "VidEoMT-S"),
    "vitb": ("vit_b", "VidEoMT-B"),
    "vitl": ("vit_l", "VidEoMT-L"),
}
LONG_VIDEO_AP = (
    "AP^L and AR^L_10: the long videos' AP and AR10 of YouTube-VIS 2022's scoring program "
    "(mAP_L, AR10_L), the figures the model zoo gives for 2022"
)
DINOV3 = (
    "a DINOv3 ViT-L with rotary position embeddings, which vis-bench does not build (its ViT "
    "is DINOv2's, with absolute position embeddings); the DINOv2 files load"
)


def _result(
    key: str, dataset: str, ap: float, ar10: float, fps: float, zoo: str
) -> PublishedResult:
    kind, _, _, _, heading = DATASETS[dataset]
    names = ("mAP_L", "AR10_L") if dataset == "ytvis22" else ("AP", "AR10")
    return PublishedResult(
        id=f"videomt-{key}-{kind}",
        dataset=kind,
        metrics={names[0]: ap, names[1]: ar10, "FPS": fps},
        source=readme_source(
            REPOSITORY, COMMIT, f"model_zoo/{zoo}.md", f"Video Instance Segmentation, {heading}"
        ),
        clip_length=[1, "all"],
        gpu=GPU,
        notes=LONG_VIDEO_AP if dataset == "ytvis22" else "",
    )


def _variant(
    size: str, dataset: str, file: str, metrics: tuple[float, float, float]
) -> PretrainedVariant:
    backbone, label = SIZES[size]
    kind, space, classes, shorter, heading = DATASETS[dataset]
    return PretrainedVariant(
        name=f"videomt.{size}_{dataset}",
        summary=f"{label} (DINOv2 with registers), {heading}, online",
        options={"backbone": backbone, "num_classes": classes, "min_size_test": shorter},
        dataset=kind,
        label_space=space,
        resolution=shorter,
        max_size=1333,
        release_file=file,
        url=f"{HUB}/{file}",
        licence=LICENCE,
        training_data=f"{heading} train, from the COCO-trained segmenter the model zoo lists",
        published=(_result(size, dataset, *metrics, "dinov2"),),
    )


def _dinov3(dataset: str, file: str, metrics: tuple[float, float, float]) -> PretrainedVariant:
    kind, space, classes, _, heading = DATASETS[dataset]
    shorter = DINOV3_SIZE
    return PretrainedVariant(
        name=f"videomt.vitl_dinov3_{dataset}",
        summary=f"VidEoMT-L on DINOv3, {heading} (not supported)",
        options={"backbone": "vit_l", "num_classes": classes, "min_size_test": shorter},
        dataset=kind,
        label_space=space,
        resolution=shorter,
        max_size=1333,
        release_file=file.split("/")[-1],
        url=f"{HUB}/{file}",
        licence=DINOV3_LICENCE,
        unsupported=DINOV3,
        backbone="ViT-L (DINOv3)",
        published=(_result("vitl-dinov3", dataset, *metrics, "dinov3"),),
    )


VARIANTS = (
    _variant("vits", "ytvis19", "yt_2019_vit_small_52.8.pth", (52.8, 62.2, 294)),
    _variant("vitb", "ytvis19", "yt_2019_vit_base_58.2.pth", (58.2, 66.5, 251)),
    _variant("vitl", "ytvis19", "yt_2019_vit_large_68.6.pth", (68.6, 73.9, 160)),
    _variant("vitl", "ytvis21", "yt_2021_vit_large_63.1.pth", (63.1, 68.1, 160)),
    _variant("vitl", "ytvis22", "yt_2022_vit_large_42.6.pth", (42.6, 48.1, 161)),
    _variant("vitl", "ovis", "ovis_vit_large_52.5.pth", (52.5, 57.5, 115)),
    _dinov3("ytvis19", "dinov3_online/yt_2019_dinov3_68.9.pth", (68.9, 74.8, 133)),
    _dinov3("ytvis21", "dinov3_online/yt_2021_dinov3_63.2.pth", (63.2, 69.2, 133)),
    _dinov3("ytvis22", "dinov3_online/yt_2022_dinov3_42.8.pth", (42.8, 50.3, 133)),
)
