"""SAM 3's video inference end to end (detector, tracker, association, births, hotstart,
occlusion suppression, memory updates, buffered outputs with the object-wise non-overlap and
the evaluator's masklets) against the authors' two video cases, and the output rules on small
cases."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from tests.helpers.kernels import bf16_rounded_tolerance
from vis_bench.methods.sam3.association import Association
from vis_bench.methods.sam3.fixtures import detector_sizes, load_gz, tracker_sizes
from vis_bench.methods.sam3.options import Sam3Options
from vis_bench.methods.sam3.tokenizer import Tokenizer
from vis_bench.methods.sam3.video_detections import preprocess_video_frames
from vis_bench.methods.sam3.video_inference import PromptRun, masklet_boxes, video_masklets
from vis_bench.methods.sam3.video_model import Sam3VideoModel
from vis_bench.methods.sam3.video_outputs import (
    FrameOutput,
    buffered_outputs,
    masks_to_boxes,
    object_wise_non_overlap,
)
from vis_bench.methods.sam3.video_parity import compare_case
from vis_bench.methods.sam3.video_step import FrameResult, VideoSettings

#: the fixture README's tolerances
SCORE_TOLERANCE = 1e-5
FP32_TOLERANCE = 1e-4
#: float32 rounding of a probability computed in another batch
BATCH_TOLERANCE = 1e-6


@pytest.mark.parametrize("case_name", ["video_case", "video_case_scaled"])
def test_video_inference_reproduces_every_recorded_step_yield_and_masklet(
    golden_dir, one_thread, case_name
):
    report = compare_case(golden_dir / "sam3" / "public", case_name)
    flags = {k: v for k, v in report.items() if isinstance(v, bool)}
    assert all(flags.values()), report
    for name, value in report.items():
        if isinstance(value, bool):
            continue
        if name.endswith("pixels"):
            assert value <= 1, (name, report)  # at most one pixel per object and frame
        elif name.endswith(("probs", "scores")) and not name.startswith("step_track"):
            assert value <= SCORE_TOLERANCE, (name, report)
        elif name.startswith("step_track"):  # the tracker's, from bfloat16-rounded features
            assert value <= bf16_rounded_tolerance(), (name, report)
        else:
            assert value <= FP32_TOLERANCE, (name, report)
    assert report["pred_boxes"] == 0.0


def _result(frame: int, masks: dict[int, torch.Tensor], removed: set[int] = frozenset()):
    return FrameResult(
        frame=frame,
        masks=masks,
        scores={obj: 0.5 + obj / 10 for obj in masks},
        tracker_scores={obj: 0.9 - obj / 10 for obj in masks},
        removed=set(removed),
        suppressed=set(),
        track_ids=[],
        track_masks=torch.zeros(0, 2, 2),
        track_scores=torch.zeros(0),
        association=Association([], [], []),
        new_ids=[],
        newly_removed=set(),
    )


def test_outputs_come_late_and_hide_masklets_removed_later():
    full = torch.ones(4, 4, dtype=torch.bool)
    results = [
        _result(0, {0: full, 1: full}),
        _result(1, {0: full, 1: full}),
        _result(2, {1: full}, removed={0}),
    ]
    outs = list(buffered_outputs(results, delay=2, last_frame=2, video_size=(4, 4)))
    assert [o.frame for o in outs] == [0, 1, 2]
    # frame 0 was yielded after frame 1 ran (object 0 alive), frames 1-2 after its removal
    assert [o.obj_ids for o in outs] == [[0, 1], [1], [1]]
    # without buffering, removed masklets are not hidden (the authors update none)
    outs = list(buffered_outputs(results, delay=0, last_frame=2, video_size=(4, 4)))
    assert [o.obj_ids for o in outs] == [[0, 1], [0, 1], [1]]


def test_a_contested_pixel_goes_to_the_higher_tracker_score_and_boxes_come_first():
    a = torch.zeros(4, 6, dtype=torch.bool)
    b = torch.zeros(4, 6, dtype=torch.bool)
    a[1:3, 1:4] = True
    b[0:4, 3:6] = True
    kept = object_wise_non_overlap(torch.stack([a, b]), torch.tensor([0.2, 0.7]))
    assert not kept[0, 1:3, 3].any() and kept[1, 1:3, 3].all()
    assert torch.equal(kept[1], b)
    ties = object_wise_non_overlap(torch.stack([a, a]), torch.tensor([0.5, 0.5]))
    assert torch.equal(ties[0], a) and not ties[1].any()
    zero = object_wise_non_overlap(torch.stack([a, b]), torch.tensor([0.0, 0.7]))
    assert not zero[0].any()  # an object with no tracker score keeps nothing
    assert masks_to_boxes(torch.stack([a, b])).tolist() == [[1, 1, 3, 2], [3, 0, 5, 3]]


def test_evaluator_masklets_offset_ids_per_prompt_and_keep_only_yielded_ones():
    full = torch.ones(2, 3, dtype=torch.bool)
    empty = torch.zeros(1, 2, 3, dtype=torch.bool)

    def run(frames_with_zero: list[int], scores: dict[int, float]) -> PromptRun:
        outs = [
            FrameOutput(t, [0], torch.zeros(1), torch.zeros(1, 4), full[None])
            if t in frames_with_zero
            else FrameOutput(t, [], torch.zeros(0), torch.zeros(0, 4), empty[:0])
            for t in range(2)
        ]
        return PromptRun(outs[0], [], outs, scores)

    masklets = video_masklets([run([1], {0: 0.9, 1: -1e4}), run([0], {0: 0.6})], [3, 5], 2, (2, 3))
    assert [(m.obj_id, m.score, m.label) for m in masklets] == [(0, 0.9, 3), (1, 0.6, 5)]
    assert masklets[0].masks[0].sum() == 0 and masklets[0].masks[1].all()
    assert masklet_boxes(masklets[0].masks).tolist() == [[0, 0, 0, 0], [0, 0, 2, 1]]


def test_the_video_model_has_every_released_key_with_its_shape(golden_dir):
    """`sam3.pt` loads into it strictly by name, as into the authors' video model."""
    keys = json.loads((golden_dir / "sam3/keys/sam3_video_model_keys.json").read_text())
    with torch.device("meta"):
        options = Sam3Options()  # the released sizes
        model = Sam3VideoModel(options.detector_sizes(), options.tracker_sizes())
    ours = {name: list(value.shape) for name, value in model.state_dict().items()}
    assert ours == {name: shape for name, (shape, _dtype) in keys["keys"].items()}
    assert len(ours) == keys["num_keys"] == 1465


