"""The YouTube-VIS, OVIS and LV-VIS metrics, their statistics, and checks before submission.

Sub-packages, by concern (the public entry points are in `api`: `evaluate_files`,
`evaluate_predictions`, `evaluate_loaded`, `EvalResult`):

* `declared`    what a metric and a dataset kind declare (statistic names, direction, headline,
                columns, reader, checks) and their registries; `benchmarks` the built-in ones,
                the one place their statistic names are spelled (docs/adding_a_benchmark.md)
* `metric/`     the COCOeval phases in order: `params`, `loading` (GT and results JSON ->
                per-track arrays; errors name file, entry and field), `iou` with `overlaps`,
                `matching`, `accumulate`, `summary`, and `phases` (what a metric plugs in)
* `ovis/`       the OVIS metric as a parameterisation of the same phases: per (area, occlusion)
                range, 18 summary numbers; chosen automatically when the GT carries occlusion
                labels (docs/ovis.md)
* `lvvis/`      the LV-VIS metric on the same phases: crowd tracks counted, 36 numbers over all,
                base and novel categories; chosen when the categories carry `partition`
                (docs/lvvis.md)
* `rle/`        the speed machinery: the compiled kernel (`bulk_rle`), bulk pixel counts
                (`areas`), the bulk reader of GT count lists (`count_lists`, `compress`)
* `stats/`      per-video matching, bootstrap, resampling, per-video numbers, subsets, breakdowns,
                YouTube-VIS 2022's short and long sets (`ytvis2022`), category groups
* `analysis/`   error diagnosis, identity switches, TrackEval tracking metrics
* `submission/` results.json validation (YouTube-VIS and OVIS rules), ground-truth checks
                (`validate_gt`) and the CodaLab zip

Mask RLE, occlusion labels, dataset label spaces and the file headers are vis_bench.formats',
shared with vis_bench.data. Numbers equal the official evaluator (youtubevos/cocoapi) in every
case of shared/design/ytvis_eval.md, quirks included. One documented deviation: an empty results
list scores "no results" (0 where GT exists) instead of crashing.
"""
