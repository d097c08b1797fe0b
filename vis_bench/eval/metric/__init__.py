"""The YouTube-VIS metric's phases, as in COCOeval, readable in phase order.

`params` (thresholds, ranges) -> `loading` (GT and results JSON -> per-track arrays; `gt_cache`
keeps a parsed GT) -> `iou` with `overlaps` (exact video IoU of every result/GT pair) ->
`matching` (greedy matching per area range and IoU threshold) -> `accumulate` (precision and
recall arrays) -> `summary` (the 12 official numbers). `phases` names the matching, accumulation
and summary steps a metric plugs in; eval/api.py chains them.
"""
