"""The built-in dataset kinds and metrics: YouTube-VIS 2019/2021/2022, OVIS, LV-VIS and BURST.

Every statistic name of these metrics is spelled here and nowhere else: the metrics' code,
`eval`, the reports and `regress` take them from these declarations (eval/declared.py says what
a declaration holds; docs/adding_a_benchmark.md how to add one). Importing this module
registers them; it imports no metric code.
"""

from __future__ import annotations

from vis_bench.eval.declared import KINDS, METRICS, DatasetKind, Metric

#: the 12 numbers of the YouTube-VIS evaluator, in its order (it prints no names: these are ours)
STAT_NAMES: tuple[str, ...] = (
    "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl",
)  # fmt: skip
AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl = STAT_NAMES
#: what a comparison table shows of them
YTVIS_COLUMNS = (AP, AP50, AP75, AR1, AR10)
#: the statistics a bootstrap over videos re-accumulates (eval/stats/resample.py)
RESAMPLED_STATS: tuple[str, ...] = (AP, AP50, AP75, AR10)
#: what the metrics' names mean (YouTube-VIS's), wherever a table prints them
YTVIS_NOTE = (
    "AP: mask AP averaged over IoU 0.50:0.95, AP50 / AP75: at IoU 0.5 / 0.75, AR1 / AR10: "
    "average recall given 1 / 10 predictions per video, all x100"
)

#: OVIS: AP and AR per occlusion level (formats/occlusion.py)
OCCLUSION_LEVELS = ("light", "medium", "heavy")
OCCLUSION_AP = tuple(f"AP_occ_{level}" for level in OCCLUSION_LEVELS)
OCCLUSION_AR = tuple(f"AR_occ_{level}" for level in OCCLUSION_LEVELS)
#: the 18 numbers the OVIS evaluator prints, in its order: the occlusion APs right after APl,
#: so from AR1 on an index differs from YouTube-VIS
OVIS_STAT_NAMES: tuple[str, ...] = (*STAT_NAMES[:6], *OCCLUSION_AP, *STAT_NAMES[6:], *OCCLUSION_AR)

#: YouTube-VIS 2022's scoring program: (its figure, the set's statistic behind it), its order
SET_FIGURES = (("mAP", AP), (AP50, AP50), (AP75, AP75), (AR1, AR1), (AR10, AR10))
SETS = ("S", "L")
MEAN_AP = SET_FIGURES[0][0]
#: the 11 figures the scoring program writes, in its order: mAP, then per set (S, L)
FIGURE_NAMES = (MEAN_AP, *(f"{name}_{s}" for s in SETS for name, _ in SET_FIGURES))
#: the long videos' AP (recorded as mAP_L, headed AP_L): the figure recent papers quote
LONG_VIDEOS_AP = f"{MEAN_AP}_{SETS[1]}"
YTVIS2022_NOTE = (
    "YouTube-VIS 2022 (its scoring program's figures): AP_L is the AP on the long videos, the "
    "figure recent papers quote for YouTube-VIS 2022; AP_S the AP on the short videos (the 2021 "
    "valid set); mAP = (AP_S + AP_L) / 2, the challenge's ranking figure; AP and the other "
    "columns without a suffix score all videos at once."
)

#: LV-VIS: each YouTube-VIS number over all, base (`_b`) and novel (`_n`) categories
SPLIT_SUFFIXES = {"all": "", "base": "_b", "novel": "_n"}
LVVIS_STAT_NAMES: tuple[str, ...] = tuple(
    f"{name}{suffix}" for name in STAT_NAMES for suffix in SPLIT_SUFFIXES.values()
)
#: AP over all, base and novel categories
LVVIS_APS = LVVIS_STAT_NAMES[:3]

#: BURST class-guided: the toolkit's table, statistic by class split ("HOTA_all", ...)
BURST_STATISTICS = ("HOTA", "DetA", "AssA", "AP")
BURST_SPLITS = ("all", "common", "uncommon")
BURST_STAT_NAMES = tuple(f"{stat}_{split}" for stat in BURST_STATISTICS for split in BURST_SPLITS)

_API = "vis_bench.eval.api"
#: the reader of every YouTube-VIS-layout kind (a sweep reads their frames with vis_bench.data)
YTVIS_READER = "vis_bench.eval.metric.loading:load_ground_truth"

