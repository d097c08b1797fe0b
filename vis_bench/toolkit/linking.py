"""How a method's clips become video tracks: declared in its spec, carried out by the harness.

Three declarations, one per family of methods:

* `SoftIoUStitching` (the default): clips overlap and the shared stitcher (stitching.py) joins
  their instances by space-time soft IoU over the frames they share (the near-online matching
  of the method that introduced it; every clip-level method at T < all).
* `EmbeddingAssociation`: the method returns, per clip, every query track it keeps (all of them,
  not a top-k) with per-frame class logits, mask logits and embeddings, its frames already linked
  inside the clip; the harness matches the clip's first new frame to the previous clip's last
  frame with the declared cost and Hungarian assignment, re-orders the clip's tracks, and keeps
  per-track class-logit sums; the method picks the video's predictions from the mean logits at
  the end (`MethodPlugin.video_predictions`): a per-frame method's windowed inference exactly.
* `CarriedState`: the method carries what it learnt from earlier clips in a per-video state the
  harness hands back to its next `infer_clip(frames, state=..., seen=...)` (a learnt tracker,
  a memory bank, a query propagated from frame to frame), with `seen` the number of the clip's
  first frames that earlier clips covered (overlapping schedules; their predictions are kept
  from those clips), and returns its tracks already in a fixed order; everything else as
  `EmbeddingAssociation` with the identity as the assignment.
* `WholeVideoRefinement`: the method carries a state from clip to clip as with `CarriedState`,
  but decides its tracks only once it has seen the whole video (a refiner over every frame's
  queries): at the video's end the harness hands it the state (`MethodPlugin.refine_video`), which
  gives the video's predictions, then streams the video's frames a second time, a window at a
  time, for the chosen tracks' masks (`MethodPlugin.refined_masks`). What the state holds is the
  method's (small per-frame summaries); per-frame maps are made again in the second pass rather
  than kept, so memory stays bounded whatever the video's length (refinement.py).

Both query-track declarations (`QueryTracks`) are run by `query_tracks.QueryTrackLinker`: each
frame is finalised (resized, thresholded, RLE-encoded) as soon as its clip is linked, so only the
current clip's float masks are ever held. `WholeVideoRefinement` is run by
`refinement.RefinedVideoLinker`, which finalises each frame as its second-pass masks arrive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from scipy.optimize import linear_sum_assignment

#: cost [current tracks, previous tracks] of linking the current clip's tracks to the previous
EmbeddingCost = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def cosine_cost(previous: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
    """1 - cosine similarity of embeddings: rows = current [N, C], columns = previous [M, C]."""
    current = current / current.norm(dim=1)[:, None]
    previous = previous / previous.norm(dim=1)[:, None]
    return 1 - torch.mm(current, previous.transpose(0, 1))


@dataclass(frozen=True)
class SoftIoUStitching:
    """Clips joined by the shared soft-IoU stitcher over overlapping frames."""

    name: str = "soft-IoU stitching over overlapping frames"


@dataclass(frozen=True)
class EmbeddingAssociation:
    """Clips joined by Hungarian matching of their tracks' embeddings (see the module)."""

    cost: EmbeddingCost = cosine_cost
    name: str = "query-embedding association (Hungarian on 1 - cosine)"

    def assign(self, previous: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
        """The current track that continues each previous track: indices [M] (scipy's
        `linear_sum_assignment` on the transposed cost, as the authors' embedding matching)."""
        cost = self.cost(previous, current).detach().float().cpu()
        _, columns = linear_sum_assignment(cost.transpose(0, 1))
        return torch.as_tensor(columns, dtype=torch.long)


@dataclass(frozen=True)
class CarriedState:
    """Clips joined by the method itself through a per-video state it is handed back."""

    name: str = "state carried by the method from clip to clip"

    def assign(self, previous: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
        """The identity: the method keeps its tracks in order itself."""
        return torch.arange(current.shape[0])


@dataclass(frozen=True)
class WholeVideoRefinement:
    """Clips carry a state to the video's end, where the method refines it all at once; masks
    come from a second pass over the frames (see the module)."""

    name: str = (
        "state carried clip to clip, the whole video refined at its end, "
        "masks in a second pass over the frames"
    )


Linking = SoftIoUStitching | EmbeddingAssociation | CarriedState | WholeVideoRefinement
QueryTracks = (EmbeddingAssociation, CarriedState)


def links_query_tracks(linking: Linking) -> bool:
    """True for the declarations the query-track linker runs."""
    return isinstance(linking, QueryTracks)


def carries_state(linking: Linking) -> bool:
    """True where the harness hands the method its state back with every clip."""
    return isinstance(linking, CarriedState | WholeVideoRefinement)
