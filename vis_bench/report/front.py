"""The speed-accuracy answer: which cells no other beats on both AP and FPS, and which method is
fastest at an AP the data cannot tell apart.

A leaderboard row is a method's best-AP cell, which hides its trade-off: a clip schedule three
times as fast at an AP within the videos' noise is never shown. Here, per group of cells that may
be set side by side (one dataset, one machine, device and dtype: a CPU cell never shares a front
with a GPU cell, nor fp32 with fp16):

- the front: the cells no other cell of the group beats on both AP and FPS (point figures), each
  with its AP interval (bootstrap over videos) and its FPS interval (order statistics of its
  rounds), and each step along it paired: the AP it gains over the next faster front cell, on
  the same resampled videos, and the FPS it pays, round by round;
- per method, its fastest cell whose AP is not told apart from its best cell's (paired over
  videos, report/significance.py);
- per pair of methods, their chosen cells: "faster" (the FPS ratio paired over rounds and its
  interval excludes 1), "not told apart", "not comparable (loaded)", or why the question does
  not apply (their AP is told apart, or the two cannot be paired).

"AP" is the headline the records' metric declares (report/metric_columns.headline_of: AP, mAP on
YouTube-VIS 2022, HOTA_all on BURST). A cell whose FPS cannot be compared (measure/precision.py)
is on no front and ranks nothing: it is listed with its verdict. Pure functions of a RecordSet; paired comparisons are cached per call.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from vis_bench.measure.precision import (
    NOT_COMPARABLE,
    confidence_text,
    interval_confidence,
    median_interval,
)
from vis_bench.records import CellRecord
from vis_bench.report.metric_columns import headline_of, in_points, interval_statistics
from vis_bench.report.record_set import RecordSet
from vis_bench.report.significance import PairedComparer, Pairing, interval_points
from vis_bench.report.speed_trust import cross_run_ratio, not_comparable, round_ratios, speed_of

#: the verdicts of "is A faster than B at equal AP?"
FASTER = "faster"
NOT_TOLD_APART = "not told apart"
AP_TOLD_APART = "AP told apart"
NOT_PAIRED = "not paired"


@dataclass(frozen=True)
class Group:
    """Cells that may share a front: one dataset, machine, device and dtype."""

    dataset: str
    machine: str
    device: str
    dtype: str

    @property
    def label(self) -> str:
        """e.g. "cpu fp32 on AMD EPYC 7B13"."""
        where = f" on {self.machine}" if self.machine else ""
        return f"{self.device} {self.dtype}{where}"


def group_of(record: CellRecord) -> Group:
    """The group a record's cell belongs to (a device `cuda:1` is `cuda`)."""
    environment = record.environment
    machine = (environment.machine if environment is not None else None) or ""
    device = str(record.device or "-").split(":")[0]
    return Group(
        str(record.dataset_label or record.dataset or "-"), machine, device, str(record.dtype)
    )


def cell_text(record: CellRecord) -> str:
    """The cell's setting: `T=5 S=1 360p` (`T=all` for one clip; no resolution when unset)."""
    schedule = f"T={record.clip_length}"
    if record.stride is not None:
        schedule += f" S={record.stride}"
    return schedule + ("" if record.resolution is None else f" {record.resolution}p")


def method_names(records: list[CellRecord]) -> dict[str, str]:
    """Cell key -> the method as the answer names it: as the tables do (with its entry or
    twin), and with its checkpoint's file name where the method ran several checkpoints (two
    checkpoints of a method are two methods, as on the leaderboard)."""
    checkpoints: dict[str, set[str]] = {}
    for record in records:
        checkpoints.setdefault(record.shown_method, set()).add(str(record.checkpoint or ""))
    names = {}
    for record in records:
        name = record.shown_method
        if len(checkpoints[name]) > 1 and record.checkpoint:
            name += f" [{record.variant or Path(str(record.checkpoint)).name}]"
        names[str(record.key)] = name
    return names


