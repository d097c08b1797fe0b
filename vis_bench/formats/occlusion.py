"""OVIS occlusion labels: per-frame levels -> one occlusion score per ground-truth track.

OVIS annotates every frame of a track with `no_occlusion`, `slight_occlusion`,
`severe_occlusion` or null. The OVIS evaluator turns a track's labels into a score: the non-null
labels map to 0, 0.25 and 0.75, and the score is the mean of the highest ceil(n / 2) of them
(the "top 50%"). The score then puts the track into the light [0, 0.25], medium [0.25, 0.5] and
heavy [0.5, 1] ranges, both ends inclusive (params.OCCLUSION_RANGES).

Every partial sum of such values is a multiple of 0.25, so the score computed from label counts
here is the same double the official code gets by summing a sorted list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: label -> value, as the OVIS evaluator maps them
OCCLUSION_VALUES: dict[str, float] = {
    "no_occlusion": 0.0,
    "slight_occlusion": 0.25,
    "severe_occlusion": 0.75,
}
#: labels in increasing order of occlusion
OCCLUSION_LABELS: tuple[str, ...] = tuple(OCCLUSION_VALUES)
#: the covered fractions OVIS's levels stand for: below 0.05 no occlusion, below 0.5 slight,
#: otherwise severe (a fully covered object is severe too)
SLIGHT_FROM = 0.05
SEVERE_FROM = 0.5


class OcclusionLabelError(ValueError):
    """A label list the OVIS evaluator cannot turn into a score (it aborts on these)."""


def level_of_covered_fraction(covered: float) -> str:
    """The OVIS label for a frame where `covered` of the object's full shape is hidden."""
    if covered < SLIGHT_FROM:
        return "no_occlusion"
    if covered < SEVERE_FROM:
        return "slight_occlusion"
    return "severe_occlusion"


def label_counts(labels: Any) -> tuple[int, int, int]:
    """(no, slight, severe) counts of a per-frame label list; nulls are skipped.

    Raises OcclusionLabelError, with a message saying what is wrong and where, for everything
    the official code crashes on: a value that is not a list, an unknown entry (a number, another
    string), or a list without a single non-null label (its mean divides by zero).
    """
    if not isinstance(labels, list):
        got = "null" if labels is None else type(labels).__name__
        raise OcclusionLabelError(
            f"must be a list with one entry per frame ({', '.join(OCCLUSION_LABELS)} or null), "
            f"got {got}"
        )
    counts = tuple(labels.count(name) for name in OCCLUSION_LABELS)
    nulls = labels.count(None)
    if sum(counts) + nulls != len(labels):
        for t, value in enumerate(labels):
            if value is not None and (type(value) is not str or value not in OCCLUSION_VALUES):
                raise OcclusionLabelError(
                    f"entry {t} is {value!r}; every entry must be one of "
                    f"{', '.join(OCCLUSION_LABELS)} or null"
                )
    if not any(counts):
        what = "empty" if not labels else "all null"
        raise OcclusionLabelError(
            f"is {what}; the OVIS evaluator needs at least one labelled frame per track "
            "(its top-50% mean divides by zero)"
        )
    return counts  # type: ignore[return-value]


def score_from_counts(no: int, slight: int, severe: int) -> float:
    """Mean of the highest ceil(n / 2) label values: severe ones first, then slight, then none."""
    n = no + slight + severe
    keep = (n + 1) // 2
    top_severe = min(severe, keep)
    top_slight = min(slight, keep - top_severe)
    return (OCCLUSION_VALUES["severe_occlusion"] * top_severe + 0.25 * top_slight) / keep


def occlusion_score(labels: Sequence[str | None] | Any) -> float:
    """The OVIS occlusion score of one track's per-frame labels (see the module docstring)."""
    return score_from_counts(*label_counts(list(labels) if isinstance(labels, tuple) else labels))
