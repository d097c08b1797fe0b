"""Predictions the metric never scores, or scores on other frames than given: counted and named.

The official evaluators keep quiet about both. A prediction whose `category_id` the ground truth
does not list is never compared with anything, and one whose `segmentations` list is shorter or
longer than its video is compared only up to the shorter list, and one whose masks are another
size than its video overlaps nothing (a mask of the wrong size is never matched). So a results
file whose category ids are all off by one, or whose masks were encoded at the model's input
size, scores AP 0.00 without a word. The numbers stay the official ones; this
module only makes the loss visible, so that `eval` and `compare` can refuse to pass it silently.

Where the ground truth is at fault, it is the file named (`ground_truth_messages`): a category
its own annotations use but its `categories` does not list, or a video whose masks in the ground
truth have the results' size while its `videos` entry says another.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from vis_bench.eval.metric.loading import GroundTruth, Results

#: how many ids or videos a message names before it says "and N more"
_NAMED = 8


@dataclass(frozen=True)
class DroppedPredictions:
    """What scoring drops (unknown categories) or alters (frame lists of the wrong length)."""

    n_results: int
    #: category id the ground truth does not list -> how many predictions carry it
    unknown_category: dict[int, int] = field(default_factory=dict)
    #: (video id, entries given, frames of the video) -> how many predictions
    frame_count: dict[tuple[int, int, int], int] = field(default_factory=dict)
    #: ((mask height, width), (video height, width)) -> [predictions, videos] whose first mask
    #: has that size in a video of that size
    mask_size: dict[tuple[tuple[int, int], tuple[int, int]], tuple[int, int]] = field(
        default_factory=dict
    )
    #: the ground truth file, named where it is at fault
    gt_path: str = "the ground truth"
    #: of `unknown_category`, the ids the ground truth's annotations use -> the first one's index
    gt_unlisted: dict[int, int] = field(default_factory=dict)
    #: of `mask_size`, the sizes the ground truth's own masks have in such a video -> its id
    gt_sized: dict[tuple[tuple[int, int], tuple[int, int]], int] = field(default_factory=dict)

    @property
    def n_unknown_category(self) -> int:
        return sum(self.unknown_category.values())

    @property
    def n_frame_count(self) -> int:
        return sum(self.frame_count.values())

    @property
    def n_mask_size(self) -> int:
        return sum(n for n, _ in self.mask_size.values())

    @property
    def n_affected(self) -> int:
        """Predictions dropped or cut, each kind counted (one with two problems counts twice)."""
        return self.n_unknown_category + self.n_frame_count + self.n_mask_size

    @property
    def any(self) -> bool:
        return bool(self.unknown_category or self.frame_count or self.mask_size)

    @property
    def ground_truth_at_fault(self) -> bool:
        """True when some of the loss is the ground truth's mistake (ground_truth_messages)."""
        return bool(self.gt_unlisted or self.gt_sized)

    @property
    def results_at_fault(self) -> bool:
        """True when some of the loss is the results file's mistake (results_messages)."""
        return bool(
            set(self.unknown_category) - set(self.gt_unlisted)
            or self.frame_count
            or set(self.mask_size) - set(self.gt_sized)
        )

    def messages(self) -> list[str]:
        """Every line: the results file's problems, then the ground truth's."""
        return self.results_messages() + self.ground_truth_messages()

    def ground_truth_messages(self) -> list[str]:
        """One line per problem of the ground truth that the results only reveal: which field
        of which file, and the fix."""
        lines = []
        for cid, first in sorted(self.gt_unlisted.items()):
            n = self.unknown_category[cid]
            lines.append(
                f"category_id {cid} is used by the ground truth's annotations (first "
                f"annotations[{first}].category_id) but not listed in its `categories`, so its "
                f"tracks and the {_count(n, 'prediction')} of it are never scored; field "
                f"categories of {self.gt_path}: add category {cid} (id and name), or remove "
                "its annotations"
            )
        for key, vid in sorted(self.gt_sized.items()):
            (mh, mw), (vh, vw) = key
            lines.append(
                f"the ground truth's own masks in video {vid} are {mh}x{mw} (height x width), "
                f"as the results' are, but its `videos` entry says {vh}x{vw}; field "
                f"videos[].height / width of video {vid} in {self.gt_path}: give the frames' "
                "real size"
            )
        return lines

    def results_messages(self) -> list[str]:
        """One line per kind of problem of the results: how many, which ids, which field, and
        the fix."""
        lines = []
        unknown = {c: n for c, n in self.unknown_category.items() if c not in self.gt_unlisted}
        if unknown:
            ids = _named(f"{cid} (x{n})" for cid, n in sorted(unknown.items()))
            lines.append(
                f"{sum(unknown.values())} of {self.n_results} predictions have a category_id "
                f"the ground truth does not list ({ids}) and are never scored; field "
                "category_id: map the model's class indices to the dataset's category ids"
            )
        if self.frame_count:
            videos = _named(
                f"video {vid}: {given} entries for {frames} frames"
                for (vid, given, frames) in sorted(self.frame_count)
            )
            lines.append(
                f"{self.n_frame_count} of {self.n_results} predictions have a segmentations "
                f"list whose length is not their video's frame count ({videos}); only the "
                "frames both lists cover are scored; field segmentations: give one entry per "
                "frame, null where nothing is predicted"
            )
        sized = {k: v for k, v in self.mask_size.items() if k not in self.gt_sized}
        if sized:
            sizes = _named(
                f"masks {mh}x{mw} in {vh}x{vw} videos ({_count(n, 'prediction')} in "
                f"{_count(videos, 'video')})"
                for ((mh, mw), (vh, vw)), (n, videos) in sorted(sized.items())
            )
            lines.append(
                f"{sum(n for n, _ in sized.values())} of {self.n_results} predictions have masks of another size "
                f"than their video (height x width: {sizes}); such a mask overlaps no ground "
                "truth, so they score as misses; field segmentations[].size: encode each mask "
                "at its video's height and width"
            )
        return lines


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _named(items) -> str:
    items = list(items)
    shown = ", ".join(items[:_NAMED])
    return shown if len(items) <= _NAMED else f"{shown} and {len(items) - _NAMED} more"


