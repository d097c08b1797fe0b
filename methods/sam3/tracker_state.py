"""One tracker inference state of SAM 3's video loop: the objects born together on one frame,
their conditioning output (the birth masks) and each tracked frame's outputs and memories.
Births, one-frame propagation, memory encoding across states and removal, as the authors'
`Sam3TrackerPredictor` runs them for the video model."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vis_bench.methods.sam3.memory_bank import FrameMemory, memory_score, plan_memory
from vis_bench.methods.sam3.tracker import MASK_LOGIT_BIAS, FrameFeatures, HeadOutput, Tracker

#: pixels of a birth mask at video size: +-1024 logits
VIDEO_MASK_LOGIT = 1024.0
#: `_suppress_shrinked_masks`: a mask keeping less than this share of its area is suppressed
SHRINK_RATIO = 0.3
#: object scores the memory update gives present / absent masks
PRESENT_LOGIT, ABSENT_LOGIT = 10.0, -10.0


def non_overlapping(mask_logits: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W): each pixel kept only by the object with the highest logit; the others
    are clamped to at most -10."""
    if mask_logits.shape[0] == 1:
        return mask_logits
    winner = mask_logits.argmax(dim=0, keepdim=True)
    keep = (
        winner == torch.arange(mask_logits.shape[0], device=mask_logits.device)[:, None, None, None]
    )
    return torch.where(keep, mask_logits, mask_logits.clamp(max=MASK_LOGIT_BIAS))


def suppress_shrunk(mask_logits: torch.Tensor) -> torch.Tensor:
    """Masks that would keep under 30% of their area after the pixel-wise non-overlap are
    clamped to at most -10; the others are left as they are (and may overlap)."""
    before = (mask_logits > 0).sum(dim=(-1, -2)).clamp(min=1)
    after = (non_overlapping(mask_logits) > 0).sum(dim=(-1, -2))
    keep = (after / before) >= SHRINK_RATIO
    return torch.where(keep[..., None, None], mask_logits, mask_logits.clamp(max=MASK_LOGIT_BIAS))


