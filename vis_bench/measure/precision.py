"""Which timed rounds count, how precise a cell's FPS is, and when a cell needs more rounds.

One rule for every cell of a sweep, so that a figure never depends on one lucky round: a round
counts when the machine's reference speed around it (the slower of its two readings) was within
`measure.noisy_threshold` of the fastest any round of the sweep saw on that device. A cell's FPS
is the median of its counted rounds with a distribution-free interval (order statistics of those
rounds: 95 % from 6 rounds on, less, and said so, below), and the cell is timed again,
interleaved with the others, until a 95 % interval's half-width is within `measure.precision` of
the figure, or its rounds reach `measure.max_rounds` or their workers `measure.cell_budget_s`.
A cell with fewer than `measure.rounds` counted rounds, or a counted round on a loaded machine,
is "not comparable (loaded)": its figure and interval are shown, over every round, but nothing
is ranked by it and no ratio is printed against it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: confidence of a cell's FPS interval
CONFIDENCE = 0.95
#: what a cell that cannot be compared says, wherever its FPS would be ranked or set in a ratio
NOT_COMPARABLE = "not comparable (loaded)"


def order_statistic_rank(count: int) -> int:
    """k of the median's distribution-free interval [x_(k), x_(count+1-k)] over `count` sorted
    rounds: the largest k whose coverage is at least CONFIDENCE, or 1 (the whole range) where
    none is (fewer than 6 rounds)."""
    best = 1
    for k in range(1, count // 2 + 1):
        if interval_confidence(count, k) >= CONFIDENCE:
            best = k
    return best


def interval_confidence(count: int, k: int | None = None) -> float:
    """The probability that [x_(k), x_(count+1-k)] holds the true median of the rounds'
    distribution, whatever that distribution (binomial: the median lies outside only when at
    least count+1-k rounds fall on one side of it). k defaults to order_statistic_rank."""
    if count <= 0:
        return 0.0
    k = order_statistic_rank(count) if k is None else k
    outside = sum(math.comb(count, i) for i in range(k)) / 2**count
    return max(0.0, 1.0 - 2.0 * outside)


def median_interval(values: Sequence[float]) -> tuple[float, float, float] | None:
    """(median, low, high): the median of `values` and its distribution-free interval, order
    statistics chosen by the binomial distribution (interval_confidence says how sure it is).

    Rounds are few and their times skewed (a round slowed by the machine is far slower, none is
    far faster), where a bootstrap of the median is too narrow: with three rounds it can only
    return their values and claims 95 % for what is a 75 % interval. The order-statistic
    interval holds for any distribution and says its own confidence; below 6 rounds no interval
    of the median reaches 95 %, so a figure from fewer rounds never meets a precision target.
    None without values; one value is its own interval, of confidence 0."""
    if not values:
        return None
    data = sorted(float(v) for v in values)
    k = order_statistic_rank(len(data))
    return statistics.median(data), data[k - 1], data[len(data) - k]


def half_width(interval: tuple[float, float, float] | None) -> float | None:
    """The interval's larger side as a share of its median (None: no interval, or a median 0)."""
    if interval is None or interval[0] <= 0:
        return None
    median, low, high = interval
    return max(median - low, high - median) / median


def rounds_for_confidence() -> int:
    """The fewest rounds whose median has a CONFIDENCE interval (6 for 95 %)."""
    count = 1
    while interval_confidence(count) < CONFIDENCE:
        count += 1
    return count


def confidence_text(confidence: float | None) -> str:
    """`: a 75% interval; 6 are needed for 95%` after "N rounds" where those rounds give less
    than a 95 % interval (fewer than 6), else "": what the interval is worth, said beside it."""
    if not has_full_confidence(confidence):
        return (
            f": a {100 * (confidence or 0.0):.0f}% interval; {rounds_for_confidence()} are "
            f"needed for {100 * CONFIDENCE:.0f}%"
        )
    return ""


def has_full_confidence(confidence: float | None) -> bool:
    """Whether an interval is a CONFIDENCE one (a record made before confidences were kept
    called its interval 95 %: it is read so)."""
    return confidence is None or confidence >= CONFIDENCE