@dataclass(frozen=True)
class FpsRatio:
    """FPS of A / FPS of B, paired over rounds: the median of the per-round ratios with its
    order-statistic interval and that interval's confidence, or why there is none."""

    value: float | None = None
    low: float | None = None
    high: float | None = None
    confidence: float = 0.0
    rounds: int = 0
    why_not: str = ""

    @property
    def told_apart(self) -> bool:
        """The interval excludes 1: one cell is faster in the rounds, not by luck of one."""
        if self.low is None or self.high is None:
            return False
        return self.low > 1.0 or self.high < 1.0

    def text(self) -> str:
        """`3.12x [2.95, 3.30] over 9 rounds` (with `, a 75% interval` below 6 rounds)."""
        if self.value is None:
            return self.why_not
        if self.low is None:
            return f"{self.value:.2f}x ({self.why_not})"
        return (
            f"{self.value:.2f}x [{self.low:.2f}, {self.high:.2f}] over {self.rounds} rounds"
            + confidence_text(self.confidence)
        )


def fps_ratio(a: CellRecord, b: CellRecord) -> FpsRatio:
    """FPS(a) / FPS(b): paired over the rounds of one sweep call (report/speed_trust.py); for
    cells of different runs, the ratio at equal machine speed, without an interval."""
    ratios, why_not = round_ratios(a, b)
    if ratios:
        median, low, high = median_interval(ratios)  # type: ignore[misc]
        return FpsRatio(median, low, high, interval_confidence(len(ratios)), len(ratios))
    if why_not == NOT_COMPARABLE:
        return FpsRatio(why_not=NOT_COMPARABLE)
    if "different sweep calls" in why_not:
        across = cross_run_ratio(b, a)  # FPS a / FPS b at equal machine speed
        if across.value is not None:
            return FpsRatio(across.value, why_not=f"{why_not}, at equal machine speed")
        return FpsRatio(why_not=f"{why_not}; {across.why_not}")
    return FpsRatio(why_not=why_not)


@dataclass(frozen=True)
class Cell:
    """One cell of a group: its AP and FPS with their intervals, its place on the front and,
    for a front cell, the step from the next faster front cell (AP gained, FPS paid)."""

    record: CellRecord
    method: str
    ap: float
    fps: float | None
    on_front: bool = False
    #: AP(this) - AP(next faster front cell), paired over videos (None: the fastest front cell)
    ap_step: Pairing | None = None
    #: FPS(this) / FPS(next faster front cell), paired over rounds
    fps_step: FpsRatio | None = None
    #: the statistic `ap` is of: the headline the record's metric declares (HOTA_all on BURST)
    statistic: str = "AP"

    @property
    def ap_interval(self) -> tuple[float, float] | None:
        return interval_points(self.record, self.statistic)

    @property
    def fps_interval(self) -> tuple[float, float] | None:
        ci = speed_of(self.record).fps_ci
        return (float(ci[0]), float(ci[1])) if ci else None

    @property
    def fps_confidence(self) -> float | None:
        return speed_of(self.record).fps_ci_confidence

    @property
    def not_comparable(self) -> str | None:
        """Why its FPS ranks nothing (loaded, too few rounds at full speed, not timed)."""
        if self.fps is None:
            return "FPS not measured"
        return not_comparable(self.record)


@dataclass(frozen=True)
class Choice:
    """A method's fastest cell whose AP is not told apart from its best cell's."""

    method: str
    best: Cell
    chosen: Cell
    #: AP(chosen) - AP(best), paired over videos (None when chosen is best)
    ap_vs_best: Pairing | None = None
    #: FPS(chosen) / FPS(best), paired over rounds (None when chosen is best)
    fps_vs_best: FpsRatio | None = None
    #: why the chosen cell is the best-AP one (no other within the AP noise, not paired, ...)
    note: str = ""


