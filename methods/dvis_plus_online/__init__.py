"""DVIS++ online (Zhang et al.; zhang-tao-whu/DVIS_Plus `DVIS_Plus_online`): the segmenter and the
referring tracker of methods/families/dvis/, the tracker's state carried from clip to clip; this
package holds the method's declaration, its clip results and its parity check."""
