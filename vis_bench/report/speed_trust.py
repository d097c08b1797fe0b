"""How far an FPS can be trusted, and what it may be set against: its marks, paired ratios
between the cells of one run, and ratios between runs normalised by the machine's speed.

Every FPS of a sweep comes from timed rounds (sweep/rounds.py) with the machine's reference
speed read around each round (measure/reference.py). Three things follow:

- marks: `*` when some round ran on a loaded machine (1-minute load average more than half a
  core above the threads the cell used: measure/load.py), `†` when the machine's reference speed moved by more than the sweep's
  `noisy_threshold` over the cell's rounds (the figure is printed beside the mark's note);
- within one run, the speed ratio of two cells is taken round by round (the rounds of one sweep
  ran A B C, A B C, ...), so a load change between two cells' rounds hits both; the ratio is the
  median of the per-round ratios, with their range;
- between two runs, a ratio of FPS is only meaningful for the same machine speed: it is divided
  by the ratio of the two runs' reference speeds, and refused ("not comparable", with both
  reference figures) when those differ by more than a tolerance.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from vis_bench.measure.precision import NOT_COMPARABLE, confidence_text, target_missed
from vis_bench.records import CellRecord
from vis_bench.records.parts import Round, Rounds
from vis_bench.report.table_axes import cell_columns

Record = CellRecord

LOADED_MARK = "*"
NOISY_MARK = "†"
#: the largest ratio of two runs' reference speeds for which their FPS are set side by side
REFERENCE_TOLERANCE = 0.25


def speed_of(record: Record) -> Rounds:
    """The record's timed rounds (empty for records made before timed rounds)."""
    return record.speed.rounds or NO_ROUNDS


#: the rounds of a record made before timed rounds: every figure None
NO_ROUNDS = Rounds()


def was_loaded(record: Record) -> bool:
    return record.speed.loaded


def was_noisy(record: Record) -> bool:
    return record.speed.noisy


def fps_marks(record: Record) -> str:
    """The marks an FPS of this record carries ("" when none)."""
    return (LOADED_MARK if was_loaded(record) else "") + (NOISY_MARK if was_noisy(record) else "")


LOADED_TEXT = (
    "measured while the machine was loaded (1-minute load average more than half a core above "
    "the threads the cell used in some timed round): other work competed for the cores"
)


def noisy_text(records: list[Record]) -> str:
    """The noisy mark's meaning, with the largest movement among the marked records."""
    moved = [speed_of(r).reference_spread or 0.0 for r in records if was_noisy(r)]
    threshold = next((speed_of(r).noisy_threshold for r in records if was_noisy(r)), None)
    limit = f" (threshold {100 * threshold:.0f}%)" if threshold is not None else ""
    return (
        f"noisy: the machine's reference speed moved by up to {100 * max(moved, default=0.0):.0f}% "
        f"over the cell's timed rounds{limit}, so the machine itself changed speed while the "
        "cell was timed; the FPS comes from its rounds at full machine speed"
    )


def mark_explanations(records: list[Record]) -> list[tuple[str, str]]:
    """(mark, what it means) for the marks these records carry, in the order they are printed."""
    out = []
    if any(was_loaded(r) for r in records):
        out.append((LOADED_MARK, LOADED_TEXT))
    if any(was_noisy(r) for r in records):
        out.append((NOISY_MARK, noisy_text(records)))
    return out


def mark_notes(records: list[Record]) -> list[str]:
    """The notes for the marks these records carry, as the pages print them."""
    return [f"`{mark}` after an FPS: {text}" for mark, text in mark_explanations(records)]


def fps_text(record: Record, protocol: str = "end_to_end", digits: int = 2) -> str:
    """An FPS (end to end, or of another protocol) with its marks ("-" when not measured)."""
    value = record.speed.fps(protocol)
    if value is None:
        return "-"
    return f"{float(value):.{digits}f}{fps_marks(record)}"


def fps_range_text(record: Record) -> str:
    """`[low, high]` of the end-to-end FPS over the cell's rounds ("" without rounds)."""
    spread = speed_of(record).fps_range
    return f"[{spread[0]:.2f}, {spread[1]:.2f}]" if spread else ""


def precision_text(record: Record) -> str:
    """The FPS's precision as every page prints it beside the figure: `±2.1% [59.3, 62.2] 9
    rounds`, the interval's confidence where fewer rounds give less than 95 % (`3 rounds: a
    75% interval; 6 are needed for 95%`), "wider than the 3% target" where a 95 % interval is,
    and "not comparable (loaded)" with the reason where the cell cannot be set against another
    ("" for records without it)."""
    speed = speed_of(record)
    if speed.fps_precision is None or not speed.fps_ci:
        return ""
    low, high = speed.fps_ci
    # the rounds the figure comes from: the counted ones, or all of them when not comparable
    used = len(speed.rounds_used) if speed.rounds_used is not None else speed.rounds_timed
    rounds = f"{used} round" + ("" if used == 1 else "s")
    text = f"±{100 * speed.fps_precision:.1f}% [{low:.2f}, {high:.2f}] {rounds}"
    text += confidence_text(speed.fps_ci_confidence)
    confidence, target = speed.fps_ci_confidence, speed.precision_target
    if target_missed(speed.wider_than_target, confidence, target):
        text += f", wider than the {100 * target:g}% target"
    reason = not_comparable(record)
    return f"{text}; {reason}" if reason else text