def _resize(x: torch.Tensor, size: tuple[int, int], antialias: bool) -> torch.Tensor:
    """Bilinear resize of (N, 1, H, W), skipped when the size already matches."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=antialias)


class TrackerState:
    """The objects born on one frame, tracked together (memory selection scores them as one)."""

    def __init__(self, tracker: Tracker, num_frames: int) -> None:
        self.tracker = tracker
        self.num_frames = num_frames
        self.obj_ids: list[int] = []
        self.cond: dict[int, FrameMemory] = {}
        self.non_cond: dict[int, FrameMemory] = {}
        #: frame -> the objects given a mask on it (their conditioning inputs)
        self.inputs: dict[int, set[int]] = {}

    @classmethod
    def born(
        cls,
        tracker: Tracker,
        num_frames: int,
        frame: int,
        obj_ids: list[int],
        det_mask_logits: torch.Tensor,
        features: FrameFeatures,
        video_size: tuple[int, int],
    ) -> TrackerState:
        """A state for objects first detected on `frame`, from their detection mask logits
        (K, h, w), which become the frame's conditioning output."""
        state = cls(tracker, num_frames)
        state.obj_ids = list(obj_ids)
        state.add_masks(
            frame, dict(zip(obj_ids, det_mask_logits, strict=True)), features, video_size
        )
        return state

    def add_masks(
        self,
        frame: int,
        masks: dict[int, torch.Tensor],
        features: FrameFeatures,
        video_size: tuple[int, int],
    ) -> None:
        """Given mask logits (h, w) per object id make `frame` a conditioning frame (a birth,
        or a reconditioning from a detection): each mask is binarized at the input-mask size
        and used as the output, a later-given mask takes its pixels from earlier ones at video
        size, the other objects keep the frame's tracked output; the memory is encoded from
        the binarized, non-overlapping masks."""
        tracker, sizes = self.tracker, self.tracker.sizes
        side, low = sizes.input_mask, sizes.low_res
        heads: dict[int, HeadOutput] = {}
        video: dict[int, torch.Tensor] = {}
        for obj_id, logits in masks.items():
            index = self.obj_ids.index(obj_id)
            mask = F.interpolate(
                logits[None, None].float(), size=(side, side), mode="bilinear", align_corners=False
            )
            mask = (mask > 0).float()
            heads[index] = tracker.mask_as_output(features, mask)
            at_video = _resize(mask, video_size, antialias=True) > 0.5
            video = {i: torch.where(at_video, -VIDEO_MASK_LOGIT, m) for i, m in video.items()}
            video[index] = torch.where(at_video, VIDEO_MASK_LOGIT, -VIDEO_MASK_LOGIT)
        tracked = self.cond.get(frame) or self.non_cond.get(frame)
        preds, ptrs, scores, ious = [], [], [], []
        for i in range(len(self.obj_ids)):
            if i in heads:
                preds.append(_resize(video[i], (low, low), antialias=True))
                ptrs.append(heads[i].obj_ptr)
                scores.append(heads[i].object_score_logits)
                ious.append(heads[i].ious.max(-1).values.reshape(1, 1))
            elif tracked is not None:
                preds.append(tracked.pred_masks[i : i + 1])
                ptrs.append(tracked.obj_ptr[i : i + 1])
                scores.append(tracked.object_score_logits[i : i + 1])
                ious.append(tracked.iou_score[i : i + 1].reshape(1, 1))
            else:
                raise RuntimeError(f"object {self.obj_ids[i]} has no output on frame {frame}")
        pred, score = torch.cat(preds), torch.cat(scores)
        high = _resize(pred, (sizes.image, sizes.image), antialias=False)
        memory, _ = tracker.encode_memory(
            features.expand(len(self.obj_ids)), non_overlapping(high), score, binarize=True
        )
        self.cond[frame] = FrameMemory(
            pred_masks=pred,
            obj_ptr=torch.cat(ptrs),
            object_score_logits=score,
            iou_score=torch.cat(ious),
            maskmem_features=memory,
        )
        self.non_cond.pop(frame, None)
        self.inputs.setdefault(frame, set()).update(masks)

    def propagate(self, frame: int, features: FrameFeatures) -> tuple[torch.Tensor, torch.Tensor]:
        """Track one frame: (mask logits (N, h, w), object-score logits (N,)). A conditioning
        frame gives its stored output; memory is encoded later (`update_memories`)."""
        if frame in self.cond:
            out = self.cond[frame]
            return out.pred_masks[:, 0], out.object_score_logits[:, 0]
        tracker, sizes = self.tracker, self.tracker.sizes
        n = len(self.obj_ids)
        plan = plan_memory(
            frame,
            self.cond,
            self.non_cond,
            self.num_frames,
            sizes.num_maskmem,
            sizes.max_cond_frames,
            sizes.max_object_pointers,
            sizes.memory_score_threshold,
        )
        expanded = features.expand(n)
        memory, memory_pos, pointers = self._memory_tokens(plan, expanded)
        conditioned = tracker.condition_on_memory(expanded, memory, memory_pos, pointers)
        heads = tracker.sam_heads(conditioned, expanded.high_res, None, multimask=True)
        iou = heads.ious.max(-1).values
        self.non_cond[frame] = FrameMemory(
            pred_masks=heads.masks,
            obj_ptr=heads.obj_ptr,
            object_score_logits=heads.object_score_logits,
            iou_score=iou,
            eff_iou_score=memory_score(heads.object_score_logits, iou),
        )
        return heads.masks[:, 0], heads.object_score_logits[:, 0]

    def _memory_tokens(
        self, plan, features: FrameFeatures
    ) -> tuple[torch.Tensor, torch.Tensor, int]:
        tracker, sizes = self.tracker, self.tracker.sizes
        n = features.top.shape[0]
        tokens, positions = [], []
        pos = None
        for slot, out in plan.spatial:
            feats = out.maskmem_features.float()
            if pos is None:
                pos = tracker.maskmem_backbone.positions_like(feats).flatten(2).transpose(1, 2)
            tokens.append(feats.flatten(2).transpose(1, 2))
            tpos = tracker.maskmem_tpos_enc[sizes.num_maskmem - slot - 1].reshape(1, 1, -1)
            positions.append(pos + tpos)
        distances = [d for d, _ in plan.pointers]
        ptrs = torch.stack([out.obj_ptr for _, out in plan.pointers])  # (P, N, d)
        split = sizes.d_model // sizes.mem_dim
        ptrs = ptrs.reshape(len(distances), n, split, sizes.mem_dim).permute(1, 0, 2, 3)
        tokens.append(ptrs.reshape(n, len(distances) * split, sizes.mem_dim))
        max_distance = min(self.num_frames, sizes.max_object_pointers)
        ptr_pos = tracker.pointer_positions(distances, max_distance).repeat_interleave(split, dim=0)
        positions.append(ptr_pos[None].expand(n, -1, -1))
        return torch.cat(tokens, dim=1), torch.cat(positions, dim=1), len(distances) * split

    def store_memory(self, frame: int, memory: torch.Tensor) -> None:
        for storage in (self.cond, self.non_cond):
            if frame in storage:
                storage[frame].maskmem_features = memory

    def remove(self, obj_id: int) -> None:
        """Drop one object from every stored frame (the last one empties the state). A
        conditioning frame on which only this object was given a mask becomes a tracked frame
        again, as the authors' `clear_all_points_in_frame` makes it."""
        if obj_id not in self.obj_ids:
            return
        if len(self.obj_ids) == 1:
            self.obj_ids, self.cond, self.non_cond, self.inputs = [], {}, {}, {}
            return
        for frame in [t for t, owners in self.inputs.items() if owners == {obj_id}]:
            del self.inputs[frame]
            if frame in self.cond:
                self.non_cond[frame] = self.cond.pop(frame)
        for owners in self.inputs.values():
            owners.discard(obj_id)
        keep = [i for i, o in enumerate(self.obj_ids) if o != obj_id]
        self.obj_ids = [self.obj_ids[i] for i in keep]
        self.cond = {t: out.select(keep) for t, out in self.cond.items()}
        self.non_cond = {t: out.select(keep) for t, out in self.non_cond.items()}


def update_memories(
    states: list[TrackerState], frame: int, mask_logits: torch.Tensor, features: FrameFeatures
) -> None:
    """Encode frame `frame`'s memories for all tracked objects (M, h, w), in state order: the
    masks go to the input-mask size, shrunk-by-overlap masks are suppressed across all
    states, object scores are +-10 by emptiness."""
    live = [s for s in states if s.obj_ids]
    if not live:
        return
    side = live[0].tracker.sizes.input_mask
    high = F.interpolate(
        mask_logits[:, None], size=(side, side), mode="bilinear", align_corners=False
    )
    high = suppress_shrunk(high)
    present = (high > 0).any(dim=-1).any(dim=-1)
    scores = torch.where(present, PRESENT_LOGIT, ABSENT_LOGIT)
    start = 0
    for state in live:
        n = len(state.obj_ids)
        memory, _ = state.tracker.encode_memory(
            features.expand(n), high[start : start + n], scores[start : start + n], binarize=False
        )
        state.store_memory(frame, memory)
        start += n
