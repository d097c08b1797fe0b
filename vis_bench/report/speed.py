"""Speed beside its definition: FPS by timing protocol side by side, and live-stream latency.

A published FPS is a number and a protocol. Records keep each protocol's FPS with its
declaration (`protocols`: what was inside the timer, precision, compile, frames per call,
warm-up, mean, source, and what this machine applied of it), so the tables set them side by
side with the ratio "authors' protocol / end to end": how much of a published FPS is protocol
rather than method. The latency table reads the live-stream replay (`stream`): a frame's wait
from arrival until its masks are final, which an FPS does not show (an offline method answers at
the end of the video, however fast it runs).

Pure functions of a RecordSet; records made before these fields (no `protocols`, no `stream`)
are read as "not measured".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vis_bench.records import CellRecord
from vis_bench.records.parts import ProtocolEntry, Stream
from vis_bench.report.record_set import RecordSet
from vis_bench.report.table_axes import cell_columns

Record = CellRecord
RATIO = "authors / e2e"
LATENCY_NOTE = (
    "Latency: frames replayed as a live stream from the end-to-end run's clip timings "
    "(measure/stream.py); a frame's latency runs from its arrival until its masks are final. "
    "An online method answers each frame after one clip; a near-online one when the clip "
    "holding the frame completes (with T = 5, up to 4 later frames); an offline one (T = all) "
    "only once the whole video is in: its FPS may be high while every frame waits for the end "
    "of the video. `<= x`: the 99 % upper bound of that percentile given the frames timed "
    "(none: too few frames to bound it)."
)


def ratio(record: Record) -> float | None:
    """FPS by the authors' protocol / FPS end to end (None where either is missing)."""
    authors, e2e = record.speed.fps_authors, record.speed.fps_end_to_end
    if authors is None or not e2e:
        return None
    return float(authors) / float(e2e)


def authors_entry(record: Record) -> ProtocolEntry | None:
    """The record's `authors` protocol entry (None: not asked for, or a record before it)."""
    return (record.protocols or {}).get("authors")


def authors_text(record: Record) -> str:
    """The authors' protocol as run here: its name and what was applied, or why no number."""
    entry = authors_entry(record)
    if entry is None:
        return "not measured"
    declared = entry.protocol
    if declared is None:
        return "not declared by the method"
    if not declared.get("stated", True):
        return "not stated by the authors"
    if record.speed.fps_authors is None:
        return str(entry.not_measured or "not measured")
    applied = entry.applied or {}
    compiled = applied.get("compile")
    parts = [str(declared.get("name")), str(applied.get("precision"))]
    if compiled:
        parts.append(f"compiled ({compiled.get('mode')}, dynamic {compiled.get('dynamic')})")
    return ", ".join(parts)


def _number(value: Any, digits: int = 2) -> str:
    return "-" if value is None else f"{float(value):.{digits}f}"


def has_protocols(record_set: RecordSet) -> bool:
    """Whether any finished cell asked for the authors' protocol."""
    return any(authors_entry(r) is not None for r in record_set.ok)


def protocol_table(record_set: RecordSet, fmt: str = "github") -> str | None:
    """Per cell: FPS end to end, model only and by the authors' protocol, the ratio, and the
    authors' protocol as run (None when no cell asked for it)."""
    if not has_protocols(record_set):
        return None
    columns = cell_columns(record_set.ok)
    rows = []
    for record in sorted(record_set.ok, key=columns.order):
        rows.append(
            [
                *columns.values(record),
                _number(record.speed.fps_end_to_end),
                _number(record.speed.fps_model),
                _number(record.speed.fps_authors),
                "-" if ratio(record) is None else f"{ratio(record):.2f}x",
                authors_text(record),
            ]
        )
    headers = [*columns.headers, "end to end", "model", "authors", RATIO, "authors' protocol"]
    return columns.table(rows, headers, fmt)


