"""One tracker inference state of SAM 3's video loop: the objects born together on one frame,
their conditioning output (the birth masks) and each tracked frame's outputs and memories.
Births, one-frame propagation, memory encoding across states and removal, as the authors'
`Sam3TrackerPredictor` runs them for the video model."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vis_bench.methods.sam3.memory_bank import FrameMemory, memory_score, plan_memory
from vis_bench.methods.sam3.tracker import MASK_LOGIT_BIAS, FrameFeatures, Tracker

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


class TrackerState:
    """The objects born on one frame, tracked together (memory selection scores them as one)."""

    def __init__(self, tracker: Tracker, num_frames: int) -> None:
        self.tracker = tracker
        self.num_frames = num_frames
        self.obj_ids: list[int] = []
        self.cond: dict[int, FrameMemory] = {}
        self.non_cond: dict[int, FrameMemory] = {}

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
        (K, h, w): each mask (binarized at the input-mask size) is its conditioning output;
        a later-added mask takes its pixels from earlier ones at video size."""
        state = cls(tracker, num_frames)
        state.obj_ids = list(obj_ids)
        sizes = tracker.sizes
        side = sizes.input_mask
        masks = F.interpolate(
            det_mask_logits[:, None].float(),
            size=(side, side),
            mode="bilinear",
            align_corners=False,
        )
        masks = (masks > 0).float()
        video_masks: list[torch.Tensor] = []
        heads = []
        for k in range(masks.shape[0]):
            heads.append(tracker.mask_as_output(features, masks[k : k + 1]))
            at_video = (
                F.interpolate(
                    masks[k : k + 1],
                    size=video_size,
                    mode="bilinear",
                    align_corners=False,
                    antialias=True,
                )
                > 0.5
            )
            video_masks = [torch.where(at_video, -VIDEO_MASK_LOGIT, m) for m in video_masks]
            video_masks.append(
                torch.where(at_video, VIDEO_MASK_LOGIT, -VIDEO_MASK_LOGIT).to(masks.dtype)
            )
        low = sizes.low_res
        pred = torch.cat(
            [
                m
                if tuple(m.shape[-2:]) == (low, low)
                else F.interpolate(
                    m, size=(low, low), mode="bilinear", align_corners=False, antialias=True
                )
                for m in video_masks
            ]
        )
        scores = torch.cat([h.object_score_logits for h in heads])
        high = F.interpolate(
            pred, size=(sizes.image, sizes.image), mode="bilinear", align_corners=False
        )
        memory, _ = tracker.encode_memory(
            features.expand(len(obj_ids)), non_overlapping(high), scores, binarize=True
        )
        state.cond[frame] = FrameMemory(
            pred_masks=pred,
            obj_ptr=torch.cat([h.obj_ptr for h in heads]),
            object_score_logits=scores,
            iou_score=torch.cat([h.ious for h in heads]),
            maskmem_features=memory,
        )
        return state

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
        """Drop one object from every stored frame (the last one empties the state)."""
        if obj_id not in self.obj_ids:
            return
        if len(self.obj_ids) == 1:
            self.obj_ids, self.cond, self.non_cond = [], {}, {}
            return
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
