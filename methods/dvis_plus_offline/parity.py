"""DVIS++ offline parity against fixtures made with the authors' code (zhang-tao-whu/DVIS_Plus).

Layout and tolerances: tests/fixtures/golden/dvis_plus_offline/README.md. As the online check
(the segmenter per window, the tracker with its state carried, every frame's matching, also
replayed on the authors' own segmenter outputs), then the refiner: its inputs (the tracker's
outputs and the segmenter's un-normed queries of every frame), its logits, masks (from the raw
mask features) and normed outputs, also replayed on the authors' inputs; the two time-means
`inference_video_vis` receives; the authors' post-processing (max of two softmaxes) replayed on
their own inputs (identical results), the same on this network's outputs; the synthetic case
with known permutations; and the harness's whole-video refinement (first pass of clips, the
refiner at the end, masks in a second pass) under several clip schedules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from vis_bench.methods.families.dvis import parity as shared
from vis_bench.methods.families.dvis.fixtures import DVISFixture
from vis_bench.methods.families.dvis.frame_rows import FrameRows
from vis_bench.methods.families.dvis.refinement import GatheredVideo, RefinedVideo, refine
from vis_bench.parity import (
    ParityReport,
    compare_results,
    save_produced,
)

EXPECTED_FILES = (
    "segmenter.pt",
    "tracker.pt",
    "refiner.pt",
    "postprocess.pt",
    "synthetic_permuted.pt",
)


def build_plugin(fx: DVISFixture) -> Any:
    """The plugin around the fixture's reduced network (weights not loaded yet); imported here
    because the plugin's spec names this module's `run_parity`."""
    from vis_bench.methods.dvis_plus_offline.plugin import DVISOfflineOptions, DVISOfflinePlugin
    from vis_bench.methods.families.dvis.model import build_model

    options = DVISOfflineOptions(top_k=fx.max_num, refiner_layers=int(fx.refiner_layers or 0))
    return DVISOfflinePlugin(build_model(fx.config, fx.refiner_layers), options)


def gathered(run: shared.TrackerRun, windows: list) -> GatheredVideo:
    """What the first pass gathers over the windows of `run` (the refiner's inputs)."""
    video = GatheredVideo(run.carried[-1])
    for tracked, queries, logits, carried in zip(
        run.tracked, windows, run.logits, run.carried, strict=True
    ):
        video = video.extended(tracked, queries, logits, carried)
    return video


def refined_layout(refined: RefinedVideo, masks: torch.Tensor) -> dict[str, torch.Tensor]:
    """The refiner's outputs in the fixture's layout (one class per track, repeated T times)."""
    frames = refined.normed.shape[0]
    return {
        "pred_logits": refined.logits[None, None].expand(1, frames, -1, -1),
        "pred_masks": masks[None],
        "pred_embds": refined.normed.permute(2, 0, 1)[None],
    }


def refine_with_masks(
    model: Any, video: GatheredVideo, mask_features: torch.Tensor
) -> tuple[RefinedVideo, torch.Tensor]:
    """The refiner over the whole video and every track's masks [Q, T, h, w]."""
    with torch.no_grad():
        refined = refine(model.refiner, video)
        masks = model.refiner.mask_logits(refined.normed, mask_features).transpose(0, 1)
    return refined, masks


def refiner_checks(
    report: ParityReport, model: Any, video: GatheredVideo, windows: list, stored: dict
) -> tuple[RefinedVideo, torch.Tensor]:
    """The refiner's inputs and outputs; also replayed on the authors' own inputs."""
    inputs = {
        "instance_embeds": video.instance_embeds.stacked().permute(2, 0, 1)[None],
        "frame_embeds": video.frame_embeds.stacked().permute(2, 0, 1)[None],
    }
    outputs = ("pred_logits", "pred_masks", "pred_embds")
    shared.compare(report, "refiner inputs", inputs, stored, outputs)
    features = torch.cat([queries.mask_features for queries in windows])
    refined, masks = refine_with_masks(model, video, features)
    layout = refined_layout(refined, masks)
    shared.compare(report, "refiner", layout, stored, tuple(inputs))
    replay = GatheredVideo(
        video.tracks,
        FrameRows.of(stored["instance_embeds"][0].permute(1, 2, 0).contiguous()),
        FrameRows.of(stored["frame_embeds"][0].permute(1, 2, 0).contiguous()),
        video.tracker_logits,
        video.frames,
    )
    again, again_masks = refine_with_masks(model, replay, features)
    shared.compare(
        report,
        "refiner (replayed)",
        refined_layout(again, again_masks),
        stored,
        tuple(inputs),
    )
    return refined, masks


def postprocess_checks(
    report: ParityReport,
    fx: DVISFixture,
    run: shared.TrackerRun,
    refined: tuple[RefinedVideo, torch.Tensor],
    post: dict,
) -> None:
    """Both time-means, the authors' post-processing replayed, and this network's results."""
    video, masks = refined
    logits = video.logits[None].expand(masks.shape[1], -1, -1)
    produced_in = {
        "pred_logits": logits[None],
        "pred_masks": masks[None],
        "aux_logits": run.video_logits()[None],
    }
    shared.compare(report, "post_processing_in", produced_in, post["post_processing_in"])
    produced_out = {"pred_logits": video.logits[None], "aux_logits": video.aux_logits}
    shared.compare(report, "post_processing_out", produced_out, post["post_processing_out"])
    shared.replay_authors(report, post)
    final = shared.final_results(fx, video.logits, masks, video.aux_logits)
    compare_results(report, "final", final, post["final"])


def synthetic(report: ParityReport, fx: DVISFixture, model: Any, windows: list, ranges: list):
    """The known-permutation case through the tracker and the refiner to the final results."""
    case = fx.file("synthetic_permuted.pt")
    run, shuffled = shared.synthetic_checks(report, model, windows, ranges, case)
    features = torch.cat([queries.mask_features for queries in shuffled])
    refined, masks = refine_with_masks(model, gathered(run, shuffled), features)
    if isinstance(case.get("refiner_pred_logits"), torch.Tensor):
        logits = refined.logits[None, None].expand(1, masks.shape[1], -1, -1)
        report.add_tensor(
            "synthetic_permuted.refiner_pred_logits",
            logits,
            case["refiner_pred_logits"],
            shared.RAW_TOLERANCE,
        )
    final = shared.final_results(fx, refined.logits, masks, refined.aux_logits)
    compare_results(report, "synthetic_permuted.final", final, case["final"])


def run_parity(fixture_dir: Path, out_path: Path | None = None) -> ParityReport:
    """Build from meta.json, load state_dict.pt, run features.pt, compare every stored file."""
    base = shared.segmenter_and_tracker(
        fixture_dir, "offline", "dvis-plus-offline", EXPECTED_FILES, build_plugin
    )
    fx, report, plugin, model = base.fx, base.report, base.plugin, base.model
    present, ranges, windows, run = base.present, base.ranges, base.windows, base.run
    video = gathered(run, windows)
    features = torch.cat([queries.mask_features for queries in windows])
    refined = refine_with_masks(model, video, features)
    if "refiner.pt" in present:
        refined = refiner_checks(report, model, video, windows, fx.file("refiner.pt"))
    if "postprocess.pt" in present:
        post = fx.file("postprocess.pt")
        postprocess_checks(report, fx, run, refined, post)
        shared.harness_checks(report, plugin, fx, post["final"], shared.refined_harness_results)
    if "synthetic_permuted.pt" in present:
        synthetic(report, fx, model, windows, ranges)
    save_produced({"refiner_logits": refined[0].logits}, out_path)
    return report
