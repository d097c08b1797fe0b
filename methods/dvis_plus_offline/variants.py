"""DVIS++ offline's released checkpoints (zhang-tao-whu/DVIS_Plus MODEL_ZOO.md; what they share is
in methods/families/dvis/releases.py): R50 and ViT-L on YouTube-VIS 2019, 2021 and OVIS."""

from __future__ import annotations

from vis_bench.methods.families.dvis.releases import release_variant, vit_config

METHOD = "dvis-plus-offline"

VARIANTS = (
    release_variant(
        METHOD, "r50", "ovis", (41.2, 68.9, 40.9), "216-226", "ovis/DVIS_Plus_Offline_R50.yaml"
    ),
    release_variant(
        METHOD, "vitl", "ovis", (53.4, 78.9, 58.5), "240-250", vit_config("ovis", "offline")
    ),
    release_variant(METHOD, "r50", "ytvis19", (56.7, 81.4, 62.0), "282-292"),
    release_variant(
        METHOD, "vitl", "ytvis19", (68.3, 90.3, 76.1), "306-316", vit_config("ytvis19", "offline")
    ),
    release_variant(METHOD, "r50", "ytvis21", (52.0, 75.4, 57.8), "348-358"),
    release_variant(
        METHOD, "vitl", "ytvis21", (63.9, 86.7, 71.5), "372-382", vit_config("ytvis21", "offline")
    ),
)
