"""Did a timed round do the work it reports? Its predictions set against the accuracy pass's.

A timed pass that skipped work (a fast path that drops frames, a cached result) would report a
speed the scored predictions never had, so every round's predictions are checked, video for
video, against those of the cell's accuracy pass, in two steps:

- identical: a digest of the video's predictions (ids, categories, exact scores, RLE strings)
  is the accuracy pass's; on a CPU with the same threads this is what happens;
- equivalent: otherwise the same predictions in the same order, categories equal, scores within
  `SCORE_TOLERANCE` and every frame's mask area within `AREA_TOLERANCE` (a share, at least
  `AREA_PIXELS` pixels); a GPU may sum in another order from one process to the next, which
  moves a score in its last digits or a mask by a pixel, but not a prediction or a frame.

Anything else is a different result, and the round fails its cell.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

#: how far a score or a mask may move between two passes that did the same work
SCORE_TOLERANCE = 1e-3
AREA_TOLERANCE = 0.01
AREA_PIXELS = 2


@dataclass(frozen=True)
class VideoPredictions:
    """A video's predictions as the check needs them: a digest, and per prediction its
    category, score and mask area in every frame (0 where it has none)."""

    digest: str
    summary: tuple[tuple[int, float, tuple[int, ...]], ...]

    def as_json(self) -> list[Any]:
        return [self.digest, [[c, s, list(a)] for c, s, a in self.summary]]

    @classmethod
    def from_json(cls, data: list[Any]) -> VideoPredictions:
        digest, summary = data
        return cls(str(digest), tuple((int(c), float(s), tuple(a)) for c, s, a in summary))


def video_predictions(results: list[dict[str, Any]]) -> dict[int, VideoPredictions]:
    """Per video id, its predictions in the order the pass produced them."""
    import orjson

    from vis_bench.eval.rle.areas import track_areas

    by_video: dict[int, list[dict[str, Any]]] = {}
    for result in results:
        by_video.setdefault(int(result["video_id"]), []).append(result)
    options = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_SORT_KEYS
    out = {}
    for video, items in by_video.items():
        areas = track_areas([list(r.get("segmentations") or []) for r in items])
        summary = tuple(
            (int(r["category_id"]), float(r["score"]), tuple(int(a) for a in area))
            for r, area in zip(items, areas, strict=True)
        )
        digest = hashlib.sha256(orjson.dumps(items, option=options)).hexdigest()[:16]
        out[video] = VideoPredictions(digest, summary)
    return out


@dataclass
class Check:
    """How a round's predictions compared with the accuracy pass's, over its videos."""

    identical: int = 0
    equivalent: int = 0
    different: list[int] = field(default_factory=list)
    max_score_difference: float = 0.0
    max_area_difference: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "identical_videos": self.identical,
            "equivalent_videos": self.equivalent,
            "different_videos": list(self.different),
            "max_score_difference": self.max_score_difference,
            "max_area_difference_pixels": self.max_area_difference,
        }


_NONE = VideoPredictions("", ())


def check_predictions(
    expected: dict[int, VideoPredictions],
    produced: dict[int, VideoPredictions],
    videos: list[int],
) -> Check:
    """Each of `videos` (a video without predictions has none in both) compared as above."""
    check = Check()
    for video in videos:
        want, got = expected.get(video, _NONE), produced.get(video, _NONE)
        if want.digest == got.digest:
            check.identical += 1
        elif _equivalent(want, got, check):
            check.equivalent += 1
        else:
            check.different.append(video)
    return check


def _equivalent(want: VideoPredictions, got: VideoPredictions, check: Check) -> bool:
    """Same predictions within the tolerances (the largest differences noted in `check`)."""
    if len(want.summary) != len(got.summary):
        return False
    for (cat_a, score_a, areas_a), (cat_b, score_b, areas_b) in zip(
        want.summary, got.summary, strict=True
    ):
        if cat_a != cat_b or len(areas_a) != len(areas_b):
            return False
        score = abs(score_a - score_b)
        check.max_score_difference = max(check.max_score_difference, score)
        if score > SCORE_TOLERANCE:
            return False
        for a, b in zip(areas_a, areas_b, strict=True):
            moved = abs(a - b)
            check.max_area_difference = max(check.max_area_difference, moved)
            if moved > max(AREA_PIXELS, AREA_TOLERANCE * max(a, b)):
                return False
    return True
