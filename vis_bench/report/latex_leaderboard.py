"""The leaderboard as a LaTeX table for a paper (`leaderboard --format latex`).

A table pasted into a paper must carry what the markdown leaderboard says around it: AP with its
interval, the cell each row comes from, the dataset, and a caption that says how rows were
chosen and what the numbers are (units, the interval's definition, the machine), so the table
read alone is not misread. Strings are escaped for LaTeX; numbers keep two decimals.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from vis_bench.eval.benchmarks import AP, MEAN_AP
from vis_bench.report.leaderboard import ranked_by, statistic_headings
from vis_bench.report.record_set import RecordSet
from vis_bench.report.speed_trust import LOADED_MARK, NOISY_MARK
from vis_bench.report.tables import interval_note, metric_names_note

#: the columns a paper shows around the statistics (those no row has a value in are left out)
IDENTITY_COLUMNS = ("dataset", "rank", "method", "backbone")
MEASURE_COLUMNS = (
    "FPS",
    "FPS_model",
    "FPS_authors",
    "authors_over_end_to_end",
    "latency_p50_ms",
    "GMACs",
    "cell",
)


def latex_columns() -> tuple[str, ...]:
    """The identity, every declared statistic column under its leaderboard heading, the
    measurements: in order."""
    return (*IDENTITY_COLUMNS, *statistic_headings().values(), *MEASURE_COLUMNS)


#: what each column of the exported leaderboard holds (the JSON export carries it; the
#: markdown leaderboard says the same in its header)
COLUMN_NOTES = {
    "dataset": "the dataset the row was measured on; each dataset is ranked on its own",
    "rank": "by AP (by mAP on YouTube-VIS 2022, by end-to-end FPS where no cell was scored)",
    MEAN_AP: "YouTube-VIS 2022: (AP_S + AP_L) / 2; AP_L the long videos' AP, the figure papers "
    "quote; AP_S the short videos'",
    "cell": "the cell the row comes from: clip length T, stride S (one clip: T=all), "
    "resolution (shorter side, px) and dtype",
    "cells": "how many cells the method ran; the row is its best-AP cell",
    "AP": "AP x100 (AP50, AP75, AR1, AR10 likewise)",
    "AP_low, AP_high": "the ends of the cell's bootstrap interval of AP over videos, as computed "
    "(often skewed: not centred on AP)",
    "FPS": "frames per second end to end (frames / the wall time of one pass from the frames "
    "to every video's final masks), the median of the cell's timed rounds, on `machine`",
    "fps_low, fps_high": "the slowest and fastest timed round's FPS",
    "FPS_vs_next, FPS_vs_next_low, FPS_vs_next_high": "FPS / the next rank's FPS, the median "
    "of the per-round ratios (both cells timed in the same rounds), and their range",
    "fps_ci_low, fps_ci_high": "the ends of the FPS's interval: order statistics of the rounds "
    "it comes from, distribution-free, 95 % from 6 rounds on",
    "fps_ci_confidence": "the interval's confidence (below 0.95 with fewer than 6 rounds)",
    "fps_precision": "the interval's larger side as a share of the FPS (the sweep's target: "
    "measure.precision, 3 % by default)",
    "fps_wider_than_target": "no 95 % interval within the target in the cell's rounds and time "
    "budget: a wider one, or fewer than 6 rounds (the pages then say the interval's confidence)",
    "fps_comparable, fps_not_comparable": "whether the FPS may be set against another cell's: "
    "false, with the reason, when too few rounds ran at full machine speed or a counted one on "
    "a loaded machine (then no rank or ratio by FPS)",
    "timed_rounds": "the cell's timed rounds, each one pass over the same videos",
    "rounds_counted": "the rounds at full machine speed, which the FPS and its interval come from",
    "cpu_per_wall": "CPU seconds per wall second in the timed rounds (about the threads used "
    "when nothing else competed)",
    "fps_loaded": "some timed round ran while the machine was loaded (marked *)",
    "fps_noisy": "the machine's reference speed moved by more than the sweep's threshold over "
    "the cell's rounds (marked with a dagger)",
    "reference_gflops": "the machine's speed on a fixed reference workload around the rounds",
    "reference_spread": "how far that speed moved over the cell's rounds: (fastest - slowest) "
    "/ median",
    "FPS_model": "the same pass's frames / the seconds inside the method's calls",
    "FPS_authors": "by the timing protocol the method's authors published",
    "authors_over_end_to_end": "FPS_authors / FPS",
    "GMACs": "multiply-accumulates per frame, in billions",
    "latency_p50_ms": "the median frame's wait from arrival to its final masks in a live "
    "stream, in ms",
    "params": "parameters",
}


def _escape(text: str) -> str:
    for char, escaped in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&")):
        text = text.replace(char, escaped)
    return text.replace("#", r"\#").replace("$", r"\$")


def column_notes(statistic: str) -> dict[str, str]:
    """COLUMN_NOTES for records ranked by `statistic`: the rank and the chosen cell name it
    where it is none of the YouTube-VIS rankings the notes already name (HOTA_all on BURST)."""
    if statistic in (AP, MEAN_AP):
        return COLUMN_NOTES
    return {
        **COLUMN_NOTES,
        "rank": f"by {statistic}, the headline of the records' metric (by end-to-end FPS "
        "where no cell was scored)",
        "cells": f"how many cells the method ran; the row is its best-{statistic} cell",
        f"{statistic}_low, {statistic}_high": f"the ends of the cell's bootstrap interval of "
        f"{statistic} over videos, as computed",
    }


def _ap_with_interval(row: pd.Series) -> Any:
    ap, low, high = row.get("AP"), row.get("AP_low"), row.get("AP_high")
    if ap is None or pd.isna(ap):
        return None
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return f"{ap:.2f}"
    return f"{ap:.2f} [{low:.2f}, {high:.2f}]"


def caption(table: pd.DataFrame, title: str, record_set: RecordSet) -> str:
    """What the table shows, in words a reader of the paper needs."""
    datasets = sorted({str(d) for d in table.get("dataset", []) if d and d != "-"})
    machines = sorted({str(m) for m in table.get("machine", []) if m and m == m})
    parts = [f"{title}" + (f" on {'; '.join(datasets)}" if datasets else "") + "."]
    parts.append(
        f"Each (method, checkpoint) is shown by its best-{ranked_by(record_set)[0]} cell among "
        "those it ran (column "
        f"cell: clip length T, stride S, resolution and dtype). {metric_names_note(record_set)}."
    )
    note = interval_note(record_set)
    if note is not None and "AP_low" in table:
        parts.append(f"AP {note}.")
    if "FPS" in table:
        where = f" on {'; '.join(machines)}" if machines else ""
        parts.append(f"FPS: {COLUMN_NOTES['FPS'].replace(', on `machine`', '')}{where}.")
    for column in (
        "FPS_model",
        "FPS_authors",
        "authors_over_end_to_end",
        "latency_p50_ms",
        "GMACs",
    ):
        if column in table and table[column].notna().any():
            name = column.replace("_over_end_to_end", " / e2e").replace("_", " ")
            parts.append(f"{name}: {COLUMN_NOTES[column]}.")
    if record_set.unfinished:
        parts.append(
            f"{len(record_set.unfinished)} of {record_set.configured} configured cells have no "
            "result (listed in leaderboard.md)."
        )
    return _escape(" ".join(parts))


#: an FPS's marks in LaTeX (loaded, noisy: report/speed_trust.py)
LATEX_MARKS = {LOADED_MARK: "$^{*}$", NOISY_MARK: r"$^{\dagger}$"}


def _fps_with_marks(row: pd.Series) -> str | None:
    fps = row.get("FPS")
    if fps is None or pd.isna(fps):
        return None
    marks = (LATEX_MARKS[LOADED_MARK] if row.get("fps_loaded") is True else "") + (
        LATEX_MARKS[NOISY_MARK] if row.get("fps_noisy") is True else ""
    )
    text = f"{float(fps):.2f}{marks}"
    precision = row.get("fps_precision")
    if precision is not None and not pd.isna(precision):
        text += rf" $\pm${100 * float(precision):.1f}\%"
    if row.get("fps_comparable") is False:
        text += " (not comparable)"
    return text


def _mark_footnote(marks: list[tuple[str, str]]) -> str:
    """The marks' notes under the table, each mark as it stands in the table."""
    return " ".join(f"{LATEX_MARKS[mark]} {_escape(text)}." for mark, text in marks)


