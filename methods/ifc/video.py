"""IFC's video loop (ifc.md §8): clip schedule, clip filtering, soft-IoU matching, averaging.

Same decisions and numbers as the authors' `Ifc.forward` / `Videos` (clip_output.py), with two
memory changes that leave outputs unchanged:
- the authors preallocate `L x 50 x L x h x w` logit and probability buffers (one slot per clip,
  at most 50 tracks). Here each track keeps a running logit sum and count per frame
  (tracks x frames) and only the last `window` clips' probabilities are kept for matching, so
  there is no track cap and memory no longer grows with L^2;
- multi-class expansion upsamples, thresholds and RLE-encodes one track (a few frames at a time)
  and shares the encoded masks between that track's class predictions, instead of materialising
  every (track, class) pair at the original video size.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

from vis_bench.eval.rle import encode

MATCH_THRESHOLD = 0.05
EPS = 1e-6


def clip_schedule(video_length: int, window: int, stride: int) -> list[list[int]]:
    """Frame indices of every clip, authors' rule: the last clip is right-aligned to the end."""
    if window < 1 or stride < 1:
        raise ValueError(f"window and stride must be >= 1, got {window}, {stride}")
    clips = []
    for start in range(0, video_length, stride):
        end = start + window
        last = end >= video_length
        if last:
            start, end = max(0, video_length - window), video_length
        clips.append(list(range(start, end)))
        if last:
            break
    return clips


@dataclass
class ClipInstances:
    """Queries of one clip whose argmax over all K+1 probabilities is a real class."""

    frame_idx: list[int]
    query_idx: torch.Tensor  # [N]
    scores: torch.Tensor  # [N]
    labels: torch.Tensor  # [N]
    cls_probs: torch.Tensor  # [N, K+1]
    mask_logits: torch.Tensor  # [N, T, h, w]

    @property
    def mask_probs(self) -> torch.Tensor:
        return self.mask_logits.sigmoid()

    def __len__(self) -> int:
        return int(self.query_idx.numel())