def find_dropped(gt: GroundTruth, res: Results) -> DroppedPredictions:
    """The predictions of `res` that scoring against `gt` drops or cuts (see the module doc)."""
    known = np.asarray(gt.cat_ids, dtype=np.int64)
    unknown = ~np.isin(res.category_of, known)
    unknown_category = Counter(int(c) for c in res.category_of[unknown])
    frame_count: Counter = Counter()
    sizes: dict[tuple[tuple[int, int], tuple[int, int]], list] = {}
    for vid, frames in zip(res.video_of.tolist(), res.frames, strict=True):
        length = gt.video_length.get(vid)
        if length is not None and len(frames) != length:
            frame_count[(vid, len(frames), length)] += 1
        size = _first_size(frames)
        video = gt.video_size.get(vid)
        if size is not None and video is not None and size != tuple(video):
            entry = sizes.setdefault((size, tuple(video)), [0, set()])
            entry[0] += 1
            entry[1].add(vid)
    return DroppedPredictions(
        n_results=len(res),
        unknown_category=dict(unknown_category),
        frame_count=dict(frame_count),
        mask_size={key: (n, len(videos)) for key, (n, videos) in sizes.items()},
        gt_path=gt.path,
        gt_unlisted={
            cid: gt.unlisted_categories[cid]
            for cid in unknown_category
            if cid in gt.unlisted_categories
        },
        gt_sized=_sized_like_ground_truth(gt, sizes),
    )


def _sized_like_ground_truth(gt: GroundTruth, sizes: dict) -> dict:
    """Of the (mask size, video size) mismatches, those where the ground truth's own masks in
    one of the videos have the results' size (its `videos` entry is wrong) -> that video."""
    found = {}
    for key, (_, videos) in sizes.items():
        for vid in sorted(videos):
            tracks = np.flatnonzero(gt.video_of == vid)
            if any(_first_size(gt.frames[k]) == key[0] for k in tracks):
                found[key] = vid
                break
    return found


def _first_size(frames: list) -> tuple[int, int] | None:
    """The (height, width) of a prediction's first mask (None: no mask)."""
    for seg in frames:
        if seg:
            size = seg.get("size")
            return (int(size[0]), int(size[1])) if isinstance(size, list) else None
    return None
