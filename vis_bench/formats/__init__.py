"""The file formats every floor above reads and writes: the bottom floor above the base modules.

`rle` (masks as COCO run lengths), `occlusion` (OVIS per-frame occlusion labels and the track
score), `categories` (the public datasets' label spaces), `ytvis_header` (the one reader of a
YouTube-VIS/OVIS file's `videos` and `categories`), `results_file` (the one reader of a
results.json) and `checkpoints` (a checkpoint file of any layout read once; the project's own
format written). data/ and eval/ both build on these and never import each other; modules here
import only vis_bench's base modules (errors, atomic, jsonio, hashing, shipped), numpy,
pycocotools and torch.
"""
