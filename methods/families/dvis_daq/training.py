"""DVIS-DAQ's tracker training (`VideoInstanceCutter.forward`, `FrameMatcher`,
`NewInsHungarianMatcher`, `DAQCriterion` of the authors' `dvis_daq/`).

The segmenter is frozen (eval, no gradient). Per training clip:

- the frame matcher assigns each frame's present instances to the segmenter's queries
  (Hungarian on the Mask2Former cost, absent instances priced out), and gives every query its
  cheapest instance (its *auxiliary* target; -1 for a query neither matched nor above
  AUX_INFERENCE_SELECT_THRESHOLD);
- the tracker runs frame by frame as at inference (decisions.py), its state carried with its
  gradient: the first frame's queries are the segmenter's and take the frame matcher's
  assignment; on each later frame the tracks keep their instances, and the instances present
  and not tracked are assigned among the anchors only (the new-instance matcher);
- which queries go on as tracks: in the first phase (stage 2 of the authors, the first
  INPUT.STEPS of the schedule, on 2-frame clips) the matched queries but the lower-scoring half;
  after it (stage 3) every query whose foreground score passes TRAINING_SELECT_THRESHOLD. A
  track's position is the similarity-guided fusion of its masks' position embeddings;
- the slot branch runs on every frame after the first; in stage 3, when more than 3 tracks hold
  instances, one of them is drawn and the frame's queries whose auxiliary target is its instance
  are hidden from the slots, which must then call it gone;
- losses: every frame's tracker predictions (the input queries and each layer) with the frame's
  assignment, and every later frame's slot predictions (each layer) with the tracks'
  instances; a cross-entropy over all the clip's queries at once ("no object" weighted
  NO_OBJECT_WEIGHT), point-sampled BCE and Dice of the matched queries whose instance is present
  and not called gone, over the clip's assignment count; weights class 2, mask 5, Dice 5 on
  every layer, the slot branch's keys prefixed `slot_`.

The authors' list of the instances that left a frame is shared by the tracker's and the slot
branch's losses of the next frame, so the drawn instance that the slots must call gone is also
"no object" for the tracker's query of that frame when some instance left as well: kept here.
The draws (the 2-frame window's start, the hidden instance) use torch's generator, which the
trainer saves with its state, instead of Python's `random`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

from vis_bench.api.training import ClipTargets
from vis_bench.methods.families.dvis.training import frozen_queries
from vis_bench.methods.families.dvis_daq.decisions import foreground_scores
from vis_bench.methods.families.dvis_daq.model import DAQModel
from vis_bench.methods.families.dvis_daq.sequences import InstanceSequence
from vis_bench.methods.families.mask2former.criterion import (
    Mask2FormerLossConfig,
    VideoSetCriterion,
    build_video_criterion,
    prepare_video_targets,
)
from vis_bench.methods.families.mask2former.matcher import VideoTargets

#: the cost the matchers give a pair they must not choose
FORBIDDEN = 1e6
#: stage 2 / 3 of the authors' `VideoInstanceCutter.forward`
FIRST_PHASE, SECOND_PHASE = 2, 3
#: a random track's instance is hidden from the slots only with more tracked instances than this
MIN_TRACKS_TO_HIDE = 3


@dataclass(frozen=True)
class TrackerTraining:
    """MODEL.VIDEO_HEAD settings of the tracker's training."""

    #: TRAINING_SELECT_THRESHOLD (stage 3: which queries go on as tracks)
    select_threshold: float = 0.02
    #: AUX_INFERENCE_SELECT_THRESHOLD (the frame matcher's valid queries)
    segmenter_threshold: float = 0.01
    #: TRAIN_NUM_POINTS, NO_OBJECT_WEIGHT
    num_points: int = 112 * 112
    no_object_weight: float = 0.1


@dataclass
class FrameAssignment:
    """The frame matcher on one frame: (queries, instances) of its present instances, and each
    query's auxiliary instance [Q] (-1: none)."""

    indices: tuple[torch.Tensor, torch.Tensor]
    auxiliary: torch.Tensor


@dataclass
class Supervised:
    """One frame's predictions of one branch: logits [L', n, K+1], mask logits [L', n, h, w],
    its (queries, instances) and the instances it must call gone."""

    logits: torch.Tensor
    masks: torch.Tensor
    indices: tuple[torch.Tensor, torch.Tensor]
    gone: list[int]
    frame: int


