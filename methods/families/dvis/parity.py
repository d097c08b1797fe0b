"""The parity checks both DVIS++ methods share: the segmenter per window, the tracker per window
with its state carried across windows, the matching of every frame, the synthetic case with
known permutations, and the comparison of final results (fixture layout: segmenter.pt,
tracker.pt, synthetic_permuted.pt; tests/fixtures/golden/dvis_plus_online/README.md).

Everything runs on the fixture's stored backbone outputs with the fixture's weights; values no
module returns (the matching of a frame) are recorded by forward hooks on the tracker's
parameter-free `matcher`. Tolerances: logits and embeddings 1e-4, mask logits 1e-3 relative to
their largest magnitude, matching indices exact, final results the same (track, class) pairs
with scores within 1e-5 and at most a few mask pixels flipped where a logit is within float
noise of 0 (the order of `topk(sorted=False)` aside).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vis_bench.api.output import encode_rle
from vis_bench.methods.common.parity_fixtures import start_parity
from vis_bench.methods.families.dvis.fixtures import DVISFixture, read_fixture
from vis_bench.methods.families.dvis.inference import (
    CarriedTracks,
    TrackedClip,
    clip_predictions,
    track_clip,
)
from vis_bench.methods.families.dvis.model import DVISModel
from vis_bench.methods.families.dvis.noiser import Matching
from vis_bench.methods.families.dvis.postprocess import inference_video_vis
from vis_bench.methods.families.dvis.segmenter import FrameQueries
from vis_bench.methods.families.mask2former.pixel_decoder import (
    PixelDecoderFeatures,
    split_frames,
)
from vis_bench.parity import (
    EncodedFrames,
    ParityReport,
    RefinedVideoLinker,
    captured_outputs,
    clip_windows,
    compare_results,
    compare_tree,
    refinement_windows,
    tracks_as_fixture_results,
)

RAW_TOLERANCE = 1e-4
MASK_RELATIVE_TOLERANCE = 1e-3


def tolerance(name: str, expected: torch.Tensor) -> float:
    """1e-4, or 1e-3 of the largest magnitude for mask logits."""
    if name.endswith("pred_masks"):
        return MASK_RELATIVE_TOLERANCE * max(1.0, float(expected.abs().max()))
    return RAW_TOLERANCE


def compare(
    report: ParityReport, name: str, produced: dict, expected: dict, elsewhere: tuple = ()
) -> None:
    """Every tensor of `expected` against the same key of `produced` (`tolerance` per key); a
    tensor the fixture has and nothing produced fails, unless checked `elsewhere`."""
    for key, value in expected.items():
        if not isinstance(value, torch.Tensor) or key in elsewhere:
            continue
        if key not in produced:
            report.add_exact(f"{name}.{key}", False, "expected in the fixture, not produced")
            continue
        limit = tolerance(key, value)
        compare_tree(report, f"{name}.{key}", produced[key], value, lambda _p, t=limit: t)


def windows_of(fx: DVISFixture) -> list[range]:
    """The authors' windows: the fixture's own (segmenter.pt), else TEST.WINDOW_SIZE frames."""
    path = fx.folder / "segmenter.pt"
    if path.is_file():
        return [
            range(int(e["first_frame"]), int(e["first_frame"]) + int(e["pred_logits"].shape[1]))
            for e in fx.file("segmenter.pt")
        ]
    size, length = fx.window_size, fx.num_frames
    return [range(s, min(s + size, length)) for s in range(0, length, size)]


def run_segmenter(model: DVISModel, fx: DVISFixture, windows: list[range]) -> list[FrameQueries]:
    """The segmenter on each window's frames as one batch (the authors' windows)."""
    with torch.no_grad():
        return [
            model.segment_backbone_features({k: v[list(w)] for k, v in fx.levels.items()})
            for w in windows
        ]


def segmenter_layout(queries: FrameQueries) -> dict[str, torch.Tensor]:
    """A window's `FrameQueries` in the fixture's layout (batch of one video)."""
    return {
        "mask_features": queries.mask_features,
        "pred_logits": queries.logits[None],
        "pred_masks": queries.masks.transpose(0, 1)[None],
        "pred_embds": queries.embeds.permute(2, 0, 1)[None],
        "pred_embds_without_norm": queries.embeds_no_norm.permute(2, 0, 1)[None],
    }


def segmenter_checks(report: ParityReport, windows: list[FrameQueries], stored: list) -> None:
    report.add_exact("segmenter windows", len(windows) == len(stored), f"{len(stored)} windows")
    for i, (queries, expected) in enumerate(zip(windows, stored, strict=False)):
        compare(report, f"segmenter[{i}]", segmenter_layout(queries), expected)


def frame_classes(logits: torch.Tensor) -> torch.Tensor:
    """The segmenter's argmax label per frame and query, -1 for no object [T, Q]."""
    labels = torch.softmax(logits, dim=-1).argmax(dim=-1)
    labels[labels == logits.shape[-1] - 1] = -1
    return labels


