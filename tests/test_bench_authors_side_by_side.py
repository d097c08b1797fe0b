"""The side-by-side benchmark's parts that need none of the authors' code: the comparison of the
two sides' outputs, the in-memory video the runner reads, and the errors for missing sources."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_authors_side_by_side.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_authors_side_by_side", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write(path: Path, scores, labels, masks) -> Path:
    np.savez(path, scores=np.asarray(scores), labels=np.asarray(labels), masks=masks)
    return path


def test_outputs_are_equal_only_with_the_same_tracks_in_order_and_within_tolerance(bench, tmp_path):
    masks = np.zeros((2, 3, 8, 8), dtype=bool)
    masks[0, :, :4] = True
    theirs = write(tmp_path / "a.npz", [0.9, 0.5], [3, 1], masks)
    near = masks.copy()
    near[0, 0, 7, :8] = True  # 8 pixels apart: the tolerance
    same = bench.compare_outputs(theirs, write(tmp_path / "b.npz", [0.9 + 5e-6, 0.5], [3, 1], near))
    assert same["equal_within_tolerance"] and same["max_pixels_apart_per_track"] == 8
    far = near.copy()
    far[1, 2, 0, 0] = True
    far[0, 1, 7, 0] = True  # 9 pixels apart on the first track
    assert not bench.compare_outputs(theirs, write(tmp_path / "c.npz", [0.9, 0.5], [3, 1], far))[
        "equal_within_tolerance"
    ]
    swapped = bench.compare_outputs(theirs, write(tmp_path / "d.npz", [0.5, 0.9], [1, 3], masks))
    assert not swapped["same_labels_in_order"] and not swapped["equal_within_tolerance"]
    scores = bench.compare_outputs(
        theirs, write(tmp_path / "e.npz", [0.9, 0.5 + 2e-5], [3, 1], masks)
    )
    assert not scores["equal_within_tolerance"]


def test_the_in_memory_video_reads_frames_as_a_dataset(bench):
    frames = np.arange(4 * 6 * 10 * 3, dtype=np.uint8).reshape(4, 6, 10, 3)
    video = bench.InMemoryVideo(frames)
    assert video.videos() == [video] and (video.length, video.height, video.width) == (4, 6, 10)
    assert np.array_equal(video.read_frames(video, [1, 3]), frames[[1, 3]])


def test_missing_sources_are_named_with_the_option_to_pass(bench, tmp_path, capsys):
    with pytest.raises(SystemExit, match="--authors-python"):
        bench.main(["--authors-python", str(tmp_path / "none")])
    python = tmp_path / "python"
    python.write_text("")
    with pytest.raises(SystemExit, match="--videomt ''"):
        bench.main(["--authors-python", str(python), "--detectron2", str(tmp_path),
                    "--methods", "videomt"])  # fmt: skip


def test_each_row_s_settings_reach_the_authors_process_only(bench, tmp_path, monkeypatch):
    """The VidEoMT rows start the authors' timm as their README does (unfused attention) and
    with its fused default; vis-bench's process and the DVIS++ rows set nothing of it."""
    monkeypatch.delenv("TIMM_FUSED_ATTN", raising=False)
    args = bench.parse_args(["--path", str(tmp_path), "--videomt", "V", "--threads", "3"])
    authors, project = bench.side_envs(args, "videomt")
    assert authors["TIMM_FUSED_ATTN"] == "0" and authors["OMP_NUM_THREADS"] == "3"
    assert authors["PYTHONPATH"].split(":")[0] == str(tmp_path)
    assert "TIMM_FUSED_ATTN" not in project and project["OMP_NUM_THREADS"] == "3"
    assert bench.side_envs(args, "videomt-fused")[0]["TIMM_FUSED_ATTN"] == "1"
    assert "TIMM_FUSED_ATTN" not in bench.side_envs(args, "dvis-plus-offline-remade")[0]
    assert bench.METHODS["dvis-plus-offline-remade"]["options"] == {"keep_mask_features": "no"}
