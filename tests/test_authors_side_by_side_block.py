"""The docs block of the side-by-side benchmark: a row measured with paired rounds shows each
ratio with its interval and the machine's reference speed; a row measured before shows its
ratio of medians as it did."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from tools.benchmark_blocks import authors_side_by_side_block

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCE = "benchmarks/results/authors_side_by_side.json"


def interval(median: float, low: float, high: float) -> dict[str, float]:
    return {"median": median, "low": low, "high": high, "confidence": 0.75}


def test_a_row_with_paired_rounds_shows_its_intervals_and_the_reference_speed(tmp_path):
    report = json.loads((REPO_ROOT / SOURCE).read_text())
    old_row = copy.deepcopy(next(iter(report["methods"].values())))
    for key in ("speedup_interval", "speedup_same_allocator_interval", "machine"):
        old_row.pop(key, None)  # as a row measured before the paired rounds
    old_row.pop("omp_wait_policy", None)
    row = copy.deepcopy(old_row)
    row["speedup_interval"] = {"wall": interval(1.1, 1.0, 1.3), "cpu": interval(1.2, 1.1, 1.4)}
    row["speedup_same_allocator_interval"] = {"cpu": interval(1.05, 0.98, 1.12)}
    row["machine"] = {"reference_gflops": {"min": 40.0, "max": 61.0}}
    row["omp_wait_policy"] = "passive"
    report["methods"] = {"measured-before": old_row, "paired": row}
    (tmp_path / SOURCE).parent.mkdir(parents=True)
    (tmp_path / SOURCE).write_text(json.dumps(report))
    block = authors_side_by_side_block(tmp_path)
    paired = next(line for line in block.splitlines() if line.startswith("| paired |"))
    assert "1.20x [1.10-1.40] 75 %" in paired and "1.05x [0.98-1.12] 75 %" in paired
    assert "1.10x [1.00-1.30] 75 %" in paired and "every process OpenMP wait passive" in paired
    before = next(line for line in block.splitlines() if line.startswith("| measured-before |"))
    assert f"| {old_row['speedup']['cpu']:.2f}x |" in before and "[" not in before
    assert "reference speed around them 40 to 61 GFLOP/s" in block
    assert "the median of the rounds' paired ratios" in block


def test_a_row_on_a_trained_checkpoint_names_it_and_its_sequences(tmp_path):
    report = json.loads((REPO_ROOT / SOURCE).read_text())
    row = copy.deepcopy(next(iter(report["methods"].values())))
    row.update(
        weights="tiny trained checkpoint on a synthetic video",
        checkpoint="results/checkpoints/dvis_daq_online_tiny.pth",
        synthetic_video={"frames": 36},
        authors_sequences={"started": 70, "started_after_frame_0": 64, "dead": 44},
    )
    report["methods"] = {"trained": row}
    (tmp_path / SOURCE).parent.mkdir(parents=True)
    (tmp_path / SOURCE).write_text(json.dumps(report))
    block = authors_side_by_side_block(tmp_path)
    line = next(line for line in block.splitlines() if line.startswith("| trained |"))
    assert "results/checkpoints/dvis_daq_online_tiny.pth on a 36-frame synthetic video" in line
    assert "started 70 sequences (64 after frame 0) and dropped 44" in line
    assert "a row naming a trained checkpoint: those weights, and a synthetic video" in block


def test_the_sam3_block_names_the_authors_versions_when_the_report_recorded_them(tmp_path):
    from tools.benchmark_blocks import sam3_authors_loop_block

    source = "benchmarks/results/sam3_authors_loop.json"
    report = json.loads((REPO_ROOT / source).read_text())
    for shape in report["shapes"].values():
        shape.pop("authors_environment", None)  # as a report of before they were recorded
    (tmp_path / source).parent.mkdir(parents=True)
    (tmp_path / source).write_text(json.dumps(report))
    assert "their code:" not in sam3_authors_loop_block(tmp_path)
    for shape in report["shapes"].values():
        shape["authors_environment"] = {"sam3": "0.1.4", "torch": "2.13.0+cpu"}
    (tmp_path / source).write_text(json.dumps(report))
    assert "; their code: sam3 0.1.4, torch 2.13.0+cpu. Source:" in sam3_authors_loop_block(
        tmp_path
    )
