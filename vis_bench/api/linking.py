"""How a method's clips become video tracks: declared in its spec (`MethodSpec.linking`), carried
out by the harness (vis_bench/engine/).

Four declarations, one per family of methods:

* `SoftIoUStitching` (the default): clips overlap and the shared stitcher (engine/stitching.py)
  joins their instances by space-time soft IoU over the frames they share (the near-online
  matching of the method that introduced it; every clip-level method at T < all).
* `EmbeddingAssociation`: the method returns, per clip, every query track it keeps (all of them,
  not a top-k) with per-frame class logits, mask logits and embeddings, its frames already linked
  inside the clip; the harness matches the clip's first new frame to the previous clip's last
  frame with the declared cost and Hungarian assignment, re-orders the clip's tracks, and keeps
  per-track class-logit sums; the method picks the video's predictions from the mean logits at
  the end (a `video_predictions` hook, `QueryTrackPredictions`; the default takes each slot's
  most likely class): a per-frame method's windowed inference exactly.
* `CarriedState`: the method carries what it learnt from earlier clips in a per-video state the
  harness hands back to its next `infer_clip(frames, state=..., seen=...)` (`CarriesState`; a
  learnt tracker, a memory bank, a query propagated from frame to frame), with `seen` the
  number of the clip's first frames that earlier clips covered (overlapping schedules; their
  predictions are kept from those clips), and returns its tracks already in a fixed order;
  everything else as `EmbeddingAssociation` with the identity as the assignment.
* `WholeVideoRefinement`: the method carries a state from clip to clip as with `CarriedState`,
  but decides its tracks only once it has seen the whole video (a refiner over every frame's
  queries): at the video's end the harness hands it the state (`refine_video`), which gives the
  video's predictions, then streams the video's frames a second time, a window at a time, for the
  chosen tracks' masks (`refined_masks`; both hooks in refinement.py). What the state holds is
  the method's (small per-frame summaries); per-frame maps are made again in the second pass
  rather than kept, so memory stays bounded whatever the video's length.

Both query-track declarations (`QueryTracks`) are run by the engine's `QueryTrackLinker`: each
frame's working-resolution masks are held until the video's predictions are chosen, and only the
chosen slots' masks are then finalised (resized, thresholded, RLE-encoded), as the authors pick
the top-k before making masks; the held masks are bounded per video (engine/query_tracks.py),
never at the video's resolution. `WholeVideoRefinement` is run by the engine's
`RefinedVideoLinker`, which finalises each frame as its second-pass masks arrive. What each
declaration asks of the plugin class (the state parameters, the refinement hooks) is checked
when the method is registered (capabilities.py).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

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
    """Clips joined by Hungarian matching of their tracks' embeddings (see the module).

    `independent_frames`: each frame's predictions depend on that frame alone (an image model
    whose frames are linked by their embeddings); the harness then never gives a frame twice
    under overlapping clips, as for a carried state (`gives_each_frame_once`)."""

    cost: EmbeddingCost = cosine_cost
    name: str = "query-embedding association (Hungarian on 1 - cosine)"
    independent_frames: bool = False

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


def gives_each_frame_once(linking: Linking) -> bool:
    """True where a frame an earlier clip covered is not given to the method again: its state
    (or the frame's independence from the others) makes its first prediction the one kept, so
    computing it again would be thrown away. Its FPS then does not depend on the stride, and
    the clip length is how many new frames one call takes at most."""
    if isinstance(linking, EmbeddingAssociation):
        return linking.independent_frames
    return carries_state(linking)


class CarriesState(Protocol):
    """What a method whose linking carries a state implements: `infer_clip` (and, with per-frame
    stages, `infer_clip_features`) take the state after the video's previous clip (None for its
    first) and how many of this clip's first frames earlier clips covered."""

    def infer_clip(self, frames: torch.Tensor, *, state: Any = None, seen: int = 0) -> Any: ...


#: the keyword arguments a state-carrying method's clip inference takes
STATE_ARGUMENTS = ("state", "seen")


def takes_state(function: Callable[..., Any]) -> bool:
    """Whether a clip-inference function takes `state=` and `seen=` (`CarriesState`)."""
    parameters = inspect.signature(function).parameters
    return all(name in parameters for name in STATE_ARGUMENTS)


#: (slot, dataset category id, score) predictions of a video, in the method's order
VideoPredictions = Callable[[torch.Tensor], list[tuple[int, int, float]]]


class QueryTrackPredictions(Protocol):
    """An optional hook of a method linked by query tracks: the video's predictions from each
    slot's class logits averaged over the video's frames [N, K+1] (the last logit "no
    object"), e.g. the top 10 over (slot, class)."""

    def video_predictions(self, mean_logits: torch.Tensor) -> list[tuple[int, int, float]]: ...


def most_likely_class(mean_logits: torch.Tensor) -> list[tuple[int, int, float]]:
    """The default `video_predictions`: each slot's most likely class and its softmax score."""
    probs = torch.softmax(mean_logits.float(), dim=-1)[:, :-1]
    scores, labels = probs.max(-1)
    return [(slot, int(labels[slot]) + 1, float(scores[slot])) for slot in range(len(probs))]


def video_predictions(plugin: Any) -> VideoPredictions:
    """The method's `video_predictions` hook, or the default (`most_likely_class`)."""
    return getattr(plugin, "video_predictions", None) or most_likely_class
