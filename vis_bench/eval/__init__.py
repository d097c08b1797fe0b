"""The YouTube-VIS and OVIS metrics, RLE helpers, results.json validation and the submission zip.

Phases, as in COCOeval, with plain arrays between them:

* `loading`    load: GT and results JSON -> per-track arrays (errors name file, entry, field);
               `count_lists` reads the GT's uncompressed RLE count lists in bulk with numpy
* `iou`        evaluate (1): exact video IoU of every (result, GT) pair -> `PairTable`, with
               `overlaps` computing the integer intersections and unions in bulk
* `matching`   evaluate (2): greedy matching per area range and IoU threshold -> `Matches`
* `accumulate` precision [T, R, K, A, M] and recall [T, K, A, M] -> `Accumulated`
* `summary`    the 12 official numbers and per-category AP
* `api`        `evaluate_files(gt, results)` chaining them, with per-phase timings

OVIS (`ovis`, `ovis_matching`, `occlusion`): the same phases per (area, occlusion) range, with
occlusion scores from the GT's per-frame labels and 18 summary numbers; chosen automatically
when the GT carries occlusion labels (docs/ovis.md).

Numbers equal the official evaluator (youtubevos/cocoapi) in every case of
shared/design/ytvis_eval.md, quirks included. One documented deviation: an empty results list
scores "no results" (0 where GT exists) instead of crashing. Also here: `validate` (checks a
results file before submission), `submission` (the CodaLab zip) and `gt_cache` (opt-in cache
of a parsed GT).
"""
