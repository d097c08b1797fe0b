"""DVIS-DAQ offline's released checkpoints (zhang-tao-whu/DVIS_Plus DVIS_DAQ/MODEL_ZOO.md; what
they share is in methods/families/dvis_daq/releases.py): R50 on OVIS (the only R50 offline
model: no YouTube-VIS R50 offline config exists), ViT-L on OVIS (with USE_LOCAL_ATTN), YouTube-VIS
2019 and 2021."""

from __future__ import annotations

from dataclasses import replace

from vis_bench.api.variants import PretrainedVariant
from vis_bench.methods.families.dvis_daq.releases import release_variant

METHOD = "dvis-daq-offline"


def _local(variant: PretrainedVariant) -> PretrainedVariant:
    """The ViT-L offline configs of OVIS and YouTube-VIS 2021 set USE_LOCAL_ATTN True."""
    return replace(variant, options={**variant.options, "local_attention": True})


VARIANTS = (
    release_variant(
        METHOD, "r50", "ovis", (43.5, 72.5, 43.8), "34-42", "ovis/DAQ_Offline_R50.yaml"
    ),
    _local(
        release_variant(
            METHOD,
            "vitl",
            "ovis",
            (57.1, 83.8, 62.9),
            "64-72",
            "ovis/vit_adapter/DAQ_Offline_VitAdapterL.yaml",
        )
    ),  # fmt: skip
    release_variant(
        METHOD,
        "vitl",
        "ytvis19",
        (69.2, 90.8, 76.8),
        "120-128",
        "ytvis19/vit_adapter/DAQ_Offline_VitAdapterL.yaml",
    ),  # fmt: skip
    _local(
        release_variant(
            METHOD,
            "vitl",
            "ytvis21",
            (64.5, 86.3, 72.4),
            "176-184",
            "ytvis21/vit_adapter/DAQ_Offline_VitAdapterL.yaml",
        )
    ),  # fmt: skip
)