@dataclass
class TrackState:
    """What the next frame reads: the tracks' last outputs [nt, C], their sequences (fused
    positions), their instances ((track positions, instances) of the tracks that hold one) and
    the instances that left at the next frame (None: none did)."""

    queries: torch.Tensor
    sequences: list[InstanceSequence]
    indices: tuple[torch.Tensor, torch.Tensor]
    left: list[int] | None = None
    supervised: list[Supervised] = field(default_factory=list)
    slots: list[Supervised] = field(default_factory=list)


def daq_criterion(num_classes: int, settings: TrackerTraining, layers: int) -> VideoSetCriterion:
    """The Mask2Former criterion with DAQ's weights (its matchers' costs are the same), every
    one of a tracker of `layers` layers' predictions supervised."""
    config = Mask2FormerLossConfig(
        no_object_weight=settings.no_object_weight,
        num_points=settings.num_points,
        dec_layers=layers + 1,
    )
    return build_video_criterion(num_classes, config)


def frame_targets(video: VideoTargets, frame: int) -> VideoTargets:
    """One frame of a clip's targets: masks [N, 1, H, W]."""
    return VideoTargets(video.labels, video.masks[:, [frame]])


def frame_assignment(
    criterion: VideoSetCriterion,
    logits: torch.Tensor,
    masks: torch.Tensor,
    target: VideoTargets,
    present: torch.Tensor,
    threshold: float,
) -> FrameAssignment:
    """`FrameMatcher` on one frame's segmenter predictions: logits [Q, K+1], masks [Q, h, w];
    `present` [N] which instances the frame shows."""
    queries = logits.shape[0]
    if len(target) == 0:
        empty = torch.zeros(0, dtype=torch.long)
        return FrameAssignment((empty, empty.clone()), torch.full((queries,), -1))
    cost = criterion.matcher.cost_matrix(logits, masks[:, None], target).cpu()
    cost[:, ~present.cpu()] = FORBIDDEN
    rows, cols = linear_sum_assignment(cost.numpy())
    order = cols.argsort()
    rows, cols = torch.as_tensor(rows[order]), torch.as_tensor(cols[order])
    keep = present.cpu()[cols]
    rows, cols = rows[keep], cols[keep]
    valid = torch.zeros(queries, dtype=torch.bool)
    valid[rows] = True
    valid |= foreground_scores(logits).cpu() > threshold
    auxiliary = cost.argmin(dim=1)
    auxiliary[rows] = cols
    auxiliary[~valid] = -1
    return FrameAssignment((rows, cols), auxiliary)


