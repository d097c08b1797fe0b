"""IFC's authors' video loop, kept as the reference the parity fixtures and tests compare with.

Not the inference path: the harness runs IFC like every method, `infer_clip` per window of the
shared schedule. This loop differs only where the authors' `Ifc.forward` does: the backbone runs
once per video and each clip re-slices its features, and matching uses the authors' arithmetic
(float32 element-wise soft IoU, `IFC_AUTHORS` below). Schedule, matching, averaging, resize,
threshold and encoding are the harness's own (schedule.py, stitching.py, finalise.py); the mean
mask logits are kept as well, for the fixtures' `video_interim_mask_logits`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from vis_bench.api.output import TrackSummary
from vis_bench.methods.ifc.postprocess import ClipInstances, class_predictions, filter_clip
from vis_bench.parity import (
    MATCH_THRESHOLD,
    Arithmetic,
    ClipMatch,
    ClipStitcher,
    EncodedFrames,
    MeanMasks,
    TrackPostprocessing,
    clip_windows,
)

ClipOutputs = Callable[[list[int]], dict[str, Any]]

#: IFC's `Videos` matching bit for bit: float32 element-wise soft IoU over broadcast
#: [stored, new, frames, h*w] products, class probabilities summed in float32
IFC_AUTHORS = Arithmetic("ifc-authors", torch.float32, elementwise=True)


@dataclass
class LoopOutput:
    """What one video's loop produced: results.json entries, every clip's kept instances and
    matching decision, the tracks (mean score and class probabilities) and their mean mask
    logits `[tracks, L, h, w]` (NaN where not predicted)."""

    results: list[dict[str, Any]]
    clips: list[tuple[ClipInstances, ClipMatch]]
    tracks: list[TrackSummary]
    interim_mask_logits: torch.Tensor


@dataclass(frozen=True)
class LoopSettings:
    """The authors' inference settings (configs/base_ytvis.yaml, MODEL.IFC)."""

    window: int = 5
    stride: int = 1
    num_classes: int = 40
    match_threshold: float = MATCH_THRESHOLD
    apply_cls_thres: float = 0.01
    multi_cls: bool = True


def run_authors_loop(
    clip_outputs: ClipOutputs,
    video_length: int,
    settings: LoopSettings,
    interim_size: tuple[int, int],
    orig_size: tuple[int, int],
    video_id: int,
) -> LoopOutput:
    """Drive the schedule: `clip_outputs(frame_idx)` gives one clip's raw network outputs."""
    windows = clip_windows(video_length, settings.window, settings.stride)
    kept = MeanMasks()
    encoded = EncodedFrames(*orig_size)
    stitcher = ClipStitcher.for_schedule(
        windows,
        video_length,
        threshold=settings.match_threshold,
        class_aware=False,
        sinks=[kept, encoded],
        arithmetic=IFC_AUTHORS,
    )
    log = []
    for window in windows:
        out = clip_outputs(list(window))
        inst = filter_clip(
            out["pred_logits"],
            out["pred_masks"],
            list(window),
            settings.num_classes,
            out.get("mask_queries"),
        )
        log.append((inst, stitcher.add_clip(window, inst.clip_result())))
    tracks = stitcher.finish()
    post = TrackPostprocessing(
        track_predictions=lambda track: class_predictions(
            track.class_probs, settings.multi_cls, settings.apply_cls_thres
        )
    )
    results = encoded.results(tracks, video_id, video_length, post)
    interim = kept.stacked(len(tracks), video_length, tuple(interim_size))
    return LoopOutput(results, log, tracks, interim)


@torch.no_grad()
def authors_loop_results(
    plugin: Any,
    frames: torch.Tensor,
    video_id: int,
    orig_size: tuple[int, int] | None = None,
    window: int | None = None,
    stride: int | None = None,
) -> list[dict[str, Any]]:
    """The authors' loop with an IFC plugin's network and options on preprocessed frames
    `[L, 3, H, W]` -> results.json entries (the reference `infer_clip` is checked against)."""
    net = plugin.model.detr
    options = plugin.options
    length, _, h, w = frames.shape
    feats = net.forward_pre_backbone(frames)
    keep = ("res3", "res4", "res5")
    settings = LoopSettings(
        window=int(window or options.window),
        stride=int(stride or options.stride),
        num_classes=plugin.cfg.num_classes,
        match_threshold=float(options.match_threshold),
        apply_cls_thres=float(options.apply_cls_thres),
        multi_cls=bool(options.multi_cls),
    )
    output = run_authors_loop(
        lambda idx: net.forward_post_backbone({k: feats[k][idx] for k in keep}),
        length,
        settings,
        (math.ceil(h / 8), math.ceil(w / 8)),
        tuple(orig_size or (h, w)),
        video_id,
    )
    return output.results
