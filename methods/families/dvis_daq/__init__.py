"""DVIS-DAQ's own parts (Zhou et al., "Improving Video Segmentation via Dynamic Anchor Queries",
ECCV 2024; zhang-tao-whu/DVIS_Plus, folder DVIS_DAQ/): the dynamic-anchor tracker with slot
attention and its per-video sequences, on the DVIS family's segmenter (methods/families/dvis/).
The online method (`methods/dvis_daq_online/`) is built on these."""