@dataclass
class TrackerRun:
    """The tracker over a video's windows, its state carried from window to window."""

    tracked: list[TrackedClip] = field(default_factory=list)
    logits: list[torch.Tensor] = field(default_factory=list)
    masks: list[torch.Tensor] = field(default_factory=list)
    carried: list[CarriedTracks] = field(default_factory=list)
    matchings: list[Matching] = field(default_factory=list)

    def video_logits(self) -> torch.Tensor:
        """Every frame's logits [T, Q, K+1]."""
        return torch.cat(self.logits)


def run_tracker(model: DVISModel, windows: list[FrameQueries]) -> TrackerRun:
    """The tracker frame by frame through every window, the matching recorded by hooks."""
    run = TrackerRun()
    state: CarriedTracks | None = None
    with torch.no_grad(), captured_outputs(model, {"matching": "tracker.matcher"}) as seen:
        for queries in windows:
            tracked, state = track_clip(model.tracker, queries, state)
            logits, masks = clip_predictions(model.tracker, tracked, queries.mask_features)
            run.tracked.append(tracked)
            run.logits.append(logits)
            run.masks.append(masks)
            run.carried.append(state)
    run.matchings = list(seen["matching"])
    return run


def tracker_layout(run: TrackerRun, i: int) -> dict[str, torch.Tensor]:
    tracked = run.tracked[i]
    return {
        "pred_logits": run.logits[i][None],
        "pred_masks": run.masks[i].transpose(0, 1)[None],
        "pred_embds": tracked.outputs.permute(2, 0, 1)[None],
        "pred_references": tracked.references.permute(2, 0, 1)[None],
        "last_outputs": run.carried[i].next.outputs,
    }


def matching_checks(report: ParityReport, name: str, run: TrackerRun, stored: list) -> None:
    """Every frame's cost matrix within 1e-4 and its solution exactly."""
    report.add_exact(f"{name}.frames", len(run.matchings) == len(stored), f"{len(stored)} frames")
    for t, (mine, theirs) in enumerate(zip(run.matchings, stored, strict=False)):
        report.add_tensor(f"{name}[{t}].cost_T", mine.cost, theirs["cost_T"], RAW_TOLERANCE)
        same = torch.equal(mine.indices, theirs["indices"].long())
        report.add_exact(f"{name}[{t}].indices", same, str(mine.indices.tolist()))


def tracker_checks(
    report: ParityReport, name: str, run: TrackerRun, windows: list[FrameQueries], stored: dict
) -> None:
    """Each window's tracker outputs and state, the resume flags, and the matching."""
    calls = stored["calls"]
    report.add_exact(f"{name}.windows", len(run.tracked) == len(calls), f"{len(calls)} windows")
    for i, call in enumerate(calls[: len(run.tracked)]):
        resumed = bool(call["resume"]) == (i > 0)
        report.add_exact(f"{name}[{i}].resume", resumed, f"resume={call['resume']}")
        compare(report, f"{name}[{i}]", tracker_layout(run, i), call, ("frame_classes",))
        if isinstance(call.get("frame_classes"), torch.Tensor):
            same = torch.equal(frame_classes(windows[i].logits), call["frame_classes"].long())
            report.add_exact(f"{name}[{i}].frame_classes", same)
    matching_checks(report, f"{name}.matching", run, stored["matching"])


def stored_windows(stored: list) -> list[FrameQueries]:
    """The authors' own segmenter outputs as `FrameQueries` (to replay the tracker on them)."""
    return [
        FrameQueries(
            e["pred_logits"][0],
            e["pred_masks"][0].transpose(0, 1),
            e["pred_embds"][0].permute(1, 2, 0),
            e["pred_embds_without_norm"][0].permute(1, 2, 0),
            e["mask_features"],
        )
        for e in stored
    ]


