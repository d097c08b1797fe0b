"""DVIS-DAQ online's released checkpoints (zhang-tao-whu/DVIS_Plus DVIS_DAQ/MODEL_ZOO.md; what
they share is in methods/families/dvis_daq/releases.py): R50, Swin-L and ViT-L on OVIS,
YouTube-VIS 2019 and 2021, and the two VIPSeg models (named, not supported)."""

from __future__ import annotations

from vis_bench.methods.families.dvis_daq.releases import panoptic_variant, release_variant

METHOD = "dvis-daq-online"

VARIANTS = (
    release_variant(METHOD, "r50", "ovis", (38.7, 65.5, 37.6), "24-32", "ovis/DAQ_Online_R50.yaml"),
    release_variant(
        METHOD, "swinl", "ovis", (49.5, 76.1, 51.7), "44-52", "ovis/DAQ_Online_SwinL.yaml"
    ),
    release_variant(
        METHOD,
        "vitl",
        "ovis",
        (53.7, 78.7, 58.2),
        "54-62",
        "ovis/vit_adapter/DAQ_Online_VitAdapterL.yaml",
    ),  # fmt: skip
    release_variant(
        METHOD, "r50", "ytvis19", (55.2, 78.7, 61.9), "90-98", "ytvis19/DAQ_Online_R50.yaml"
    ),
    release_variant(
        METHOD, "swinl", "ytvis19", (65.7, 88.1, 73.6), "100-108", "ytvis19/DAQ_Online_SwinL.yaml"
    ),
    release_variant(
        METHOD,
        "vitl",
        "ytvis19",
        (68.3, 88.5, 76.1),
        "110-118",
        "ytvis19/vit_adapter/DAQ_Online_VitAdapterL.yaml",
    ),  # fmt: skip
    release_variant(
        METHOD, "r50", "ytvis21", (50.4, 72.4, 55.0), "146-154", "ytvis21/DAQ_Online_R50.yaml"
    ),
    release_variant(
        METHOD, "swinl", "ytvis21", (61.1, 84.2, 68.2), "156-164", "ytvis21/DAQ_Online_SwinL.yaml"
    ),
    release_variant(
        METHOD,
        "vitl",
        "ytvis21",
        (62.4, 83.6, 70.8),
        "166-174",
        "ytvis21/vit_adapter/DAQ_Online_VitAdapterL.yaml",
    ),  # fmt: skip
    panoptic_variant(METHOD, "r50", (42.1, 41.7, 42.5), "202-210"),
    panoptic_variant(METHOD, "vitl", (57.4, 60.4, 54.7), "212-220"),
)
