"""The speed-accuracy answer (report/front.py) as markdown and as JSON: the front, each method's
fastest cell at equal AP, and the pairwise "faster at equal AP" verdicts; one block per group of
cells that may be set side by side. The leaderboard prints it below its ranking, the HTML report
renders it, the leaderboard's JSON export carries it with plain numbers.
"""

from __future__ import annotations

import re
from typing import Any

from tabulate import tabulate

from vis_bench.measure.precision import confidence_text
from vis_bench.report.front import Cell, FpsRatio, GroupAnswer, cell_text, speed_accuracy
from vis_bench.report.metric_columns import headline_of
from vis_bench.report.record_set import RecordSet
from vis_bench.report.significance import NOT_SIGNIFICANT, Pairing
from vis_bench.report.speed_trust import fps_marks, mark_notes

TITLE = "Speed at equal AP"
NOTE = (
    "Front: the cells no other cell of the same machine, device and dtype beats on both AP and "
    "FPS (point figures), fastest first; AP with its 95% bootstrap interval over videos, FPS "
    "with its interval over the timed rounds; each step `vs next faster` is paired: the AP "
    f"gained on the same resampled videos (`{NOT_SIGNIFICANT}`: the videos do not tell the two "
    "apart) and the "
    "FPS paid, the median of the per-round ratios with its interval. Fastest at equal AP: each "
    "method's fastest cell whose AP is not told apart from its best cell's (paired over "
    "videos). Faster at equal AP: the chosen cells of two methods, the faster first: `faster` "
    "when the paired FPS ratio's interval excludes 1 and their AP is not told apart, `not told "
    "apart` when it includes 1, `AP told apart` when the question does not apply. A cell whose "
    "FPS is `not comparable (loaded)` is on no front and ranks nothing (docs/show_and_report.md, "
    "Reading the front)."
)


def ranked_statistic(record_set: RecordSet) -> str:
    """The figure the front ranks these records by: their metric's declared headline."""
    return headline_of(r.metrics for r in record_set.ok)


def named(text: str, statistic: str) -> str:
    """`text` with the word "AP" read as the ranked statistic (HOTA_all on BURST); unchanged
    where the headline is AP."""
    return re.sub(r"\bAP\b", statistic, text)


def front_title(statistic: str) -> str:
    """The section's title, naming the ranked statistic."""
    return named(TITLE, statistic)


def front_note(statistic: str) -> str:
    """The section's explanation, naming the ranked statistic."""
    return named(NOTE, statistic)


def _ap(cell: Cell) -> str:
    interval = cell.ap_interval
    text = f"{cell.ap:.1f}"
    return text if interval is None else f"{text} [{interval[0]:.1f}, {interval[1]:.1f}]"


def _fps(cell: Cell) -> str:
    if cell.fps is None:
        return "-"
    text = f"{cell.fps:.2f}{fps_marks(cell.record)}"
    interval = cell.fps_interval
    if interval is not None:
        text += f" [{interval[0]:.2f}, {interval[1]:.2f}]{confidence_text(cell.fps_confidence)}"
    return text


def _setting(cell: Cell) -> str:
    return cell_text(cell.record)


def _front_table(answer: GroupAnswer) -> str:
    rows = [
        [
            cell.method,
            _setting(cell),
            _ap(cell),
            _fps(cell),
            "-" if cell.ap_step is None else cell.ap_step.text(1),
            "-" if cell.fps_step is None else cell.fps_step.text(),
        ]
        for cell in answer.front
    ]
    headers = ["method", "cell", "AP", "FPS", "AP vs next faster", "FPS vs next faster"]
    return tabulate(rows, headers=_named(headers, answer), tablefmt="github", disable_numparse=True)


def _choices_table(answer: GroupAnswer) -> str:
    rows = []
    for choice in answer.choices:
        same = choice.chosen is choice.best
        rows.append(
            [
                choice.method,
                f"{_setting(choice.chosen)}: {choice.chosen.statistic} {_ap(choice.chosen)}, "
                f"FPS {_fps(choice.chosen)}",
                "itself"
                if same
                else f"{_setting(choice.best)}: {choice.best.statistic} {_ap(choice.best)}",
                "-" if choice.ap_vs_best is None else choice.ap_vs_best.text(1),
                "-" if choice.fps_vs_best is None else choice.fps_vs_best.text(),
                choice.note or "-",
            ]
        )
    headers = ["method", "fastest at equal AP", "best-AP cell", "AP - best", "FPS / best", "note"]
    return tabulate(rows, headers=_named(headers, answer), tablefmt="github", disable_numparse=True)


def _verdicts_table(answer: GroupAnswer) -> str:
    rows = [
        [
            f"{v.a.method} ({_setting(v.a.chosen)})",
            f"{v.b.method} ({_setting(v.b.chosen)})",
            v.ap.text(1),
            v.text(),
        ]
        for v in answer.verdicts
    ]
    headers = ["A", "B", "AP A - B", "A faster than B at equal AP?"]
    return tabulate(rows, headers=_named(headers, answer), tablefmt="github", disable_numparse=True)


