"""The speed-accuracy answer (report/front.py) as markdown: the front, each method's fastest cell
at equal AP, and the pairwise "faster at equal AP" verdicts; one block per group of cells that
may be set side by side. The leaderboard prints it below its ranking, the HTML report renders it.
"""

from __future__ import annotations

from tabulate import tabulate

from vis_bench.measure.precision import confidence_text
from vis_bench.report.front import Cell, GroupAnswer, cell_text, speed_accuracy
from vis_bench.report.record_set import RecordSet
from vis_bench.report.significance import NOT_SIGNIFICANT
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
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def _choices_table(answer: GroupAnswer) -> str:
    rows = []
    for choice in answer.choices:
        same = choice.chosen is choice.best
        rows.append(
            [
                choice.method,
                f"{_setting(choice.chosen)}: AP {_ap(choice.chosen)}, FPS {_fps(choice.chosen)}",
                "itself" if same else f"{_setting(choice.best)}: AP {_ap(choice.best)}",
                "-" if choice.ap_vs_best is None else choice.ap_vs_best.text(1),
                "-" if choice.fps_vs_best is None else choice.fps_vs_best.text(),
                choice.note or "-",
            ]
        )
    headers = ["method", "fastest at equal AP", "best-AP cell", "AP - best", "FPS / best", "note"]
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


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
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def front_lines(record_set: RecordSet, level: str = "##", title: str = TITLE) -> list[str]:
    """The answer's section ([] when no finished cell has both an AP and an FPS)."""
    if not any(r.speed.fps_end_to_end for r in record_set.ok):
        return []  # nothing timed: no trade-off to show
    answers = speed_accuracy(record_set)
    if not answers:
        return []
    lines = [f"{level} {title}", "", NOTE, ""]
    for answer in answers:
        lines += [f"{level}# {answer.group.label}", ""]
        if answer.front:
            lines += ["Front (fastest first):", "", _front_table(answer), ""]
        else:
            lines += ["No front: no cell's FPS can be compared.", ""]
        off = len(answer.cells) - len(answer.front) - len(answer.refused)
        if off:
            lines += [f"{off} other cell(s) are beaten on both AP and FPS by a front cell.", ""]
        refused = [f"{c.method} {_setting(c)}: {c.not_comparable}" for c in answer.refused]
        if refused:
            lines += ["On no front (FPS ranks nothing):", ""]
            lines += [f"- {line}" for line in refused] + [""]
        lines += ["Fastest at equal AP, per method:", "", _choices_table(answer), ""]
        if answer.verdicts:
            lines += ["Faster at equal AP:", "", _verdicts_table(answer), ""]
    shown = [c.record for answer in answers for c in answer.cells]
    return lines + [part for note in mark_notes(shown) for part in (f"{note}.", "")]
