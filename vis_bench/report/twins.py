"""An A/A check: the same cell timed twice (`measure.twins: true`), and how far the twins agree.

Two timings of identical work differ only by the timing's noise, so their agreement is what a
reader needs before believing that one method is faster than another: this table sets each
twin pair side by side with their paired ratio and says whether they agree within `AGREEMENT`.
"""

from __future__ import annotations

from vis_bench.records import CellRecord
from vis_bench.report.speed_trust import fps_text, paired_ratio, precision_text, verdict_line
from vis_bench.report.table_axes import cell_columns

#: how far a twin pair's FPS may differ and still be said to agree (docs/fps.md, Precision)
AGREEMENT = 0.05


def _pair_key(record: CellRecord) -> tuple:
    return tuple(
        str(v)
        for v in (
            record.method, record.entry, record.clip_length, record.stride, record.resolution,
            record.device, record.dtype, record.video_frames,
        )
    )  # fmt: skip


def twin_pairs(records: list[CellRecord]) -> list[tuple[CellRecord, CellRecord]]:
    """(twin 1, twin 2) for every cell of the records timed twice, in record order."""
    firsts = {_pair_key(r): r for r in records if r.twin == 1 and r.speed.fps_end_to_end}
    return [
        (firsts[_pair_key(r)], r)
        for r in records
        if r.twin == 2 and r.speed.fps_end_to_end and _pair_key(r) in firsts
    ]


def agreement(one: CellRecord, two: CellRecord) -> float | None:
    """|twin 2 / twin 1 - 1| of their FPS (None without both)."""
    a, b = one.speed.fps_end_to_end, two.speed.fps_end_to_end
    return abs(b / a - 1) if a and b else None


def twins_table(records: list[CellRecord], fmt: str = "github") -> str | None:
    """Per twin pair: each FPS with its interval, their ratio (raw, and paired over the rounds
    both counted) and whether they agree within AGREEMENT (None without twins)."""
    pairs = twin_pairs(records)
    if not pairs:
        return None
    columns = cell_columns([one for one, _ in pairs])  # the axes the pairs differ on
    rows = []
    for one, two in pairs:
        moved = agreement(one, two)
        name, *axes = columns.values(one)
        verdict = "-" if moved is None else ("yes" if moved <= AGREEMENT else "no")
        rows.append(
            [
                name.removesuffix(" twin 1"), *axes,
                f"{fps_text(one)} {precision_text(one)}", f"{fps_text(two)} {precision_text(two)}",
                f"{(two.speed.fps_end_to_end or 0) / (one.speed.fps_end_to_end or 1):.3f}",
                paired_ratio(two, one).text(3), verdict,
            ]
        )  # fmt: skip
    headers = [*columns.headers, "twin 1 FPS", "twin 2 FPS", "2 / 1", "2 / 1 paired"]
    headers += [f"within {100 * AGREEMENT:g}%"]
    return columns.table(rows, headers, fmt)


TWINS_NOTE = (
    "Twins (`measure.twins: true`): every cell timed twice, in the same interleaved rounds, as "
    "an A/A check; identical work, so the two figures differ only by the timing's noise. 2 / 1: "
    "twin 2's FPS over twin 1's; paired: the median of the per-round ratios over the rounds both "
    f"counted. Within {100 * AGREEMENT:g}%: whether the twins agree as a quiet machine should "
    "(docs/fps.md, Precision)."
)


def twins_summary(records: list[CellRecord]) -> str | None:
    """One console line: how many twin pairs agree and the largest difference (None: no twins)."""
    pairs = twin_pairs(records)
    moved = [m for m in (agreement(a, b) for a, b in pairs) if m is not None]
    if not moved:
        return None
    within = sum(m <= AGREEMENT for m in moved)
    return (
        f"twins (A/A): {within} of {len(moved)} pairs agree within {100 * AGREEMENT:g}% "
        f"(largest difference {100 * max(moved):.1f}%)"
    )


def speed_verdict_lines(records: list[CellRecord]) -> list[str]:
    """What the console ends a run with: the twins' agreement (an A/A run), then, where some
    FPS cannot be compared, the one line saying to re-measure on a quiet machine and how."""
    lines = [line for line in (twins_summary(records), verdict_line(records)) if line]
    return lines