YTVIS = METRICS.register(
    Metric(
        name="ytvis",
        title="YouTube-VIS",
        statistics=STAT_NAMES,
        headline=AP,
        columns=YTVIS_COLUMNS,
        compute=f"{_API}:ytvis_statistics",
        intervals=RESAMPLED_STATS,
        compared=(AP, AP50, AR10),
        gated=(AP, AP50, AP75, APs, APm, APl),
        reported=STAT_NAMES[:9],
        note=YTVIS_NOTE,
    )
)
OVIS = METRICS.register(
    Metric(
        name="ovis",
        title="OVIS",
        statistics=OVIS_STAT_NAMES,
        headline=AP,
        columns=(AP, AP50, AP75, *OCCLUSION_AP, AR1, AR10),
        compute=f"{_API}:ovis_statistics",
        intervals=RESAMPLED_STATS,
        compared=YTVIS.compared,
        gated=YTVIS.gated,
        reported=(*YTVIS.reported, *OCCLUSION_AP),
        note=YTVIS_NOTE,
    )
)
YTVIS2022 = METRICS.register(
    Metric(
        name="ytvis2022",
        title="YouTube-VIS 2022",
        statistics=(*STAT_NAMES, *FIGURE_NAMES),
        headline=MEAN_AP,
        columns=(MEAN_AP, *(f"{MEAN_AP}_{s}" for s in SETS), *YTVIS_COLUMNS),
        compute="vis_bench.eval.stats.ytvis2022:set_statistics",
        headings={f"{MEAN_AP}_{s}": f"{AP}_{s}" for s in SETS},
        intervals=RESAMPLED_STATS,
        compared=(MEAN_AP, *YTVIS.compared),
        gated=YTVIS.gated,
        reported=YTVIS.reported,
        note=YTVIS_NOTE,  # the figures are explained by YTVIS2022_NOTE, under their table
        # scored with `eval --short-videos S --long-videos L`, or a `ytvis2022` dataset
        selectable=False,
    )
)
LVVIS = METRICS.register(
    Metric(
        name="lvvis",
        title="LV-VIS",
        statistics=LVVIS_STAT_NAMES,
        headline=AP,
        columns=(*LVVIS_APS, AP50, AP75, AR1, AR10),
        compute="vis_bench.eval.api:lvvis_statistics",
        compared=LVVIS_APS,
        gated=LVVIS_APS,
        reported=(*LVVIS_APS, AP50, AP75, AR1, AR10),
        note=f"{YTVIS_NOTE}; _b / _n: over the base / novel categories",
    )
)
BURST = METRICS.register(
    Metric(
        name="burst",
        title="BURST class-guided",
        statistics=BURST_STAT_NAMES,
        headline=BURST_STAT_NAMES[0],
        columns=BURST_STAT_NAMES,
        compute="vis_bench.eval.burst.metric:burst_statistics",
        compared=(BURST_STAT_NAMES[0], f"{BURST_STATISTICS[-1]}_{BURST_SPLITS[0]}"),
        gated=BURST_STAT_NAMES[:1],
        reported=BURST_STAT_NAMES,
        note="HOTA, DetA, AssA and track AP (x100) over all, common and uncommon classes",
        percent=True,
    )
)

# Dataset kinds. `eval --metric auto` asks them latest first and takes the first that recognises
# the ground truth (declared.detected_kinds): LV-VIS before OVIS before YouTube-VIS.
for _year, _metric in (("2019", YTVIS), ("2021", YTVIS), ("2022", YTVIS2022)):
    KINDS.register(
        DatasetKind(
            name=f"ytvis{_year}",
            title=f"YouTube-VIS {_year}",
            metric=_metric.name,
            reader=YTVIS_READER,
            check="vis_bench.eval.api:check_annotated",
            detects="vis_bench.eval.declared:always" if _year == "2019" else None,
        )
    )
KINDS.register(
    DatasetKind(
        name="ovis",
        title="OVIS",
        metric=OVIS.name,
        reader=YTVIS_READER,
        detects="vis_bench.eval.ovis.metric:recognises",
    )
)
KINDS.register(
    DatasetKind(
        name="lvvis",
        title="LV-VIS",
        metric=LVVIS.name,
        reader=YTVIS_READER,
        check="vis_bench.eval.lvvis.metric:check_ground_truth",
        detects="vis_bench.eval.lvvis.metric:has_lvvis_partitions",
    )
)
KINDS.register(
    DatasetKind(
        name="burst",
        title="BURST",
        metric=BURST.name,
        reader="vis_bench.eval.burst.reader:read_ground_truth_file",
        detects_path="vis_bench.eval.burst.layout:is_burst_layout",
        videos="vis_bench.eval.burst.as_videos:read_videos",
    )
)
