"""Generated docs blocks of the benchmarks' committed reports (benchmarks/results/*.json):
eval speed (YouTube-VIS, LV-VIS and BURST), the CPU kernel per dtype, the forwards' fast paths,
show and the HTML report, per-frame feature reuse (a ratio against a reference names it), the
compiled mask encoding and what pinning a run's frames costs. doc_numbers.py registers them
with the others."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tools.doc_sources import fmt, read_source


def eval_speed_block(root: Path) -> str:
    """Whole-process eval against the official evaluator (benchmarks/results/eval_process.json)."""
    report = read_source(root, "benchmarks/results/eval_process.json")
    s, up = report["seconds"], report["speed_up"]
    return "\n".join(
        [
            "| process, 421 videos at 720p | min | median |",
            "|---|---|---|",
            f"| official evaluator | {s['official']['min']:.2f} s | {s['official']['median']:.2f} s |",
            f"| `run_bench.py eval` | {s['vis-bench']['min']:.2f} s | "
            f"{s['vis-bench']['median']:.2f} s |",
            f"| speed-up | {up['min']:.1f}x | {up['median']:.1f}x |",
            "",
            f"Identical stats (max difference {report['max_stat_difference']:.0e}). Source: "
            "`benchmarks/results/eval_process.json`, written by `python "
            "benchmarks/bench_eval_process.py --official DIR --json "
            f"benchmarks/results/eval_process.json` ({report['repeat']} alternating runs, "
            f"{report['cpu_count']} cores, load average {report['loadavg_before'][0]:.1f} -> "
            f"{report['loadavg_after'][0]:.1f}"
            + (f"; {report['bytecode']}" if "bytecode" in report else "")
            + ").",
        ]
    )


def lvvis_speed_block(root: Path) -> str:
    """Whole-process `eval --metric lvvis` against the stand-in for the official code
    (benchmarks/results/lvvis_eval.json)."""
    report = read_source(root, "benchmarks/results/lvvis_eval.json")
    rows = ["| case | vis-bench (median, peak) | stand-in (median, peak) | speed-up (median) |"]
    rows.append("|---|---|---|---|")
    for name, case in report["cases"].items():
        s, peak = case["seconds"], case["peak_mib"]
        rows.append(
            f"| {name}: {case['categories']:,} categories, {case['videos']:,} videos | "
            f"{s['vis-bench']['median']:.2f} s, {peak['vis-bench']:.0f} MiB | "
            f"{s['official stand-in']['median']:.2f} s, {peak['official stand-in']:,.0f} MiB | "
            f"{case['speed_up']['median']:.1f}x |"
        )
    public = next(c for c in report["cases"].values() if "max_difference_to_official_lvvis" in c)
    closest = max(c["max_difference_to_stand_in_overall"] for c in report["cases"].values())
    load = report["provenance"]
    official = []
    if "speed_up_official_lvvis" in public:
        lvvis, peak = public["seconds"]["official LV-VIS"], public["peak_mib"]["official LV-VIS"]
        official = [
            f"The official LV-VIS evaluator itself, run unmodified on the public case "
            f"(`--official-lvvis`: its `mAP.py` calls, which import matplotlib), took "
            f"{lvvis['median']:.2f} s (median, peak {peak:.0f} MiB): "
            f"{public['speed_up_official_lvvis']['median']:.1f}x our median, "
            f"{public['speed_up_official_lvvis']['min']:.1f}x fastest against fastest; its 12 "
            f"overall numbers equal ours within "
            f"{public['max_difference_to_official_lvvis_process']:.0e}.",
            "",
        ]
    if "ceiling_over_numpy_start" in public:
        bare, numpy = (
            public["seconds"][f]["median"] for f in ("interpreter", "interpreter + NumPy")
        )
        official += [
            f"Start-up alone, timed in the same rotation: the interpreter with its site packages "
            f"{bare:.2f} s, the same importing NumPy {numpy:.2f} s (medians). A process that "
            f"imports NumPy and does nothing else is "
            f"{public['ceiling_over_numpy_start']['median']:.1f}x the official run on this case: "
            "the most any NumPy-based evaluator can be.",
            "",
        ]
    return "\n".join(
        [
            *rows,
            "",
            *official,
            f"On the public case the metric itself takes {public['in_process_phases_s']['total']:.2f}"
            f" s in process; the stand-in's fastest run was {public['speed_up']['min']:.1f}x our "
            f"fastest. The 36 numbers equal the official ones within "
            f"{public['max_difference_to_official_lvvis']:.0e}, the overall ones the stand-in's "
            f"within {closest:.0e}. Source: `benchmarks/results/lvvis_eval.json`, written by "
            "`python benchmarks/bench_lvvis_eval.py --official DIR [--official-lvvis LVVIS] --json "
            f"benchmarks/results/lvvis_eval.json` ({report['repeat']} alternating runs, "
            f"{report['cpu_count']} cores, load average {load['load_before']:.1f} -> "
            f"{load['load_after']:.1f}; {report['bytecode']}).",
        ]
    )


def burst_speed_block(root: Path) -> str:
    """`eval --metric burst` against the BURST toolkit and TrackEval's BURST path, whole
    processes (benchmarks/results/burst_eval.json)."""
    report = read_source(root, "benchmarks/results/burst_eval.json")
    sides = (
        ("toolkit", "BURST toolkit"),
        ("trackeval", "TrackEval BURST"),
        ("vis-bench", "vis-bench"),
    )
    lines = [
        "| case | " + " | ".join(title for _, title in sides) + " | toolkit / vis-bench |",
        "|---|---|---|---|---|",
    ]
    differences = []
    for name, case in report["cases"].items():
        cells = [
            f"{case['seconds'][side]['median']:.2f} s, {case['peak_rss_mib'][side]:.0f} MiB"
            for side, _ in sides
        ]
        up = case["speed_up_median"]["toolkit"]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {up:.1f}x |")
        differences += case["max_headline_difference"].values()
        load = f"{case['loadavg_before'][0]:.1f} -> {case['loadavg_after'][0]:.1f}"
    return "\n".join(
        [
            *lines,
            "",
            f"Medians of {report['repeat']} interleaved runs and peak resident memory; the 12 "
            f"numbers of every side against vis-bench's: max difference {max(differences):.0e}. "
            "Source: `benchmarks/results/burst_eval.json`, written by `python "
            "benchmarks/bench_burst_eval.py --toolkit DIR --repeat 3 --json "
            f"benchmarks/results/burst_eval.json` ({report['cpu_count']} cores, load average "
            f"{load} over the last case; toolkit: {report['toolkit']}).",
        ]
    )


def kernel_dtypes_block(root: Path) -> str:
    """CPU deformable-attention kernel per dtype (benchmarks/results/ms_deform_attn_*.json)."""
    report = read_source(root, "benchmarks/results/ms_deform_attn_cpu_revisions.json")
    lines = ["| case | dtype | before (ms) | now (ms) | ratio |", "|---|---|---|---|---|"]
    for row in report["rows"]:
        before = f"{row['baseline_ms']:.1f}" + (
            " (reference)" if row["baseline"] == "reference" else ""
        )
        lines.append(
            f"| {row['case']} | {row['dtype']} | {before} | {row['current_ms']:.1f} | "
            f"{row['ratio']:.2f} |"
        )
    lines.append("")
    lines.append(
        f"Single thread, medians of {report['rounds']} alternating rounds against revision "
        f"{report['baseline']}. Source: `benchmarks/results/ms_deform_attn_cpu_revisions.json`, "
        "written by `python benchmarks/bench_ms_deform_attn_revisions.py`."
    )
    return "\n".join(lines)


def fast_paths_block(root: Path) -> str:
    """Each method's forward against the GEMM peak, and what switching each fast path off costs."""
    report = read_source(root, "benchmarks/results/model_forward_paths.json")
    peak = report["gemm_peak_gmacs_per_s"]
    variants: list[str] = []
    for entry in report["methods"].values():
        variants += [v for v in entry["variants"] if v not in ("all on", "all off", *variants)]
    lines = [
        "| method | all on s | all off s | all off / all on | GMAC/s | of GEMM peak | "
        + " | ".join(f"{v.removeprefix('-')} off" for v in variants)
        + " |",
        "|---|---:|---:|---:|---:|---:|" + "---:|" * len(variants),
    ]
    for method, entry in report["methods"].items():
        rows = entry["variants"]
        on, off = rows["all on"], rows["all off"]
        ablations = [f"{rows[v]['time_vs_all_on']:.2f}x" if v in rows else "n/a" for v in variants]
        lines.append(
            f"| {method} | {on['median_s']:.2f} | {off['median_s']:.2f} | "
            f"{off['time_vs_all_on']:.2f}x | {on['gmacs_per_s']:.1f} | "
            f"{100 * on['fraction_of_gemm_peak']:.0f}% | " + " | ".join(ablations) + " |"
        )
    lines.append("")
    lines.append(
        f"`infer_clip` on one {report['clip']} clip ({report['dtype']}, {report['device']}, "
        f"{report['threads']} threads, random R50 weights); time ratios are paired medians over "
        f"{report['rounds']} alternating rounds; GEMM peak {peak:.1f} GMAC/s (a "
        f"{report['gemm_size']}^3 `torch.mm`); load average {report['load1_start']:.1f} -> "
        f"{report['load1_end']:.1f}. Source: `benchmarks/results/model_forward_paths.json`, "
        "written by `python benchmarks/bench_model_forward.py paths --json "
        "benchmarks/results/model_forward_paths.json`."
    )
    return "\n".join(lines)