@dataclass(frozen=True)
class Verdict:
    """Is `a` faster than `b` at equal AP? (`a` the faster of the two by their figures.)"""

    a: Choice
    b: Choice
    ap: Pairing
    fps: FpsRatio
    verdict: str

    def text(self) -> str:
        """The verdict in words, with the figure that decided it."""
        if self.verdict == FASTER:
            return f"{FASTER}: {self.fps.text()}"
        if self.verdict == NOT_TOLD_APART:
            return f"{NOT_TOLD_APART}: {self.fps.text()}"
        if self.verdict == AP_TOLD_APART:
            return f"{AP_TOLD_APART}: not at equal AP"
        if self.verdict == NOT_COMPARABLE:
            return NOT_COMPARABLE
        if self.ap.reason is not None:
            return f"{NOT_PAIRED}: {self.ap.reason}"
        why = self.fps.why_not or ""
        return why if why.startswith(NOT_PAIRED) else f"{NOT_PAIRED}: {why}"


@dataclass(frozen=True)
class GroupAnswer:
    """The answer for one group: its cells (front first, fastest first), the methods' choices
    and the pairwise verdicts between those."""

    group: Group
    cells: list[Cell]
    choices: list[Choice] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def front(self) -> list[Cell]:
        return [c for c in self.cells if c.on_front]

    @property
    def refused(self) -> list[Cell]:
        """Cells on no front because their FPS cannot be compared."""
        return [c for c in self.cells if c.not_comparable]


def front_keys(points: Iterable[tuple[str, float, float]]) -> set[str]:
    """The keys of (key, AP, FPS) points that no other point beats on both (at least as good on
    each, better on one); equal points both stay."""
    points = list(points)
    return {
        key
        for key, ap, fps in points
        if not any(
            (a >= ap and f >= fps) and (a > ap or f > fps) for other, a, f in points if other != key
        )
    }


class _Pairs:
    """Paired comparisons of one record set, each computed once."""

    def __init__(self, record_set: RecordSet):
        self.comparer = PairedComparer(record_set)
        self.ap: dict[tuple[str, str], Pairing] = {}

    def ap_difference(self, a: CellRecord, b: CellRecord) -> Pairing:
        """The headline's difference, paired over videos where its metric declares a bootstrap
        interval of it (YouTube-VIS 2022's mAP and BURST's HOTA have none: not paired)."""
        key = (str(a.key), str(b.key))
        if key not in self.ap:
            statistic = headline_of([a.metrics, b.metrics])
            self.ap[key] = (
                self.comparer.compare(a, b, statistic)
                if statistic in interval_statistics()
                else Pairing(reason=f"{statistic} has no bootstrap interval over videos")
            )
        return self.ap[key]


def speed_accuracy(record_set: RecordSet) -> list[GroupAnswer]:
    """The answer per group, for the finished cells with an AP (groups in first-seen order)."""
    pairs = _Pairs(record_set)
    groups: dict[Group, list[CellRecord]] = {}
    for record in record_set.ok:
        if record.metric(headline_of([record.metrics])) is not None:
            groups.setdefault(group_of(record), []).append(record)
    return [_answer(group, records, pairs) for group, records in groups.items()]


