"""Whole-video refinement: a method that decides its tracks at a video's end (the toy below,
defined outside the harness) is handed its state with every clip, refined once, and its masks
made in a second pass over the frames, without a special case in the harness."""

from __future__ import annotations

import pytest
import torch

import tests.helpers.toy_refining_method  # noqa: F401  (registers "toy-refining")
from tests.helpers.memory_source import MemorySource
from tests.helpers.quick_rounds import QUICK_ROUNDS
from vis_bench.api.refinement import VideoRefinement
from vis_bench.api.registration import get_method
from vis_bench.cli import main
from vis_bench.config import parse_config
from vis_bench.engine.refinement import RefinedVideoLinker, refinement_windows
from vis_bench.formats.rle import decode
from vis_bench.inference.runner import run_method
from vis_bench.sweep import run_sweep

pytestmark = pytest.mark.usefixtures("one_thread")


def _run(clip_length, stride):
    plugin = get_method("toy-refining").build({})
    source = MemorySource(lengths=(7, 4))
    return run_method(plugin, source, clip_length=clip_length, stride=stride, resolution=None)


def test_every_clip_schedule_gives_the_same_refined_results():
    reference = _run("all", None)
    assert len(reference.results) == 4  # two tracks per video
    for clip_length, stride in ((1, 1), (2, 2), (3, 2), (5, 1)):
        assert _run(clip_length, stride).results == reference.results, (clip_length, stride)


def test_the_masks_come_from_the_whole_videos_threshold():
    """Frame 0 alone would put its own mean between black and the square; the video's mean is
    what splits the frame, and the bright track is the moving square in every frame."""
    outcome = _run(2, 2)
    first = [r for r in outcome.results if r["video_id"] == outcome.results[0]["video_id"]]
    bright = next(r for r in first if r["score"] == pytest.approx(0.9))
    for t, rle in enumerate(bright["segmentations"]):
        mask = decode(rle)
        assert mask[8, 4 + t] and not mask[20, 28]


def test_the_second_pass_decodes_each_frame_once_more_and_holds_one_window():
    outcome = _run(3, 2)
    # 7 + 4 frames: clips 0-2, 2-4, 4-6 decode each frame once; the second pass once more
    assert outcome.harness.decode.frames_decoded == 2 * 11
    assert outcome.harness.stitch_peak_bytes > 0


def test_the_linker_refines_once_and_checks_what_it_is_handed():
    refined = VideoRefinement([(2, 1, 0.5), (0, 1, 0.4), (2, 3, 0.3)])
    assert refined.slots == [0, 2]
    linker = RefinedVideoLinker(lambda state: refined)
    with pytest.raises(ValueError, match="before the video was refined"):
        linker.add_masks([0], torch.zeros(2, 1, 2, 2))

    class _Result:
        state = {"frames": 3}

    linker.add_clip([0, 1, 2], _Result())
    assert linker.seen_frames([1, 2, 3]) == 2
    assert linker.refine() is refined and linker.state is None
    with pytest.raises(ValueError, match="slots, frames"):
        linker.add_masks([0, 1], torch.zeros(3, 2, 2, 2))
    with pytest.raises(ValueError, match="after the video was refined"):
        linker.add_clip([3], _Result())
    assert [(t.track_id, t.label) for t in linker.finish()] == [(2, 1), (0, 1), (2, 3)]


def test_second_pass_windows_cover_each_frame_once():
    assert refinement_windows(7, 3) == [range(0, 3), range(3, 6), range(6, 7)]
    assert refinement_windows(7, "all") == [range(0, 7)]
    assert refinement_windows(0, 3) == []


@pytest.mark.slow
def test_the_refining_toy_is_listed_and_swept(tmp_path, capsys):
    assert main(["methods", "toy-refining"]) == 0
    assert "whole video refined at its end" in capsys.readouterr().out
    sweep = parse_config(
        {
            "name": "toy-refining",
            "dataset": {"kind": "synthetic"},
            "methods": [{"name": "toy-refining"}],
            "sweep": {"clip_length": [2, "all"]},
            "measure": {**QUICK_ROUNDS, "warmup": 0, "repeats": 1},
        }
    )
    records = run_sweep(sweep, MemorySource(), tmp_path / "run", log=lambda s: None)
    assert [r["status"] for r in records] == ["ok", "ok"]
