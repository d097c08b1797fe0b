"""The generated GPU table (docs/gpu_table.md): what `scripts/gpu_table.sh results/gpu_table`
wrote, beside the published FPS that the methods' released checkpoints declare.

Sources, all under results/gpu_table/: machine.json (the GPU, driver, CUDA and NVML readings),
kernel_tests.json and kernel_bench.json (the deformable-attention kernel), and one folder of
records per config of configs/gpu_table/. A session on another GPU or commit gets a folder and a
block of its own (results/gpu_h200_table/: a block's sources come from one commit). The
published FPS and the GPU each was measured on are read from the declarations
(`vis_bench.published`), never typed here. Before any GPU run the block says so and lists the
published FPS the table will be set beside, with the step of the script that measures each.
doc_numbers.py registers the blocks.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tools.doc_sources import fmt, read_source

FOLDER = "results/gpu_table"
CONFIGS = "configs/gpu_table"
SOURCES = (f"{FOLDER}/*.json", f"{FOLDER}/*/records.jsonl")
COMMAND = "scripts/gpu_table.sh results/gpu_table"
#: the H200 session's steps, kept apart: a block's sources come from one commit and one machine
H200_FOLDER = "results/gpu_h200_table"
H200_SOURCES = (f"{H200_FOLDER}/*.json", f"{H200_FOLDER}/*/records.jsonl")
H200_COMMAND = "scripts/gpu_table.sh results/gpu_h200_table machine sweep-sam3"
#: the published numbers the configs reproduce the settings of
DATASET = "ytvis2019"
DTYPE_ORDER = {"fp32": 0, "fp16": 1, "bf16": 2}
#: a GPU's class in a name: one letter and three digits (V100, A100, H100, H200)
GPU_CLASS = re.compile(r"\b[A-Z]\d{3}\b")


# ------------------------------------------------------------------- published numbers


def _resolution(method: str, options: dict[str, Any], defaults: dict[str, Any]) -> Any:
    for key in ("min_size_test", "shorter_side"):
        if options.get(key) is not None:
            return options[key]
    return defaults.get("resolution")


def published_fps(
    method: str, options: dict[str, Any], clip_length: Any, stride: Any
) -> dict[str, Any] | None:
    """The published FPS entry (YouTube-VIS 2019) whose setting a cell runs: same method,
    backbone, test size, clip length and, where the entry fixes one, stride."""
    from vis_bench.published import canonical_backbone, default_published

    published = default_published()
    defaults = published.method_defaults.get(method, {})
    backbone = canonical_backbone(options.get("backbone") or defaults.get("backbone"))
    resolution = _resolution(method, options, defaults)
    for entry in published.entries:
        setting = entry["setting"]
        lengths = setting["clip_length"]
        lengths = lengths if isinstance(lengths, list) else [lengths]
        if (
            entry["method"] == method
            and "FPS" in entry["metrics"]
            and setting["dataset"] == DATASET
            and canonical_backbone(setting["backbone"]) == backbone
            and setting["resolution"] == resolution
            and clip_length in lengths
            and (setting["stride"] is None or setting["stride"] == stride)
        ):
            return entry
    return None


def _config_cells(root: Path) -> list[tuple[str, dict[str, Any], Any, Any]]:
    """(config stem, method entry, T, S) of every cell the GPU-table configs run, any dtype."""
    from vis_bench.engine.schedule import default_stride

    cells = []
    for path in sorted((root / CONFIGS).glob("*.yaml")):
        config = yaml.safe_load(path.read_text()) or {}
        for pair in (config.get("sweep") or {}).get("clip_schedule") or []:
            length = pair[0]
            stride = None if length == "all" else (pair[1] if len(pair) > 1 else None)
            if length != "all" and stride is None:
                stride = default_stride(int(length))
            for entry in config.get("methods") or []:
                cells.append((path.stem, entry, length, stride))
    return cells


def published_lines(root: Path) -> list[str]:
    """The published FPS of YouTube-VIS 2019 the table is set beside, with the step measuring
    each setting (none: no config of the table runs it)."""
    from vis_bench.published import default_published

    steps: dict[str, list[str]] = {}
    for stem, entry, length, stride in _config_cells(root):
        found = published_fps(entry["name"], entry.get("options") or {}, length, stride)
        if found is not None and f"sweep-{stem}" not in steps.setdefault(found["id"], []):
            steps[found["id"]].append(f"sweep-{stem}")
    lines = [
        "| released checkpoint | setting | published FPS | GPU, as declared | measured by |",
        "|---|---|---|---|---|",
    ]
    for entry in default_published().entries:
        if "FPS" not in entry["metrics"] or entry["setting"]["dataset"] != DATASET:
            continue
        setting = entry["setting"]
        where = ", ".join(steps.get(entry["id"], [])) or "not in the table"
        stride = "" if setting["stride"] is None else f" S={setting['stride']}"
        lines.append(
            f"| {entry['variant']} | T={_lengths(setting['clip_length'])}{stride}, "
            f"{setting['resolution']} px | {entry['metrics']['FPS']:g} | {setting['gpu']} | "
            f"{where} |"
        )
    return lines


def _lengths(value: Any) -> str:
    return "/".join(str(v) for v in value) if isinstance(value, list) else str(value)


# ------------------------------------------------------------------------ measurements


def _records(root: Path, folder: str = FOLDER) -> list[dict[str, Any]]:
    """The latest record of each cell over every sweep folder (one per config of CONFIGS; the
    AP check's folder is no sweep of the table), with its folder's name."""
    records = []
    sweeps = {p.stem for p in (root / CONFIGS).glob("*.yaml")}
    for path in sorted((root / folder).glob("*/records.jsonl")):
        if path.parent.name not in sweeps:
            continue
        latest = {r["key"]: r for r in read_source(root, str(path.relative_to(root)))}
        records += [{**r, "_step": path.parent.name} for r in latest.values()]

    def order(r: dict[str, Any]) -> tuple:
        options = r.get("model_options") or {}
        length = r.get("clip_length")
        return (
            r["method"],
            str(options.get("backbone")),
            -1e9 if length == "all" else -float(length or 0),
            -float(r.get("stride") or 0),
            DTYPE_ORDER.get(r.get("dtype"), 9),
        )

    return sorted(records, key=order)


def _ratio(measured: float | None, published: float | None) -> str:
    return "-" if measured is None or not published else f"{measured / published:.2f}x"


def _marks(record: dict[str, Any]) -> str:
    speed = record.get("speed") or {}
    return ("*" if speed.get("loaded") else "") + ("†" if speed.get("noisy") else "")


def _authors(record: dict[str, Any]) -> str:
    entry = (record.get("protocols") or {}).get("authors") or {}
    if record.get("fps_authors") is None:
        declared = entry.get("protocol") or {}
        return "not stated" if declared and not declared.get("stated", True) else "-"
    applied = entry.get("applied") or {}
    compiled = " compiled" if applied.get("compile") else ""
    return f"{fmt(record['fps_authors'])} ({applied.get('precision')}{compiled})"


def _model_share(record: dict[str, Any]) -> str:
    """The model stage's share of the end-to-end pass: where it is small, the host's decoding,
    resizing and encoding, not the GPU, set the end-to-end FPS."""
    model_s = (record.get("harness") or {}).get("model_s")
    seconds = record.get("seconds_end_to_end")
    return "-" if model_s is None or not seconds else f"{100 * model_s / seconds:.0f} %"


def _tracks_per_video(record: dict[str, Any]) -> str:
    """Tracks a video kept: each is resized to the frame and encoded, so the host's work grows
    with them (random class scores pass a method's threshold more often than trained ones)."""
    kept, videos = record.get("num_predictions"), record.get("num_videos")
    return "-" if kept is None or not videos else fmt(kept / videos, 1, 0)


def _table_row(cells: list[Any]) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def _row(record: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    options = record.get("model_options") or {}
    axes = [record["method"], options.get("backbone") or "-", record.get("clip_length")]
    axes += [record.get("stride") or "-", record.get("dtype")]
    if record.get("status") != "ok":
        failed = f"failed: {str(record.get('error'))[:120]}"
        return _table_row([*axes, failed] + ["-"] * (len(COLUMNS) - len(axes) - 1)), None
    entry = published_fps(
        record["method"], options, record.get("clip_length"), record.get("stride")
    )
    published = entry["metrics"]["FPS"] if entry else None
    speed = record.get("speed") or {}
    low, high = speed.get("fps_range") or [None, None]
    latency = (record.get("stream") or {}).get("latency_ms") or {}
    e2e = record.get("fps_end_to_end")
    cells = [
        *axes,
        f"{fmt(e2e)}{_marks(record)} [{fmt(low)}, {fmt(high)}]",
        fmt(record.get("fps_model")),
        _model_share(record),
        _tracks_per_video(record),
        _authors(record),
        f"{fmt(latency.get('p50'), 1, 0)} / {fmt(latency.get('p99'), 1, 0)}",
        fmt(record.get("cuda_max_allocated_mb"), 1, 0),
        fmt((record.get("energy") or {}).get("joules_per_frame"), 1, 3),
        fmt(speed.get("reference_gflops"), 1, 0),
        "-" if published is None else f"{published:g}",
        _ratio(e2e, published),
        _ratio(record.get("fps_authors"), published),
    ]
    return _table_row(cells), entry


def gpu_lines(entries: list[dict[str, Any]], gpu: str | None) -> list[str]:
    """Where the published FPS's GPU class differs from this run's, per published entry (the GPU
    as its declaration names it)."""
    ours = set(GPU_CLASS.findall(gpu or ""))
    lines = []
    for entry in {e["id"]: e for e in entries}.values():
        declared = str(entry["setting"]["gpu"])
        theirs = set(GPU_CLASS.findall(declared))
        head = f"- {entry['variant']} ({entry['id']})"
        if not theirs:
            lines.append(
                f"{head}: its declaration names no GPU ({declared}), so the ratio sets this GPU "
                "against an unknown one."
            )
        elif theirs & ours:
            lines.append(f"{head}: published on {declared}, the GPU class of this run.")
        else:
            lines.append(
                f"{head}: published on {declared}; this run's GPU ({gpu}) is of another class."
            )
    return lines


def machine_line(machine: dict[str, Any]) -> str:
    env = machine.get("environment") or {}
    nvml = machine.get("nvml") or {}
    if machine.get("dry_run"):
        return (
            f"**A dry run on a CPU** ({env.get('cpu')}, {env.get('threads')} threads, torch "
            f"{env.get('torch')}; `scripts/gpu_table.sh --dry-run`, tiny random models): not a "
            "GPU measurement."
        )
    return (
        f"Measured on {machine.get('gpu_name') or 'no GPU (a dry run)'} (driver "
        f"{env.get('driver', '-')}, CUDA {machine.get('cuda')}, cuDNN {machine.get('cudnn')}, "
        f"torch {env.get('torch')}; power limit {fmt(nvml.get('power_limit_w'), 1, 0)} W, SM "
        f"clock {nvml.get('sm_clock_mhz', '-')} of {nvml.get('sm_clock_max_mhz', '-')} MHz at the "
        f"start) with {env.get('cpu')}, {env.get('threads')} threads."
    )


def kernel_lines(root: Path) -> list[str]:
    """The kernel tests' counts per dtype, and the kernel against the reference (encoder)."""
    lines = []
    if (root / FOLDER / "kernel_tests.json").is_file():
        tests = read_source(root, f"{FOLDER}/kernel_tests.json")
        per = "; ".join(
            f"{dtype} " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
            for dtype, counts in sorted(tests["by_dtype"].items())
        )
        verdict = "passed" if tests["passed"] else "FAILED"
        lines.append(f"Kernel tests ({verdict}): {per} (`-` names no dtype).")
    if (root / FOLDER / "kernel_bench.json").is_file():
        bench = read_source(root, f"{FOLDER}/kernel_bench.json")
        lines += [
            "",
            "| kernel case | mode | kernel (ms) | reference (ms) | speed-up |",
            "|---|---|---|---|---|",
        ]
        for row in bench["timings"]:
            if row["case"].startswith("encoder"):
                lines.append(
                    f"| {row['case']} | {row['mode']} | {row['kernel_median_ms']:.3f} | "
                    f"{row['reference_median_ms']:.3f} | {row['speedup']:.1f}x |"
                )
        lines.append(
            f"Correctness against float64 {'passed' if bench['passed'] else 'FAILED'} "
            f"(relative error at most {bench['max_rel_error']:.0e})."
        )
    return lines


# ------------------------------------------------------------------------------- block

NO_RUN = (
    "**No GPU measurement has been made yet**: every FPS vis-bench reports so far was measured on "
    "a CPU. `scripts/gpu_table.sh results/gpu_table`, run on a GPU machine from a clean commit, "
    'writes this block\'s sources ("Running it" below). The published FPS it will be set beside, '
    "read from the released checkpoints' declarations:"
)
COLUMNS = (
    "method", "backbone", "T", "S", "dtype", "FPS end to end [range]", "FPS model", "model share",
    "tracks / video", "FPS authors (as run)", "latency p50 / p99 (ms)", "peak CUDA (MiB)",
    "J/frame", "ref. GFLOP/s", "published FPS", "e2e / published", "authors / published",
)  # fmt: skip
HEADER = _table_row(list(COLUMNS))


def _notes(records: list[dict[str, Any]]) -> list[str]:
    """What the rows are: data, weights, each column's definition, what a protocol could not apply."""
    config = next((r.get("config") for r in records if r.get("config")), None) or {}
    data, measure = config.get("dataset") or {}, config.get("measure") or {}
    low, high = data.get("min_frames"), data.get("max_frames")
    frames = str(low) if low == high else f"{low}-{high}"
    sizes = ", ".join(data.get("sizes") or ["the generator's sizes"])
    applied: list[str] = []
    for r in records:
        entry = ((r.get("protocols") or {}).get("authors") or {}).get("applied") or {}
        applied += [f"{r['method']}: {n}" for n in entry.get("notes") or [] if n not in applied]
    return [
        f"Random weights at each released checkpoint's settings (speed, memory and energy do not "
        f"depend on the weights; IFC with one class per track, configs/gpu_table/ifc.yaml), on "
        f"{data.get('videos')} synthetic videos of {frames} frames at {sizes}; FPS "
        f"end to end: the median of {measure.get('rounds')} interleaved rounds [slowest, "
        "fastest] (docs/fps.md); model: the model stage of the same pass; model share: the model "
        "stage's share of that pass's seconds (the rest is the host's decoding, resizing, "
        "stitching and encoding, which the GPU does not speed up); tracks / video: the tracks each "
        "video kept (each is resized to the frame and encoded; with random weights every query "
        "of a thresholded method passes its threshold, where trained weights keep fewer); "
        "authors: the method's "
        "declared protocol at its precision, compiled where declared (docs/timing_protocols.md); "
        f"latency: a live stream at {measure.get('stream_fps'):g} frames per second; peak CUDA: the "
        "most memory torch allocated; J/frame: NVML's energy over the accuracy pass; ref. "
        "GFLOP/s: the reference workload's speed around the rounds. * loaded, † noisy "
        "(docs/fps.md).",
        *[f"Applied: {line}." for line in dict.fromkeys(applied)],
    ]


def gpu_table_block(root: Path) -> str:
    """The GPU table from results/gpu_table/, or the plain statement that there is none yet."""
    folder = root / FOLDER
    records = _records(root) if folder.is_dir() else []
    if not records and not (folder / "machine.json").is_file():
        return "\n".join([NO_RUN, "", *published_lines(root)])
    lines = _measured_lines(root, FOLDER, records)
    lines += ["", *kernel_lines(root), "", *_notes(records)]
    lines.append(f"Sources: `{FOLDER}/`, written by `{COMMAND}`.")
    return "\n".join(lines)


def gpu_table_h200_block(root: Path) -> str:
    """The H200 session's rows (results/gpu_h200_table/): the table's columns, its own machine;
    the columns' definitions are the main table's."""
    records = _records(root, H200_FOLDER)
    lines = _measured_lines(root, H200_FOLDER, records, missing=False)
    lines += _objects_lines([r for r in records if r.get("objects_tracked")])
    lines.append(f"Columns as above. Sources: `{H200_FOLDER}/`, written by `{H200_COMMAND}`.")
    return "\n".join(lines)


def _objects_lines(records: list[dict[str, Any]]) -> list[str]:
    """A prompted method's prompts and tracked objects, one line for the precisions that agree:
    its cost grows with both, and random weights may find no object (the tracker then idles)."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for record in records:
        objects = record["objects_tracked"]
        text = (
            f"{record.get('prompts')} prompts, at most {objects.get('max')} objects tracked in a "
            f"frame (mean {fmt(objects.get('mean'), 1, 1)})."
        )
        grouped.setdefault((record["method"], text), []).append(str(record.get("dtype")))
    return [f"- {method} {', '.join(dtypes)}: {text}" for (method, text), dtypes in grouped.items()]


def _measured_lines(
    root: Path, folder_name: str, records: list[dict[str, Any]], missing: bool = True
) -> list[str]:
    """The machine, one row per record, the published GPUs' lines and the sweeps not run."""
    folder = root / folder_name
    machine = (
        read_source(root, f"{folder_name}/machine.json")
        if (folder / "machine.json").is_file()
        else {}
    )
    lines = [machine_line(machine)] if machine else []
    rows, matched = [], []
    for record in records:
        row, entry = _row(record)
        rows.append(row)
        matched += [entry] if entry else []
    lines += ["", HEADER, "|---" * len(COLUMNS) + "|", *rows, ""]
    lines += gpu_lines(matched, machine.get("gpu_name"))
    measured = {r["_step"] for r in records}
    left = [p.stem for p in sorted((root / CONFIGS).glob("*.yaml")) if p.stem not in measured]
    if missing and left:
        lines.append(f"Not measured yet: {', '.join(f'sweep-{m}' for m in left)}.")
    return lines
