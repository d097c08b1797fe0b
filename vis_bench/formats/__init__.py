"""The file formats every floor above reads and writes: the bottom floor above the base modules.

`rle` (masks as COCO run lengths), `occlusion` (OVIS per-frame occlusion labels and the track
score), `categories` (the public datasets' label spaces), `ytvis_header` (the one reader of a
YouTube-VIS/OVIS file's `videos` and `categories`) and `results_file` (the one reader of a
results.json). data/ and eval/ both build on these and never import each other; modules here
import only vis_bench.errors, atomic, jsonio and hashing, numpy and pycocotools.
"""