@dataclass(frozen=True)
class Ratio:
    """A speed ratio A / B with its range, or why there is none."""

    value: float | None
    low: float | None = None
    high: float | None = None
    why_not: str = ""

    def text(self, digits: int = 2) -> str:
        if self.value is None:
            return self.why_not
        span = "" if self.low is None else f" [{self.low:.{digits}f}, {self.high:.{digits}f}]"
        return f"{self.value:.{digits}f}x{span}"


def _round_fps(timed: Round, model: bool) -> float | None:
    return timed.fps_model if model else timed.fps


def _counted(timed: Round) -> bool:
    """A round the cell's figure may be paired over: at full machine speed (a record made
    before `counted` was kept: a round its figure used)."""
    return bool(timed.counted if timed.counted is not None else timed.used is not False)


def _rounds_by_index(record: Record, model: bool) -> dict[int, float]:
    """The record's rounds at full machine speed, by index."""
    return {
        int(r.round or 0): float(_round_fps(r, model) or 0.0)
        for r in speed_of(record).rounds
        if _round_fps(r, model) and _counted(r)
    }


def not_comparable(record: Record) -> str | None:
    """Why the record's FPS cannot be set against another's (None: it can)."""
    speed = speed_of(record)
    if speed.comparable is False:
        return speed.not_comparable or NOT_COMPARABLE
    return None


def verdict_line(records: list[Record]) -> str | None:
    """Where some cell's FPS cannot be compared: one line saying so, that nothing is ranked or
    set in a ratio by it, and how to measure again (None when every FPS can be compared)."""
    refused = [r for r in records if not_comparable(r)]
    if not refused:
        return None
    return (
        f"FPS {NOT_COMPARABLE} for {len(refused)} of {len(records)} cells: the machine was "
        "loaded or slowed in the rounds that matter, so no FPS is ranked or set in a ratio; "
        "re-measure on a quiet machine (stop other work, check `uptime`), e.g. the same "
        "command into a new --run-dir."
    )


#: the fewest rounds a paired ratio is taken over: one round's ratio is luck, not a measurement
MIN_PAIRED_ROUNDS = 2


def round_ratios(a: Record, b: Record, model: bool = False) -> tuple[list[float], str]:
    """FPS of A / FPS of B round by round over the rounds both counted, and why there are none
    ("" when there are): both must be comparable and timed in the same sweep call, with at
    least two common rounds at full machine speed."""
    session_a, session_b = speed_of(a).session, speed_of(b).session
    if session_a is None or session_b is None:
        return [], "not paired (no timed rounds)"
    if session_a != session_b:
        return [], "not paired (timed in different sweep calls)"
    if not_comparable(a) or not_comparable(b):
        return [], NOT_COMPARABLE
    rounds_a, rounds_b = _rounds_by_index(a, model), _rounds_by_index(b, model)
    ratios = [rounds_a[i] / rounds_b[i] for i in sorted(rounds_a) if i in rounds_b]
    if len(ratios) < MIN_PAIRED_ROUNDS:
        return [], f"not paired ({len(ratios)} common round(s) at full speed)"
    return ratios, ""


def paired_ratio(a: Record, b: Record, model: bool = False) -> Ratio:
    """FPS of A / FPS of B (end to end, or of the model stage), round by round over the rounds
    both counted (measure/precision.py), where both were timed in the same sweep call: the
    median of the per-round ratios and their range. Refused when either cannot be compared, and
    when fewer than two rounds are common."""
    ratios, why_not = round_ratios(a, b, model)
    if why_not:
        return Ratio(None, why_not=why_not)
    return Ratio(float(statistics.median(ratios)), min(ratios), max(ratios))


def cross_run_ratio(a: Record, b: Record, tolerance: float = REFERENCE_TOLERANCE) -> Ratio:
    """FPS of B / FPS of A across two runs, normalised by the machine's reference speed in
    each; "not comparable" with both reference figures when those differ by more than
    `tolerance` (and without them where either cannot be compared in its own run), and "no
    reference" for records made without one."""
    fps_a, fps_b = a.speed.fps_end_to_end, b.speed.fps_end_to_end
    if not fps_a or not fps_b:
        return Ratio(None, why_not="-")
    if not_comparable(a) or not_comparable(b):  # not comparable within its own run
        return Ratio(None, why_not=NOT_COMPARABLE)
    ref_a, ref_b = speed_of(a).reference_gflops, speed_of(b).reference_gflops
    if not ref_a or not ref_b:
        return Ratio(None, why_not="no reference speed: raw ratio not shown")
    machine = ref_b / ref_a
    if not (1 / (1 + tolerance) <= machine <= 1 + tolerance):
        return Ratio(
            None,
            why_not=f"not comparable (machine reference A {ref_a:.0f}, B {ref_b:.0f} GFLOP/s)",
        )
    return Ratio(float(fps_b) / float(fps_a) / machine)


