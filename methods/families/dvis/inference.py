"""Running the tracker over a clip with the video's state carried in from earlier clips.

The authors run the segmenter on windows of TEST.WINDOW_SIZE frames and the tracker frame by
frame through each window, keeping its state from one window to the next (`resume=True`): the
tracker never sees a window boundary, so every clip schedule gives the same tracks. The harness
carries the state (`CarriedState`): a clip's result keeps the state each of its frames started
from and the one after its last frame. With overlapping clips, the frames an earlier clip
covered (`seen`, the clip's first frames) start again from the state they started from then
(their first predictions are the ones kept), and the first new frame from the carried state.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vis_bench.methods.families.dvis.segmenter import FrameQueries
from vis_bench.methods.families.dvis.tracker import ReferringTracker, TrackerState


@dataclass
class CarriedTracks:
    """A video's tracker state after a clip: the state each of the clip's frames started from
    (None for a video's first frame) and the state after its last frame."""

    entering: list[TrackerState | None]
    next: TrackerState


@dataclass
class TrackedClip:
    """The tracker's outputs on a clip, frames first, tracks in the video's fixed order.

    outputs [T, Q, 2C]: the last layer's outputs (before `decoder_norm`; the refiner's input);
    references [T, Q, 2C]; indices [T, Q]: the segmenter query continuing each track.
    """

    outputs: torch.Tensor
    references: torch.Tensor
    indices: torch.Tensor


def starting_state(
    state: CarriedTracks | None, seen: int, index: int, previous: TrackerState | None
) -> TrackerState | None:
    """The state frame `index` of a clip starts from (see the module docstring)."""
    if state is None:
        if seen:
            raise ValueError("a clip with frames an earlier clip covered needs that clip's state")
        return previous
    if seen > len(state.entering):
        raise ValueError(f"{seen} frames seen before, the carried state covers fewer")
    if index < seen:
        return state.entering[len(state.entering) - seen + index]
    return state.next if index == seen else previous


def track_clip(
    tracker: ReferringTracker,
    queries: FrameQueries,
    state: CarriedTracks | None,
    seen: int = 0,
) -> tuple[TrackedClip, CarriedTracks]:
    """Each frame of the clip through the tracker, in order, from the carried state."""
    outputs, references, indices = [], [], []
    entering: list[TrackerState | None] = []
    current: TrackerState | None = None
    for index in range(len(queries)):
        current = starting_state(state, seen, index, current)
        entering.append(current)
        frame, current = tracker.step(
            queries.embeds[index][:, None], queries.embeds_no_norm[index][:, None], current
        )
        outputs.append(frame.outputs[-1, :, 0])
        references.append(frame.reference[:, 0])
        indices.append(frame.indices)
    assert current is not None
    tracked = TrackedClip(torch.stack(outputs), torch.stack(references), torch.stack(indices))
    return tracked, CarriedTracks(entering, current)


def clip_predictions(
    tracker: ReferringTracker, tracked: TrackedClip, mask_features: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The tracker's last-layer predictions: logits [T, Q, K+1] and, with the clip's mask
    features [T, C, h, w], mask logits [T, Q, h, w] (None without)."""
    if mask_features is None:
        normed = tracker.decoder_norm(tracked.outputs)
        refs = tracked.references
        return tracker.class_embed(torch.cat([refs, normed], dim=-1)), None
    logits, masks = tracker.predict(tracked.outputs[:, None], tracked.references, mask_features)
    return logits[0], masks[0]
