"""What a results file does that the official evaluators score without a word, but that changes
the numbers: exact duplicate predictions, scores that are not probabilities, and more predictions
for a (video, category) than the 100 the metric keeps.

A results list written twice over (every prediction duplicated) scores as the official evaluator
scores it, much lower (each copy beyond the first is a false positive), and nothing says why. A
score outside [0, 1] is ranked as given, but is rarely meant. These checks only warn: the numbers
stay the official ones. `validate` runs the duplicate check on the file as written, `eval` on the
loaded results (both through `duplicate_pairs`); likewise both count the predictions over the
cap with `over_cap` and say so with `cap_message` (`eval` adds whether the ignored ones would
have matched a ground-truth track: metric/capped.py).

Finding duplicates costs one pass over the predictions: a prediction's video, category, frame
count and first mask are its key, and only predictions sharing a key are compared in full.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from vis_bench.eval.metric.params import MAX_DETS

#: how many examples a warning names
_NAMED = 5

#: (video id, category id, its frames: each None or an RLE dict) of one prediction
Prediction = tuple[Any, Any, Sequence[Any]]


def plain_counts(seg: dict[str, Any]) -> Any:
    """An RLE frame's mask string, as a JSON results file holds it."""
    return seg.get("counts")


def _frame_key(seg: Any, counts: Callable[[Any], Any]) -> Any:
    if not seg:
        return None
    size = seg.get("size")
    key = (tuple(size) if isinstance(size, list) else size, counts(seg))
    try:
        hash(key)
    except TypeError:  # a malformed frame (validate checks files as written): compared as text
        return repr(key)
    return key


def _first_key(frames: Sequence[Any], counts: Callable[[Any], Any]) -> Any:
    for t, seg in enumerate(frames):
        if seg:
            return t, _frame_key(seg, counts)
    return None


def duplicate_pairs(
    predictions: Sequence[Prediction], counts: Callable[[Any], Any] = plain_counts
) -> list[tuple[int, int]]:
    """(i, j) for each prediction i that is an exact copy of an earlier prediction j: the same
    video, category and masks on every frame (scores may differ)."""
    candidates: dict[Any, list[int]] = {}
    for i, (vid, cat, frames) in enumerate(predictions):
        key = (vid, cat, len(frames), _first_key(frames, counts))
        candidates.setdefault(key, []).append(i)
    pairs = []
    for group in candidates.values():
        if len(group) < 2:
            continue
        seen: dict[tuple, int] = {}
        for i in group:
            masks = tuple(_frame_key(seg, counts) for seg in predictions[i][2])
            j = seen.setdefault(masks, i)
            if j != i:
                pairs.append((i, j))
    return sorted(pairs)


def duplicate_warning(pairs: list[tuple[int, int]], n_results: int) -> str | None:
    """One line: how many predictions repeat an earlier one, with examples and the fix."""
    if not pairs:
        return None
    examples = ", ".join(f"result {i} = result {j}" for i, j in pairs[:_NAMED])
    more = f" and {len(pairs) - _NAMED} more" if len(pairs) > _NAMED else ""
    return (
        f"{len(pairs)} of {n_results} predictions are exact duplicates of an earlier one (same "
        f"video_id, category_id and masks: {examples}{more}); each copy counts as a false "
        "positive and lowers AP: write each prediction once"
    )


def score_range_warning(scores: np.ndarray) -> str | None:
    """One line when finite scores fall outside [0, 1] (how many, the range, what it means)."""
    finite = scores[np.isfinite(scores)]
    outside = (finite < 0) | (finite > 1)
    if not outside.any():
        return None
    return (
        f"{int(outside.sum())} of {len(scores)} predictions have a score outside [0, 1] (from "
        f"{finite.min():g} to {finite.max():g}); they are ranked as given, as the official "
        "evaluator does, but a score is meant as a confidence in [0, 1]: check the model's "
        "output (a logit instead of a probability?)"
    )


def over_cap(keys: Sequence[tuple[int, Any]]) -> dict[Any, tuple[int, int]]:
    """(video id, category id) -> (how many predictions, the first one's index), for each pair
    with more predictions than the metric keeps (`keys`: (index, (video, category)) of each
    prediction the metric would score)."""
    counts: dict[Any, list[int]] = {}
    for index, key in keys:
        entry = counts.setdefault(key, [0, index])
        entry[0] += 1
    return {key: (n, first) for key, (n, first) in counts.items() if n > MAX_DETS[-1]}


def cap_message(n: int, category: Any) -> str:
    """What the cap does to one (video, category) pair with `n` predictions."""
    cap = MAX_DETS[-1]
    return (
        f"{n} predictions for category {category} in this video; only the {cap} best-scored "
        "count, the rest are ignored"
    )
