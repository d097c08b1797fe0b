"""DVIS++ online parity against fixtures made with the authors' code (zhang-tao-whu/DVIS_Plus).

Layout and tolerances: tests/fixtures/golden/dvis_plus_online/README.md. The reduced network is
built from meta.json (every size from its config overrides), the fixture's weights loaded with
their keys and order checked, and the stored backbone outputs run through: the segmenter on the
authors' windows, the tracker frame by frame with its state carried across windows (also
replayed on the authors' own segmenter outputs), every frame's matching, the time-mean logits
`inference_video_vis` receives, the authors' post-processing replayed on their own inputs
(identical results), the same on this network's outputs, the synthetic case whose known
permutations the matching must undo, and the harness's clip-to-clip path (`CarriedState`)
under several clip schedules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from vis_bench.api import CarriedState
from vis_bench.methods.families.dvis import parity as shared
from vis_bench.methods.families.dvis.fixtures import DVISFixture
from vis_bench.parity import (
    EncodedFrames,
    ParityReport,
    QueryTrackLinker,
    clip_windows,
    compare_results,
    save_produced,
    tracks_as_fixture_results,
)

EXPECTED_FILES = ("segmenter.pt", "tracker.pt", "postprocess.pt", "synthetic_permuted.pt")


def build_plugin(fx: DVISFixture) -> Any:
    """The plugin around the fixture's reduced network (weights not loaded yet); imported here
    because the plugin's spec names this module's `run_parity`."""
    from vis_bench.methods.dvis_plus_online.plugin import DVISOnlineOptions, DVISOnlinePlugin
    from vis_bench.methods.families.dvis.model import build_model

    options = DVISOnlineOptions(top_k=fx.max_num)
    return DVISOnlinePlugin(build_model(fx.config), options)


def postprocess_checks(
    report: ParityReport, fx: DVISFixture, run: shared.TrackerRun, post: dict
) -> None:
    """The tracker's whole-video outputs, their time-mean, and the final results."""
    logits = run.video_logits()
    masks = torch.cat(run.masks).transpose(0, 1)  # [Q, T, h, w]
    shared.compare(
        report,
        "post_processing_in",
        {"pred_logits": logits[None], "pred_masks": masks[None]},
        post["post_processing_in"],
    )
    mean = logits.mean(0)
    report.add_tensor(
        "post_processing_out.pred_logits",
        mean[None],
        post["post_processing_out"]["pred_logits"],
        shared.RAW_TOLERANCE,
    )
    shared.replay_authors(report, post)
    final = shared.final_results(fx, mean, masks)
    compare_results(report, "final", final, post["final"])


def harness_results(plugin: Any, fx: DVISFixture, features: list, schedule: tuple) -> dict:
    """The video through the harness's own path: clips of the schedule, the state handed back
    with each (`CarriedState`), frames encoded with the plugin's per-frame mask path."""
    clip_length, stride = schedule
    height, width = (int(v) for v in fx.sizes["orig_size"])
    plugin.input_size = tuple(int(v) for v in fx.sizes["image_size"])
    encoded = EncodedFrames(height, width, plugin.masks_to_video)
    linker = QueryTrackLinker(CarriedState(), plugin.video_predictions, [encoded])
    for window in clip_windows(fx.num_frames, clip_length, stride):
        clip = [features[i] for i in window]
        result = plugin.infer_clip_features(
            clip, state=linker.state, seen=linker.seen_frames(window)
        )
        linker.add_clip(window, result)
    return tracks_as_fixture_results(encoded, linker.finish(), fx.num_frames)


def run_parity(fixture_dir: Path, out_path: Path | None = None) -> ParityReport:
    """Build from meta.json, load state_dict.pt, run features.pt, compare every stored file."""
    base = shared.segmenter_and_tracker(
        fixture_dir, "online", "dvis-plus-online", EXPECTED_FILES, build_plugin
    )
    fx, report, plugin, model = base.fx, base.report, base.plugin, base.model
    present, ranges, windows, run = base.present, base.ranges, base.windows, base.run
    if "postprocess.pt" in present:
        post = fx.file("postprocess.pt")
        postprocess_checks(report, fx, run, post)
        shared.harness_checks(report, plugin, fx, post["final"], harness_results)
    if "synthetic_permuted.pt" in present:
        case = fx.file("synthetic_permuted.pt")
        permuted, _ = shared.synthetic_checks(report, model, windows, ranges, case)
        masks = torch.cat(permuted.masks).transpose(0, 1)
        final = shared.final_results(fx, permuted.video_logits().mean(0), masks)
        compare_results(report, "synthetic_permuted.final", final, case["final"])
    save_produced({"tracker_logits": run.video_logits()}, out_path)
    return report