def definition_lines(record_set: RecordSet) -> list[str]:
    """What each protocol in the records timed: the harness's own once, then each method's
    authors' protocol (what its timer holds and leaves out, precision, compile, frames per call,
    warm-up, mean, clock, source, published number) and what this machine could not apply."""
    harness: dict[str, str] = {}
    methods: dict[str, str] = {}
    for record in record_set.ok:
        for key, entry in (record.protocols or {}).items():
            declared = entry.protocol if entry is not None else None
            method = str(record.method)
            if key != "authors" and declared:
                harness.setdefault(f"{key} ({declared.get('name')})", _definition(declared))
            elif key == "authors" and method not in methods:
                text = _definition(declared) if declared else "not declared by the method"
                notes = ((entry.applied if entry is not None else None) or {}).get("notes") or []
                methods[method] = text + "".join(f"; applied here: {n}" for n in notes)
    lines = [f"{label}: {text}" for label, text in harness.items()]
    return lines + [f"{method}, authors' protocol: {text}" for method, text in methods.items()]


def _definition(declared: Mapping[str, Any]) -> str:
    if not declared.get("stated", True):
        return (
            f"not stated: {declared.get('source')}; published: "
            f"{declared.get('published') or 'nothing'}"
        )
    compiled = declared.get("compile")
    compile_text = (
        "no compile"
        if not compiled
        else f"torch.compile mode {compiled['mode']}, dynamic {compiled['dynamic']}"
    )
    precision = declared.get("precision") or "the cell's dtype"
    return (
        f"timed {', '.join(declared.get('timed', []))}; outside {', '.join(declared.get('excluded', []))}; "
        f"{precision}, {compile_text}; {declared.get('frames_per_call')} per call; warm-up "
        f"{declared.get('warmup')} {declared.get('warmup_unit')}; {declared.get('mean')}; "
        f"{declared.get('clock')}; source: {declared.get('source')}"
        + (f"; published: {declared['published']}" if declared.get("published") else "")
    )


def has_stream(record_set: RecordSet) -> bool:
    return any(r.stream is not None for r in record_set.ok)


def latency_ms(record: Record, percentile: str) -> float | None:
    """A percentile (p50, p90, p99) of the live stream's latency, ms (None: no stream)."""
    stream = record.stream
    return (stream.latency_ms or {}).get(percentile) if stream is not None else None


def _latency(stream: Stream, key: str) -> str:
    value = (stream.latency_ms or {}).get(key)
    bound = (stream.latency_bound_ms or {}).get(key)
    text = _number(value, 1)
    return f"{text} (<= {bound:.1f})" if bound is not None else f"{text} (none)"


def latency_table(record_set: RecordSet, fmt: str = "github") -> str | None:
    """Per cell with a stream replay: p50 / p90 / p99 latency (ms) with their bounds, time to
    first result, frames dropped at the stream's rate, beside end-to-end FPS (None: none)."""
    if not has_stream(record_set):
        return None
    streamed = [r for r in record_set.ok if r.stream is not None]
    columns = cell_columns(streamed)
    rows = []
    for record in sorted(streamed, key=columns.order):
        stream = record.stream
        dropped = stream.dropped
        rows.append(
            [
                *columns.values(record),
                str(stream.arrival),
                *(_latency(stream, key) for key in ("p50", "p90", "p99")),
                _number(stream.first_result_ms, 1),
                "-" if dropped is None else f"{dropped} of {stream.frames}",
                _number(record.speed.fps_end_to_end),
            ]
        )
    headers = [*columns.headers, "arrival", "p50 ms", "p90 ms", "p99 ms", "first result ms"]
    headers += ["dropped", "FPS end to end"]
    return columns.table(rows, headers, fmt)


def energy_lines(record_set: RecordSet) -> list[str]:
    """Energy per frame where measured, else what the machine said (one line per distinct
    reason, so a CPU without RAPL says so once)."""
    lines, reasons = [], set()
    columns = cell_columns(record_set.ok)
    for record in sorted(record_set.ok, key=columns.order):
        energy = record.energy
        if energy is None:
            continue
        if energy.joules_per_frame is None:
            reasons.add(f"energy not measured: {energy.note or energy.source}")
            continue
        cell = columns.label(record)
        lines.append(f"energy {cell}: {energy.joules_per_frame:.3f} J/frame ({energy.source})")
    fixed = [columns.fixed] if lines and columns.fixed else []
    return fixed + lines + sorted(reasons)
