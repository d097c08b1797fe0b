"""DVIS-DAQ offline's released checkpoints (zhang-tao-whu/DVIS_Plus DVIS_DAQ/MODEL_ZOO.md; the
table and what they share are in methods/families/dvis_daq/releases.py): R50 on OVIS (the only R50 offline
model: no YouTube-VIS R50 offline config exists), ViT-L on OVIS (with USE_LOCAL_ATTN), YouTube-VIS
2019 and 2021."""

from __future__ import annotations

from vis_bench.methods.families.dvis_daq.releases import method_variants

VARIANTS = method_variants("dvis-daq-offline")
