"""Bootstrap confidence intervals over videos, and paired comparisons of two results files.

The video is the unit of the YouTube-VIS metric (matching never crosses videos), so a replicate
draws as many videos as the GT has, with replacement, and scores that multiset with the official
rules (`resample.WeightedAccumulator`: re-accumulation only, no rematching). Percentile
intervals; replicates whose statistic is undefined (no GT left in any category) are skipped.
Point estimates always come from the ordinary evaluation, never from the replicates.

Fewer than `MIN_VIDEOS` videos give no interval at all (`no_interval_reason`): one video drawn
with replacement is always itself, so every replicate would repeat the point estimate and the
"95 %" interval would have zero width. Every interval made here follows that rule, and says why
(`reason`), so the printers (eval, compare, the report's tables and marks, regress) say it too.

Paired comparison: both methods are scored on the *same* resampled videos in every replicate, so
the interval of the difference reflects how consistently one beats the other video by video, not
the (much larger) spread of either score alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vis_bench.errors import InputError
from vis_bench.eval.stats.resample import RESAMPLED_STATS, WeightedAccumulator
from vis_bench.eval.stats.video_matches import VideoMatches

DEFAULT_REPLICATES = 1000
DEFAULT_CONFIDENCE = 0.95
#: the fewest videos a bootstrap over videos gives an interval from (one is always redrawn as
#: itself: a zero-width interval)
MIN_VIDEOS = 2


#: why, said once beside the tables that show `no_interval_reason` in their cells
TOO_FEW_VIDEOS = (
    f"a bootstrap over videos needs at least {MIN_VIDEOS} videos: one video resampled is always "
    "itself, so every replicate repeats the point estimate and its interval has zero width"
)


def no_interval_reason(n_videos: int) -> str | None:
    """Why a bootstrap over `n_videos` videos gives no interval (`1 video: no interval`), or
    None when it gives one (TOO_FEW_VIDEOS says why at length)."""
    if n_videos >= MIN_VIDEOS:
        return None
    return f"{n_videos} video{'' if n_videos == 1 else 's'}: no interval"


def resample_weights(n_videos: int, replicates: int, seed: int) -> np.ndarray:
    """[B, V] how often each video is drawn per replicate (seeded: same seed, same draws)."""
    if replicates < 1:
        raise InputError(f"the number of bootstrap replicates must be >= 1, got {replicates}")
    if n_videos < 1:
        raise InputError("the ground truth has no videos to resample")
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_videos, np.full(n_videos, 1.0 / n_videos), size=replicates)


def percentile_interval(values: np.ndarray, confidence: float) -> tuple[float, float] | None:
    """[low, high] percentile interval of the defined values (-1 and NaN skipped); None if none."""
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be between 0 and 1, got {confidence}")
    kept = values[np.isfinite(values)]
    if not kept.size:
        return None
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(kept, [tail, 100 - tail])
    return float(low), float(high)


@dataclass
class BootstrapResult:
    """Replicate values per statistic and their intervals (same scale as the stats: fractions)."""

    replicates: int
    seed: int
    confidence: float
    values: dict[str, np.ndarray] = field(repr=False)
    intervals: dict[str, tuple[float, float] | None]
    #: why there are no intervals (too few videos: `no_interval_reason`); None when there are
    reason: str | None = None

    def stats_entries(self) -> dict[str, list[float] | None]:
        """`{"AP_ci": [low, high], ...}` for a stats file."""
        return {
            f"{name}_ci": None if ci is None else [ci[0], ci[1]]
            for name, ci in self.intervals.items()
        }


def _defined(values: np.ndarray) -> np.ndarray:
    return np.where(values < 0, np.nan, values)


def bootstrap(
    matches: VideoMatches,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
    confidence: float = DEFAULT_CONFIDENCE,
) -> BootstrapResult:
    """Percentile intervals of AP, AP50, AP75 and AR10 over videos resampled with replacement
    (none, with the reason, below MIN_VIDEOS videos: every replicate value is then NaN)."""
    reason = no_interval_reason(matches.n_videos)
    if reason is not None:
        values = {name: np.full(replicates, np.nan) for name in RESAMPLED_STATS}
        intervals = dict.fromkeys(RESAMPLED_STATS)
        return BootstrapResult(replicates, seed, confidence, values, intervals, reason)
    weights = resample_weights(matches.n_videos, replicates, seed)
    values = WeightedAccumulator(matches).stats_many(weights)
    values = {name: _defined(values[name]) for name in RESAMPLED_STATS}
    intervals = {name: percentile_interval(values[name], confidence) for name in RESAMPLED_STATS}
    return BootstrapResult(replicates, seed, confidence, values, intervals)


@dataclass
class PairedDifference:
    """A - B on the same videos: point difference, its bootstrap interval, and significance."""

    metric: str
    a: float
    b: float
    difference: float  # a - b from the ordinary evaluations (fractions)
    interval: tuple[float, float] | None
    replicates: int
    seed: int
    confidence: float
    #: share of replicates where the difference has the other sign than the point estimate (x2)
    p_value: float
    values: np.ndarray = field(repr=False)
    #: why there is no interval (too few videos: `no_interval_reason`); None when there is one
    reason: str | None = None

    @property
    def excludes_zero(self) -> bool:
        """True when the interval lies entirely above or entirely below 0."""
        return self.interval is not None and (self.interval[0] > 0 or self.interval[1] < 0)

    @property
    def half_width(self) -> float | None:
        return None if self.interval is None else (self.interval[1] - self.interval[0]) / 2


def _two_sided_p(diffs: np.ndarray) -> float:
    kept = diffs[np.isfinite(diffs)]
    if not kept.size:
        return float("nan")
    below, above = np.mean(kept <= 0), np.mean(kept >= 0)
    return float(min(1.0, 2 * min(below, above)))


def paired_difference(
    a: VideoMatches,
    b: VideoMatches,
    point_a: float,
    point_b: float,
    metric: str = "AP",
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
    confidence: float = DEFAULT_CONFIDENCE,
) -> PairedDifference:
    """Bootstrap distribution of `metric`(A) - `metric`(B), resampling the same videos for both.

    `point_a`/`point_b` are the official numbers of the two evaluations (`EvalResult.stats`).
    Raises InputError unless both were scored on the same GT (videos, categories, GT tracks).
    """
    diffs = _paired_values(a, b, (metric,), replicates, seed)[metric]
    reason = no_interval_reason(a.n_videos)
    return PairedDifference(
        metric=metric,
        a=point_a,
        b=point_b,
        difference=point_a - point_b,
        interval=percentile_interval(diffs, confidence),
        replicates=replicates,
        seed=seed,
        confidence=confidence,
        p_value=_two_sided_p(diffs),
        values=diffs,
        reason=reason,
    )


def _paired_values(
    a: VideoMatches, b: VideoMatches, metrics: tuple[str, ...], replicates: int, seed: int
) -> dict[str, np.ndarray]:
    """Per metric the B replicate values of A - B on the same resampled videos (NaN: undefined)."""
    unknown = [m for m in metrics if m not in RESAMPLED_STATS]
    if unknown:
        raise InputError(f"paired comparison supports {RESAMPLED_STATS}, not {unknown[0]!r}")
    if not a.same_ground_truth(b):
        raise InputError(
            "the two results files were not scored on the same ground truth (videos, categories "
            "or GT tracks differ): a paired comparison needs the same videos"
        )
    if no_interval_reason(a.n_videos) is not None:
        return {metric: np.full(replicates, np.nan) for metric in metrics}
    weights = resample_weights(a.n_videos, replicates, seed)
    acc_a, acc_b = WeightedAccumulator(a), WeightedAccumulator(b)
    diffs = {metric: np.empty(replicates) for metric in metrics}
    for i, w in enumerate(weights):
        sa, sb = acc_a.stats(w), acc_b.stats(w)
        for metric in metrics:
            bad = sa[metric] < 0 or sb[metric] < 0
            diffs[metric][i] = np.nan if bad else sa[metric] - sb[metric]
    return diffs


def paired_intervals(
    current: VideoMatches,
    baseline: VideoMatches,
    metrics: tuple[str, ...] = RESAMPLED_STATS[:3],
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
    confidence: float = DEFAULT_CONFIDENCE,
) -> dict[str, tuple[float, float] | None]:
    """Per metric the paired bootstrap interval of current - baseline (fractions), for
    `regress --tolerance auto`: a drop is real when its interval lies entirely below 0.

    One pass over the replicates serves every metric (each replicate scores all of them), and
    the interval is the same `paired_difference` gives metric by metric.
    """
    values = _paired_values(current, baseline, metrics, replicates, seed)
    return {metric: percentile_interval(values[metric], confidence) for metric in metrics}
