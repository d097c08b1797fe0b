"""The generated block of docs/gpu_table.md that sets SAM 3's FPS against the number of
tracked objects on a GPU beside the authors' chart (results/gpu_h200_sam3/, written by
`benchmarks/bench_sam3_objects.py` and the GPU table's `machine` step)."""

from __future__ import annotations

from pathlib import Path

from tools.doc_sources import fmt, read_source
from tools.gpu_table_block import machine_line

FOLDER = "results/gpu_h200_sam3"
SOURCES = (f"{FOLDER}/sam3_objects.json", f"{FOLDER}/machine.json")


def sam3_objects_block(root: Path) -> str:
    """One row per object count: FPS [slowest, fastest round], the frame stage and the passes
    per frame, the objects in the tracker's states, peak CUDA memory, the published reading."""
    report = read_source(root, SOURCES[0])
    machine = read_source(root, SOURCES[1])
    published = report["published"]
    chart = published["fps_read_from_chart"]
    lines = [
        machine_line(machine),
        "",
        "| tracked objects | FPS [slowest, fastest] | frame stage (ms/frame) | passes (ms/frame) "
        f"| objects per frame (min-max) | peak CUDA (MiB) | authors' chart ({published['gpu']}) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["rows"]:
        low, high = row["fps_range"]
        lowest, highest = row["objects_per_frame_min_max"]
        lines.append(
            f"| {row['objects']} | {fmt(row['fps'], 1, 2)} [{fmt(low, 1, 2)}, {fmt(high, 1, 2)}] "
            f"| {fmt(row['frame_stage_ms_per_frame'])} | {fmt(row['passes_ms_per_frame'])} "
            f"| {lowest}-{highest} | {fmt(row['peak_cuda_mib'], 1, 0)} "
            f"| {chart.get(str(row['objects']), '-')} |"
        )
    height, width = report["video_size"]
    lines += [
        "",
        f"SAM 3 at the release's sizes ({report['image']} px, ViT {report['vit'][0]}x"
        f"{report['vit'][1]}), random weights, {report['dtype']} autocast, {report['prompts']} "
        f"prompt, {report['frames']} random frames at {height}x{width}, the median of "
        f"{report['rounds']} runs after a warm-up; the objects forced on the first frame "
        "(`benchmarks/bench_sam3_objects.py`). Frame stage: backbone, detector and the tracker's "
        "frame features; passes: the tracker over the video at its end, as the plugin runs them. "
        f"Source: `{SOURCES[0]}`, written by `python benchmarks/bench_sam3_objects.py`; the "
        f"machine: `{SOURCES[1]}` (`scripts/gpu_table.sh`'s `machine` step).",
    ]
    return "\n".join(lines)