def object_queries(pred_logits: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Indices (ascending) of the queries `filter_clip` keeps, from pred_logits [1, Q, K+1]."""
    probs = F.softmax(pred_logits[0], dim=-1)[:, : num_classes + 1]
    _, labels = probs.max(-1)  # the same reduction as filter_clip, so ties break alike
    return torch.nonzero(labels < num_classes).flatten()


def filter_clip(
    pred_logits: torch.Tensor,
    pred_masks: torch.Tensor,
    frame_idx: list[int],
    num_classes: int,
    mask_queries: torch.Tensor | None = None,
) -> ClipInstances:
    """`inference_clip`: softmax over K+1, keep queries whose argmax is not "no object".

    pred_masks [1, Q, T, h, w], or [1, n, T, h, w] for the n queries of `mask_queries` only
    (which must include every kept query: the model computed masks for `object_queries`).
    """
    probs = F.softmax(pred_logits[0], dim=-1)[:, : num_classes + 1]
    scores, labels = probs.max(-1)
    keep = labels < num_classes
    kept = torch.nonzero(keep).flatten()
    if mask_queries is None:
        masks = pred_masks[0][keep]
    else:
        row_of = torch.full((probs.shape[0],), -1, dtype=torch.long, device=kept.device)
        row_of[mask_queries] = torch.arange(len(mask_queries), device=kept.device)
        rows = row_of[kept]
        if bool((rows < 0).any()):
            raise ValueError("masks were computed for fewer queries than the clip keeps")
        masks = pred_masks[0][rows]
    return ClipInstances(list(frame_idx), kept, scores[keep], labels[keep], probs[keep], masks)


@dataclass
class _Track:
    logit_sum: torch.Tensor  # [L, h, w]
    frame_count: torch.Tensor  # [L] int
    cls_sum: torch.Tensor  # [K+1]
    num_clips: int = 0


@dataclass
class _StoredClip:
    frame_idx: list[int]
    probs: dict[int, torch.Tensor] = field(default_factory=dict)  # track id -> [T, h, w]


@dataclass
class MatchRecord:
    """What one `update` decided (compared with the fixtures' per-clip fields)."""

    frame_idx: list[int]
    siou: torch.Tensor  # [N_saved, N_new] before thresholding
    lsa_rows: list[int]
    lsa_cols: list[int]
    num_inst_before: int
    num_inst_after: int
    assigned_slot: list[int]


class VideoTracks:
    """Video-level tracks built clip by clip (the authors' `Videos`, memory tracks x frames)."""

    def __init__(
        self,
        video_length: int,
        window: int,
        interim_size: tuple[int, int],
        num_classes: int,
        match_threshold: float = MATCH_THRESHOLD,
        device: str | torch.device = "cpu",
    ) -> None:
        self.video_length = video_length
        self.window = window
        self.interim_size = tuple(interim_size)
        self.num_classes = num_classes
        self.match_threshold = match_threshold
        self.device = torch.device(device)
        self.tracks: list[_Track] = []
        self.history: deque[_StoredClip] = deque(maxlen=max(window, 1))
        self.covered: set[int] = set()
        self.num_clips = 0

    @property
    def num_tracks(self) -> int:
        return len(self.tracks)

    def soft_iou(self, new_probs: torch.Tensor, frame_idx: list[int]) -> torch.Tensor:
        """Averaged space-time soft IoU `[N_saved, N_new]` over the last len(clip) stored clips."""
        num_new = new_probs.shape[0]
        inter_pos = [i for i, f in enumerate(frame_idx) if f in self.covered]
        inter_frames = [frame_idx[i] for i in inter_pos]
        siou_sum = torch.zeros((self.num_tracks, num_new), device=self.device)
        num_valid = torch.zeros(self.num_tracks, device=self.device)
        if not inter_pos or not self.tracks or num_new == 0:
            return siou_sum / (num_valid[:, None] + EPS)
        new = new_probs[:, inter_pos].flatten(-2)[None]  # [1, N_i, |I|, hw]
        window = list(self.history)[-len(frame_idx) :] if len(frame_idx) else []
        for clip in window:
            ids = list(clip.probs)
            if not ids:
                continue
            pos_in_clip = {f: i for i, f in enumerate(clip.frame_idx)}
            valid = torch.tensor(
                [f in pos_in_clip for f in inter_frames], dtype=torch.float32, device=self.device
            )  # [|I|]
            if not bool(valid.any()):
                continue
            hw = new.shape[-1]
            saved = torch.zeros((len(ids), len(inter_frames), hw), device=self.device)
            for j, f in enumerate(inter_frames):
                if f in pos_in_clip:
                    saved[:, j] = torch.stack([clip.probs[s][pos_in_clip[f]] for s in ids]).flatten(
                        1
                    )
            saved = saved[:, None]  # [n_c, 1, |I|, hw]
            v = valid[None, None, :, None]
            num = (saved * new * v).sum(dim=(-1, -2))
            den = ((saved + new - saved * new) * v).sum(dim=(-1, -2))
            rows = torch.tensor(ids, device=self.device)
            siou_sum[rows] += num / (den + EPS)
            num_valid[rows] += 1
        return siou_sum / (num_valid[:, None] + EPS)

    def update(self, clip: ClipInstances) -> MatchRecord:
        """Match a clip's instances to the tracks (Hungarian on thresholded sIoU), then store it."""
        if len(clip.frame_idx) > self.window:
            raise ValueError(f"clip of {len(clip.frame_idx)} frames exceeds window {self.window}")
        logits = clip.mask_logits.to(self.device, torch.float32)
        probs = logits.sigmoid()
        cls_probs = clip.cls_probs.to(self.device, torch.float32)
        num_before = self.num_tracks
        scores = self.soft_iou(probs, clip.frame_idx)
        above = scores > self.match_threshold
        rows, cols = linear_sum_assignment((scores * above.float()).cpu().numpy(), maximize=True)
        stored = _StoredClip(list(clip.frame_idx))
        frames = torch.tensor(clip.frame_idx, device=self.device)
        slot = [-1] * len(clip)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            if bool(above[r, c]):
                slot[c] = r
        for c in range(len(clip)):
            if slot[c] < 0:
                slot[c] = len(self.tracks)
                self.tracks.append(
                    _Track(
                        torch.zeros((self.video_length, *self.interim_size), device=self.device),
                        torch.zeros(self.video_length, dtype=torch.int64, device=self.device),
                        torch.zeros(self.num_classes + 1, device=self.device),
                    )
                )
        for c, s in enumerate(slot):
            track = self.tracks[s]
            track.logit_sum[frames] += logits[c]
            track.frame_count[frames] += 1
            track.cls_sum += cls_probs[c]
            track.num_clips += 1
            stored.probs[s] = probs[c]
        # a track matched twice cannot happen (Hungarian is one-to-one)
        self.history.append(stored)
        self.covered.update(clip.frame_idx)
        self.num_clips += 1
        return MatchRecord(
            list(clip.frame_idx),
            scores,
            rows.tolist(),
            cols.tolist(),
            num_before,
            self.num_tracks,
            slot,
        )

    def mean_logits(self, track_id: int) -> torch.Tensor:
        """Per-frame mask logits averaged over the clips predicting them; NaN where none did."""
        t = self.tracks[track_id]
        return t.logit_sum / t.frame_count[:, None, None]

    def class_probs(self) -> torch.Tensor:
        """`[N_tracks, K+1]` mean of the stored probability vectors over each track's clips."""
        if not self.tracks:
            return torch.zeros((0, self.num_classes + 1))
        return torch.stack([t.cls_sum / t.num_clips for t in self.tracks])

    def interim_mask_logits(self) -> torch.Tensor:
        """`[N_tracks, L, h, w]` (the fixtures' `video_interim_mask_logits`)."""
        if not self.tracks:
            return torch.zeros((0, self.video_length, *self.interim_size))
        return torch.stack([self.mean_logits(i) for i in range(self.num_tracks)])

    def binary_masks(
        self, track_id: int, out_size: tuple[int, int], chunk: int = 8
    ) -> Iterator[np.ndarray]:
        """Upsampled (bilinear, align_corners=False) masks `logit > 0`, a few frames at a time."""
        logits = self.mean_logits(track_id)
        for start in range(0, self.video_length, chunk):
            part = F.interpolate(
                logits[None, start : start + chunk],
                size=tuple(out_size),
                mode="bilinear",
                align_corners=False,
            )[0]
            yield from (part > 0.0).cpu().numpy()


def video_results(
    tracks: VideoTracks,
    orig_size: tuple[int, int],
    video_id: int,
    apply_cls_thres: float = 0.01,
    multi_cls: bool = True,
    category_map: Callable[[int], int] | None = None,
) -> tuple[list[dict[str, Any]], list[float], list[int]]:
    """`get_result` + `inference_video` + the evaluator's JSON: (results, scores, labels).

    Order: track id ascending, then class id ascending (multi-class). Masks are encoded per
    track once and shared by that track's predictions.
    """
    to_dataset = category_map or (lambda label: label + 1)
    cls = tracks.class_probs()
    preds: list[tuple[int, float, int]] = []
    if len(cls):
        if multi_cls:
            t_idx, c_idx = torch.where(cls[:, :-1] > apply_cls_thres)
            scores = cls[t_idx, c_idx]
            preds = list(zip(t_idx.tolist(), scores.tolist(), c_idx.tolist(), strict=True))
        else:
            scores, labels = cls[:, :-1].max(-1)
            preds = list(zip(range(len(cls)), scores.tolist(), labels.tolist(), strict=True))
    results, out_scores, out_labels = [], [], []
    encoded: dict[int, list[dict[str, Any]]] = {}
    for track_id, score, label in preds:
        if track_id not in encoded:
            encoded = {track_id: [encode(m) for m in tracks.binary_masks(track_id, orig_size)]}
        results.append(
            {
                "video_id": video_id,
                "score": score,
                "category_id": to_dataset(label),
                "segmentations": encoded[track_id],
            }
        )
        out_scores.append(score)
        out_labels.append(label)
    return results, out_scores, out_labels


def run_video_loop(
    clip_outputs: Callable[[list[int]], dict[str, torch.Tensor]],
    video_length: int,
    window: int,
    stride: int,
    interim_size: tuple[int, int],
    num_classes: int,
    match_threshold: float = MATCH_THRESHOLD,
) -> tuple[VideoTracks, list[tuple[ClipInstances, MatchRecord]]]:
    """Drive the clip schedule: `clip_outputs(frame_idx)` returns one clip's raw outputs."""
    tracks = VideoTracks(video_length, window, interim_size, num_classes, match_threshold)
    log = []
    for frame_idx in clip_schedule(video_length, window, stride):
        out = clip_outputs(frame_idx)
        inst = filter_clip(
            out["pred_logits"], out["pred_masks"], frame_idx, num_classes, out.get("mask_queries")
        )
        log.append((inst, tracks.update(inst)))
    return tracks, log
