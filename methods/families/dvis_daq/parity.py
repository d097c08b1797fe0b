"""The parity checks both DVIS-DAQ methods share: the segmenter per window, the tracker frame by
frame (its queries, positions, every layer's class logits, the last layer's masks, the slot
branch and its matching, the decisions and the video's sequences after each frame), the video's
outputs and the synthetic case with permuted queries (layout:
tests/fixtures/golden/dvis_daq_online/README.md).

Everything runs on the fixture's stored backbone outputs with the fixture's weights.
Tolerances: logits, embeddings and positions 1e-4, mask logits 1e-3 relative to their largest
magnitude, decisions, slot assignments and the sequences' bookkeeping exact; the authors'
random sequence ids are compared through the sequences they name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch

from vis_bench.methods.families.dvis import parity as dvis_parity
from vis_bench.methods.families.dvis.segmenter import FrameQueries
from vis_bench.methods.families.dvis_daq.base_plugin import track_features
from vis_bench.methods.families.dvis_daq.decisions import TrackedFrame, foreground_scores
from vis_bench.methods.families.dvis_daq.fixtures import DAQFixture, read_fixture
from vis_bench.methods.families.dvis_daq.model import DAQModel
from vis_bench.methods.families.dvis_daq.sequences import SequenceHub
from vis_bench.methods.families.dvis_daq.video import ABSENT, kept_sequences, mean_logits
from vis_bench.methods.families.dvis_daq.video import sequence_masks as masks_of
from vis_bench.parity import ParityReport, compare_results, compare_tree

RAW_TOLERANCE = 1e-4
#: the fixtures' calibrated class heads give logits up to about 64; their float32 rounding
#: alone reaches 1e-4 where the CPU's kernels sum in another order than the recording's
LOGIT_RELATIVE_TOLERANCE = 1e-5
MASK_RELATIVE_TOLERANCE = 1e-3
#: the stored per-frame entries that are not tensors to compare within a tolerance
BOOKKEEPING = ("frame", "branch", "num_track_queries_in", "seq_ids_after", "hub_after")


def tolerance(name: str, expected: torch.Tensor) -> float:
    """1e-3 of the largest magnitude for mask logits; else 1e-4, or 1e-5 of the largest
    magnitude where that is larger (large logits)."""
    largest = float(expected.abs().max()) if expected.numel() else 0.0
    if "mask" in name.rsplit(".", 1)[-1]:
        return MASK_RELATIVE_TOLERANCE * max(1.0, largest)
    return max(RAW_TOLERANCE, LOGIT_RELATIVE_TOLERANCE * largest)


def compare(report: ParityReport, name: str, produced: dict, expected: dict) -> None:
    """Every tensor of `expected` against the same key of `produced`: floats within
    `tolerance`, booleans and integers exactly; one the fixture has and nothing produced
    fails."""
    for key, value in expected.items():
        if not isinstance(value, torch.Tensor) or key in BOOKKEEPING:
            continue
        if key not in produced or produced[key] is None:
            report.add_exact(f"{name}.{key}", False, "expected in the fixture, not produced")
            continue
        mine = produced[key]
        if not value.is_floating_point():
            same = mine.shape == value.shape and torch.equal(mine.long(), value.long())
            report.add_exact(f"{name}.{key}", same, str(value.tolist())[:80])
            continue
        limit = tolerance(key, value)
        compare_tree(report, f"{name}.{key}", mine, value, lambda _p, t=limit: t)


@dataclass
class TrackerRun:
    """The tracker over the video: what every frame computed and the hub after each frame."""

    hub: SequenceHub
    frames: list[TrackedFrame]
    #: per frame, after it: the tracks (sequence indices), every sequence's bookkeeping, and
    #: the next frame's track queries and positions [nt, 1, C]
    after: list[tuple[list[int], list[dict], dict[str, torch.Tensor]]]
    projected: torch.Tensor


def hub_bookkeeping(hub: SequenceHub) -> list[dict]:
    """Every sequence's start, length, invalid count, death and appearances, birth order."""
    return [
        {
            "start_frame": s.start,
            "num_frames": s.num_frames,
            "invalid_frames": s.invalid_frames,
            "dead": s.dead,
            "appearance": list(s.appearance),
        }
        for s in hub.sequences
    ]


