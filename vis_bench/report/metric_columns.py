"""The statistics a report shows, as the records' metrics declare them (eval/benchmarks.py).

A record holds its metric's statistics by name; `metric_of` finds the metric from them, and
each table shows the columns, headings and notes that metric declares. Asked at call time, so a
metric registered later (a plugin's, a test's) is rendered like a built-in one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from vis_bench.eval import benchmarks  # noqa: F401  (registers the built-in metrics)
from vis_bench.eval.declared import METRICS, Metric, each_statistic, merged_columns, metric_of


def fraction_statistics() -> tuple[str, ...]:
    """Statistics records hold as fractions: tables show them x100 (the papers' convention);
    in registration order (the order cells.csv gives their columns)."""
    return each_statistic(lambda m: (s for s in m.statistics if m.is_fraction(s)))


def interval_statistics() -> frozenset[str]:
    """Statistics a record may carry a bootstrap interval of (`<statistic>_ci`)."""
    return frozenset(each_statistic(lambda m: m.intervals))


def metrics_of(records: Iterable[Mapping[str, object]]) -> list[Metric]:
    """The metrics that gave these records' statistics (each a record's `metrics` mapping or
    its JSON), in registration order."""
    found = {metric_of(record).name for record in records if metric_of(record) is not None}
    return [metric for metric in METRICS if metric.name in found]


def statistic_columns(metrics: Iterable[Metric]) -> tuple[str, ...]:
    """The columns of these metrics in one order (declared.merged_columns)."""
    return merged_columns(metric.columns for metric in metrics)


def headings() -> dict[str, str]:
    """A statistic's heading where its metric names it otherwise (mAP_L: AP_L)."""
    return {name: heading for metric in METRICS for name, heading in metric.headings.items()}


def higher_is_better(statistic: str) -> bool:
    """Which way a statistic improves, as the metric declaring it says (unknown: higher)."""
    return all(m.higher_is_better(statistic) for m in METRICS if statistic in m.statistics)


def headline_of(records: Iterable[Mapping[str, object]]) -> str:
    """The statistic that ranks and plots these records: the headline their metric declares
    (YouTube-VIS 2022's mAP, BURST's HOTA_all; the first metric's when they hold several), AP
    when they hold no declared statistic."""
    claimed = metrics_of(records)
    return claimed[0].headline if claimed else METRICS["ytvis"].headline


def in_points(statistic: str, value: float | None) -> float | None:
    """A recorded value as tables show it: a fraction x100, a percentage or count as it is."""
    if value is None:
        return None
    return 100.0 * float(value) if statistic in fraction_statistics() else float(value)