def _named(headers: list[str], answer: GroupAnswer) -> list[str]:
    """The headers with "AP" read as the statistic the group is ranked by (its headline)."""
    return [h.replace("AP", _statistic(answer)) for h in headers]


def _statistic(answer: GroupAnswer) -> str:
    return answer.cells[0].statistic if answer.cells else "AP"


def _answers(record_set: RecordSet) -> list[GroupAnswer]:
    """The answer, or none where no finished cell was timed (no trade-off to show)."""
    if not any(r.speed.fps_end_to_end for r in record_set.ok):
        return []
    return speed_accuracy(record_set)


def front_lines(
    record_set: RecordSet, level: str = "##", title: str | None = None, heading: bool = True
) -> list[str]:
    """The answer's section ([] when no finished cell has both an AP and an FPS); without
    `heading`, its groups alone (a page that gives the title and note itself). Title and note
    name the ranked statistic (`title`: another title)."""
    answers = _answers(record_set)
    if not answers:
        return []
    statistic = ranked_statistic(record_set)
    title = front_title(statistic) if title is None else title
    lines = [f"{level} {title}", "", front_note(statistic), ""] if heading else []
    datasets = len({answer.group.dataset for answer in answers})
    for answer in answers:
        label = answer.group.label
        label = f"{answer.group.dataset}: {label}" if datasets > 1 else label
        lines += [f"{level}# {label}", ""]
        if answer.front:
            lines += ["Front (fastest first):", "", _front_table(answer), ""]
        else:
            lines += ["No front: no cell's FPS can be compared.", ""]
        off = len(answer.cells) - len(answer.front) - len(answer.refused)
        if off:
            beaten = f"{off} other cell(s) are beaten on both AP and FPS by a front cell."
            lines += [named(beaten, _statistic(answer)), ""]
        refused = [f"{c.method} {_setting(c)}: {c.not_comparable}" for c in answer.refused]
        if refused:
            lines += ["On no front (FPS ranks nothing):", ""]
            lines += [f"- {line}" for line in refused] + [""]
        fastest = named("Fastest at equal AP, per method:", _statistic(answer))
        lines += [fastest, "", _choices_table(answer), ""]
        if answer.verdicts:
            faster = named("Faster at equal AP:", _statistic(answer))
            lines += [faster, "", _verdicts_table(answer), ""]
    shown = [c.record for answer in answers for c in answer.cells]
    return lines + [part for note in mark_notes(shown) for part in (f"{note}.", "")]


def _pairing_json(pairing: Pairing | None) -> dict[str, Any] | None:
    if pairing is None:
        return None
    return {
        "points": pairing.difference,
        "interval": None if pairing.interval is None else list(pairing.interval),
        "told_apart": pairing.significant if pairing.reason is None else None,
        "not_paired": pairing.reason,
    }


def _ratio_json(ratio: FpsRatio | None) -> dict[str, Any] | None:
    if ratio is None:
        return None
    paired = ratio.low is not None
    return {
        "value": ratio.value,
        "interval": [ratio.low, ratio.high] if paired else None,
        "confidence": ratio.confidence if paired else None,
        "rounds": ratio.rounds if paired else None,
        "told_apart": ratio.told_apart if paired else None,
        "not_paired": ratio.why_not or None,
    }


def _cell_json(cell: Cell) -> dict[str, Any]:
    return {
        "key": cell.record.key,
        "method": cell.method,
        "cell": cell_text(cell.record),
        "AP": cell.ap,
        "statistic": cell.statistic,
        "AP_interval": None if cell.ap_interval is None else list(cell.ap_interval),
        "fps": cell.fps,
        "fps_interval": None if cell.fps_interval is None else list(cell.fps_interval),
        "fps_not_comparable": cell.not_comparable,
    }


def front_json(record_set: RecordSet) -> list[dict[str, Any]]:
    """The answer with plain numbers (AP in points), one entry per group."""
    out = []
    for answer in _answers(record_set):
        group = answer.group
        front = [
            {
                **_cell_json(c),
                "ap_vs_next_faster": _pairing_json(c.ap_step),
                "fps_vs_next_faster": _ratio_json(c.fps_step),
            }
            for c in answer.front
        ]
        choices = [
            {
                "method": c.method,
                "fastest_at_equal_ap": _cell_json(c.chosen),
                "best_ap": _cell_json(c.best),
                "ap_vs_best": _pairing_json(c.ap_vs_best),
                "fps_vs_best": _ratio_json(c.fps_vs_best),
                "note": c.note or None,
            }
            for c in answer.choices
        ]
        verdicts = [
            {
                "a": v.a.method,
                "b": v.b.method,
                "a_cell": v.a.chosen.record.key,
                "b_cell": v.b.chosen.record.key,
                "verdict": v.verdict,
                "ap_difference": _pairing_json(v.ap),
                "fps_ratio": _ratio_json(v.fps),
            }
            for v in answer.verdicts
        ]
        out.append(
            {
                "group": {k: getattr(group, k) for k in ("dataset", "machine", "device", "dtype")},
                "front": front,
                "not_comparable": [_cell_json(c) for c in answer.refused],
                "fastest_at_equal_ap": choices,
                "faster_at_equal_ap": verdicts,
            }
        )
    return out
