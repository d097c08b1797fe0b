"""DVIS-DAQ online's released checkpoints (zhang-tao-whu/DVIS_Plus DVIS_DAQ/MODEL_ZOO.md; the
table and what they share are in methods/families/dvis_daq/releases.py): R50, Swin-L and ViT-L
on OVIS, YouTube-VIS 2019 and 2021, and the two VIPSeg models (named, not supported)."""

from __future__ import annotations

from vis_bench.methods.families.dvis_daq.releases import method_variants

VARIANTS = method_variants("dvis-daq-online")
