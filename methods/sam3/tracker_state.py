"""One tracker inference state of SAM 3's video loop: the objects born together on one frame,
their conditioning output (the birth masks) and each tracked frame's outputs and memories.
Births, one-frame propagation, memory encoding across states and removal, as the authors'
`Sam3TrackerPredictor` runs them for the video model."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from vis_bench.methods.sam3.mask_overlap import non_overlapping, resize, suppress_shrunk
from vis_bench.methods.sam3.memory_bank import FrameMemory, memory_score, plan_memory
from vis_bench.methods.sam3.tracker import FrameFeatures, HeadOutput, Tracker

#: pixels of a birth mask at video size: +-1024 logits
VIDEO_MASK_LOGIT = 1024.0
#: object scores the memory update gives present / absent masks
PRESENT_LOGIT, ABSENT_LOGIT = 10.0, -10.0


@dataclass(frozen=True)
class MemoryQuery:
    """What a state's objects attend to on a tracked frame (`TrackerState.memory_query`)."""

    memory: torch.Tensor
    memory_pos: torch.Tensor
    pointers: int


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
        state = cls.unborn(tracker, num_frames, obj_ids)
        give_masks([(state, state.birth_masks(det_mask_logits))], frame, features, video_size)
        return state

    @classmethod
    def unborn(cls, tracker: Tracker, num_frames: int, obj_ids: list[int]) -> TrackerState:
        """A state for `obj_ids` before `give_masks` gives it their birth masks."""
        state = cls(tracker, num_frames)
        state.obj_ids = list(obj_ids)
        return state

    def birth_masks(self, det_mask_logits: torch.Tensor) -> dict[int, torch.Tensor]:
        return dict(zip(self.obj_ids, det_mask_logits, strict=True))

    def add_masks(
        self,
        frame: int,
        masks: dict[int, torch.Tensor],
        features: FrameFeatures,
        video_size: tuple[int, int],
    ) -> None:
        """Given mask logits (h, w) per object id make `frame` a conditioning frame (a birth,
        or a reconditioning from a detection): `give_masks` for this state alone."""
        give_masks([(self, masks)], frame, features, video_size)

    def _given_output(
        self,
        frame: int,
        given: dict[int, tuple[torch.Tensor, HeadOutput]],
        video_size: tuple[int, int],
    ) -> FrameMemory:
        """The conditioning output from each given object's binarized mask (1, 1, S, S) and its
        heads: a later-given mask takes its pixels from earlier ones at video size, the other
        objects keep the frame's tracked output (no memory yet)."""
        low = self.tracker.sizes.low_res
        video: dict[int, torch.Tensor] = {}
        heads: dict[int, HeadOutput] = {}
        for obj_id, (mask, head) in given.items():
            index = self.obj_ids.index(obj_id)
            heads[index] = head
            at_video = resize(mask, video_size, antialias=True) > 0.5
            video = {i: torch.where(at_video, -VIDEO_MASK_LOGIT, m) for i, m in video.items()}
            video[index] = torch.where(at_video, VIDEO_MASK_LOGIT, -VIDEO_MASK_LOGIT)
        tracked = self.cond.get(frame) or self.non_cond.get(frame)
        preds, ptrs, scores, ious = [], [], [], []
        for i in range(len(self.obj_ids)):
            if i in heads:
                preds.append(resize(video[i], (low, low), antialias=True))
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
        return FrameMemory(
            pred_masks=torch.cat(preds),
            obj_ptr=torch.cat(ptrs),
            object_score_logits=torch.cat(scores),
            iou_score=torch.cat(ious),
        )

    def _set_conditioning(self, frame: int, out: FrameMemory, given: set[int]) -> None:
        self.cond[frame] = out
        self.non_cond.pop(frame, None)
        self.inputs.setdefault(frame, set()).update(given)

    def propagate(self, frame: int, features: FrameFeatures) -> tuple[torch.Tensor, torch.Tensor]:
        """Track one frame: (mask logits (N, h, w), object-score logits (N,)). A conditioning
        frame gives its stored output; memory is encoded later (`update_memories`)."""
        return propagate_states([self], frame, features)[0]

    def memory_query(self, frame: int, features: FrameFeatures) -> MemoryQuery:
        """What this state's objects attend to on a tracked frame: the chosen memories'
        tokens and positions (N, M, mem_dim) and how many of them are pointer tokens."""
        sizes = self.tracker.sizes
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
        memory, memory_pos, pointers = self._memory_tokens(plan, features.expand(len(self.obj_ids)))
        return MemoryQuery(memory, memory_pos, pointers)

    def store_tracked(self, frame: int, heads: HeadOutput) -> tuple[torch.Tensor, torch.Tensor]:
        """Keep a tracked frame's heads (its memory comes later) and give its masks, scores."""
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