def new_instance_indices(
    criterion: VideoSetCriterion,
    logits: torch.Tensor,
    masks: torch.Tensor,
    target: VideoTargets,
    present: torch.Tensor,
    tracked: tuple[torch.Tensor, torch.Tensor],
    anchors: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """`NewInsHungarianMatcher`: the tracks keep their instances; the frame's present instances
    no track holds are assigned among the last `anchors` queries. logits [n, K+1], masks
    [n, h, w]."""
    new = present.cpu().clone()
    new[tracked[1]] = False
    if not bool(new.any()):
        return tracked
    cost = criterion.matcher.cost_matrix(logits, masks[:, None], target).cpu()
    cost[:, ~new] = FORBIDDEN
    cost[:-anchors] = FORBIDDEN
    rows, cols = linear_sum_assignment(cost.numpy())
    order = cols.argsort()
    rows, cols = torch.as_tensor(rows[order]), torch.as_tensor(cols[order])
    chosen = new[cols]
    return torch.cat([tracked[0], rows[chosen]]), torch.cat([tracked[1], cols[chosen]])


def continuing(
    logits: torch.Tensor,
    indices: tuple[torch.Tensor, torch.Tensor],
    phase: int,
    threshold: float,
) -> torch.Tensor:
    """Which of a frame's queries [n] go on as tracks: stage 2 the matched ones but the lower
    half by foreground score, stage 3 those scoring above `threshold`. logits [n, K+1]."""
    scores = foreground_scores(logits.detach()).cpu()
    if phase == SECOND_PHASE:
        return scores > threshold
    rows = indices[0]
    kept = torch.zeros(scores.shape[0], dtype=torch.bool)
    kept[rows] = True
    lowest = torch.argsort(scores[rows])[: len(rows) // 2]
    kept[rows[lowest]] = False
    return kept


def hidden_queries(
    state: TrackState | None, auxiliary: torch.Tensor, phase: int
) -> tuple[torch.Tensor | None, int | None]:
    """Stage 3's disappearance: with more than 3 tracked instances, one drawn at random; the
    frame's queries whose auxiliary instance it is are hidden. -> (mask [Q], its instance)."""
    if state is None or len(state.indices[0]) <= MIN_TRACKS_TO_HIDE:
        return None, None
    pick = int(torch.randint(len(state.indices[0]), ()))
    if phase != SECOND_PHASE:
        return None, None
    instance = int(state.indices[1][pick])
    return auxiliary == instance, instance


def _predict(model: DAQModel, outputs: torch.Tensor, projected: torch.Tensor):
    """Per layer: outputs [L', n, 1, C] -> logits [L', n, K+1], masks [L', n, h, w]."""
    tracker = model.tracker
    logits = tracker.classify(outputs[:, :, 0])
    masks = torch.stack([tracker.masks(layer[:, 0], projected) for layer in outputs])
    return logits, masks


def _next_state(
    model: DAQModel,
    previous: TrackState | None,
    outputs: torch.Tensor,
    masks: torch.Tensor,
    mask_features: torch.Tensor,
    kept: torch.Tensor,
    indices: tuple[torch.Tensor, torch.Tensor],
) -> TrackState:
    """The tracks the next frame reads: the continuing queries' last outputs, their instances,
    their sequences' positions fused with this frame's."""
    instance = torch.full((kept.shape[0],), -1, dtype=torch.long)
    instance[indices[0]] = indices[1]
    positions = model.tracker.mask_positions(masks, mask_features)
    carried = previous.sequences if previous is not None else []
    sequences = []
    for k in torch.nonzero(kept).flatten().tolist():
        sequence = carried[k] if k < len(carried) else InstanceSequence(k, 0, outputs[k])
        sequence.update_position(positions[k, 0])
        sequences.append(sequence)
    picked = instance[kept]
    rows = torch.nonzero(picked >= 0).flatten()
    state = TrackState(outputs[kept], sequences, (rows, picked[rows]))
    if previous is not None:
        state.supervised, state.slots = previous.supervised, previous.slots
    return state


def _tracked_step(
    model: DAQModel,
    state: TrackState,
    queries: Any,
    i: int,
    projected: torch.Tensor,
    auxiliary: torch.Tensor,
    phase: int,
    gone: list,
) -> tuple[torch.Tensor, list]:
    """Frame `i` after the first: the carried tracks and the anchors refined, the slot branch
    run and its supervision kept; the tracker's outputs and the frame's `gone` list (the slot
    branch's, where the authors share one list; module docstring)."""
    tracker = model.tracker
    memory = queries.embeds[i][:, None]
    anchor_pos = tracker.mask_positions(queries.masks[i], queries.mask_features[i])
    track_pos = memory.new_zeros(0, 1, memory.shape[-1])
    if state.sequences:
        track_pos = torch.stack([s.fused_position for s in state.sequences])[:, None]
    inputs = torch.cat([state.queries[:, None], tracker.anchors(memory.shape[0])])
    outputs = tracker.refine(
        inputs, memory, query_pos=torch.cat([track_pos, anchor_pos]), pos=anchor_pos
    )
    hidden, instance = hidden_queries(state, auxiliary, phase)
    slots_count = state.queries.shape[0] + tracker.bg_slots.weight.shape[0]
    mask = None if hidden is None else hidden[None].expand(slots_count, -1).to(memory.device)
    slots = tracker.slots(
        state.queries[:, None], track_pos, memory, model.query_feat.detach(), mask
    )
    slot_gone = gone
    if instance is not None:
        slot_gone = gone + [instance]
        if state.left is not None:
            gone = slot_gone  # the authors' shared list (module docstring)
    assert slots.layers is not None
    logits_s, masks_s = _predict(model, slots.layers, projected)
    state.slots.append(Supervised(logits_s, masks_s, state.indices, slot_gone, i))
    return outputs, gone


def run_tracker(
    model: DAQModel,
    criterion: VideoSetCriterion,
    settings: TrackerTraining,
    queries,
    video: VideoTargets,
    phase: int,
) -> TrackState:
    """The tracker over a clip's frames with its training decisions (module docstring)."""
    tracker = model.tracker
    present = video.masks.flatten(2).any(-1)  # [N, T]
    frames = len(queries)
    assignments = [
        frame_assignment(
            criterion,
            queries.logits[f],
            queries.masks[f],
            frame_targets(video, f),
            present[:, f],
            settings.segmenter_threshold,
        )
        for f in range(frames)
    ]
    projected = tracker.project(queries.mask_features)
    state: TrackState | None = None
    for i in range(frames):
        memory = queries.embeds[i][:, None]
        gone = state.left if state is not None and state.left is not None else []
        if state is None:
            outputs = tracker.refine(memory, memory)
        else:
            auxiliary = assignments[i].auxiliary
            outputs, gone = _tracked_step(
                model, state, queries, i, projected[i], auxiliary, phase, gone
            )
        logits, masks = _predict(model, outputs, projected[i])
        if state is None:
            indices = assignments[0].indices
        else:
            indices = new_instance_indices(
                criterion,
                logits[-1].detach(),
                masks[-1].detach(),
                frame_targets(video, i),
                present[:, i],
                state.indices,
                memory.shape[0],
            )
        supervised = Supervised(logits, masks, indices, gone, i)
        kept = continuing(logits[-1], indices, phase, settings.select_threshold)
        state = _next_state(
            model, state, outputs[-1, :, 0], masks[-1], queries.mask_features[i], kept, indices
        )
        state.supervised.append(supervised)
        following = assignments[i + 1 if i < frames - 1 else -1].indices[1].tolist()
        left = [g for g in state.indices[1].tolist() if g not in following]
        state.left = left or None
    assert state is not None
    return state


def branch_losses(
    criterion: VideoSetCriterion, frames: list[Supervised], video: VideoTargets
) -> dict[str, torch.Tensor]:
    """`DAQCriterion` over one branch's frames: every layer's losses (the last unsuffixed, the
    earlier `_{l}`), unweighted."""
    present = video.masks.flatten(2).any(-1)  # [N, T]
    num_masks = max(1.0, float(sum(len(f.indices[1]) for f in frames)))
    weight = criterion.empty_weight
    layers = frames[0].logits.shape[0]
    losses: dict[str, torch.Tensor] = {}
    for layer in range(layers):
        logits, classes, src, tgt = [], [], [], []
        for f in frames:
            rows, cols = f.indices
            valid = present[cols, f.frame].cpu().clone()
            for instance in f.gone:
                valid[cols == instance] = False
            rows, cols = rows[valid], cols[valid]
            target = torch.full((f.logits.shape[1],), criterion.num_classes, dtype=torch.long)
            target[rows] = video.labels.cpu()[cols]
            logits.append(f.logits[layer])
            classes.append(target)
            src.append(f.masks[layer][rows])
            tgt.append(video.masks[cols, f.frame])
        all_logits = torch.cat(logits).float()
        ce = F.cross_entropy(all_logits, torch.cat(classes).to(all_logits.device), weight)
        if torch.isnan(ce):
            ce = all_logits.sum() * 0.0
        pred = torch.cat(src)
        matched = torch.arange(pred.shape[0])
        target = VideoTargets(matched, torch.cat(tgt)[:, None])
        masks = criterion.loss_masks(
            {"pred_masks": pred[None, :, None]}, [target], [(matched, matched)], num_masks
        )
        suffix = "" if layer == layers - 1 else f"_{layer}"
        losses.update({f"loss_ce{suffix}": ce, **{f"{k}{suffix}": v for k, v in masks.items()}})
    return losses


def short_clip(
    frames: torch.Tensor, targets: ClipTargets, length: int
) -> tuple[torch.Tensor, ClipTargets]:
    """INPUT.USING_FRAME_NUM's first phase: `length` consecutive frames of the clip, starting at
    a draw from 0..length-1 (the authors' draw), moved back to fit."""
    count = frames.shape[0]
    if length <= 0 or length >= count:
        return frames, targets
    start = int(torch.randint(length, ()))
    start = min(start, count - length)
    window = slice(start, start + length)
    return frames[window], ClipTargets(
        targets.labels,
        targets.masks[:, window],
        targets.boxes[:, window],
        targets.valid[:, window],
    )


def tracker_losses(
    model: DAQModel,
    criterion: VideoSetCriterion,
    settings: TrackerTraining,
    frames: torch.Tensor,
    targets: ClipTargets,
    phase: int,
) -> dict[str, torch.Tensor]:
    """The tracker stage on one clip [T, 3, H, W] (module docstring), weighted."""
    padded, queries = frozen_queries(model, frames)
    video = prepare_video_targets(
        [targets],
        tuple(padded.shape[-2:]),
        criterion.num_classes,
        absent_last_frame_is_no_object=False,
    )[0]
    state = run_tracker(model, criterion, settings, queries, video, phase)
    losses = criterion.weighted(branch_losses(criterion, state.supervised, video))
    if state.slots:
        slot = criterion.weighted(branch_losses(criterion, state.slots, video))
        losses.update({f"slot_{k}": v for k, v in slot.items()})
    return losses