def _answer(group: Group, records: list[CellRecord], pairs: _Pairs) -> GroupAnswer:
    names = method_names(records)
    statistic = headline_of(r.metrics for r in records)
    cells = [
        Cell(
            r,
            names[str(r.key)],
            in_points(statistic, r.metric(statistic) or 0.0),
            r.speed.fps_end_to_end,
            statistic=statistic,
        )
        for r in records
    ]
    timed = [c for c in cells if not c.not_comparable]
    on_front = front_keys((str(c.record.key), c.ap, float(c.fps or 0.0)) for c in timed)
    front = sorted(
        (c for c in timed if c.record.key in on_front), key=lambda c: (-(c.fps or 0.0), c.ap)
    )
    stepped = [
        Cell(
            cell.record,
            cell.method,
            cell.ap,
            cell.fps,
            True,
            None if faster is None else pairs.ap_difference(cell.record, faster.record),
            None if faster is None else fps_ratio(cell.record, faster.record),
            statistic,
        )
        for faster, cell in zip([None, *front], front, strict=False)
    ]
    rest = sorted(
        (c for c in cells if c.record.key not in on_front), key=lambda c: (-c.ap, c.method)
    )
    choices = [_choice(method, of_method, pairs) for method, of_method in _by_method(cells)]
    choices.sort(key=_fastest_first)
    verdicts = [_verdict(a, b, pairs) for a, b in itertools.combinations(choices, 2)]
    return GroupAnswer(group, stepped + rest, choices, verdicts)


def _fastest_first(choice: Choice) -> tuple[bool, float, float]:
    """Choices with a comparable FPS first, fastest first; then by AP."""
    chosen = choice.chosen
    return bool(chosen.not_comparable), -(chosen.fps or 0.0), -chosen.ap


def _by_method(cells: list[Cell]) -> list[tuple[str, list[Cell]]]:
    found: dict[str, list[Cell]] = {}
    for cell in cells:
        found.setdefault(cell.method, []).append(cell)
    return list(found.items())


def _choice(method: str, cells: list[Cell], pairs: _Pairs) -> Choice:
    """The method's fastest comparable cell among those whose AP is not told apart from its
    best's; its best cell where none is faster, where the best's FPS ranks nothing, or where
    the AP cannot be paired (said in the note)."""
    best = max(cells, key=lambda c: (c.ap, c.fps or 0.0))
    if best.not_comparable:
        return Choice(method, best, best, note=f"its best-AP cell's FPS: {best.not_comparable}")
    within, unpaired = [best], []
    for cell in cells:
        if cell is best:
            continue
        pairing = pairs.ap_difference(cell.record, best.record)
        if pairing.reason is not None:
            unpaired.append(pairing.reason)
        elif not pairing.significant:
            within.append(cell)
    ranked = [c for c in within if not c.not_comparable]
    chosen = max(ranked, key=lambda c: (c.fps or 0.0, c.ap))
    skipped = len(within) - len(ranked)
    note = f"{skipped} cell(s) within the AP noise not ranked: {NOT_COMPARABLE}" if skipped else ""
    if unpaired:
        note = "; ".join(filter(None, [note, f"AP not paired: {sorted(set(unpaired))[0]}"]))
    if chosen is best:
        return Choice(method, best, best, note=note)
    return Choice(
        method,
        best,
        chosen,
        pairs.ap_difference(chosen.record, best.record),
        fps_ratio(chosen.record, best.record),
        note,
    )


def _verdict(one: Choice, two: Choice, pairs: _Pairs) -> Verdict:
    """`a` the faster chosen cell by its figure (the more accurate where an FPS is refused)."""
    refused = one.chosen.not_comparable or two.chosen.not_comparable
    if refused:
        a, b = sorted((one, two), key=lambda c: -c.chosen.ap)
    else:
        a, b = sorted((one, two), key=lambda c: -(c.chosen.fps or 0.0))
    ap = pairs.ap_difference(a.chosen.record, b.chosen.record)
    fps = fps_ratio(a.chosen.record, b.chosen.record)
    if (refused or "").startswith(NOT_COMPARABLE) or fps.why_not == NOT_COMPARABLE:
        verdict = NOT_COMPARABLE
    elif refused:  # an FPS not measured
        verdict = NOT_PAIRED
    elif ap.reason is not None:
        verdict = NOT_PAIRED
    elif ap.significant:
        verdict = AP_TOLD_APART
    elif fps.low is None:
        verdict = NOT_PAIRED
    else:
        verdict = FASTER if fps.told_apart else NOT_TOLD_APART
    return Verdict(a, b, ap, fps, verdict)
