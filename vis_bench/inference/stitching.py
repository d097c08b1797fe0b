"""Clip stitching: turning per-clip instances into video-level tracks by space-time soft IoU.

This is the method-independent version of IFC's near-online matching (ifc.md §8.3-8.4): a new
clip's instances are compared with the tracks stored in the last T clips over the frames both
cover, one soft IoU over the whole intersecting volume per stored clip, averaged over the stored
clips in which the track appears; Hungarian assignment keeps pairs scoring above 0.05. Matching
is category-aware by default (an instance only continues a track of its own category), because
methods such as SeqFormer emit the same query once per top class.

Memory grows with tracks x frames (one running mask sum per track and frame) plus the last T
clips' masks for matching, never with the number of clips squared.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from vis_bench.plugin import ClipResult

MATCH_THRESHOLD = 0.05
EPS = 1e-6


@dataclass
class VideoTrack:
    """A video-level instance.

    masks: per frame, the mean over the clips that predicted it of the mask logits (when the
    method gave them) or probabilities; None where no clip predicted the track. A pixel is
    foreground where the (resized) value exceeds `mask_threshold` (0 for logits, 0.5 for
    probabilities). class_probs: the mean class distribution over the track's clips, if given.
    """

    track_id: int
    label: int
    score: float
    masks: list[torch.Tensor | None]
    mask_threshold: float = 0.5
    class_probs: torch.Tensor | None = None


@dataclass
class _TrackState:
    label: int
    scores: list[float] = field(default_factory=list)
    mask_sum: dict[int, torch.Tensor] = field(default_factory=dict)
    mask_count: dict[int, int] = field(default_factory=dict)
    class_prob_sum: torch.Tensor | None = None


@dataclass
class _StoredClip:
    frames: list[int]
    track_ids: list[int]
    masks: torch.Tensor  # [N, t, h, w] mask probabilities of the tracks stored in this clip


class ClipStitcher:
    """Accumulates clips of one video (in schedule order) into tracks."""

    def __init__(
        self,
        num_frames: int,
        history: int,
        threshold: float = MATCH_THRESHOLD,
        class_aware: bool = True,
    ):
        self.num_frames = num_frames
        self.threshold = threshold
        self.class_aware = class_aware
        self._history: deque[_StoredClip] = deque(maxlen=max(1, history))
        self._tracks: list[_TrackState] = []
        self._covered: set[int] = set()
        self._logits: bool | None = None

    def add_clip(self, frames: range | list[int], result: ClipResult) -> list[int]:
        """Match the clip's instances to tracks (or open new ones); returns their track ids."""
        frames = list(frames)
        masks = result.masks.detach().float().cpu()
        if masks.ndim != 4 or masks.shape[1] != len(frames):
            raise ValueError(
                f"ClipResult.masks must be [N, T={len(frames)}, h, w], got {tuple(masks.shape)}"
            )
        labels = [int(v) for v in result.labels.tolist()]
        scores = [float(v) for v in result.scores.tolist()]
        uses_logits = result.mask_logits is not None
        if self._logits is None:
            self._logits = uses_logits
        elif self._logits != uses_logits:
            raise ValueError("a method must give mask_logits for every clip of a video or none")
        accumulated = result.mask_logits.detach().float().cpu() if uses_logits else masks
        class_probs = None
        if result.class_probs is not None:
            class_probs = result.class_probs.detach().double().cpu()
        assignment = self._match(frames, masks, labels)
        track_ids = []
        for i in range(len(scores)):
            track_id = assignment.get(i)
            if track_id is None:
                track_id = len(self._tracks)
                self._tracks.append(_TrackState(label=labels[i]))
            state = self._tracks[track_id]
            state.scores.append(scores[i])
            if class_probs is not None:
                if state.class_prob_sum is None:
                    state.class_prob_sum = class_probs[i].clone()
                else:
                    state.class_prob_sum += class_probs[i]
            for k, frame in enumerate(frames):
                if frame in state.mask_sum:
                    state.mask_sum[frame] += accumulated[i, k]
                    state.mask_count[frame] += 1
                else:
                    state.mask_sum[frame] = accumulated[i, k].clone()
                    state.mask_count[frame] = 1
            track_ids.append(track_id)
        self._history.append(_StoredClip(frames, track_ids, masks))
        self._covered.update(frames)
        return track_ids

    def _match(self, frames: list[int], masks: torch.Tensor, labels: list[int]) -> dict[int, int]:
        shared = [f for f in frames if f in self._covered]
        if not shared or masks.shape[0] == 0 or not self._tracks:
            return {}
        num_tracks = len(self._tracks)
        siou_sum = torch.zeros(num_tracks, masks.shape[0], dtype=torch.float64)
        appearances = torch.zeros(num_tracks, dtype=torch.float64)
        new_index = {f: k for k, f in enumerate(frames)}
        for stored in self._history:
            common = [f for f in stored.frames if f in new_index and f in self._covered]
            if not common or not stored.track_ids:
                continue
            old_pos = [stored.frames.index(f) for f in common]
            new_pos = [new_index[f] for f in common]
            p = stored.masks[:, old_pos].flatten(1).double()  # [S, J*h*w]
            r = masks[:, new_pos].flatten(1).double()  # [N, J*h*w]
            inter = p @ r.T
            union = p.sum(1, keepdim=True) + r.sum(1)[None, :] - inter
            siou = inter / (union + EPS)
            ids = torch.tensor(stored.track_ids)
            siou_sum.index_add_(0, ids, siou)
            appearances.index_add_(0, ids, torch.ones(len(ids), dtype=torch.float64))
        score = (siou_sum / (appearances[:, None] + EPS)).numpy()
        if self.class_aware:
            track_labels = np.array([t.label for t in self._tracks])
            score = score * (track_labels[:, None] == np.array(labels)[None, :])
        score = score * (score > self.threshold)
        rows, cols = linear_sum_assignment(score, maximize=True)
        return {
            int(c): int(r) for r, c in zip(rows, cols, strict=True) if score[r, c] > self.threshold
        }

    def tracks(self) -> list[VideoTrack]:
        """Final tracks: masks averaged over the clips that predicted each frame, mean score."""
        out = []
        threshold = 0.0 if self._logits else 0.5
        for track_id, state in enumerate(self._tracks):
            masks: list[torch.Tensor | None] = [None] * self.num_frames
            for frame, total in state.mask_sum.items():
                masks[frame] = total / state.mask_count[frame]
            clips = len(state.scores)
            score = float(sum(state.scores) / clips)
            class_probs = None if state.class_prob_sum is None else state.class_prob_sum / clips
            out.append(VideoTrack(track_id, state.label, score, masks, threshold, class_probs))
        return out
