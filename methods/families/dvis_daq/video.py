"""A video's results from DVIS-DAQ's sequences (`run_window_inference`'s end, online).

A sequence that exists on fewer than NOISE_FRAME_NUM frames is dropped unless it reaches the
video's last frame (it may have just appeared). A kept sequence's class logits are the mean of
its per-frame logits over every frame it exists on, valid or not; its mask logits on a frame
are the tracker's mask head on that frame's output, and -1e4 (background) on the frames it does
not exist on. The results are then DVIS++'s `inference_video_vis` (the top MAX_NUM (sequence,
class) pairs); they name sequences by their index among the kept ones.
"""

from __future__ import annotations

import torch

from vis_bench.methods.families.dvis_daq.sequences import InstanceSequence, SequenceHub
from vis_bench.methods.families.dvis_daq.tracker import AnchorTracker

#: NOISE_FRAME_NUM of the released configs
NOISE_FRAMES = 5
#: the mask logit of a frame a sequence does not exist on
ABSENT = -1e4


def kept_sequences(hub: SequenceHub, noise_frames: int = NOISE_FRAMES) -> list[InstanceSequence]:
    """The sequences the video's results are chosen from, in birth order."""
    return [
        s
        for s in hub.sequences
        if s.num_frames >= noise_frames or s.start + s.num_frames >= hub.frames
    ]


def mean_logits(sequences: list[InstanceSequence]) -> torch.Tensor:
    """Each sequence's time-mean class logits [n, K+1]."""
    return torch.stack([torch.stack(s.logits).mean(0) for s in sequences])


def sequence_masks(
    tracker: AnchorTracker,
    sequences: list[InstanceSequence],
    frame_indices: list[int],
    projected: torch.Tensor,
) -> torch.Tensor:
    """Mask logits [n, t, h, w] of the sequences on the video's frames `frame_indices`, whose
    projected mask features are `projected` [t, C, h, w]."""
    n, (t, _, h, w) = len(sequences), projected.shape
    out = projected.new_full((n, t, h, w), ABSENT)
    for j, frame in enumerate(frame_indices):
        rows = [i for i, s in enumerate(sequences) if s.start <= frame < s.start + s.num_frames]
        if not rows:
            continue
        outputs = torch.stack([sequences[i].outputs[frame - sequences[i].start] for i in rows])
        out[rows, j] = tracker.masks(outputs, projected[j])
    return out
