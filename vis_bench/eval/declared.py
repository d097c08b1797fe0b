"""What a metric and a dataset kind declare, and the registries that hold them.

A metric owns its statistic names (each spelled only in its declaration), which way each is
better, its headline, its table columns and a reference to the function that computes it; a
dataset kind owns its reader, its ground-truth checks, how `eval --metric auto` recognises its
ground truth, and its default metric. Reports, tables, `compare-runs`, `regress` and the
leaderboard render what the declarations say, so a new benchmark is a declaration plus its
computing code (docs/adding_a_benchmark.md); nothing downstream names its statistics.

Declarations import no metric code: a function is named as `"module:attribute"` and imported
on first use, so `eval --help` and the reports stay as quick to import as before.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from vis_bench.errors import InputError


def resolve(reference: str) -> Any:
    """The object a `"package.module:attribute"` reference names (imported now)."""
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class Metric:
    """One way of scoring results against a ground truth, as reports need to know it.

    `compute` names a function `(ground_truth, results) -> {statistic: value}` over the loaded
    inputs of the metric's dataset kinds; the values are fractions (shown x100) unless
    `percent` says the metric gives percentages.
    """

    name: str
    title: str
    #: every statistic the metric gives, in its output order
    statistics: tuple[str, ...]
    #: the statistic a ranking uses first
    headline: str
    #: the statistics a comparison table shows, in order (a subset of `statistics`)
    columns: tuple[str, ...]
    compute: str
    #: statistics where lower is better (every other one: higher is better)
    lower_is_better: frozenset[str] = frozenset()
    #: statistics that are counts, not fractions: shown as recorded
    counts: frozenset[str] = frozenset()
    #: a column's heading where it is not the statistic's name
    headings: Mapping[str, str] = field(default_factory=dict)
    #: statistics a bootstrap over videos gives an interval of
    intervals: tuple[str, ...] = ()
    #: statistics `compare-runs` sets side by side (none: the headline)
    compared: tuple[str, ...] = ()
    #: statistics whose drop fails `regress`, and those it reports without judging
    gated: tuple[str, ...] = ()
    reported: tuple[str, ...] = ()
    #: what the column names mean, printed under a table that shows them
    note: str = ""
    percent: bool = False
    #: False for a metric scored through its kind's own options rather than `eval --metric`
    selectable: bool = True

    def __post_init__(self) -> None:
        names = set(self.statistics)
        unknown = [
            s
            for s in (
                *self.lower_is_better,
                *self.counts,
                self.headline,
                *self.columns,
                *self.intervals,
                *self.compared,
                *self.gated,
                *self.reported,
            )
            if s not in names
        ]
        if unknown:
            raise ValueError(f"metric {self.name!r} names undeclared statistics {unknown}")

    @property
    def compared_statistics(self) -> tuple[str, ...]:
        return self.compared or (self.headline,)

    def higher_is_better(self, statistic: str) -> bool:
        return statistic not in self.lower_is_better

    def is_fraction(self, statistic: str) -> bool:
        """Recorded as a fraction, shown x100 (the papers' convention)."""
        return not self.percent and statistic not in self.counts

    def heading(self, statistic: str) -> str:
        return self.headings.get(statistic, statistic)

    def computed(self, ground_truth: Any, results: Any) -> dict[str, float | None]:
        """The statistics of `results` against `ground_truth` (both as the kind reads them)."""
        return resolve(self.compute)(ground_truth, results)


@dataclass(frozen=True)
class DatasetKind:
    """A dataset layout: how its ground truth is read and checked, and what scores it.

    `reader` names `(path) -> ground truth`; `check` names `(ground truth) -> None`, raising
    InputError for a file the kind cannot score; `detects` names `(ground truth) -> bool`, how
    `eval --metric auto` recognises the kind among those sharing a reader (None: never picked);
    `detects_path` names `(path) -> bool`, how `auto` recognises a kind with a reader of its own
    before any file is parsed; `videos` names `(path) -> YouTube-VIS-layout dict`, the videos a
    sweep runs a model on, for a kind with a reader of its own (None: not a sweep's dataset).
    """

    name: str
    title: str
    metric: str
    reader: str
    check: str | None = None
    detects: str | None = None
    detects_path: str | None = None
    videos: str | None = None

    def read(self, path: Any) -> Any:
        ground_truth = resolve(self.reader)(path)
        if self.check is not None:
            resolve(self.check)(ground_truth)
        return ground_truth


def detected_kinds() -> list[DatasetKind]:
    """The kinds in the order `eval --metric auto` asks them: the latest registered first, so a
    kind added later is asked before the built-in ones it refines (LV-VIS before YouTube-VIS)."""
    return list(KINDS)[::-1]


def kind_of_path(path: Any) -> DatasetKind | None:
    """The first kind (`detected_kinds` order) whose `detects_path` recognises `path` (None: the
    file is read by the YouTube-VIS reader and its kind told from its contents)."""
    return next(
        (
            kind
            for kind in detected_kinds()
            if kind.detects_path is not None and resolve(kind.detects_path)(path)
        ),
        None,
    )


class _Named(Protocol):
    name: str


T = TypeVar("T", bound=_Named)


class Registry(Generic[T]):
    """Declarations by name, in registration order (the order tables merge columns in)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._items: dict[str, T] = {}

    def register(self, item: T) -> T:
        if item.name in self._items and self._items[item.name] != item:
            raise ValueError(f"{self.what} {item.name!r} is registered already")
        self._items[item.name] = item
        return item

    def unregister(self, name: str) -> None:
        self._items.pop(name, None)

    @contextmanager
    def registered(self, item: T) -> Iterator[T]:
        """`item` registered for the block only (a test's own declaration)."""
        self.register(item)
        try:
            yield item
        finally:
            self.unregister(item.name)

    def __getitem__(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise InputError(
                f"unknown {self.what} {name!r}; registered: {', '.join(self._items)}",
                field=self.what,
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._items.values()))

    def names(self) -> tuple[str, ...]:
        return tuple(self._items)


METRICS: Registry[Metric] = Registry("metric")
KINDS: Registry[DatasetKind] = Registry("dataset kind")


def merged_columns(sequences: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    """One column order from several metrics' orders: each new column goes right after the
    column before it in its own sequence, or (the first of its sequence) before the next one
    already placed; so YouTube-VIS 2022's mAP lands before AP and OVIS's occlusion APs after AP75.
    """
    merged: list[str] = []
    for sequence in sequences:
        for i, column in enumerate(sequence):
            if column in merged:
                continue
            if i > 0:
                merged.insert(merged.index(sequence[i - 1]) + 1, column)
                continue
            later = [merged.index(c) for c in sequence[1:] if c in merged]
            merged.insert(min(later) if later else len(merged), column)
    return tuple(merged)


def metric_of(statistics: Iterable[str], metrics: Iterable[Metric] | None = None) -> Metric | None:
    """The metric that gave a record's statistics: the one most of whose statistics are there,
    the one declaring fewer on a tie (YouTube-VIS over LV-VIS for the 12 numbers); None when no
    statistic is a declared one."""
    held = set(statistics)
    best, best_key = None, (0, 0)
    for metric in METRICS if metrics is None else metrics:
        key = (len(held.intersection(metric.statistics)), -len(metric.statistics))
        if key[0] and (best is None or key > best_key):
            best, best_key = metric, key
    return best


def always(ground_truth: Any) -> bool:
    """A kind's `detects` when it is the one `auto` falls back to."""
    return True


def each_statistic(select: Callable[[Metric], Iterable[str]]) -> tuple[str, ...]:
    """The statistics `select` picks from every registered metric, once each, in order."""
    return tuple(dict.fromkeys(s for metric in METRICS for s in select(metric)))