def carried_out(hub: SequenceHub) -> dict[str, torch.Tensor]:
    """What the next frame reads: the tracks' last outputs and fused positions [nt, 1, C]."""
    tracks = hub.track_queries()
    if not tracks:
        return {}
    return {
        "track_queries_out": torch.stack([s.query for s in tracks])[:, None],
        "track_pos_out": torch.stack([s.fused_position for s in tracks])[:, None],
    }


def run_tracker(
    model: DAQModel, fx: DAQFixture, windows: list[FrameQueries], with_slots: bool = True
) -> TrackerRun:
    """The tracker frame by frame over every window, the video's sequences carried."""
    hub = SequenceHub()
    frames: list[TrackedFrame] = []
    after = []
    with torch.no_grad():
        for queries in windows:
            for t in range(len(queries)):
                one = queries.frames(t, t + 1)
                frames += track_features(model, one, hub, fx.settings, with_slots)
                after.append((list(hub.tracks), hub_bookkeeping(hub), carried_out(hub)))
        projected = torch.cat([model.tracker.project(q.mask_features) for q in windows])
    return TrackerRun(hub, frames, after, projected)


def frame_layout(model: DAQModel, run: TrackerRun, t: int) -> dict[str, Any]:
    """Frame t's computations in the fixture's layout."""
    frame = run.frames[t]
    tracks = len(frame.track_positions) if frame.track_positions is not None else 0
    out: dict[str, Any] = {
        "ms_outputs": frame.outputs,
        "ms_outputs_class": frame.logits[:, None],
        "ms_outputs_mask_last": frame.masks[None],
        "track_pos_out_per_query": frame.positions,
        "valid_queries": frame.valid,
        "pred_scores": frame.scores,
        "det_queries_scores": frame.scores[tracks:],
        "trc_queries_scores": frame.scores[:tracks],
        "track_queries_in": frame.outputs[0, :tracks] if tracks else None,
        "track_pos_in": frame.track_positions,
        "frame_queries_pos": frame.anchor_positions,
    }
    if frame.slots is not None and frame.slot_logits is not None:
        slots = frame.slots.outputs
        out["slot_outputs_last"] = slots[None]
        out["slot_outputs_class"] = frame.slot_logits[None, None]
        out["slot_outputs_mask"] = model.tracker.masks(slots[:, 0], run.projected[t])[None, None]
        out["slot_init_query_index"] = frame.slots.matching.indices
        out["fg_trc_queries_scores"] = foreground_scores(frame.slot_logits[:tracks])
    return out


def tracker_checks(
    report: ParityReport, name: str, model: DAQModel, run: TrackerRun, stored: dict
) -> None:
    """Every frame against tracker.pt, the hub after it, and the slot matching."""
    frames = stored["frames"]
    report.add_exact(f"{name}.frames", len(frames) == len(run.frames), f"{len(frames)} frames")
    ids: dict[int, int] = {}
    for t, expected in enumerate(frames[: len(run.frames)]):
        label = f"{name}[{t}]"
        first = expected["branch"] == "init"
        report.add_exact(f"{label}.branch", first == (t == 0), str(expected["branch"]))
        tracks, book, carried = run.after[t]
        compare(report, label, {**frame_layout(model, run, t), **carried}, expected)
        theirs = expected["hub_after"]
        for index, entry in enumerate(theirs):
            ids.setdefault(int(entry["seq_id"]), index)
        keys = ("start_frame", "num_frames", "invalid_frames", "dead", "appearance")
        theirs_book = [{k: _plain(e[k]) for k in keys} for e in theirs]
        report.add_exact(f"{label}.sequences", book == theirs_book, f"{len(theirs)} sequences")
        named = [ids.get(int(i), -1) for i in expected["seq_ids_after"]]
        report.add_exact(f"{label}.tracks", named == tracks, f"sequences {named}")
    slot_checks(report, f"{name}.slot_matching", run, stored.get("slot_matching") or [])


def _plain(value: Any) -> Any:
    """A stored bookkeeping value as plain Python (lists of bools, ints)."""
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def slot_checks(report: ParityReport, name: str, run: TrackerRun, stored: list) -> None:
    """Each tracking frame's slot-matching cost (1e-4) and its assignment (exact)."""
    mine = [f.slots.matching for f in run.frames if f.slots is not None]
    report.add_exact(f"{name}.frames", len(mine) == len(stored), f"{len(stored)} frames")
    for t, (matching, theirs) in enumerate(zip(mine, stored, strict=False)):
        report.add_tensor(f"{name}[{t}].cost", matching.cost, theirs["cost"], RAW_TOLERANCE)
        same = torch.equal(matching.indices, theirs["slot_init_query_index"].long())
        report.add_exact(f"{name}[{t}].slot_init_query_index", same)


