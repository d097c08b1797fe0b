"""DVIS-DAQ offline parity against fixtures made with the authors' code (zhang-tao-whu/DVIS_Plus,
DVIS_DAQ/).

Layout: tests/fixtures/golden/dvis_daq_offline/README.md; tolerances:
`tolerance` of methods/families/dvis_daq/parity.py. As the online check
(methods/dvis_daq_online/parity.py) up to the tracker, with OVIS's decision rule; then the
refiner's instances (the top-k of the tracked sequences in torch's `topk(sorted=False)` order,
the naive link of the segmenter and its matching, the padded embeddings), the refiner's outputs,
the authors' post-processing replayed on their own inputs, the final results (the refiner's
scores alone), the synthetic case with permuted queries and the harness's path under several
clip schedules. The authors' random sequence ids are compared through the sequences they name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from vis_bench.methods.dvis_daq_offline.instances import GatheredVideo, RefinerInputs
from vis_bench.methods.families.dvis import parity as dvis_parity
from vis_bench.methods.families.dvis.segmenter import FrameQueries
from vis_bench.methods.families.dvis_daq import parity as shared
from vis_bench.methods.families.dvis_daq.fixtures import DAQFixture
from vis_bench.methods.families.dvis_daq.video import sequence_masks
from vis_bench.parity import ParityReport, compare_results, save_produced

EXPECTED_FILES = (
    "segmenter.pt",
    "tracker.pt",
    "offline.pt",
    "postprocess.pt",
    "synthetic_permuted.pt",
)
#: the authors' id of the i-th (from 1) naive-linked instance of a video starting at frame 0
NAIVE_ID_BASE, NAIVE_ID_STEP = 10000 * 10000, 1000


def build_plugin(fx: DAQFixture) -> Any:
    """The plugin around the fixture's reduced network and test settings (weights not loaded
    yet); imported here because the plugin's spec names this module's `run_parity`."""
    from vis_bench.methods.dvis_daq_offline.plugin import DAQOfflineOptions, DAQOfflinePlugin
    from vis_bench.methods.families.dvis_daq.model import build_model

    assert fx.refiner_layers is not None
    options = DAQOfflineOptions(
        num_classes=fx.config.num_classes,
        refiner_layers=fx.refiner_layers,
        offline_top_k=fx.offline_top_k,
        **fx.test_options(),
    )
    return DAQOfflinePlugin(build_model(fx.config, fx.refiner_layers), options)


def gathered(run: shared.TrackerRun, windows: list[FrameQueries]) -> GatheredVideo:
    """The video as the first pass gathers it."""
    video = GatheredVideo(hub=run.hub)
    for queries in windows:
        video.embeds += list(queries.embeds)
        video.logits += list(queries.logits)
    return video


def instance_masks(
    model: Any, inputs: RefinerInputs, run: shared.TrackerRun, windows: list[FrameQueries]
) -> torch.Tensor:
    """The online masks of the refiner's instances [N, T, h, w]: a tracked sequence's (-1e4
    where absent), a linked query's segmenter masks along its link."""
    frames = list(range(run.hub.frames))
    tracked = [s for s in inputs.sequences if s is not None]
    with torch.no_grad():
        masks = sequence_masks(model.tracker, tracked, frames, run.projected)
    segmenter = torch.cat([q.masks for q in windows])  # [T, Q, h, w]
    linked = [q for q in inputs.linked if q >= 0]
    if linked and inputs.naive is not None:
        order = inputs.naive.order[:, linked]  # [T, n]
        picked = segmenter[torch.arange(len(frames))[:, None], order].transpose(0, 1)
        masks = torch.cat([masks, picked])
    return masks


def birth_order_ids(tracker: dict) -> list[int]:
    """The authors' sequence ids in birth order: each frame's sequences in their dict's order,
    first appearances kept (the final dict has lost the sequences that died, which the authors
    drop after the video)."""
    ids: dict[int, None] = {}
    for frame in tracker["frames"]:
        for entry in frame["hub_after"]:
            ids.setdefault(int(entry["seq_id"]), None)
    return list(ids)


def seq_ids(inputs: RefinerInputs, hub_ids: list[int]) -> list[int]:
    """The authors' ids of the instances: a tracked sequence's random id (`hub_ids`, birth
    order), the i-th linked one's formula."""
    out = [hub_ids[s.index] for s in inputs.sequences if s is not None]
    linked = sum(1 for q in inputs.linked if q >= 0)
    return out + [NAIVE_ID_BASE + i * NAIVE_ID_STEP for i in range(1, linked + 1)]


class Refined:
    """A refiner run on a tracker run: inputs, outputs, logits, masks, final results."""

    def __init__(self, base_plugin: Any, fx: DAQFixture, run: shared.TrackerRun, windows: list):
        from vis_bench.methods.dvis_daq_offline.plugin import refine

        model = base_plugin.model
        video = gathered(run, windows)
        self.frame_embeds = video.frame_embeds()  # [T, Q, C], what the refiner attends to
        with torch.no_grad():
            refiner = refine(model, video, base_plugin.options)
            self.inputs, self.output = refiner.inputs, refiner.output
            normed, self.logits = refiner.normed, refiner.logits
            raw = torch.cat([q.mask_features for q in windows])
            self.masks = model.refiner.mask_logits(normed, raw).transpose(0, 1)
            self.online_masks = instance_masks(model, self.inputs, run, windows)
        self.segmenter_masks = torch.cat([q.masks for q in windows])  # [T, Q, h, w]
        self.final = dvis_parity.final_results(fx, self.logits, self.masks)  # type: ignore[arg-type]


