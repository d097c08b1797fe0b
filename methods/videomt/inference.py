"""VidEoMT's inference over a clip, with the queries carried from clip to clip.

The released setting runs one frame per backbone call (`WINDOW_SIZE 1`), the queries of frame t
made from the raw last-block queries of frame t-1; the model keeps them between calls. Here the
harness keeps them: a clip's result carries `CarriedQueries` (the queries each of its frames
started from, and those for the frame after it), handed back with the video's next clip. The harness's runner
gives the clip only the frames no earlier clip covered, so no frame is inferred twice. A caller
that does hand over frames an earlier clip covered (`seen`, the clip's first frames) gets them
run again from the queries they started from then, so they repeat their first predictions, and
the first new frame starts from the carried queries: every clip schedule gives the predictions
of the per-frame loop, bit for bit.

Video-level predictions follow `inference_video_vis` (tue-mps/videomt `videomt/videomt.py`): the
time-mean of each query's per-frame class LOGITS, softmax, no-object dropped, the top 10 over
(query, class) taken with `topk(sorted=False)`; the query index is the track id.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vis_bench.api import ClipResult
from vis_bench.methods.common.tracked_clip import tracked_clip_result
from vis_bench.methods.families.mask2former.postprocess import top_predictions
from vis_bench.methods.videomt.model import FrameOutput, VidEoMTNetwork


@dataclass
class FrameTokens:
    """One frame after the blocks before the query blocks: tokens [1, P + Hg*Wg, C], grid."""

    tokens: torch.Tensor
    grid: tuple[int, int]


@dataclass
class CarriedQueries:
    """A video's state after a clip: the queries each of its frames started from [n, 1, Q, C]
    and the queries for the frame after its last [1, Q, C]."""

    entering: torch.Tensor
    next: torch.Tensor


def starting_queries(
    net: VidEoMTNetwork, state: CarriedQueries | None, seen: int, index: int
) -> torch.Tensor | None:
    """The queries frame `index` of the clip starts from when they do not come from the clip's
    previous frame: a frame an earlier clip covered starts where it started then; the first new
    frame from the carried queries (a video's first frame from `q.weight`); None otherwise."""
    if state is None:
        if seen:
            raise ValueError("a clip with frames an earlier clip covered needs that clip's state")
        return net.initial_queries() if index == 0 else None
    if index < seen:
        return state.entering[state.entering.shape[0] - seen + index]
    return state.next if index == seen else None


def run_clip(
    net: VidEoMTNetwork, frames: list[FrameTokens], state: CarriedQueries | None, seen: int = 0
) -> tuple[list[FrameOutput], CarriedQueries]:
    """The query blocks and heads of each frame in order (see the module docstring)."""
    if state is not None and seen > state.entering.shape[0]:
        raise ValueError(f"{seen} frames seen before, the carried state covers fewer")
    outputs, entering = [], []
    queries = None
    for index, frame in enumerate(frames):
        start = starting_queries(net, state, seen, index)
        queries = start if start is not None else queries
        entering.append(queries)
        out = net.frame(frame.tokens, frame.grid, queries)
        outputs.append(out)
        queries = out.next_queries
    return outputs, CarriedQueries(torch.stack(entering), queries)


def clip_result(outputs: list[FrameOutput], state: CarriedQueries) -> ClipResult:
    """Every query as a track: per-frame class logits [T, Q, K+1], the queries each frame
    started from as embeddings [T, Q, C] (the harness links by the carried state, not by them),
    mask logits [Q, T, h, w]; scores and labels of each query's clip-mean logits (tables)."""
    frame_logits = torch.cat([out.class_logits for out in outputs])  # [T, Q, K+1]
    masks = torch.stack([out.mask_logits[0] for out in outputs], dim=1).float()
    return tracked_clip_result(frame_logits, masks, state.entering[:, 0], state)


def video_predictions(mean_logits: torch.Tensor, top_k: int) -> list[tuple[int, int, float]]:
    """The top-k (query, category id, score) of the video's time-mean logits [Q, K+1]."""
    top = top_predictions(mean_logits, top_k)
    return [
        (int(q), int(label) + 1, float(score))
        for q, label, score in zip(top.queries, top.labels, top.scores, strict=True)
    ]