def propagate_states(
    states: list[TrackerState], frame: int, features: FrameFeatures
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Every state tracked one frame (`TrackerState.propagate` each): the states whose memory
    tokens have one shape run the memory attention and SAM's heads in one batch, in which each
    object is computed apart from the others."""
    done: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
    groups: dict[tuple[int, int], list[tuple[int, MemoryQuery]]] = {}
    for i, state in enumerate(states):
        if frame in state.cond:
            out = state.cond[frame]
            done[i] = (out.pred_masks[:, 0], out.object_score_logits[:, 0])
            continue
        query = state.memory_query(frame, features)
        groups.setdefault((query.memory.shape[1], query.pointers), []).append((i, query))
    for (_, pointers), group in groups.items():
        tracker = states[group[0][0]].tracker
        counts = [q.memory.shape[0] for _, q in group]
        expanded = features.expand(sum(counts))
        memory = torch.cat([q.memory for _, q in group])
        memory_pos = torch.cat([q.memory_pos for _, q in group])
        conditioned = tracker.condition_on_memory(expanded, memory, memory_pos, pointers)
        heads = tracker.sam_heads(conditioned, expanded.high_res, None, multimask=True)
        for (i, _), part in zip(group, heads.split(counts), strict=True):
            done[i] = states[i].store_tracked(frame, part)
    return [done[i] for i in range(len(states))]


def give_masks(
    items: list[tuple[TrackerState, dict[int, torch.Tensor]]],
    frame: int,
    features: FrameFeatures,
    video_size: tuple[int, int],
) -> None:
    """`add_masks` for several states at once, every given mask's heads and every state's
    memory in one batch each: each mask is binarized at the input-mask size and used as the
    output; the memory is encoded from the binarized, non-overlapping masks."""
    tracker = items[0][0].tracker
    side, image = tracker.sizes.input_mask, tracker.sizes.image
    binary = [
        (
            F.interpolate(
                logits[None, None].float(), size=(side, side), mode="bilinear", align_corners=False
            )
            > 0
        ).float()
        for _, masks in items
        for logits in masks.values()
    ]
    heads = tracker.mask_as_output(features.expand(len(binary)), torch.cat(binary))
    outputs, start = [], 0
    for state, masks in items:
        rows = heads.split([1] * len(masks), start)
        pairs = zip(binary[start : start + len(masks)], rows, strict=True)
        outputs.append(state._given_output(frame, dict(zip(masks, pairs, strict=True)), video_size))
        start += len(masks)
    high = [
        non_overlapping(resize(out.pred_masks, (image, image), antialias=False)) for out in outputs
    ]
    scores = torch.cat([out.object_score_logits for out in outputs])
    memory, _ = tracker.encode_memory(
        features.expand(scores.shape[0]), torch.cat(high), scores, binarize=True
    )
    start = 0
    for (state, masks), out in zip(items, outputs, strict=True):
        out.maskmem_features = memory[start : start + len(state.obj_ids)]
        start += len(state.obj_ids)
        state._set_conditioning(frame, out, set(masks))


def update_memories(
    states: list[TrackerState], frame: int, mask_logits: torch.Tensor, features: FrameFeatures
) -> None:
    """Encode frame `frame`'s memories for all tracked objects (M, h, w), in state order."""
    encode_memories([(states, mask_logits)], frame, features)


def encode_memories(
    passes: list[tuple[list[TrackerState], torch.Tensor]], frame: int, features: FrameFeatures
) -> None:
    """`update_memories` for several independent passes, their memories encoded in one batch:
    each pass's masks go to the input-mask size, its shrunk-by-overlap masks are suppressed
    across its states, object scores are +-10 by emptiness."""
    owners, highs = [], []
    for states, mask_logits in passes:
        live = [s for s in states if s.obj_ids]
        if not live:
            continue
        side = live[0].tracker.sizes.input_mask
        high = F.interpolate(
            mask_logits[:, None], size=(side, side), mode="bilinear", align_corners=False
        )
        owners += live
        highs.append(suppress_shrunk(high))
    if not owners:
        return
    high = torch.cat(highs)
    present = (high > 0).any(dim=-1).any(dim=-1)
    scores = torch.where(present, PRESENT_LOGIT, ABSENT_LOGIT)
    memory, _ = owners[0].tracker.encode_memory(
        features.expand(high.shape[0]), high, scores, binarize=False
    )
    start = 0
    for state in owners:
        n = len(state.obj_ids)
        state.store_memory(frame, memory[start : start + n])
        start += n
