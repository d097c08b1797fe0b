"""The engine: how clips become a video's results, the same for every method.

`schedule` (the clip windows of length T and stride S), `stitching` (overlapping clips joined by
space-time soft IoU), `query_tracks` (clips of query tracks linked by embeddings or by the
method's own state), `refinement` (a whole video refined at its end, its masks made in a second
pass) and `finalise` (each final frame resized to the video size, thresholded and RLE-encoded).
The runner (vis_bench/inference/) drives them; a method's spec only declares which linking it
needs (vis_bench/api/linking.py), and its parity modules replay them through vis_bench.parity.
"""
