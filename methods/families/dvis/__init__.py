"""DVIS++ (Zhang et al., TPAMI 2025; zhang-tao-whu/DVIS_Plus): a frame-level Mask2Former
segmenter with a ReID branch, a learnt referring tracker that carries each object from frame to
frame, and a temporal refiner that sees a whole video's tracked queries at once. The online and
offline methods (`methods/dvis_plus_online/`, `methods/dvis_plus_offline/`) are built on these
parts; the segmenter is the Mask2Former family's (`families/mask2former/`) in frame mode."""
