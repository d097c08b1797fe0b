"""DVIS-DAQ online (Zhou et al., ECCV 2024; zhang-tao-whu/DVIS_Plus `DVIS_DAQ_online`): the DVIS
family's segmenter and DAQ's dynamic-anchor tracker (methods/families/dvis_daq/); this package
holds the method's declaration, its video results, released checkpoints and parity check."""