def _same_scores(got: dict[int, float], want: dict[int, float]) -> bool:
    return got.keys() == want.keys() and all(abs(got[k] - want[k]) <= BATCH_TOLERANCE for k in got)


def test_prompts_batched_give_what_each_prompt_gives_alone(golden_dir, one_thread):
    """Five prompts (two of them repeated) on the fixture video, the detector and the tracker
    run for all prompts as one batch and one prompt at a time: every step's decisions and
    binary masks and every masklet's masks are identical; the float outputs differ at most by
    float32 rounding (a batched matrix product may sum in another order)."""
    fixture = golden_dir / "sam3" / "public"
    case = load_gz(fixture / "video_case_scaled.pt.gz")
    model = Sam3VideoModel(detector_sizes(fixture), tracker_sizes(fixture)).eval()
    model.load_state_dict(load_gz(fixture / "weights.pt.gz"), strict=True)
    tokens = Tokenizer(detector_sizes(fixture).text.context)(
        ["person", "red car", "car", "person", "red car"]
    )
    settings = VideoSettings.from_overrides(case["heuristics_override"])
    batched, alone = (
        model.run(
            case["frames_uint8"].numpy(), tokens, [1, 2, 3, 1, 2], replace(settings, prompt_batch=b)
        )
        for b in (0, 1)
    )
    assert len(batched.masklets) >= 4 and max(batched.objects_per_frame) >= 2
    assert batched.objects_per_frame == alone.objects_per_frame
    for got, want in zip(batched.runs, alone.runs, strict=True):
        for a, b in zip(got.steps, want.steps, strict=True):
            assert (a.track_ids, a.new_ids, a.removed) == (b.track_ids, b.new_ids, b.removed)
            assert torch.allclose(a.track_masks, b.track_masks, atol=FP32_TOLERANCE, rtol=0)
            assert a.masks.keys() == b.masks.keys()
            assert all(torch.equal(a.masks[k], b.masks[k]) for k in a.masks)
        assert _same_scores(got.final_scores, want.final_scores)
    assert [(m.obj_id, m.label) for m in batched.masklets] == [
        (m.obj_id, m.label) for m in alone.masklets
    ]
    for a, b in zip(batched.masklets, alone.masklets, strict=True):
        assert torch.equal(a.masks, b.masks) and abs(a.score - b.score) <= BATCH_TOLERANCE
    # a repeated prompt gives its first occurrence's masklets again
    assert _same_scores(batched.runs[3].final_scores, batched.runs[0].final_scores)


def test_masklets_held_as_rle_equal_those_made_from_every_kept_output(golden_dir, one_thread):
    """The plugin's passes keep no step and no output at video size, only each yielded frame's
    masks as RLE (memory no longer grows with objects x frames): the masklets (ids, scores,
    labels, every frame's mask) equal those made from every kept output, and any frames
    decode alone."""
    fixture = golden_dir / "sam3" / "public"
    case = load_gz(fixture / "video_case_scaled.pt.gz")
    model = Sam3VideoModel(detector_sizes(fixture), tracker_sizes(fixture)).eval()
    model.load_state_dict(load_gz(fixture / "weights.pt.gz"), strict=True)
    words = model.encode_prompts(Tokenizer(detector_sizes(fixture).text.context)(case["prompts"]))
    settings = VideoSettings.from_overrides(case["heuristics_override"])
    frames = case["frames_uint8"].numpy()
    images = preprocess_video_frames(
        frames, model.detector.backbone.vision_backbone.trunk.sizes.image
    )
    with torch.no_grad():
        inputs = [
            model.frame_inputs(image[None].float(), words, settings.score_threshold_detection)
            for image in images
        ]
    size, labels = (int(frames.shape[1]), int(frames.shape[2])), list(case["category_ids"])
    kept, held = (
        model.run_frames(inputs, len(inputs), size, labels, settings, keep_steps=keep)
        for keep in (True, False)
    )
    assert all(run.steps == [] and run.outputs == [] for run in held.runs)
    assert all(len(run.outputs) == len(inputs) for run in kept.runs)
    assert len(held.masklets) >= 2 and held.objects_per_frame == kept.objects_per_frame
    for a, b in zip(held.masklets, kept.masklets, strict=True):
        assert (a.obj_id, a.score, a.label) == (b.obj_id, b.score, b.label)
        assert all(isinstance(rle["counts"], str) for rle in a.held.frames.values())
        assert torch.equal(a.masks, b.masks) and bool(a.masks.any())
        assert torch.equal(a.held.dense([2, 0]), b.masks[[2, 0]])
