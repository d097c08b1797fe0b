"""SAM 3 tracker parity against the authors' video cases.

The tracker's weights load strictly from every `tracker.*` entry of the fixture; its features
come from this package's vision backbone (tracker neck) on the recorded preprocessed frames.
Each prompt's pass is replayed step by step with the recorded decisions as inputs (births from
the recorded new detections and their masks, removals, and the masks handed to the memory
encoder after occlusion suppression): every step's propagated mask logits (hole-filled) and
object scores, and after the memory update each tracker state's stored output for the frame
(memory features in bfloat16, object pointer, mask logits, object score) are compared with the
record."""

from __future__ import annotations

from pathlib import Path

import torch

from vis_bench.methods.sam3.fixtures import (
    TRACKER_PREFIX,
    VISION_PREFIX,
    load_gz,
    loaded,
    tracker_sizes,
    vit_sizes,
)
from vis_bench.methods.sam3.frame_masks import fill_holes
from vis_bench.methods.sam3.neck import VisionBackbone
from vis_bench.methods.sam3.tracker import FrameFeatures, Tracker
from vis_bench.methods.sam3.tracker_state import TrackerState, update_memories


def load_tracker(fixture: Path, weights: dict[str, torch.Tensor]) -> Tracker:
    tracker = loaded(Tracker(tracker_sizes(fixture)), weights, TRACKER_PREFIX)
    return tracker


def frame_features(
    fixture: Path, weights: dict[str, torch.Tensor], tracker: Tracker, frames: torch.Tensor
) -> list[FrameFeatures]:
    """The tracker's features of every frame (N, 3, H, W)."""
    vision = loaded(
        VisionBackbone(vit_sizes(fixture), tracker.sizes.d_model), weights, VISION_PREFIX
    )
    out = vision(frames)
    return [
        tracker.frame_features(
            [x[i : i + 1] for x in out.tracker], [p[i : i + 1] for p in out.positions]
        )
        for i in range(frames.shape[0])
    ]


def _bf16_ulp(want: torch.Tensor) -> torch.Tensor:
    """The unit in the last place of each bfloat16 reference value."""
    tiny = torch.finfo(torch.bfloat16).tiny
    return torch.exp2(torch.floor(torch.log2(want.float().abs().clamp(min=tiny))) - 7)


def bf16_ulps(got: torch.Tensor, want: torch.Tensor) -> float:
    """Largest difference in units of the last place of the bfloat16 reference values."""
    if not want.numel():
        return 0.0
    return float(((got.float() - want.float()).abs() / _bf16_ulp(want)).max())


def beyond_one_bf16_ulp(got: torch.Tensor, want: torch.Tensor) -> float:
    """Largest absolute difference beyond one unit in the last place of the reference value
    (what an upstream bfloat16 rounding landing one step away carries into a small value)."""
    if not want.numel():
        return 0.0
    excess = (got.float() - want.float()).abs() - _bf16_ulp(want)
    return float(excess.clamp(min=0.0).max())


class _Worst:
    def __init__(self) -> None:
        self.values: dict[str, float] = {}
        self.same_storage = True
        self.ulps, self.beyond = 0.0, 0.0

    def see(self, name: str, got: torch.Tensor, want: torch.Tensor) -> None:
        diff = float((got.float() - want.float()).abs().max()) if want.numel() else 0.0
        self.values[name] = max(self.values.get(name, 0.0), diff)

    def see_memory(self, state: TrackerState, frame: int, ref: dict) -> None:
        """A tracker state's stored output for `frame` against the recorded one."""
        storage = state.cond if frame in state.cond else state.non_cond
        name = "cond_frame_outputs" if storage is state.cond else "non_cond_frame_outputs"
        self.same_storage &= name == ref["storage"] and state.obj_ids == list(ref["obj_ids"])
        out = storage[frame]
        memory, want = out.maskmem_features, ref["maskmem_features"]
        self.ulps = max(self.ulps, bf16_ulps(memory, want))
        self.beyond = max(self.beyond, beyond_one_bf16_ulp(memory, want))
        self.see("memory_obj_ptr", out.obj_ptr, ref["obj_ptr"])
        self.see("memory_pred_masks", out.pred_masks, ref["pred_masks"])
        self.see("memory_object_scores", out.object_score_logits, ref["object_score_logits"])


def replay_case(fixture: Path, case_name: str) -> dict[str, float | bool]:
    """One video case's tracker outputs, step by step (see the module's docstring)."""
    weights = load_gz(fixture / "weights.pt.gz")
    case = load_gz(fixture / f"{case_name}.pt.gz")
    record = case["record"]
    tracker = load_tracker(fixture, weights)
    frames = record["frames_preprocessed_fp16"].float()
    n_frames = frames.shape[0]
    video_size = tuple(case["frames_uint8"].shape[1:3])
    worst = _Worst()
    same_ids = True
    with torch.no_grad():
        features = frame_features(fixture, weights, tracker, frames)
        states: list[TrackerState] = []
        for index, step in enumerate(record["steps"]):
            if index % (n_frames + 1) == 0:  # a prompt's pass starts (frame 0 runs twice)
                states = []
            frame = step["frame_idx"]
            feats = features[frame]
            live = [s for s in states if s.obj_ids]
            ids = [o for s in live for o in s.obj_ids]
            same_ids &= ids == step["trk_obj_ids_prev"].tolist()
            if live:
                outs = [s.propagate(frame, feats) for s in live]
                masks = fill_holes(torch.cat([m for m, _ in outs]))
                scores = torch.cat([sc for _, sc in outs])
                worst.see("propagated_masks", masks, step["trk_low_res_masks"])
                worst.see("propagated_scores", scores, step["trk_obj_score_logits"])
            if "mem_enc_input_low_res_masks" in step:
                update_memories(states, frame, step["mem_enc_input_low_res_masks"], feats)
                for state, ref in zip(live, step["tracker_memory"], strict=True):
                    worst.see_memory(state, frame, ref)
            plan = step["plan"]
            new = plan["new_det_fa_inds"]
            if new.numel():
                states.append(
                    TrackerState.born(
                        tracker,
                        n_frames,
                        frame,
                        plan["new_det_obj_ids"].tolist(),
                        step["det"]["mask"][new],
                        feats,
                        video_size,
                    )
                )
            for obj in plan["obj_ids_newly_removed"]:
                for state in states:
                    state.remove(int(obj))
    report: dict[str, float | bool] = {
        "same_track_ids": same_ids,
        "same_storage": worst.same_storage,
        "memory_within_one_bf16_ulp": worst.ulps <= 1.0,
        **worst.values,
    }
    report["memory_bf16_ulps"] = worst.ulps
    report["memory_beyond_one_bf16_ulp"] = worst.beyond
    return report
