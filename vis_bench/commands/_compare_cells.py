"""`compare --run RUN_DIR --a CELL --b CELL`: two cells of one run, from their records alone.

Prints each cell's AP and FPS with their intervals, then A - B in AP paired over the same
resampled videos (report/significance.py) and A / B in FPS paired over the rounds both were
timed in (report/front.py), each with its verdict: told apart or not, or why it cannot be said
(not comparable (loaded), not paired). `--out FILE` writes the same as JSON.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def compare_cells(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from vis_bench.atomic import write_atomic
    from vis_bench.report.cell_names import cell_name, find_cell
    from vis_bench.report.front import cell_text, fps_ratio, group_of
    from vis_bench.report.record_set import RecordSet
    from vis_bench.report.significance import PairedComparer, with_interval
    from vis_bench.report.speed_trust import not_comparable, precision_text

    record_set = RecordSet.read([args.run])
    a, b = find_cell(record_set, args.a, "--a"), find_cell(record_set, args.b, "--b")
    rows = []
    for tag, record in (("A", a), ("B", b)):
        ap = record.metric("AP")
        fps = record.speed.fps_end_to_end
        rows.append(
            [
                tag,
                f"{record.shown_method} {cell_text(record)} {record.device} {record.dtype}",
                "-" if ap is None else with_interval(100 * ap, record, "AP", 2),
                "-" if fps is None else f"{fps:.2f} {precision_text(record)}".strip(),
            ]
        )
    print(f"A = {cell_name(record_set, a)}\nB = {cell_name(record_set, b)}")
    print(tabulate(rows, headers=["", "cell", "AP [interval]", "FPS"], tablefmt="github"))
    pairing = PairedComparer(record_set, args.confidence).compare(a, b, "AP")
    ratio = fps_ratio(a, b)
    ap_verdict = _ap_verdict(pairing)
    fps_verdict = _fps_verdict(ratio, a, b, not_comparable)
    if group_of(a) != group_of(b):
        fps_verdict = (
            f"not comparable (other machine, device or dtype: {group_of(a).label} against "
            f"{group_of(b).label})"
        )
    level = f"{100 * args.confidence:g}%"
    print(f"AP A - B, paired over videos ({level}): {pairing.text(2)} -> {ap_verdict}")
    print(f"FPS A / B, paired over rounds: {ratio.text()} -> {fps_verdict}")
    if args.out is not None:
        payload = _payload(record_set, a, b, pairing, ratio, ap_verdict, fps_verdict)
        write_atomic(args.out, json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0


def _ap_verdict(pairing: Any) -> str:
    if pairing.reason is not None:
        return f"not paired ({pairing.reason})"
    if not pairing.significant:
        return "not told apart"
    return "A more accurate" if pairing.difference > 0 else "B more accurate"


def _fps_verdict(ratio: Any, a: Any, b: Any, not_comparable: Any) -> str:
    from vis_bench.measure.precision import NOT_COMPARABLE

    if not_comparable(a) or not_comparable(b) or ratio.why_not == NOT_COMPARABLE:
        return NOT_COMPARABLE
    if ratio.low is None:
        return ratio.why_not or "not paired"
    if not ratio.told_apart:
        return "not told apart"
    return "A faster" if ratio.value > 1 else "B faster"


def _payload(record_set, a, b, pairing, ratio, ap_verdict: str, fps_verdict: str) -> dict:
    from vis_bench.report.cell_names import cell_name

    return {
        "run": str(record_set.folder),
        "a": cell_name(record_set, a),
        "b": cell_name(record_set, b),
        "ap_difference": {
            "points": pairing.difference,
            "interval": None if pairing.interval is None else list(pairing.interval),
            "verdict": ap_verdict,
        },
        "fps_ratio": {
            "value": ratio.value,
            "interval": None if ratio.low is None else [ratio.low, ratio.high],
            "confidence": ratio.confidence if ratio.low is not None else None,
            "rounds": ratio.rounds,
            "verdict": fps_verdict,
        },
    }