def _load_span(report: dict[str, Any]) -> str:
    """`load average 3.3 -> 3.4` from a report's provenance block (`-` where not recorded)."""
    block = report.get("provenance") or {}
    before, after = block.get("load_before"), block.get("load_after")
    return f"load average {fmt(before)} -> {fmt(after)}"


def render_speed_block(root: Path) -> str:
    """`show` on a 36-frame 720p video per phase and panel size, and the HTML report of a run
    (benchmarks/results/show_render.json)."""
    report = read_source(root, "benchmarks/results/show_render.json")
    video = report["video"]
    lines = [
        "| panels | columns | draw all frames | per frame | GIF | MP4 | contact sheet | total |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in report["sizes"]:
        s = size["median_seconds"]
        panels = (
            f"{video['width']}x{video['height']} (`--panel-size 0`)"
            if size["panel_size"] == "video"
            else f"{size['panel_size']} px"
        )
        lines.append(
            f"| {panels} | {size['columns']} | {s['draw animation']:.2f} s | "
            f"{1000 * size['draw_seconds_per_frame']:.0f} ms | {s['encode GIF']:.2f} s | "
            f"{s['encode MP4']:.2f} s | {s['contact sheet']:.2f} s | {size['total_seconds']:.2f} s |"
        )
    lines += [
        "",
        f"One {video['frames']}-frame {video['width']}x{video['height']} video, the ground truth "
        f"and {report['methods']} results files; medians of {report['repeat']} rounds "
        f"({_load_span(report)}); a frame is one row of panels, decoding included; reading the "
        "inputs and the matching are in the total. `show` writes one animation (GIF or MP4) and "
        "the sheet.",
    ]
    run = report.get("run_report")
    if run:
        lines += [
            "",
            f"The HTML report of a run of {run['cells']} cells on {run['videos']} videos (the "
            f"default run's shape): {run['median_seconds']:.2f} s, "
            f"{run['bytes'] / 2**20:.1f} MiB; those cells took {run['cells_seconds']:.0f} s "
            f"(each cell's start to end), so `run` spends "
            f"{100 * run['median_seconds'] / run['cells_seconds']:.1f} % more on it.",
        ]
    lines += [
        "",
        "Source: `benchmarks/results/show_render.json`, written by `python "
        "benchmarks/bench_show_render.py --run RUN_DIR --json "
        "benchmarks/results/show_render.json`.",
    ]
    return "\n".join(lines)


AUTHORS_RATIO = "authors' loop / reuse on"
#: what the "authors' loop" of benchmarks/results/feature_reuse.json is; a report written before
#: the benchmark named its references was made by the same loop
REPLICA = (
    "the project's replica of IFC's authors' loop (methods/ifc/authors_loop.py: their soft-IoU "
    "matching, merging and masks around this project's network), not the authors' code; on "
    "random weights its element-wise matching runs over many degenerate tracks"
)


def feature_reuse_block(root: Path) -> str:
    """Near-online with and without per-frame feature reuse, and IFC against the project's
    replica of its authors' loop (benchmarks/results/feature_reuse.json); every ratio names the
    reference it divides by."""
    report = read_source(root, "benchmarks/results/feature_reuse.json")
    lines = [
        "| method | reuse off (s/frame) | reuse on (s/frame) | off / on | replica of the authors' "
        "loop (s/frame) | replica / reuse on | identical predictions | model's ceiling |",
        "|---|---|---|---|---|---|---|---|",
    ]
    stages, replica, kept = [], None, []
    for method, result in report["methods"].items():
        cost, ratios = result["seconds_per_frame"], result["ratios"]
        authors = cost.get("authors' loop")
        ceiling = result.get("model_ratio_ceiling")
        lines.append(
            f"| {method} | {cost['reuse off']:.2f} | {cost['reuse on']:.2f} | "
            f"{ratios['reuse off / reuse on']:.2f}x | {fmt(authors, 1, 2)} | "
            f"{fmt(ratios.get(AUTHORS_RATIO), 1, 2)}"
            f"{'x' if authors is not None else ''} | "
            f"{'yes' if result['identical_predictions'] else 'NO'} | "
            f"{fmt(ceiling, 1, 2)}{'x' if ceiling is not None else ''} |"
        )
        if authors is not None:
            replica = (result.get("references") or {}).get("authors' loop", REPLICA)
            counts = result.get("predictions") or {}
            if counts:
                kept.append(f"{method}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        if "stage_seconds" in result:
            stages.append(_stage_line(method, result["stage_seconds"]))
    lines.append("")
    if replica is not None:
        lines.append(
            f"The reference of `replica / reuse on` is {replica}: it is a ratio between two "
            "implementations in this project, not a speed-up over the authors' code."
            + (f" Predictions kept: {'; '.join(kept)}." if kept else "")
        )
        lines.append("")
    if stages:
        lines.append(
            "The model's ceiling: the off / on ratio its two halves, timed alone, allow on this "
            "video with the harness's own work left out (" + "; ".join(stages) + ")."
        )
        lines.append("")
    lines.append(
        f"R50 at published defaults (random weights), one video of {report['video']}, "
        f"{report['schedule']}, {report['threads']} threads, the harness's whole loop (decode, "
        f"preprocessing, model, stitching, final masks), {report['rounds']} round(s) alternating "
        f"the variants; load average {report['loadavg_before'][0]:.1f} -> "
        f"{report['loadavg_after'][0]:.1f} on {report['cpu_count']} cores. Source: "
        "`benchmarks/results/feature_reuse.json`, written by `python "
        "benchmarks/bench_feature_reuse.py`."
    )
    return "\n".join(lines)


def _stage_line(method: str, timed: dict[str, float]) -> str:
    many = next(k for k in timed if k.startswith("frame_features_") and k[-2:] != "_1")
    return (
        f"{method}: per-frame stages {timed['frame_features_1']:.3f} s on one frame, "
        f"{timed[many]:.3f} s on {many.rsplit('_', 1)[1]}; the rest of a clip "
        f"{timed['rest_of_clip']:.3f} s"
    )


def mask_encoding_block(root: Path) -> str:
    """Final masks through PyTorch and the compiled pass (benchmarks/results/mask_encoding.json)."""
    report = read_source(root, "benchmarks/results/mask_encoding.json")
    lines = [
        "| masks, rule | PyTorch (ms per mask-frame) | compiled (ms per mask-frame) | speed-up "
        "| identical RLE |",
        "|---|---|---|---|---|",
    ]
    for case, result in report["cases"].items():
        ms = result["ms_per_mask_frame"]
        lines.append(
            f"| {case} | {ms['pytorch']:.3f} | {ms['compiled']:.3f} | {result['speed_up']:.1f}x | "
            f"{'yes' if result['identical_rle'] else 'NO'} |"
        )
    lines.append("")
    lines.append(
        f"{report['masks']}, through `EncodedFrames.frame_final` either way, {report['threads']} "
        f"threads, medians of {report['rounds']} alternating rounds; load average "
        f"{report['loadavg_before'][0]:.1f} -> {report['loadavg_after'][0]:.1f} on "
        f"{report['cpu_count']} cores. Source: `benchmarks/results/mask_encoding.json`, written by "
        "`python benchmarks/bench_mask_encoding.py`."
    )
    return "\n".join(lines)


def dvis_offline_mask_features_block(root: Path) -> str:
    """DVIS++ offline's second pass with each `keep_mask_features` choice
    (benchmarks/results/dvis_offline_mask_features.json); ratios are to `no` (nothing kept)."""
    report = read_source(root, "benchmarks/results/dvis_offline_mask_features.json")
    lines = [
        "| keep_mask_features | wall s | wall vs no | CPU s | CPU vs no | model s | model vs no "
        "| kept MiB in memory | on disk MiB | results against no |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for choice, entry in report["choices"].items():
        if not isinstance(entry, dict):
            continue
        same = entry["vs_no"]
        if choice == "no":
            against = "(the reference)"
        elif not same["same_predictions"]:
            against = "OTHER predictions"
        else:
            against = (
                "same predictions; "
                + (
                    f"scores within {same['max_score_difference']:.0e}; "
                    if same["max_score_difference"]
                    else "equal scores; "
                )
                + f"{same['predictions_with_other_masks']} of {same['predictions']} with other "
                f"masks, lowest track IoU {same['lowest_track_mask_iou']:.4f}"
            )
        lines.append(
            f"| {choice} | {entry['wall_s']:.1f} | {entry['wall_vs_no']:.2f}x | "
            f"{entry['cpu_s']:.1f} | {entry['cpu_vs_no']:.2f}x | {entry['model_s']:.1f} | "
            f"{entry['model_vs_no']:.2f}x | {entry['kept_mib_longest_video']:.1f} | "
            f"{entry['on_disk_mib_longest_video']:.1f} | {against} |"
        )
    frames = report["choices"]["frames_per_pass"]
    lines.append("")
    lines.append(
        f"{report['setting']}; {frames} frames per pass (the kept MiB: the longest video's), "
        f"{report['threads']} threads, medians "
        f"of {report['rounds']} rounds with the choices alternating (ratios: medians of the "
        f"per-round ratios); load average {report['loadavg_before'][0]:.1f} -> "
        f"{report['loadavg_after'][0]:.1f}. Source: "
        "`benchmarks/results/dvis_offline_mask_features.json`, written by "
        "`python benchmarks/bench_dvis_offline_mask_features.py`."
    )
    return "\n".join(lines)


def backbone_category_probe_block(root: Path) -> str:
    """What the tiny models' pretrained backbones know of the categories on videos they never
    saw (benchmarks/results/backbone_category_probe.json)."""
    report = read_source(root, "benchmarks/results/backbone_category_probe.json")
    lines = [
        "| backbone | pretraining steps | recoloured | training videos | unseen videos "
        "| objects (unseen) |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for entry in report["backbones"]:
        lines.append(
            f"| `{entry['checkpoint']}` | {entry['pretraining_steps']} | "
            f"{'yes' if entry['recoloured'] else 'no'} | "
            f"{100 * entry['accuracy_training_videos']:.1f} % | "
            f"{100 * entry['accuracy_unseen_videos']:.1f} % | "
            f"{entry['examples']['unseen_videos']} |"
        )
    chance = max(e["most_frequent_category_share_unseen"] for e in report["backbones"])
    lines.append("")
    lines.append(
        f"Linear-probe accuracy of the objects' category: {report['setting']}; always answering "
        f"the most frequent category would score {100 * chance:.1f} %. Source: "
        "`benchmarks/results/backbone_category_probe.json`, written by "
        "`python benchmarks/probe_backbone_categories.py`."
    )
    return "\n".join(lines)


def authors_side_by_side_block(root: Path) -> str:
    """DVIS++, DVIS-DAQ and VidEoMT against their authors' code on the same weights
    (benchmarks/results/authors_side_by_side.json): medians, ratios (the authors' process as it
    starts, and with vis-bench's allocator setting), output equality, and the share of
    vis-bench's CPU time in matrix products and attention."""
    report = read_source(root, "benchmarks/results/authors_side_by_side.json")
    lines = [
        "| row | settings | authors wall s | vis-bench wall s | wall ratio | authors CPU s "
        "(system) | vis-bench CPU s (system) | CPU ratio | authors CPU s, same allocator "
        "(system) | CPU ratio, same allocator | outputs | matrix products + attention "
        "(vis-bench CPU) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    loads: list[float] = []
    commits: dict[str, list[str]] = {}
    rounds: set[int] = set()
    speeds: list[float] = []
    for row, entry in report["methods"].items():
        settings = [f"{k}: {v}" for k, v in entry["options"].items() if k != "backbone"]
        settings += [f"authors {k}={v}" for k, v in entry.get("authors_env", {}).items()]
        if "omp_wait_policy" in entry:
            settings.append(f"every process OpenMP wait {entry['omp_wait_policy']}")
        settings += trained_weights_settings(entry)
        median = entry["median"]
        loads += entry["load1_before_each_process"]
        block = entry.get("provenance") or report["provenance"]
        commits.setdefault(str(block["commit"])[:7], []).append(row)
        rounds.add(len(entry["rounds"]["vis_bench"]))
        speeds += [
            value
            for key in ("min", "max")
            if (value := entry.get("machine", {}).get("reference_gflops", {}).get(key))
        ]
        same = median.get("authors_same_allocator")
        same_ratio = entry.get("speedup_same_allocator")
        lines.append(
            f"| {row} | {'; '.join(settings) or 'defaults'} | {median['authors']['wall_s']:.1f} | "
            f"{median['vis_bench']['wall_s']:.1f} | "
            f"{paired_cell(entry, 'speedup', 'wall')} | "
            f"{cpu_cell(median['authors'])} | {cpu_cell(median['vis_bench'])} | "
            f"{paired_cell(entry, 'speedup', 'cpu')} | {'-' if same is None else cpu_cell(same)} | "
            f"{'not measured' if same_ratio is None else paired_cell(entry, 'speedup_same_allocator', 'cpu')} | "
            f"{outputs_cell(entry)} | {share_cell(entry)} |"
        )
    video = report["video"]
    trained = any("weights" in entry for entry in report["methods"].values())
    parts = (
        ""
        if len(commits) == 1
        else " Rows measured at different commits (each row's provenance is in the JSON): "
        + "; ".join(f"{c}: {', '.join(rows)}" for c, rows in commits.items())
        + "."
    )
    lines += [
        "",
        f"One random {video['frames']}-frame {video['height']}x{video['width']} video, random "
        "weights saved by the authors' model and loaded by vis-bench"
        + (
            " (a row naming a trained checkpoint: those weights, and a synthetic video)"
            if trained
            else ""
        )
        + f"; {report['threads']} "
        f"threads; medians of {'/'.join(map(str, sorted(rounds)))} rounds, one fresh process per "
        "side per round (which goes first rotating); ratio = authors / vis-bench"
        + (
            " (with an interval: the median of the rounds' paired ratios, [its "
            "distribution-free interval] and that interval's confidence)"
            if any("speedup_interval" in entry for entry in report["methods"].values())
            else ""
        )
        + "; same "
        "allocator: the authors' process with the glibc setting vis-bench's `reuse_memory` "
        "path makes in its own (`MALLOC_MMAP_MAX_=0`, `MALLOC_TRIM_THRESHOLD_` 1 GiB); "
        "(system): the kernel's part of the CPU seconds (page faults, mostly). Load average "
        f"before the processes: {min(loads):.1f} to {max(loads):.1f}"
        + (
            f"; reference speed around them {min(speeds):.0f} to {max(speeds):.0f} GFLOP/s "
            "(vis_bench/measure/reference.py)"
            if speeds
            else ""
        )
        + f".{parts} Source: "
        "`benchmarks/results/authors_side_by_side.json`, written by "
        "`python benchmarks/bench_authors_side_by_side.py`.",
    ]
    return "\n".join(lines)


def trained_weights_settings(entry: dict[str, Any]) -> list[str]:
    """A row run on a trained checkpoint: the file, the synthetic video, and how the authors'
    tracker's sequences lived on it (started, started after frame 0, dropped)."""
    if "weights" not in entry:
        return []
    video = entry.get("synthetic_video") or {}
    settings = [f"{entry['checkpoint']} on a {video.get('frames', '?')}-frame synthetic video"]
    lives = entry.get("authors_sequences")
    if lives:
        settings.append(
            f"the authors' tracker started {lives['started']} sequences "
            f"({lives['started_after_frame_0']} after frame 0) and dropped {lives['dead']}"
        )
    return settings


def cpu_cell(median: dict[str, float]) -> str:
    """`69.1 (13.2)`: CPU seconds and their system part, where the report has it."""
    system = median.get("system_s")
    return f"{median['cpu_s']:.1f}" + ("" if system is None else f" ({system:.1f})")


def outputs_cell(entry: dict[str, Any]) -> str:
    """Whether the last round's outputs of the authors' process(es) equal vis-bench's."""
    outputs = entry["outputs"]
    checks = [outputs, entry.get("outputs_same_allocator", outputs)]
    if not all(check["equal_within_tolerance"] for check in checks):
        return "NOT equal within the parity tolerances"
    apart = max(check.get("max_pixels_apart_per_track", 0) for check in checks)
    score = max(check.get("max_score_diff") or 0.0 for check in checks)
    scores = f"scores within {score:.0e}" if score else "equal scores"
    return (
        f"equal: {outputs['tracks']} tracks in order, {scores}, at most "
        f"{apart} pixel{'' if apart == 1 else 's'} apart per track"
    )


def share_cell(entry: dict[str, Any]) -> str:
    """vis-bench's CPU share in matrix products and attention (its profiled pass)."""
    share = entry.get("vit_kernel_share_of_cpu", {}).get("both")
    return "-" if share is None else f"{100 * share:.0f} %"


def ratio_cell(speedup: dict[str, float]) -> str:
    return f"{speedup['cpu']:.2f}x"


def paired_cell(entry: dict[str, Any], name: str, key: str) -> str:
    """`0.97x [0.93-1.01] 75 %`: the median of the rounds' paired ratios with its interval and
    confidence where the row has them, else the ratio of the medians (rows measured before)."""
    interval = entry.get(f"{name}_interval", {}).get(key)
    if interval is None:
        return f"{entry[name][key]:.2f}x"
    return (
        f"{interval['median']:.2f}x [{interval['low']:.2f}-{interval['high']:.2f}] "
        f"{100 * interval['confidence']:.0f} %"
    )


def frames_identity_cost_block(root: Path) -> str:
    """What pinning a run's frames costs on a layout the size of YouTube-VIS 2021, cold, warm and
    after a few files changed (benchmarks/results/frames_identity.json)."""
    report = read_source(root, "benchmarks/results/frames_identity.json")
    layout, runs = report["layout"], report["runs"]
    rows = (
        ("first run (no digest cache)", "cold"),
        ("each later run (the cache filled)", "warm"),
        (f"a run after {runs['changed'][0]['hashed']} files changed", "changed"),
    )
    lines = ["| run | seconds | files hashed |", "|---|---:|---:|"]
    for words, phase in rows:
        seconds = sorted(r["seconds"] for r in runs[phase])
        hashed = runs[phase][0]["hashed"]
        lines.append(
            f"| {words} | {report['median_seconds'][phase]:.2f} ({seconds[0]:.2f}-"
            f"{seconds[-1]:.2f}) | {hashed:,} of {runs[phase][0]['files']:,} |"
        )
    low, high = layout["kib_per_frame"]
    machine = (report.get("provenance") or {}).get("machine") or {}
    lines += [
        "",
        f"{layout['videos']:,} folders of {layout['frames'] // layout['videos']} files of {low}-"
        f"{high} KiB ({layout['bytes'] / 2**20:.0f} MiB in all); medians of {len(runs['cold'])} "
        f"runs with their range, {_load_span(report)} on {machine.get('cpu_count', '?')} cores. "
        "The files were in the OS page cache; hashing costs by the byte, so larger frames or a "
        f"cold disk take longer. The digest cache held {report['cache_file_bytes'] / 2**20:.1f} "
        f"MiB, a run folder's manifest {runs['cold'][0]['run_folder_manifest_bytes'] / 2**20:.1f}"
        " MiB.",
        "",
        "Source: `benchmarks/results/frames_identity.json`, written by `python "
        "benchmarks/bench_frames_identity.py --json benchmarks/results/frames_identity.json`.",
    ]
    return "\n".join(lines)


_SAM3_ROWS = (
    ("ViT output", ("vit_out",)),
    ("FPN levels", ("backbone_fpn",)),
    ("text features (real tokens)", ("language_features_valid_tokens",)),
    ("geometry CLS token", ("geometry_out",)),
    ("DETR encoder memory", ("encoder_memory",)),
    ("decoder states", ("decoder_hs",)),
    ("presence logits", ("presence_logits",)),
    ("class logits", ("class_logits",)),
    ("final logits", ("pred_logits",)),
    ("boxes (cxcywh, xyxy)", ("pred_boxes", "pred_boxes_xyxy")),
    ("mask logits", ("pred_masks",)),
    ("semantic seg", ("semantic_seg",)),
)


def _largest(figures: dict[str, Any], keys: tuple[str, ...]) -> str:
    values: list[float] = []
    for key in keys:
        value = figures.get(key)
        values.extend(value if isinstance(value, list) else [] if value is None else [value])
    return f"{max(values):.1e}" if values else "-"


def sam3_transformers_parity_block(root: Path) -> str:
    """Transformers' SAM 3 against the authors' fixtures: largest difference per detector
    tensor, as it runs and with the geometry CLS token; the video case's detections
    (benchmarks/results/sam3_transformers_parity.json)."""
    report = read_source(root, "benchmarks/results/sam3_transformers_parity.json")
    runs = report["detector"]
    as_is, with_cls = runs["as_is"]["max_abs_diff"], runs["with_geometry_cls"]["max_abs_diff"]
    default_eps = runs["vit_out_with_transformers_default_eps"]
    lines = [
        "| tensor | Transformers as it runs | with the geometry CLS token |",
        "|---|---:|---:|",
    ]
    for label, keys in _SAM3_ROWS:
        lines.append(f"| {label} | {_largest(as_is, keys)} | {_largest(with_cls, keys)} |")
    kept = ("equal" if as_is["kept_queries_equal"] else "differ", "equal")
    if not with_cls["kept_queries_equal"]:
        kept = (kept[0], "differ")
    lines.append(f"| queries kept (prob > 0.5) | {kept[0]} | {kept[1]} |")
    video = report["video_case_detections"]
    names = (
        ("as_is_transformers_nms", "as `Sam3VideoModel.run_detection` runs it"),
        ("with_geometry_cls_transformers_nms", "with the CLS token"),
        ("with_geometry_cls_greedy_nms", "with the CLS token and the authors' greedy mask NMS"),
    )
    counts = "; ".join(
        f"{text}: {video[key]['detection_count_equal']} of {video[key]['frame_prompt_pairs']}"
        for key, text in names
    )
    best = video["with_geometry_cls_greedy_nms"]["max_abs_diff_where_counts_equal"]
    lines += [
        "",
        f"Largest absolute differences on the detector case (tolerance "
        f"{report['tolerance_fp32']:.0e}), Transformers {report['transformers']}, the ViT's "
        f"LayerNorm eps set to the authors' 1e-5 (with Transformers' default "
        f"{default_eps['layer_norm_eps']:.0e} the ViT output differs by "
        f"{default_eps['max_abs_diff']:.1e}). Video case, frames x prompts whose detections "
        f"(after mask NMS and prob > 0.5) have the recorded count: {counts} (there: scores "
        f"{best['scores']:.1e}, mask logits {best['mask_logits']:.1e}, boxes {best['bbox']:.1e}). "
        "Source: `benchmarks/results/sam3_transformers_parity.json`, written by "
        "`python benchmarks/sam3_transformers_parity.py`.",
    ]
    return "\n".join(lines)


def sam3_authors_loop_block(root: Path) -> str:
    """SAM 3 beside the authors' evaluation loop: per shape, vis-bench's GMACs per frame
    (shared, per prompt), the CPU and wall ratios and whether the outputs are equal
    (benchmarks/results/sam3_authors_loop.json)."""
    report = read_source(root, "benchmarks/results/sam3_authors_loop.json")
    lines = [
        "| shape | ViT blocks | GMACs/frame shared | per prompt | authors / vis-bench CPU "
        "(per round) | wall | outputs equal |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, shape in report["shapes"].items():
        flops, cpu = shape["gmacs_per_frame"], shape["speedup_interval"]["cpu"]
        lines.append(
            f"| {name} | {shape['config']['vit_depth']} | {flops['shared']:.3f} | "
            f"{flops['per_prompt']:.3f} | {cpu['median']:.2f}x [{cpu['low']:.2f}, "
            f"{cpu['high']:.2f}] ({100 * cpu['confidence']:.0f} %) | "
            f"{shape['speedup_interval']['wall']['median']:.2f}x | "
            f"{'yes' if shape['outputs']['equal_within_tolerance'] else 'no'} |"
        )
    loads = [s["machine"]["load1"] for s in report["shapes"].values()]
    theirs = next(iter(report["shapes"].values())).get("authors_environment")
    ran_on = (
        f"; their code: sam3 {theirs['sam3']}, torch {theirs['torch']}" if theirs else ""
    )  # a report of before the versions were recorded says nothing of them
    lines += [
        "",
        f"{report['prompts']['count']} prompts ({report['prompts']['label_space']}'s names), "
        f"{report['video']['frames']} frames, {report['threads']} threads, {report['rounds']} "
        f"rounds per shape on {report['provenance']['machine']['cpu']}; load "
        f"{min(x['min'] for x in loads)} to {max(x['max'] for x in loads)}{ran_on}. Source: "
        "`benchmarks/results/sam3_authors_loop.json`, written by "
        "`python benchmarks/bench_sam3_authors_loop.py`.",
    ]
    return "\n".join(lines)


def fast_tier_block(root: Path) -> str:
    """The README's second command (the fast tier) timed on a fresh clone right after the first
    (benchmarks/results/first_command.json, written with `--tests`)."""
    relative = "benchmarks/results/first_command.json"
    command = f"`python benchmarks/bench_first_command.py --tests --json {relative}`"
    if not (root / relative).is_file():
        return f"The fast tier's time on a fresh clone is not measured yet: {command}."
    report = read_source(root, relative)
    tests = report.get("second_command")
    if not tests:
        return f"{relative} was written without `--tests`: re-run {command}."
    minutes, rest = divmod(round(float(tests["seconds"])), 60)
    machine = (report.get("provenance") or {}).get("machine") or {}
    verdict = "passed" if tests["exit_status"] == 0 else f"exit status {tests['exit_status']}"
    return (
        f"Measured on a fresh clone right after the first command (the kernel built, the dataset "
        f"generated): the second command took {minutes} min {rest} s ({verdict}; pytest's last "
        f"line `{tests['last_line']}`), 1-minute load {tests['load_before']:.1f} before and "
        f"{tests['load_after']:.1f} after, {machine.get('cpu_count', '?')} cores. Source: "
        f"{command}."
    )
