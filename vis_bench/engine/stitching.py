"""Clip stitching: turning per-clip instances into video-level tracks by space-time soft IoU.

This is a near-online method's matching, made the harness's and shared by every method: a new
clip's instances are compared with the tracks stored in the last T clips over the frames both
cover, one soft IoU over the whole intersecting volume per stored clip, averaged over the stored
clips in which the track appears; Hungarian assignment keeps pairs scoring above 0.05. Matching
is category-aware by default (an instance only continues a track of its own category), because
a method may emit the same query once per top class.

Streaming: given the clip schedule, a frame is final once no later clip covers it. The stitcher
then hands each track's mean mask of that frame to its sinks (`finalise.EncodedFrames` resizes,
thresholds and RLE-encodes it) and drops it. It holds the last T clips' masks (for matching) and
the running sums of the frames later clips can still reach, so under a near-online schedule its
float tensors do not grow with the video's length; per track it keeps a score sum and a class
probability sum. Without a schedule every frame stays until `finish()`.

Device: the arithmetic runs where the method's masks are (a GPU's masks stay on it); only the
small matrices the Hungarian assignment needs, and the clip's labels and scores, go to the host.

Arithmetic: `HARNESS` computes soft IoU in float64 with one matrix product per stored clip. An
`Arithmetic(dtype, elementwise=True)` sums float element-wise over broadcast
`[stored, new, frames, h*w]` products instead, and sums class probabilities in that dtype: a
method's parity reference declares one to reproduce its authors' own matching bit for bit
(declared beside that method, in its own package). It allocates stored x new x frames x h x w
temporaries as such code does, so the harness itself never uses it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import torch
from scipy.optimize import linear_sum_assignment

from vis_bench.api.output import TrackSummary
from vis_bench.api.plugin import ClipResult

MATCH_THRESHOLD = 0.05
EPS = 1e-6


@dataclass(frozen=True)
class Arithmetic:
    """How soft IoU and class probabilities are computed (see the module docstring)."""

    name: str
    dtype: torch.dtype
    elementwise: bool

    @property
    def mask_dtype(self) -> torch.dtype:
        """The dtype soft IoU reads masks in: float64 for the matrix product, float32 summed
        element-wise (the authors' code)."""
        return torch.float32 if self.elementwise else torch.float64


HARNESS = Arithmetic("harness", torch.float64, elementwise=False)


@dataclass
class VideoTrack(TrackSummary):
    """A track with its mean masks: per frame, the mean over the clips that predicted it of the
    mask logits (when the method gave them) or probabilities; None where no clip did."""

    masks: list[torch.Tensor | None] = field(default_factory=list)


@dataclass
class ClipMatch:
    """What matching decided for one clip (a parity reference compares it with the authors')."""

    frames: list[int]
    siou: torch.Tensor  # [tracks before, N] averaged soft IoU, before thresholding
    rows: list[int]  # Hungarian assignment on the thresholded matrix
    cols: list[int]
    tracks_before: int
    tracks_after: int
    track_ids: list[int]  # the track each of the clip's instances went to


class FrameSink(Protocol):
    """Receives a frame once it is final: mean mask per track id (ascending)."""

    def frame_final(self, frame: int, masks: dict[int, torch.Tensor], threshold: float) -> None: ...


class MeanMasks:
    """A sink that keeps every final mean mask (the non-streaming view: tests, parity)."""

    def __init__(self) -> None:
        self.masks: dict[int, dict[int, torch.Tensor]] = {}

    def frame_final(self, frame: int, masks: dict[int, torch.Tensor], threshold: float) -> None:
        for track_id, mask in masks.items():
            self.masks.setdefault(track_id, {})[frame] = mask

    def tracks(self, summaries: list[TrackSummary], num_frames: int) -> list[VideoTrack]:
        out = []
        for s in summaries:
            kept = self.masks.get(s.track_id, {})
            masks = [kept.get(frame) for frame in range(num_frames)]
            out.append(
                VideoTrack(s.track_id, s.label, s.score, s.mask_threshold, s.class_probs, masks)
            )
        return out

    def stacked(
        self, num_tracks: int, num_frames: int, size: tuple[int, int] | None = None
    ) -> torch.Tensor:
        """`[tracks, frames, h, w]`, NaN where a track was never predicted (the authors' layout)."""
        shape = next((m.shape for kept in self.masks.values() for m in kept.values()), size)
        out = torch.full((num_tracks, num_frames, *(shape or (0, 0))), float("nan"))
        for track_id, kept in self.masks.items():
            for frame, mask in kept.items():
                out[track_id, frame] = mask
        return out


@dataclass
class _TrackState:
    label: int
    score_sum: float = 0.0
    clips: int = 0
    class_prob_sum: torch.Tensor | None = None
    mask_sum: dict[int, torch.Tensor] = field(default_factory=dict)
    mask_count: dict[int, int] = field(default_factory=dict)


@dataclass
class _StoredClip:
    frames: list[int]
    track_ids: list[int]
    masks: torch.Tensor  # [N, t, h, w] mask probabilities of the tracks stored in this clip


def _storage_bytes(tensor: torch.Tensor) -> int:
    """Bytes a held tensor keeps alive (its whole storage, even when it is a view)."""
    return int(tensor.untyped_storage().nbytes())


class ClipStitcher:
    """Accumulates clips of one video (in schedule order) into tracks."""

    def __init__(
        self,
        num_frames: int,
        history: int,
        threshold: float = MATCH_THRESHOLD,
        class_aware: bool = True,
        *,
        schedule: Sequence[range | Sequence[int]] | None = None,
        sinks: Sequence[FrameSink] = (),
        arithmetic: Arithmetic = HARNESS,
    ):
        self.num_frames = num_frames
        self.threshold = threshold
        self.class_aware = class_aware
        self.arithmetic = arithmetic
        self._history: deque[_StoredClip] = deque(maxlen=max(1, history))
        self._tracks: list[_TrackState] = []
        self._covered: set[int] = set()
        self._logits: bool | None = None
        self._kept = MeanMasks() if not sinks else None
        self._sinks: list[FrameSink] = list(sinks) if sinks else [self._kept]  # type: ignore[list-item]
        self._schedule = [list(w) for w in schedule] if schedule is not None else None
        self._final_after = _final_frames(self._schedule) if self._schedule else {}
        self._pending: dict[int, list[int]] = {}  # frame -> track ids with a running sum there
        self._clips = 0
        self._held_tensors = 0
        self._held_bytes = 0
        self.peak_tensors = 0
        self.peak_bytes = 0

    @classmethod
    def for_schedule(
        cls, windows: Sequence[range], num_frames: int | None = None, **options
    ) -> ClipStitcher:
        """A streaming stitcher for `windows` (clip_windows' output): frames finalised early."""
        length = num_frames if num_frames is not None else (windows[-1].stop if windows else 0)
        history = len(windows[0]) if windows else 1
        return cls(length, history, schedule=windows, **options)

    @property
    def num_tracks(self) -> int:
        return len(self._tracks)

    def held(self) -> tuple[int, int]:
        """(number, bytes) of the float tensors the stitcher holds now."""
        return self._held_tensors, self._held_bytes

    def add_clip(self, frames: range | list[int], result: ClipResult) -> ClipMatch:
        """Match the clip's instances to tracks (or open new ones) and accumulate them."""
        frames = list(frames)
        self._check_order(frames)
        if result.masks is None:
            raise ValueError(
                "ClipResult.masks is None: a method whose clips are stitched by mask overlap "
                "must return its per-frame mask probabilities"
            )
        masks = result.masks.detach().float()
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
        accumulated = result.mask_logits.detach().float() if uses_logits else masks
        class_probs = None
        if result.class_probs is not None:
            class_probs = result.class_probs.detach().to(self.arithmetic.dtype)
        match = self._match(frames, masks, labels)
        for i, track_id in enumerate(match.track_ids):
            if track_id == len(self._tracks):
                self._tracks.append(_TrackState(label=labels[i]))
            self._accumulate(track_id, frames, scores[i], accumulated[i], class_probs, i)
        self._store(_StoredClip(frames, match.track_ids, masks))
        self._covered.update(frames)
        self.peak_tensors = max(self.peak_tensors, self._held_tensors)
        self.peak_bytes = max(self.peak_bytes, self._held_bytes)
        for frame in self._final_after.get(self._clips, ()):
            self._finalise(frame)
        self._clips += 1
        return match

    def finish(self) -> list[TrackSummary]:
        """Finalise the frames still held; the tracks' summaries in track id order."""
        for frame in sorted(self._pending):
            self._finalise(frame)
        threshold = self.mask_threshold
        out = []
        for track_id, state in enumerate(self._tracks):
            score = float(state.score_sum / state.clips)
            probs = None if state.class_prob_sum is None else state.class_prob_sum / state.clips
            out.append(TrackSummary(track_id, state.label, score, threshold, probs))
        return out

    def tracks(self) -> list[VideoTrack]:
        """Final tracks with their mean masks (only for a stitcher built without sinks)."""
        if self._kept is None:
            raise RuntimeError("this stitcher streams its frames to sinks; it keeps no masks")
        return self._kept.tracks(self.finish(), self.num_frames)

    @property
    def mask_threshold(self) -> float:
        return 0.0 if self._logits else 0.5

    # -- steps -------------------------------------------------------------------------------

    def _check_order(self, frames: list[int]) -> None:
        if self._schedule is None:
            return
        if self._clips >= len(self._schedule) or frames != self._schedule[self._clips]:
            expected = self._schedule[self._clips] if self._clips < len(self._schedule) else None
            raise ValueError(f"clip {self._clips} covers {frames}; the schedule says {expected}")

    def _accumulate(
        self,
        track_id: int,
        frames: list[int],
        score: float,
        masks: torch.Tensor,
        class_probs: torch.Tensor | None,
        index: int,
    ) -> None:
        state = self._tracks[track_id]
        state.score_sum += score
        state.clips += 1
        if class_probs is not None:
            if state.class_prob_sum is None:
                state.class_prob_sum = class_probs[index].clone()
                self._hold(state.class_prob_sum, +1)
            else:
                state.class_prob_sum += class_probs[index]
        for k, frame in enumerate(frames):
            if frame in state.mask_sum:
                state.mask_sum[frame] += masks[k]
                state.mask_count[frame] += 1
            else:
                state.mask_sum[frame] = masks[k].clone()
                state.mask_count[frame] = 1
                self._hold(state.mask_sum[frame], +1)
                self._pending.setdefault(frame, []).append(track_id)

    def _store(self, clip: _StoredClip) -> None:
        if len(self._history) == self._history.maxlen:
            self._hold(self._history[0].masks, -1)
        self._history.append(clip)
        self._hold(clip.masks, +1)

    def _hold(self, tensor: torch.Tensor, sign: int) -> None:
        self._held_tensors += sign
        self._held_bytes += sign * _storage_bytes(tensor)

    def _finalise(self, frame: int) -> None:
        """Hand the frame's mean masks to the sinks and drop its sums."""
        means = {}
        for track_id in sorted(self._pending.pop(frame, ())):
            state = self._tracks[track_id]
            total = state.mask_sum.pop(frame)
            means[track_id] = total / state.mask_count.pop(frame)
            self._hold(total, -1)
        for sink in self._sinks:
            sink.frame_final(frame, means, self.mask_threshold)

    def _match(self, frames: list[int], masks: torch.Tensor, labels: list[int]) -> ClipMatch:
        before = len(self._tracks)
        siou = self._soft_iou(frames, masks)
        score = siou
        if self.class_aware and before and masks.shape[0]:
            track_labels = torch.tensor([t.label for t in self._tracks], device=score.device)
            score = score * (track_labels[:, None] == torch.tensor(labels, device=score.device))
        # the assignment's matrices to the host: the only copy of a clip's matching
        above = (score > self.threshold).cpu()
        score = score.cpu()
        siou = siou.cpu()
        rows, cols = linear_sum_assignment((score * above.to(score.dtype)).numpy(), maximize=True)
        track_ids = [-1] * masks.shape[0]
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            if bool(above[r, c]):
                track_ids[c] = r
        opened = before
        for c, track_id in enumerate(track_ids):
            if track_id < 0:
                track_ids[c] = opened
                opened += 1
        return ClipMatch(frames, siou, rows.tolist(), cols.tolist(), before, opened, track_ids)

    def _soft_iou(self, frames: list[int], masks: torch.Tensor) -> torch.Tensor:
        """`[tracks, N]` soft IoU averaged over the stored clips in which each track appears."""
        dtype = self.arithmetic.dtype
        num_tracks, num_new = len(self._tracks), masks.shape[0]
        siou_sum = torch.zeros(num_tracks, num_new, dtype=dtype, device=masks.device)
        appearances = torch.zeros(num_tracks, dtype=dtype, device=masks.device)
        shared = [f for f in frames if f in self._covered]
        if not shared or not num_tracks or not num_new:
            return siou_sum / (appearances[:, None] + EPS)
        per_clip = _elementwise_soft_iou if self.arithmetic.elementwise else _matmul_soft_iou
        # the new clip is compared with up to T stored clips: converted once, not per clip
        masks = masks.to(self.arithmetic.mask_dtype)
        for stored in list(self._history)[-len(frames) :]:
            if not stored.track_ids:
                continue
            siou = per_clip(stored, frames, shared, masks)
            if siou is None:
                continue
            ids = torch.tensor(stored.track_ids, device=masks.device)
            siou_sum.index_add_(0, ids, siou)
            appearances.index_add_(0, ids, torch.ones(len(ids), dtype=dtype, device=masks.device))
        return siou_sum / (appearances[:, None] + EPS)


def _matmul_soft_iou(
    stored: _StoredClip, frames: list[int], shared: list[int], masks: torch.Tensor
) -> torch.Tensor | None:
    """float64: intersection as one matrix product over the frames both clips cover."""
    new_index = {f: k for k, f in enumerate(frames)}
    common = [f for f in stored.frames if f in new_index]
    if not common:
        return None
    old_pos = [stored.frames.index(f) for f in common]
    new_pos = [new_index[f] for f in common]
    p = _frames_at(stored.masks, old_pos).flatten(1).double()  # [S, J*h*w]
    r = _frames_at(masks, new_pos).flatten(1).double()  # [N, J*h*w], float64 already
    inter = p @ r.T
    union = p.sum(1, keepdim=True) + r.sum(1)[None, :] - inter
    return inter / (union + EPS)


def _frames_at(masks: torch.Tensor, positions: list[int]) -> torch.Tensor:
    """`masks[:, positions]`; a view, not a copy, when the positions are consecutive (the
    frames two clips of a schedule share are), so the float64 conversion is the only pass."""
    first = positions[0]
    if positions == list(range(first, first + len(positions))):
        return masks[:, first : first + len(positions)]
    return masks[:, positions]


def _elementwise_soft_iou(
    stored: _StoredClip, frames: list[int], shared: list[int], masks: torch.Tensor
) -> torch.Tensor | None:
    """float32 over every frame the new clip shares with earlier clips, stored-clip frames
    masked in (the authors' soft IoU of the stitcher, same operations in the same order)."""
    position = {f: i for i, f in enumerate(stored.frames)}
    valid = torch.tensor([f in position for f in shared], dtype=torch.float32)
    if not bool(valid.any()):
        return None
    new_pos = [frames.index(f) for f in shared]
    new = masks[:, new_pos].flatten(-2)[None]  # [1, N, |I|, hw]
    saved = torch.zeros((len(stored.track_ids), len(shared), new.shape[-1]), device=masks.device)
    for j, f in enumerate(shared):
        if f in position:
            saved[:, j] = stored.masks[:, position[f]].flatten(1)
    saved = saved[:, None]  # [n_c, 1, |I|, hw]
    v = valid.to(masks.device)[None, None, :, None]
    num = (saved * new * v).sum(dim=(-1, -2))
    den = ((saved + new - saved * new) * v).sum(dim=(-1, -2))
    return num / (den + EPS)


def _final_frames(schedule: list[list[int]]) -> dict[int, list[int]]:
    """clip index -> the frames no later clip covers (final once that clip is added)."""
    last_clip: dict[int, int] = {}
    for index, frames in enumerate(schedule):
        for frame in frames:
            last_clip[frame] = index
    out: dict[int, list[int]] = {}
    for frame in sorted(last_clip):
        out.setdefault(last_clip[frame], []).append(frame)
    return out