def target_missed(
    wider_than_target: bool | None, confidence: float | None, target: float | None
) -> bool:
    """Whether a page says "wider than the N% target": only of a CONFIDENCE interval that is
    wider; an interval from too few rounds says what it is worth instead (confidence_text)."""
    return bool(wider_than_target and target and has_full_confidence(confidence))


def counts(reference_gflops: float, fastest: float, threshold: float) -> bool:
    """A round counts when its reference speed is within `threshold` of the sweep's fastest."""
    return reference_gflops >= (1 - threshold) * fastest


@dataclass(frozen=True)
class Precision:
    """A cell's FPS as the rule gives it: the rounds that count, the figure, its interval and
    whether it can be compared with another cell's."""

    #: the indices of the rounds that count (at full machine speed)
    counted: list[int]
    #: the rounds the figure comes from: the counted ones, or all when the cell is not comparable
    used: list[int]
    fps: float | None
    interval: tuple[float, float, float] | None
    #: the interval's half-width as a share of the figure
    half_width: float | None
    target: float
    comparable: bool
    #: why not comparable (None when comparable)
    reason: str | None
    #: the interval's confidence (interval_confidence: below CONFIDENCE for fewer than 6 rounds)
    confidence: float = 0.0

    @property
    def wider_than_target(self) -> bool:
        """A target is met only by a CONFIDENCE interval within it: fewer rounds than give one
        are wider than any target."""
        if self.half_width is None or self.target <= 0:
            return False
        return self.half_width > self.target or self.confidence < CONFIDENCE

    def as_dict(self) -> dict[str, Any]:
        interval = self.interval
        return {
            "fps_ci": None if interval is None else [interval[1], interval[2]],
            "fps_ci_confidence": self.confidence,
            "fps_precision": self.half_width,
            "precision_target": self.target,
            "wider_than_target": self.wider_than_target,
            "rounds_counted": len(self.counted),
            "comparable": self.comparable,
            "not_comparable": self.reason,
        }


def precision_of(
    rounds: Sequence[Any], fastest: float, measure: Any, fps: str = "fps"
) -> Precision:
    """The rule applied to one cell's rounds (RoundOutcome-like: `round_index`,
    `reference_gflops`, `load`, and the FPS attribute named by `fps`)."""
    counted = [r for r in rounds if counts(r.reference_gflops, fastest, measure.noisy_threshold)]
    loaded = [r.round_index for r in counted if r.load.get("loaded")]
    reason = None
    if len(counted) < measure.rounds:
        reason = (
            f"{NOT_COMPARABLE}: {len(counted)} of {len(rounds)} rounds at full machine speed, "
            f"{measure.rounds} needed"
        )
    elif loaded:
        reason = f"{NOT_COMPARABLE}: other work competed for the cores in round(s) {loaded}"
    used = counted if reason is None else list(rounds)
    values = [getattr(r, fps) for r in used if getattr(r, fps) is not None]
    interval = median_interval(values)
    return Precision(
        counted=[r.round_index for r in counted],
        used=[r.round_index for r in used],
        fps=None if interval is None else interval[0],
        interval=interval,
        half_width=half_width(interval),
        target=measure.precision,
        comparable=reason is None,
        reason=reason,
        confidence=interval_confidence(len(values)),
    )


def needs_more(cell_rounds: Sequence[Any], fastest: float, measure: Any, spent_s: float) -> bool:
    """Whether a cell is timed again: fewer rounds than `measure.rounds`, or (with a target,
    within its `max_rounds`) fewer counted rounds than that, or (within `cell_budget_s` too) no
    95 % interval within the target. Too few counted rounds outrank the time budget: a figure is
    withheld as not comparable only when the rounds the rule allows are spent, not because
    a quiet machine's slow reading set aside one of a cell's first three."""
    if len(cell_rounds) < measure.rounds:
        return True
    if measure.precision <= 0:  # no target: exactly `rounds` rounds
        return False
    if len(cell_rounds) >= max(measure.max_rounds, measure.rounds):
        return False
    precision = precision_of(cell_rounds, fastest, measure)
    if len(precision.counted) < measure.rounds:
        return True
    if spent_s >= measure.cell_budget_s:
        return False
    return precision.wider_than_target
