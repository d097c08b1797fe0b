"""DVIS++ online's released checkpoints (zhang-tao-whu/DVIS_Plus MODEL_ZOO.md; the table and what
they share are in methods/families/dvis/releases.py): R50 and ViT-L on YouTube-VIS 2019, 2021 and
OVIS."""

from __future__ import annotations

from vis_bench.methods.families.dvis.releases import method_variants

VARIANTS = method_variants("dvis-plus-online")