def offline_checks(
    report: ParityReport, fx: DAQFixture, refined: Refined, stored: dict, hub_ids: list[int]
) -> None:
    """offline.pt: the refiner's instances, the naive link, the refiner's outputs."""
    inputs, frames = refined.inputs, fx.num_frames
    common = {
        "online_pred_logits": inputs.online_logits[None],
        "online_pred_masks": refined.online_masks[None],
        "instance_embeds": inputs.instance_embeds.permute(2, 0, 1)[None],
        "padding_masks": inputs.padding[None],
    }
    shared.compare(report, "common_out", common, stored["common_out"])
    ids = seq_ids(inputs, hub_ids)
    theirs = [int(i) for i in stored["common_out"]["seq_id_list"]]
    report.add_exact("common_out.seq_id_list", ids == theirs, str(theirs))
    calls = stored["common_out"].get("topk_calls") or []
    report.add_exact("common_out.topk_calls", len(calls) == len(inputs.topk_calls), str(len(calls)))
    for i, (call, mine) in enumerate(zip(calls, inputs.topk_calls, strict=False)):
        scores, k, values, indices = mine
        report.add_tensor(f"topk_calls[{i}].input", scores, call["input"], shared.RAW_TOLERANCE)
        report.add_exact(f"topk_calls[{i}].k", k == int(call["k"]), str(call["k"]))
        same = torch.equal(indices, call["indices"].long())
        report.add_exact(f"topk_calls[{i}].indices (order)", same, str(call["indices"].tolist()))
    naive = inputs.naive
    if naive is not None and "naive_link" in stored:
        frames_index = torch.arange(frames)[:, None]
        linked_masks = refined.segmenter_masks[frames_index, naive.order].transpose(0, 1)
        link = {
            "pred_logits": naive.logits[None],
            "pred_masks": linked_masks[None],
            "pred_embds": naive.embeds.transpose(0, 1)[None],
        }
        shared.compare(report, "naive_link", link, stored["naive_link"])
        matching = stored.get("naive_link_matching") or []
        report.add_exact("naive_link_matching.frames", len(matching) == len(naive.costs))
        for t, (cost, entry) in enumerate(zip(naive.costs, matching, strict=False)):
            report.add_tensor(
                f"naive_link_matching[{t}].cost_T", cost, entry["cost_T"], shared.RAW_TOLERANCE
            )
            same = torch.equal(naive.order[t + 1], torch.as_tensor(entry["indices"]).long())
            report.add_exact(f"naive_link_matching[{t}].indices", same)
    outputs = {
        "instance_embeds": inputs.instance_embeds.permute(2, 0, 1)[None],
        "padding_mask": inputs.padding[None],
        "pred_logits": refined.logits[None, None].expand(1, frames, -1, -1),
        "pred_masks": refined.masks[None],
        "pred_embds": refined.output.permute(2, 0, 1)[None],
        "frame_embeds": refined.frame_embeds.permute(2, 0, 1)[None],
    }
    shared.compare(report, "refiner", outputs, stored["refiner"])


def run_parity(fixture_dir: Path, out_path: Path | None = None) -> ParityReport:
    """Build from meta.json, load state_dict.pt, run features.pt, compare every stored file."""
    base = shared.segmenter_and_tracker(
        fixture_dir, "offline", "dvis-daq-offline", EXPECTED_FILES, build_plugin
    )
    fx, report, plugin, run = base.fx, base.report, base.plugin, base.run
    refined = Refined(plugin, fx, run, base.windows)
    hub_ids: list[int] = []
    if "tracker.pt" in base.present:
        hub_ids = birth_order_ids(fx.file("tracker.pt"))
    if "offline.pt" in base.present and hub_ids:
        offline_checks(report, fx, refined, fx.file("offline.pt"), hub_ids)
    if "postprocess.pt" in base.present:
        post = fx.file("postprocess.pt")
        outputs = {"pred_logits": refined.logits[None], "pred_masks": refined.masks[None]}
        shared.postprocess_checks(report, plugin, fx, post, outputs, refined.final)
    if "synthetic_permuted.pt" in base.present:
        case = fx.file("synthetic_permuted.pt")
        shuffled = dvis_parity.permuted(base.windows, base.ranges, case["permutations"].long())
        permuted = shared.run_tracker(plugin.model, fx, shuffled)
        shared.synthetic_frame_checks(report, permuted, case)
        again = Refined(plugin, fx, permuted, shuffled)
        naive = again.inputs.naive
        if naive is not None:
            perms = case["permutations"].long()
            undone = all(
                torch.equal(perms[t][naive.order[t]], torch.arange(perms.shape[1]))
                for t in range(1, perms.shape[0])
            )
            report.add_exact("synthetic_permuted.naive link undoes the permutations", undone)
        if isinstance(case.get("refiner_pred_logits"), torch.Tensor):
            logits = again.logits[None, None].expand(1, fx.num_frames, -1, -1)
            report.add_tensor(
                "synthetic_permuted.refiner_pred_logits",
                logits,
                case["refiner_pred_logits"],
                shared.RAW_TOLERANCE,
            )
        compare_results(report, "synthetic_permuted.final", again.final, case["final"])
    save_produced({"refiner_logits": refined.logits}, out_path)
    return report