def _number(value: Any, digits: int = 2) -> str:
    return "-" if value is None else f"{float(value):.{digits}f}"


def rounds_table(records: list[Record], fmt: str = "github") -> str | None:
    """Per cell timed in rounds: FPS (median, range, marks), model FPS, rounds, frames per
    round, CPU seconds per wall second, and the machine's reference speed with how far it moved
    (None when no record has rounds)."""

    timed = [r for r in records if speed_of(r).rounds]
    if not timed:
        return None
    columns = cell_columns(timed)
    rows = []
    for record in timed:
        speed = speed_of(record)
        moved = speed.reference_spread
        rows.append(
            [
                *columns.values(record),
                fps_text(record),
                precision_text(record) or "-",
                fps_range_text(record),
                _number(record.speed.fps_model),
                _rounds_text(speed),
                f"{speed.frames} ({speed.videos} videos)",
                _number(speed.cpu_per_wall),
                f"{_number(speed.reference_gflops, 0)} "
                f"(moved {'-' if moved is None else f'{100 * moved:.0f}%'})",
            ]
        )
    headers = [*columns.headers, "FPS", "interval", "FPS range", "model FPS", "rounds"]
    headers += ["frames/round", "CPU s / wall s", "machine GFLOP/s"]
    return columns.table(rows, headers, fmt)


def _rounds_text(speed: Rounds) -> str:
    """`5` rounds, or `3 of 8` when only some were at full machine speed."""
    counted, timed = speed.rounds_counted, speed.rounds_timed
    if counted is None or counted == timed:
        return str(timed)
    return f"{counted} of {timed}"


ROUNDS_NOTE = (
    "FPS: the median over the cell's timed rounds of frames / wall seconds of one pass (the "
    "frames to every video's RLE), the rounds of all cells interleaved; interval: the median's "
    "distribution-free interval over those rounds, its larger side as a share of the FPS (±), its "
    "ends, and the rounds it comes from (those at full machine speed; `3 of 8`: the rest were "
    "slowed by load): 95 % from 6 rounds, and below that what it is worth (`3 rounds: a 75% "
    "interval`); a cell is timed again until the interval is within the sweep's target "
    "(measure.precision) or its rounds or time budget run out, and is `not comparable (loaded)` "
    "with fewer than measure.rounds rounds at full speed or a counted round on a loaded "
    "machine (docs/fps.md, Precision); FPS range: the slowest and fastest round; model FPS: "
    "the same pass's frames / the seconds inside the method's "
    "calls; CPU s / wall s: the process's CPU seconds per wall second in the pass (about the "
    "threads it used when it had the cores to itself); machine GFLOP/s: the reference workload "
    "read before and after every round on the same device and threads (median), and how far it "
    "moved over the cell's rounds ((max - min) / median). docs/fps.md says what is inside the "
    "timer."
)


def paired_table(records: list[Record], fmt: str = "github") -> str | None:
    """Per timed cell, its FPS / the FPS of the first method's cell with the same schedule,
    resolution, device and dtype, paired round by round (None when fewer than two methods share
    a setting)."""

    timed = [r for r in records if speed_of(r).rounds]
    first: dict[tuple, Record] = {}
    for record in timed:
        first.setdefault(_setting(record), record)
    paired = [r for r in timed if first[_setting(r)] is not r]
    if not paired:
        return None
    columns = cell_columns(timed)
    rows = [
        [*columns.values(record), first[_setting(record)].shown_method,
         paired_ratio(record, first[_setting(record)]).text()]
        for record in paired
    ]  # fmt: skip
    headers = [*columns.headers, "against", "FPS ratio [range over rounds]"]
    return columns.table(rows, headers, fmt)


PAIRED_NOTE = (
    "FPS ratio: this cell's FPS / the other cell's, round by round (both timed in the same "
    "rounds of the same sweep, one after the other), the median of the per-round ratios with "
    "their range: a change in the machine's load between rounds cancels out of it. `not paired` "
    "says why a ratio could not be paired."
)


def _setting(record: Record) -> tuple:
    """What two cells of a paired ratio share: every axis but the method (and the config)."""
    values = (record.dataset, record.clip_length, record.stride, record.resolution)
    values += (record.device, record.dtype, record.video_frames)
    return tuple(str(v) for v in values)