@dataclass
class SegmenterAndTracker:
    """A member's parity run up to its tracker (DVIS++'s or DVIS-DAQ's): the fixture, the
    report, the plugin around the fixture's network with its weights loaded, the files present,
    the segmenter's windows and the tracker over them; each checked against the stored files
    where present."""

    fx: Any
    report: ParityReport
    plugin: Any
    present: set[str]
    ranges: list[range]
    windows: list[FrameQueries]
    run: TrackerRun

    @property
    def model(self) -> Any:
        return self.plugin.model


class FamilyParity:
    """What a DVIS family's parity does around the shared segmenter (DVIS++'s here; DVIS-DAQ
    subclasses it): reading its fixture, running its tracker over the windows, and checking
    both stages against the stored files."""

    read = staticmethod(read_fixture)

    def track(self, model: Any, fx: Any, windows: list[FrameQueries]) -> Any:
        return run_tracker(model, windows)

    def check_segmenter(
        self, report: ParityReport, model: Any, windows: list[FrameQueries], stored: list
    ) -> None:
        segmenter_checks(report, windows, stored)

    def check_tracker(
        self, report: ParityReport, name: str, model: Any, windows: list[FrameQueries], run: Any
    ) -> Callable[[dict], None]:
        """The check of `run` (reported as `name`) against the stored tracker.pt it is given."""
        return partial(tracker_checks, report, name, run, windows)


DVIS_PARITY = FamilyParity()


def segmenter_and_tracker(
    fixture_dir: Path,
    variant: str,
    method: str,
    expected_files: tuple[str, ...],
    build_plugin: Callable[[Any], Any],
    family: FamilyParity = DVIS_PARITY,
) -> SegmenterAndTracker:
    """What every member's parity starts with: build from meta.json, load state_dict.pt with
    its keys and order checked, run the segmenter on the authors' windows and the `family`'s
    tracker frame by frame (also replayed on the authors' own segmenter outputs), and compare
    both."""
    fx, report, plugin, present = start_parity(
        fixture_dir, variant, method, expected_files, family.read, build_plugin
    )
    model = plugin.model
    ranges = windows_of(fx)
    windows = run_segmenter(model, fx, ranges)
    run = family.track(model, fx, windows)
    if "segmenter.pt" in present:
        stored = fx.file("segmenter.pt")
        family.check_segmenter(report, model, windows, stored)
        if "tracker.pt" in present:
            tracker = fx.file("tracker.pt")
            family.check_tracker(report, "tracker", model, windows, run)(tracker)
            replayed = family.track(model, fx, stored_windows(stored))
            family.check_tracker(report, "tracker (replayed)", model, windows, replayed)(tracker)
    return SegmenterAndTracker(fx, report, plugin, present, ranges, windows, run)


def permuted(windows: list[FrameQueries], ranges: list[range], perms: torch.Tensor) -> list:
    """Each frame t's queries (logits, masks, both embeddings) re-ordered by `perms[t]`."""
    out = []
    for queries, frames in zip(windows, ranges, strict=True):
        order = perms[list(frames)]  # [t, Q]
        pick = torch.arange(len(frames))[:, None]
        out.append(
            FrameQueries(
                queries.logits[pick, order],
                queries.masks[pick, order],
                queries.embeds[pick, order],
                queries.embeds_no_norm[pick, order],
                queries.mask_features,
            )
        )
    return out


def synthetic_checks(
    report: ParityReport, model: DVISModel, windows: list, ranges: list[range], case: dict
) -> tuple[TrackerRun, list[FrameQueries]]:
    """The tracker on the permuted queries: the matching undoes the permutations, and the
    tracker's logits equal the fixture's. Returns the run and the permuted queries."""
    perms = case["permutations"].long()
    shuffled = permuted(windows, ranges, perms)
    run = run_tracker(model, shuffled)
    q = perms.shape[1]
    undone = len(run.matchings) == perms.shape[0] and all(
        torch.equal(perms[t][m.indices], torch.arange(q)) for t, m in enumerate(run.matchings)
    )
    report.add_exact("synthetic_permuted.permutations undone", undone)
    matching_checks(report, "synthetic_permuted.matching", run, case["matching"])
    for i, expected in enumerate(case.get("tracker_pred_logits") or []):
        if i < len(run.logits):
            report.add_tensor(
                f"synthetic_permuted.tracker_pred_logits[{i}]",
                run.logits[i][None],
                expected,
                RAW_TOLERANCE,
            )
    return run, shuffled


