"""SAM 3's video inference end to end against the authors' video cases: from the stored uint8
frames (preprocessed here) and the prompts (tokenized here), with every weight of the fixture
loaded strictly by name, each prompt's pass is run by this package (detections, tracker,
heuristics, outputs) and compared with the record: every step's tracks, propagated masks and
scores, births, removals and masks at video size; `add_prompt`'s output; every yielded frame;
and the evaluator's input (scores, labels, boxes and masks of every masklet; the boxes on the
frames whose masks equal the record's)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from pycocotools import mask as mask_utils

from vis_bench.methods.sam3.fixtures import detector_sizes, load_gz, tracker_sizes
from vis_bench.methods.sam3.tokenizer import Tokenizer
from vis_bench.methods.sam3.video_inference import masklet_boxes
from vis_bench.methods.sam3.video_model import Sam3VideoModel, VideoRun
from vis_bench.methods.sam3.video_outputs import FrameOutput
from vis_bench.methods.sam3.video_step import VideoSettings


def run_case(fixture: Path, case_name: str) -> tuple[dict, VideoRun]:
    """This package's run of a video case, the whole model loaded strictly from the fixture."""
    case = load_gz(fixture / f"{case_name}.pt.gz")
    model = Sam3VideoModel(detector_sizes(fixture), tracker_sizes(fixture)).eval()
    model.load_state_dict(load_gz(fixture / "weights.pt.gz"), strict=True)
    tokens = Tokenizer(detector_sizes(fixture).text.context)(case["prompts"])
    settings = VideoSettings.from_overrides(case["heuristics_override"])
    run = model.run(case["frames_uint8"].numpy(), tokens, list(case["category_ids"]), settings)
    return case, run


def _mask_pixels(got: torch.Tensor, want: torch.Tensor) -> int:
    """Most pixels differing in one mask of a (N, H, W) pair of stacks."""
    if got.shape != want.shape:
        return 10**9
    if got.shape[0] == 0:
        return 0
    return int((got ^ want).flatten(1).sum(1).max())


class _Report:
    def __init__(self) -> None:
        self.flags: dict[str, bool] = {}
        self.worst: dict[str, float] = {}

    def flag(self, name: str, ok: bool) -> None:
        self.flags[name] = self.flags.get(name, True) and bool(ok)

    def diff(self, name: str, got: torch.Tensor, want: torch.Tensor) -> None:
        if got.shape != want.shape:
            self.flag(f"{name}_shapes", False)
            return
        value = float((got.float() - want.float()).abs().max()) if want.numel() else 0.0
        self.worst[name] = max(self.worst.get(name, 0.0), value)

    def pixels(self, name: str, got: torch.Tensor, want: torch.Tensor) -> None:
        self.worst[name] = max(self.worst.get(name, 0.0), float(_mask_pixels(got, want)))


def _compare_output(report: _Report, got: FrameOutput, want: dict, name: str) -> None:
    report.flag(f"{name}_ids", got.obj_ids == want["out_obj_ids"].tolist())
    if got.obj_ids != want["out_obj_ids"].tolist():
        return
    report.diff(f"{name}_probs", got.probs, want["out_probs"])
    if "out_boxes_xywh" in want:
        report.diff(f"{name}_boxes", got.boxes_xywh, want["out_boxes_xywh"])
    report.pixels(f"{name}_mask_pixels", got.masks, want["out_binary_masks"])


def compare_case(fixture: Path, case_name: str) -> dict[str, float | bool]:
    """Every recorded step, yield and prediction of one video case against this package's run."""
    case, video = run_case(fixture, case_name)
    runs, masklets = video.runs, video.masklets
    record = case["record"]
    report = _Report()
    steps = [s for run in runs for s in run.steps]
    report.flag("step_count", len(steps) == len(record["steps"]))
    for got, want in zip(steps, record["steps"], strict=False):
        plan = want["plan"]
        report.flag("step_track_ids", got.track_ids == want["trk_obj_ids_prev"].tolist())
        report.diff("step_track_masks", got.track_masks, want["trk_low_res_masks"])
        report.diff("step_track_scores", got.track_scores, want["trk_obj_score_logits"])
        report.flag("step_new_ids", got.new_ids == plan["new_det_obj_ids"].tolist())
        report.flag(
            "step_removed", got.newly_removed == {int(t) for t in plan["obj_ids_newly_removed"]}
        )
        want_masks = {int(k): v[0] for k, v in want["obj_id_to_mask"].items()}
        report.flag("step_mask_ids", set(got.masks) == set(want_masks))
        for obj in set(got.masks) & set(want_masks):
            report.pixels("step_mask_pixels", got.masks[obj][None], want_masks[obj][None])
        want_scores = want["meta"]["obj_id_to_score"]
        report.flag("step_scores_ids", set(got.scores) == set(want_scores))
        for obj in set(got.scores) & set(want_scores):
            report.diff(
                "step_scores", torch.tensor(got.scores[obj]), torch.tensor(want_scores[obj])
            )
    for run, want in zip(runs, record["add_prompt"], strict=True):
        _compare_output(report, run.add_prompt, want, "add_prompt")
    yields = [y for y in record["yields"] if "add_prompt_marker" not in y]
    outputs = [o for run in runs for o in run.outputs]
    report.flag("yield_count", len(outputs) == len(yields))
    for got, want in zip(outputs, yields, strict=False):
        report.flag("yield_frames", got.frame == want["frame_idx"])
        _compare_output(report, got, want, "yield")
    preds = record["preds"]
    report.flag("pred_labels", [m.label for m in masklets] == preds["labels"].tolist())
    report.diff("pred_scores", torch.tensor([m.score for m in masklets]), preds["scores"])
    if len(masklets) == len(preds["masks_rle"]):
        for masklet, rles, boxes in zip(masklets, preds["masks_rle"], preds["boxes"], strict=True):
            want = torch.from_numpy(np.stack([mask_utils.decode(r).astype(bool) for r in rles]))
            report.pixels("pred_mask_pixels", masklet.masks, want)
            # a box is its mask's: where a pixel differs (as the tolerance allows) so may it
            same = (masklet.masks == want).flatten(1).all(1)
            report.diff("pred_boxes", masklet_boxes(masklet.masks)[same], boxes[same])
    result: dict[str, float | bool] = {**report.flags, **report.worst}
    return result
