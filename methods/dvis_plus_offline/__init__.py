"""DVIS++ offline (Zhang et al.; zhang-tao-whu/DVIS_Plus `DVIS_Plus_offline`): the online model's
segmenter and tracker, then the temporal refiner over the whole video (methods/families/dvis/);
this package holds the method's declaration, its whole-video refinement and its parity check."""
