"""DVIS++ online's released checkpoints (zhang-tao-whu/DVIS_Plus MODEL_ZOO.md; what they share is
in methods/families/dvis/releases.py): R50 and ViT-L on YouTube-VIS 2019, 2021 and OVIS."""

from __future__ import annotations

from vis_bench.methods.families.dvis.releases import release_variant, vit_config

METHOD = "dvis-plus-online"

VARIANTS = (
    release_variant(
        METHOD,
        "r50",
        "ovis",
        (37.2, 62.8, 37.3),
        "204-214",
        "ovis/DVIS_Plus_Online_R50_16wIter.yaml",
    ),
    release_variant(
        METHOD, "vitl", "ovis", (49.6, 72.5, 55.0), "228-238", vit_config("ovis", "online")
    ),
    release_variant(METHOD, "r50", "ytvis19", (55.5, 80.2, 60.1), "270-280"),
    release_variant(
        METHOD, "vitl", "ytvis19", (67.7, 88.8, 75.3), "294-304", vit_config("ytvis19", "online")
    ),
    release_variant(METHOD, "r50", "ytvis21", (50.0, 72.2, 54.5), "336-346"),
    release_variant(
        METHOD, "vitl", "ytvis21", (62.3, 82.7, 70.2), "360-370", vit_config("ytvis21", "online")
    ),
)