def final_results(
    fx: DVISFixture,
    logits: torch.Tensor,
    masks: torch.Tensor,
    aux_logits: torch.Tensor | None = None,
) -> dict[str, Any]:
    """`inference_video_vis` on time-mean logits [Q, K+1] and masks [Q, T, h, w], RLE-encoded."""
    sizes = fx.sizes
    results = inference_video_vis(
        logits,
        masks,
        tuple(int(v) for v in sizes["image_size"]),
        tuple(int(v) for v in sizes["orig_size"]),
        tuple(int(v) for v in sizes["padded_size"]),
        aux_logits,
        fx.max_num,
    )
    results["pred_masks_rle"] = [
        [encode_rle(np.asarray(frame, np.uint8)) for frame in result]
        for result in results.pop("pred_masks")
    ]
    return results


def per_frame_features(model: DVISModel, fx: DVISFixture) -> list[PixelDecoderFeatures]:
    """The pixel decoder's outputs of every frame of the fixture (the per-frame stage)."""
    with torch.no_grad():
        return split_frames(model.sem_seg_head.pixel_decoder(fx.levels))


def replay_authors(report: ParityReport, post: dict) -> None:
    """`inference_video_vis` on the authors' own inputs gives their results exactly."""
    given = post["inference_video_in"]
    results = inference_video_vis(
        given["pred_cls"],
        given["pred_masks"],
        tuple(int(v) for v in given["img_size"]),
        (int(given["output_height"]), int(given["output_width"])),
        tuple(int(v) for v in given["first_resize_size"]),
        given.get("aux_pred_cls"),
        len(post["final"]["pred_scores"]),
    )
    results["pred_ids"] = given["pred_id"][results["pred_ids"]]
    results["pred_masks_rle"] = [
        [encode_rle(frame.numpy().astype("uint8")) for frame in result]
        for result in results.pop("pred_masks")
    ]
    compare_results(report, "inference_video_vis (replayed)", results, post["final"], exact=True)


def refined_harness_results(plugin: Any, fx: Any, features: list, schedule: tuple) -> dict:
    """The video through the harness's own path, for a member that decides at the video's end
    (DVIS++ offline, both DVIS-DAQ members): clips of the schedule carrying the video's state,
    the results chosen at its end, masks in a second pass over the frames, encoded per frame."""
    clip_length, stride = schedule
    height, width = (int(v) for v in fx.sizes["orig_size"])
    plugin.input_size = tuple(int(v) for v in fx.sizes["image_size"])
    encoded = EncodedFrames(height, width, plugin.masks_to_video)
    linker = RefinedVideoLinker(plugin.refine_video, [encoded])
    for window in clip_windows(fx.num_frames, clip_length, stride):
        clip = [features[i] for i in window]
        seen = linker.seen_frames(window)
        linker.add_clip(window, plugin.infer_clip_features(clip, state=linker.state, seen=seen))
    refinement = linker.refine()
    for window in refinement_windows(fx.num_frames, clip_length):
        clip = [features[i] for i in window]
        linker.add_masks(window, plugin.refined_masks_features(clip, refinement, list(window)))
    return tracks_as_fixture_results(encoded, linker.finish(), fx.num_frames)


def harness_checks(
    report: ParityReport,
    plugin: Any,
    fx: Any,
    final: dict,
    harness_results: Callable[[Any, Any, list, tuple], dict],
) -> None:
    """One frame per clip, the authors' window, the whole video and overlapping clips all give
    the authors' results through a member's `harness_results` (float noise of the segmenter's
    batching aside)."""
    features = per_frame_features(plugin.model, fx)
    w = fx.window_size
    for schedule in ((1, 1), (w, w), ("all", None), (3, 2)):
        name = f"harness T={schedule[0]}" + (f" S={schedule[1]}" if schedule[1] else "")
        compare_results(report, name, harness_results(plugin, fx, features, schedule), final)
