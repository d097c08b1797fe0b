"""DVIS-DAQ online parity against fixtures made with the authors' code (zhang-tao-whu/DVIS_Plus,
DVIS_DAQ/).

Layout: tests/fixtures/golden/dvis_daq_online/README.md; tolerances:
`tolerance` of methods/families/dvis_daq/parity.py. The reduced network is
built from meta.json, the fixture's weights loaded with their keys and order checked, and the
stored backbone outputs run through: the segmenter on the authors' windows of 5, the tracker
frame by frame (also replayed on the authors' own segmenter outputs), the video's outputs, the
authors' post-processing replayed on their own inputs (identical results), the final results of
this network, the synthetic case with permuted queries, and the harness's path (clips carrying
the video's sequences, the results chosen at its end, masks in a second pass) under several
clip schedules (`refined_harness_results` of methods/families/dvis/parity.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from vis_bench.methods.families.dvis import parity as dvis_parity
from vis_bench.methods.families.dvis_daq import parity as shared
from vis_bench.methods.families.dvis_daq.fixtures import DAQFixture
from vis_bench.methods.families.dvis_daq.video import kept_sequences, mean_logits
from vis_bench.parity import ParityReport, compare_results, save_produced

EXPECTED_FILES = ("segmenter.pt", "tracker.pt", "postprocess.pt", "synthetic_permuted.pt")


def build_plugin(fx: DAQFixture) -> Any:
    """The plugin around the fixture's reduced network and test settings (weights not loaded
    yet); imported here because the plugin's spec names this module's `run_parity`."""
    from vis_bench.methods.dvis_daq_online.plugin import DAQOnlineOptions, DAQOnlinePlugin
    from vis_bench.methods.families.dvis_daq.model import build_model

    options = DAQOnlineOptions(**fx.test_options())
    return DAQOnlinePlugin(build_model(fx.config), options)


def final_of(fx: DAQFixture, model: Any, run: shared.TrackerRun) -> dict:
    """The video's final results from a tracker run (`inference_video_vis`)."""
    outputs = shared.video_outputs(model, fx, run)
    return dvis_parity.final_results(
        fx,  # type: ignore[arg-type]
        outputs["pred_logits"][0],
        outputs["pred_masks"][0],
    )


def run_parity(fixture_dir: Path, out_path: Path | None = None) -> ParityReport:
    """Build from meta.json, load state_dict.pt, run features.pt, compare every stored file."""
    base = shared.segmenter_and_tracker(
        fixture_dir, "online", "dvis-daq-online", EXPECTED_FILES, build_plugin
    )
    fx, report, plugin, model, run = base.fx, base.report, base.plugin, base.model, base.run
    if "postprocess.pt" in base.present:
        post = fx.file("postprocess.pt")
        outputs = shared.video_outputs(model, fx, run)
        shared.postprocess_checks(report, plugin, fx, post, outputs, final_of(fx, model, run))
    if "synthetic_permuted.pt" in base.present:
        case = fx.file("synthetic_permuted.pt")
        permuted = shared.synthetic_run(model, fx, base.windows, base.ranges, case)
        shared.synthetic_frame_checks(report, permuted, case)
        compare_results(
            report, "synthetic_permuted.final", final_of(fx, model, permuted), case["final"]
        )
    sequences = kept_sequences(run.hub, fx.noise_frames)
    logits = mean_logits(sequences) if sequences else torch.zeros(0)
    save_produced({"sequence_logits": logits}, out_path)
    return report