def video_outputs(model: DAQModel, fx: DAQFixture, run: TrackerRun) -> dict[str, torch.Tensor]:
    """`run_window_inference`'s outputs: the kept sequences' mean logits, masks over the whole
    video (-1e4 where absent), padding masks and per-frame logits."""
    sequences = kept_sequences(run.hub, fx.noise_frames)
    frames = list(range(fx.num_frames))
    with torch.no_grad():
        masks = masks_of(model.tracker, sequences, frames, run.projected)
    classes = int(fx.config.num_classes) + 1
    padding = torch.ones(len(sequences), fx.num_frames, dtype=torch.bool)
    full = torch.full((len(sequences), fx.num_frames, classes), ABSENT)
    full[..., -1] = 1.0
    for i, s in enumerate(sequences):
        padding[i, s.start : s.start + s.num_frames] = False
        full[i, s.start : s.start + s.num_frames] = torch.stack(s.logits)
    return {
        "pred_logits": mean_logits(sequences)[None],
        "pred_masks": masks[None],
        "padding_masks": padding[None],
        "full_logits": full[None],
    }


class DAQParity(dvis_parity.FamilyParity):
    """DVIS-DAQ's fixture and tracker; its segmenter check adds the ReID head's embeddings,
    which the authors compute and nothing reads."""

    read = staticmethod(read_fixture)

    def track(self, model: Any, fx: Any, windows: list[FrameQueries]) -> TrackerRun:
        return run_tracker(model, fx, windows)

    def check_segmenter(
        self, report: ParityReport, model: Any, windows: list[FrameQueries], stored: list
    ) -> None:
        report.add_exact("segmenter windows", len(windows) == len(stored), f"{len(stored)}")
        for i, (queries, expected) in enumerate(zip(windows, stored, strict=False)):
            layout = dvis_parity.segmenter_layout(queries)
            with torch.no_grad():  # built and computed by the authors, read by no one
                reid = model.sem_seg_head.predictor.reid_embed(queries.embeds)
            layout["pred_reid_embed"] = reid.permute(2, 0, 1)[None]
            compare(report, f"segmenter[{i}]", layout, expected)

    def check_tracker(
        self, report: ParityReport, name: str, model: Any, windows: list[FrameQueries], run: Any
    ) -> Callable[[dict], None]:
        return partial(tracker_checks, report, name, model, run)


#: both members' start: the segmenter and DVIS-DAQ's tracker checked (dvis_parity's)
segmenter_and_tracker = partial(dvis_parity.segmenter_and_tracker, family=DAQParity())


def synthetic_run(
    model: DAQModel, fx: DAQFixture, windows: list[FrameQueries], ranges: list[range], case: dict
) -> TrackerRun:
    """The tracker on queries re-ordered per frame by the case's permutations."""
    shuffled = dvis_parity.permuted(windows, ranges, case["permutations"].long())
    return run_tracker(model, fx, shuffled)


def synthetic_frame_checks(report: ParityReport, run: TrackerRun, case: dict) -> None:
    """Each frame's decisions (exact) and last-layer class logits on the permuted queries."""
    for t, frame in enumerate(run.frames):
        if t < len(case["valid_queries"]):
            same = torch.equal(frame.valid, case["valid_queries"][t].bool())
            report.add_exact(f"synthetic_permuted[{t}].valid_queries", same)
        if t < len(case.get("ms_outputs_class_last") or []):
            expected = case["ms_outputs_class_last"][t]
            mine = frame.logits[-1].reshape(expected.shape)
            name = f"synthetic_permuted[{t}].ms_outputs_class_last"
            report.add_tensor(name, mine, expected, tolerance(name, expected))


def postprocess_checks(
    report: ParityReport, plugin: Any, fx: DAQFixture, post: dict, outputs: dict, final: dict
) -> None:
    """postprocess.pt against a member's video outputs and final results, the authors'
    post-processing replayed, and the harness's own path over several clip schedules."""
    expected = {k: v for k, v in post["video_outputs"].items() if k != "pred_ids"}
    compare(report, "video_outputs", outputs, expected)
    dvis_parity.replay_authors(report, post)
    compare_results(report, "final", final, post["final"])
    dvis_parity.harness_checks(
        report, plugin, fx, post["final"], dvis_parity.refined_harness_results
    )
