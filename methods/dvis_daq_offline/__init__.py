"""DVIS-DAQ offline (Zhou et al., ECCV 2024; zhang-tao-whu/DVIS_Plus `DVIS_DAQ_offline`): DVIS-DAQ
online's segmenter and tracker (methods/families/dvis_daq/), then the DVIS family's temporal
refiner over the video's best sequences; this package holds how the refiner's instances are
gathered, the method's declaration, released checkpoints and parity check."""
