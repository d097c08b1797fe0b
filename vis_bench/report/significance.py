"""Is the difference between two recorded cells real? Intervals and paired marks for reports.

A scored cell's record carries bootstrap intervals of its metrics (`AP_ci`: [low, high]) and the
path of its per-video matching (`video_matches_path`, written by sweep/scoring.py). Two cells on
the same videos are compared by the paired bootstrap (`eval.bootstrap.paired_difference`): both
are re-scored on the same resampled videos in every replicate, and the difference counts as real
(significant) when its interval excludes 0. Cells of one sweep were resampled with the same draws
(same videos, B and seed), so their stored replicate values (`bootstrap.values_path`) are
subtracted directly, which is what `paired_difference` computes, without re-accumulating. The
files come read from the report's `RecordSet`. Cells that cannot be paired (intervals switched
off, the matching file gone, different datasets or ground truth, fewer videos than a bootstrap
needs) get the reason instead of a mark, and a cell of too few videos says so beside its value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from vis_bench.eval.stats.bootstrap import (
    DEFAULT_CONFIDENCE,
    no_interval_reason,
    paired_difference,
    percentile_interval,
)
from vis_bench.records import CellRecord
from vis_bench.records.parts import Bootstrap
from vis_bench.report.record_set import Missing, RecordSet

#: appended to a difference whose paired interval contains 0
NOT_SIGNIFICANT = "n.s."


def interval_points(record: CellRecord, metric: str = "AP") -> tuple[float, float] | None:
    """The record's bootstrap interval of `metric` in points (x100), both ends as computed.

    Percentile intervals are skewed when a few videos dominate the score; the ends are kept
    apart so no report turns them into a symmetric spread the data do not have.
    """
    ci = record.interval(metric)
    if not isinstance(ci, list | tuple) or len(ci) != 2 or None in ci:
        return None
    return 100.0 * float(ci[0]), 100.0 * float(ci[1])


def with_interval(value: float, record: CellRecord, metric: str, digits: int) -> str:
    """`29.62 [23.71, 40.18]` (value already in points), or the value alone without an interval.

    The interval's two ends are printed as they are: a `value ± half-width` of a skewed interval
    would claim a range ([21.39, 37.85] for this one) that the bootstrap never gave.
    """
    text = f"{value:.{digits}f}"
    interval = interval_points(record, metric)
    if interval is None:
        why = missing_interval(record)
        return text if why is None else f"{text} ({why})"
    low, high = interval
    return f"{text} [{low:.{digits}f}, {high:.{digits}f}]"


def missing_interval(record: CellRecord) -> str | None:
    """Why a cell whose metrics were bootstrapped has no interval (`1 video: no interval`:
    eval/stats/bootstrap.py's rule), or None."""
    boot = record.bootstrap
    if boot is None or not boot.replicates or record.num_videos is None:
        return None
    return no_interval_reason(int(record.num_videos))


@dataclass
class Pairing:
    """A - B on the same videos, in points; `reason` says why it could not be computed."""

    difference: float | None = None
    interval: tuple[float, float] | None = None
    significant: bool | None = None
    replicates: int = 0
    reason: str | None = None

    def text(self, digits: int = 1) -> str:
        """`+1.2 [+0.3, +2.1]`, `+0.4 [-0.8, +1.5] n.s.`, or `not paired: <reason>`."""
        if self.reason is not None:
            return f"not paired: {self.reason}"
        head = f"{self.difference:+.{digits}f}"
        if self.interval is not None:
            low, high = self.interval
            head += f" [{low:+.{digits}f}, {high:+.{digits}f}]"
        return head if self.significant else f"{head} {NOT_SIGNIFICANT}"


class PairedComparer:
    """Paired comparisons of the records of one record set (their files read when it was built)."""

    def __init__(self, record_set: RecordSet, confidence: float = DEFAULT_CONFIDENCE):
        self.record_set = record_set
        self.confidence = confidence

    def _stored_values(self, record: CellRecord) -> Mapping[str, np.ndarray] | None:
        """The record's bootstrap replicate values per statistic (None: not stored)."""
        values = self.record_set.files(record).replicates
        return None if isinstance(values, Missing) else values

    def _shared_draws(
        self, a: CellRecord, b: CellRecord, metric: str
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Both cells' stored replicate values of `metric`, when drawn with the same B and seed."""
        boot_a, boot_b = _bootstrap(a), _bootstrap(b)
        if (boot_a.replicates, boot_a.seed) != (boot_b.replicates, boot_b.seed):
            return None
        values = [self._stored_values(a), self._stored_values(b)]
        if any(v is None or metric not in v for v in values):
            return None
        return values[0][metric], values[1][metric]

    def compare(self, a: CellRecord, b: CellRecord, metric: str = "AP") -> Pairing:
        """`metric`(a) - `metric`(b), paired over the same resampled videos."""
        reason = _unpairable(a, b, metric)
        if reason is not None:
            return Pairing(reason=reason)
        loaded = [self.record_set.files(a).matches, self.record_set.files(b).matches]
        for found in loaded:
            if isinstance(found, Missing):
                return Pairing(reason=found.reason)
        if not loaded[0].same_ground_truth(loaded[1]):
            return Pairing(reason="scored on different ground truth (videos or tracks differ)")
        too_few = no_interval_reason(loaded[0].n_videos)
        if too_few is not None:
            return Pairing(reason=too_few)
        value_a, value_b = float(a.metric(metric) or 0.0), float(b.metric(metric) or 0.0)
        stored = self._shared_draws(a, b, metric)
        if stored is not None:
            interval = percentile_interval(stored[0] - stored[1], self.confidence)
            return _pairing(value_a - value_b, interval, len(stored[0]))
        replicates = min(int(_bootstrap(a).replicates or 0), int(_bootstrap(b).replicates or 0))
        seed = _bootstrap(a).seed
        diff = paired_difference(
            loaded[0],
            loaded[1],
            value_a,
            value_b,
            metric=metric,
            replicates=replicates,
            seed=int(0 if seed is None else seed),
            confidence=self.confidence,
        )
        return _pairing(diff.difference, diff.interval, replicates)


def _pairing(difference: float, interval: tuple[float, float] | None, replicates: int) -> Pairing:
    """A Pairing in points from a difference and its interval in fractions."""
    if interval is None:
        return Pairing(100 * difference, None, False, replicates)
    low, high = 100 * interval[0], 100 * interval[1]
    return Pairing(100 * difference, (low, high), low > 0 or high < 0, replicates)


def _bootstrap(record: CellRecord) -> Bootstrap:
    """The record's bootstrap (every figure None for a record without one)."""
    return record.bootstrap or Bootstrap()


def _unpairable(a: CellRecord, b: CellRecord, metric: str) -> str | None:
    if a.dataset != b.dataset:
        return "different datasets"
    if a.metric(metric) is None or b.metric(metric) is None:
        return f"{metric} not measured"
    for record in (a, b):
        if record.bootstrap is None or not record.bootstrap.replicates:
            return "no bootstrap (measure.bootstrap: 0)"
    return None
