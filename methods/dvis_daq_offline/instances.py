"""The instances DVIS-DAQ offline's refiner reads (`common_inference`, `meta_architecture.py`).

N = NUM_NEW_INS (the segmenter's Q) instances: first the tracked sequences the online
model keeps (NOISE_FRAME_NUM filter), the top OFFLINE_TOPK_NUM of them by the max foreground
softmax of their time-mean logits (`topk(sorted=False)`: torch's order; all of them, in birth
order, when there are fewer than that); then, to fill the rest, the best queries of a MinVIS
naive link of the segmenter over the video (each frame's normed query embeddings matched to the
previous linked frame's by 1 - cosine, no epsilon, Hungarian), by the same score of their
time-mean logits (none where the kept sequences already number N or more: then they all go in,
N or more of them, when OFFLINE_TOPK_NUM exceeds N). A tracked instance's embedding on a frame is its tracker output where the
sequence exists and its fused position embedding before its start and after its end (the
refiner's `padding_embed`, an identity); a linked one's, its segmenter embeddings.

Instance ids: the authors name tracked instances by their random sequence ids and linked ones
`(10000 + first frame) * 10000 + i * 1000`; the results name instances by their index (0..N-1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from scipy.optimize import linear_sum_assignment

from vis_bench.methods.families.dvis_daq.decisions import foreground_scores
from vis_bench.methods.families.dvis_daq.sequences import InstanceSequence, SequenceHub
from vis_bench.methods.families.dvis_daq.video import kept_sequences, mean_logits


@dataclass
class GatheredVideo:
    """What the first pass keeps for the refiner: the video's sequences and every frame's
    segmenter embeddings [Q, C] (normed) and class logits [Q, K+1]."""

    hub: SequenceHub = field(default_factory=SequenceHub)
    embeds: list[torch.Tensor] = field(default_factory=list)
    logits: list[torch.Tensor] = field(default_factory=list)

    def frame_embeds(self) -> torch.Tensor:
        """[T, Q, C]."""
        return torch.stack(self.embeds)


@dataclass
class NaiveLink:
    """The segmenter's queries linked over the video: order [T, Q] (frame t's query continuing
    each link), logits [Q, K+1] (time mean), embeds [T, Q, C], the assignment's inputs."""

    order: torch.Tensor
    logits: torch.Tensor
    embeds: torch.Tensor
    costs: list[torch.Tensor]


@dataclass
class RefinerInputs:
    """instance_embeds [T, N, C], padding [N, T] (True where a tracked instance does not
    exist; passed, read by no layer), online_logits [N, K+1]; per instance its sequence (None
    for a linked one) or its linked query; the top-k calls (scores, k, values, indices)."""

    instance_embeds: torch.Tensor
    padding: torch.Tensor
    online_logits: torch.Tensor
    sequences: list[InstanceSequence | None]
    linked: list[int]
    topk_calls: list[tuple[torch.Tensor, int, torch.Tensor, torch.Tensor]]
    naive: NaiveLink | None = None


def link_cost(previous: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
    """1 - cosine, rows = the previous linked frame's embeddings [Q, C], columns = the current
    frame's [Q, C] (no epsilon: `match_from_embds`)."""
    previous = previous / previous.norm(dim=1)[:, None]
    current = current / current.norm(dim=1)[:, None]
    return 1 - previous @ current.t()


def naive_link(embeds: torch.Tensor, logits: torch.Tensor) -> NaiveLink:
    """MinVIS's frame-by-frame linking of the segmenter's queries, embeds [T, Q, C], logits
    [T, Q, K+1]."""
    frames, queries = embeds.shape[:2]
    order = [torch.arange(queries)]
    linked = [embeds[0]]
    costs = []
    for t in range(1, frames):
        cost = link_cost(linked[-1], embeds[t])
        _, columns = linear_sum_assignment(cost.cpu().numpy())
        index = torch.as_tensor(columns, dtype=torch.long)
        order.append(index)
        linked.append(embeds[t][index.to(embeds.device)])
        costs.append(cost)
    order_t = torch.stack(order).to(embeds.device)
    picked = torch.gather(logits, 1, order_t[..., None].expand(-1, -1, logits.shape[-1]))
    return NaiveLink(order_t, picked.mean(0), torch.stack(linked), costs)


def tracked_embeds(sequence: InstanceSequence, frames: int) -> torch.Tensor:
    """A sequence's refiner input [T, C]: its outputs, padded by its fused position."""
    assert sequence.fused_position is not None
    before = sequence.start
    after = frames - sequence.num_frames - before
    pad = sequence.fused_position[None]
    return torch.cat([pad.expand(before, -1), torch.stack(sequence.outputs), pad.expand(after, -1)])


def refiner_inputs(
    video: GatheredVideo, instances: int, top_k: int, noise_frames: int
) -> RefinerInputs:
    """The refiner's N = `instances` inputs of a gathered video (see the module docstring)."""
    frames = video.hub.frames
    kept = kept_sequences(video.hub, noise_frames)
    calls = []
    if kept:
        scores = foreground_scores(mean_logits(kept))
        if top_k > len(kept):
            chosen = list(range(len(kept)))
        else:
            values, indices = scores.topk(top_k, sorted=False)
            calls.append((scores, top_k, values, indices))
            chosen = indices.tolist()
        kept = [kept[i] for i in chosen]
    embeds = [tracked_embeds(s, frames) for s in kept]
    logits = [torch.stack(s.logits).mean(0) for s in kept]
    left = instances - len(kept)
    # more kept sequences than instances (OFFLINE_TOPK_NUM above NUM_NEW_INS) all go in
    padding = torch.zeros(len(kept) + max(left, 0), frames, dtype=torch.bool)
    for i, s in enumerate(kept):
        padding[i, : s.start] = True
        padding[i, s.start + s.num_frames :] = True
    sequences: list[InstanceSequence | None] = list(kept)
    linked: list[int] = [-1] * len(kept)
    naive = None
    if left > 0:
        naive = naive_link(video.frame_embeds(), torch.stack(video.logits))
        scores = foreground_scores(naive.logits)
        values, indices = scores.topk(left, sorted=False)
        calls.append((scores, left, values, indices))
        for q in indices.tolist():
            embeds.append(naive.embeds[:, q])
            logits.append(naive.logits[q])
            sequences.append(None)
            linked.append(q)
    return RefinerInputs(
        torch.stack(embeds, dim=1),
        padding,
        torch.stack(logits),
        sequences,
        linked,
        calls,
        naive,
    )
