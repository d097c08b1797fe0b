"""One frame through DVIS-DAQ's tracker and what it decides for the video's sequences
(`VideoInstanceCutter.inference`, `track_module.py`).

Which queries are valid: on a video's first frame, the segmenter's own (max foreground softmax
> AUX_INFERENCE_SELECT_THRESHOLD); after it, the tracker's last-layer max foreground softmax >
INFERENCE_SELECT_THRESHOLD, for tracks and anchors alike, and with OVIS's test setting
(OVIS_INFER) a track also needs its slot's max foreground softmax > DIS_FG_THRESHOLD. A valid
anchor starts a sequence; a valid track appends the frame and fuses its new position; an
invalid track appends the frame too (marked not appearing, position unchanged) until it has been
invalid for `kick_out_frames` frames in a row, when it dies; an invalid anchor vanishes. The
tracks of the next frame are the sequences carried, in this frame's query order (tracks, then
anchors), which is why the order of the segmenter's queries changes the order of births only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vis_bench.methods.families.dvis_daq.sequences import InstanceSequence, SequenceHub
from vis_bench.methods.families.dvis_daq.tracker import AnchorTracker, SlotOutputs


@dataclass(frozen=True)
class DecisionSettings:
    """The test settings of MODEL.VIDEO_HEAD (names in the comments)."""

    #: INFERENCE_SELECT_THRESHOLD
    select_threshold: float = 0.01
    #: AUX_INFERENCE_SELECT_THRESHOLD (the segmenter's validity, a video's first frame)
    segmenter_threshold: float = 0.01
    #: DIS_FG_THRESHOLD (the slot branch's, read with OVIS_INFER only)
    keep_threshold: float = 0.01
    #: OVIS_INFER
    slot_decides: bool = False
    #: the tracker's `kick_out_frame_num` (a constructor default)
    kick_out_frames: int = 8


@dataclass
class FrameInputs:
    """One frame of the segmenter: embeds [Q, C] (normed), logits [Q, K+1], masks [Q, h, w],
    the raw mask features [C, h, w] and their projection by the tracker [C, h, w]."""

    embeds: torch.Tensor
    logits: torch.Tensor
    masks: torch.Tensor
    mask_features: torch.Tensor
    projected: torch.Tensor


@dataclass
class TrackedFrame:
    """What a frame computed (parity reads all of it; inference only the hub's update).

    outputs [1 + L, n, 1, C] (the queries in, then each layer), logits [1 + L, n, K+1], masks
    [n, h, w] (last layer), track_positions [nt, 1, C] and anchor_positions [Q, 1, C] (query
    positions in, None on the first frame), positions [n, 1, C] (of this frame's masks), scores
    [n] (last-layer max foreground softmax), valid [n], slots (None on the first frame or when
    not asked for) with slot_logits [nt + S, K+1].
    """

    outputs: torch.Tensor
    logits: torch.Tensor
    masks: torch.Tensor
    track_positions: torch.Tensor | None
    anchor_positions: torch.Tensor | None
    positions: torch.Tensor
    scores: torch.Tensor
    valid: torch.Tensor
    slots: SlotOutputs | None = None
    slot_logits: torch.Tensor | None = None


def foreground_scores(logits: torch.Tensor) -> torch.Tensor:
    """Max foreground softmax per row of logits [n, K+1]."""
    return logits.softmax(-1)[:, :-1].max(-1).values


def track_frame(
    tracker: AnchorTracker,
    hub: SequenceHub,
    frame: FrameInputs,
    query_feat: torch.Tensor,
    settings: DecisionSettings,
    with_slots: bool = False,
) -> TrackedFrame:
    """The frame through the tracker from the hub's tracks, then the hub updated in place."""
    memory = frame.embeds[:, None]
    track_positions = anchor_positions = slots = slot_logits = None
    if hub.frames == 0:
        outputs = tracker.refine(memory, memory)
    else:
        carried = hub.track_queries()
        width = memory.shape[-1]
        if carried:
            queries = torch.stack([s.query for s in carried])[:, None]
            track_positions = torch.stack([s.fused_position for s in carried])[:, None]
        else:
            queries = memory.new_zeros(0, 1, width)
            track_positions = memory.new_zeros(0, 1, width)
        anchor_positions = tracker.mask_positions(frame.masks, frame.mask_features)
        inputs = torch.cat([queries, tracker.anchors(memory.shape[0])])
        query_pos = torch.cat([track_positions, anchor_positions])
        outputs = tracker.refine(inputs, memory, query_pos=query_pos, pos=anchor_positions)
        if with_slots or settings.slot_decides:
            slots = tracker.slots(queries, track_positions, memory, query_feat)
            slot_logits = tracker.classify(slots.outputs[:, 0])
    logits = tracker.classify(outputs[:, :, 0])
    masks = tracker.masks(outputs[-1, :, 0], frame.projected)
    positions = tracker.mask_positions(masks, frame.mask_features)
    scores = foreground_scores(logits[-1])
    if hub.frames == 0:
        valid = foreground_scores(frame.logits) > settings.segmenter_threshold
    else:
        valid = scores > settings.select_threshold
        if settings.slot_decides:
            assert slot_logits is not None
            tracks = len(hub.tracks)
            kept = foreground_scores(slot_logits[:tracks]) > settings.keep_threshold
            valid = torch.cat([valid[:tracks] & kept, valid[tracks:]])
    tracked = TrackedFrame(
        outputs, logits, masks, track_positions, anchor_positions, positions, scores, valid,
        slots, slot_logits,
    )  # fmt: skip
    update_hub(hub, tracked, settings.kick_out_frames)
    return tracked


def update_hub(hub: SequenceHub, tracked: TrackedFrame, kick_out_frames: int) -> None:
    """The frame's decisions applied to the video's sequences (see the module docstring)."""
    carried = list(hub.tracks)
    following = []
    last = tracked.outputs[-1, :, 0]
    for k, valid in enumerate(tracked.valid.tolist()):
        sequence = hub.sequences[carried[k]] if k < len(carried) else None
        if sequence is None and not valid:
            continue
        # copies, not views: a row of the frame's outputs [1 + L, n, 1, C] (or logits, or
        # positions) would keep the whole frame's tensor alive for as long as the video's
        # sequences are kept, every layer and every anchor of every frame
        output, logits = last[k].clone(), tracked.logits[-1, k].clone()
        if valid:
            if sequence is None:
                sequence = InstanceSequence(len(hub.sequences), hub.frames, output)
                hub.sequences.append(sequence)
            sequence.append(output, logits, True)
            sequence.invalid_frames = 0
            sequence.update_position(tracked.positions[k, 0].clone())
        else:
            sequence.invalid_frames += 1
            if sequence.invalid_frames >= kick_out_frames:
                sequence.dead = True
                continue
            sequence.append(output, logits, False)
        following.append(sequence.index)
    hub.tracks = following
    hub.frames += 1