def latex_leaderboard(
    table: pd.DataFrame,
    title: str,
    record_set: RecordSet,
    marks: list[tuple[str, str]] | None = None,
) -> str:
    """A booktabs table of the columns a paper shows, with its caption and a label; a loaded or
    noisy FPS carries its mark, and `marks` (each mark and its meaning) stand under the table."""
    table = table.assign(AP=[_ap_with_interval(row) for _, row in table.iterrows()])
    if "FPS" in table:
        table = table.assign(FPS=[_fps_with_marks(row) for _, row in table.iterrows()])
    shown = [c for c in latex_columns() if c in table and table[c].notna().any()]
    if "dataset" in shown and table["dataset"].nunique() == 1:
        shown.remove("dataset")  # named in the caption
    # a paper's headers: no underscore (LaTeX would read it as a subscript)
    headers = {c: c.replace("_over_end_to_end", " / e2e").replace("_", " ") for c in shown}
    headers["AP"] = "AP [low, high]" if "AP_low" in table else "AP"
    headers.update({c: f"AP$_{c[-1]}$" for c in ("AP_S", "AP_L") if c in headers})
    styled = (
        table[shown]
        .rename(columns=headers)
        .style.hide(axis="index")
        .format(precision=2, na_rep="-", escape="latex")
    )
    if "FPS" in shown:  # the marks are LaTeX already
        styled = styled.format(lambda v: v, subset=["FPS"], na_rep="-", escape=None)
    latex = styled.to_latex(
        hrules=True,
        caption=caption(table, title, record_set),
        label="tab:vis-bench-leaderboard",
        position_float="centering",
    )
    if not marks:
        return latex
    footnote = f"\\par\\footnotesize {_mark_footnote(marks)}\n\\end{{table}}"
    return latex.replace(r"\end{table}", footnote)
