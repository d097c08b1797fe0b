"""Each cell's record as the HTML report lists it: grouped by method, in leaderboard order.

For every cell: its label and key, status (with the reason of a failure), AP, speed, the
environment (CPU or GPU, torch, threads, platform, commit), the deformable-attention core that
ran and the fast paths, dtype and device, the machine's load while it was timed, the checkpoint
load and the run's config, so a number on the page can be traced to how it was made.
"""

from __future__ import annotations

from typing import Any

import yaml

from vis_bench.records import CellRecord
from vis_bench.records.parts import CheckpointLoad, Environment, Execution, Load
from vis_bench.report.leaderboard import leaderboard_frame, method_anchors
from vis_bench.report.record_set import RecordSet
from vis_bench.report.speed_trust import fps_range_text, fps_text, mark_notes, speed_of
from vis_bench.report.tables import clip_length_order


def _number(value: Any, scale: float = 1.0, digits: int = 2) -> str:
    return "-" if value is None else f"{value * scale:.{digits}f}"


def _load_text(load: Load | None) -> str:
    if load is None:
        return "-"
    loaded = "loaded" if load.loaded else "not loaded"
    peak = f", highest {_number(load.load1_max)}" if load.load1_max is not None else ""
    threads = "-" if "threads" in load.absent else load.threads
    return (
        f"1-min load {_number(load.load1_start)} -> {_number(load.load1_end)}{peak} "
        f"on {threads} threads ({loaded}); CPU steal "
        f"{_number(load.cpu_steal_share, 100, 1)} %"
    )


def _rounds_text(record: CellRecord) -> str:
    """The timed rounds in one line: how many, what each timed, CPU per wall second, the
    machine's reference speed and how far it moved, the predictions' check, the marks."""
    speed = speed_of(record)
    if not speed.rounds:
        return "-"
    moved = speed.reference_spread
    checked = speed.predictions_checked or {}
    parts = [
        f"{speed.rounds_timed} rounds of {speed.frames} frames ({speed.videos} videos)",
        f"CPU s / wall s {_number(speed.cpu_per_wall)}",
        f"machine {_number(speed.reference_gflops, digits=0)} GFLOP/s, moved "
        + ("-" if moved is None else f"{100 * moved:.0f}%"),
        "predictions equal to the accuracy pass"
        if checked.get("equal_to_accuracy_pass")
        else "predictions not checked",
    ]
    parts += mark_notes([record])
    return "; ".join(parts)


def _environment_text(env: Environment | None) -> str:
    if env is None:
        return "-"
    torch = "-" if "torch" in env.absent else env.torch
    threads = "-" if "threads" in env.absent else env.threads
    parts = [env.machine or "-", f"torch {torch}", f"{threads} threads"]
    parts += [str(v) for v in (env.platform, env.git_commit) if v]
    return "; ".join(parts)


def cell_fields(record: CellRecord) -> list[tuple[str, str]]:
    """(name, text) pairs describing one cell."""
    execution = record.execution or Execution()
    core = ", ".join(execution.deform_attn_core or []) or "-"
    load = record.checkpoint_load
    fields = [
        ("status", "ok" if record.ok else f"failed: {record.error}"),
        ("AP", _number(record.metric("AP"), 100, 2)),
        (
            "FPS end to end / model stage",
            f"{fps_text(record)} {fps_range_text(record)} / {fps_text(record, 'model')}",
        ),
        ("timed rounds", _rounds_text(record)),
        ("device, dtype", f"{_or_dash(record, 'device')}, {_or_dash(record, 'dtype')}"),
        ("deformable-attention core", core),
        ("fast paths", ", ".join(execution.fast_paths or []) or "-"),
        ("environment", _environment_text(record.environment)),
        ("machine load while timed", _load_text(record.speed.load)),
        ("peak RSS MiB", _number(record.memory.peak_rss_mb, digits=0)),
        (
            "checkpoint",
            f"{record.checkpoint or '-'} ({_part_or_dash(load, 'loaded')} tensors, "
            f"{_part_or_dash(load, 'missing')} missing, "
            f"{_part_or_dash(load, 'unexpected')} unexpected)",
        ),
        ("finished", str(record.finished or "-")),
    ]
    return fields


def _or_dash(record: CellRecord, name: str) -> Any:
    """A top-level field as the page shows it: `-` where the record's line lacked it."""
    return getattr(record, name) if record.has(name) else "-"


def _part_or_dash(part: CheckpointLoad | None, name: str) -> Any:
    """A checkpoint load's figure as the page shows it: `-` where the record has none."""
    return "-" if part is None or name in part.absent else getattr(part, name)


def _label(record: CellRecord) -> str:
    stride = record.stride
    schedule = f"T={record.clip_length}" + ("" if stride is None else f" S={stride}")
    return f"{record.shown_method} {schedule} {record.resolution}p {record.dtype}"


def _checkpoint(record: CellRecord | None) -> str:
    value = record.checkpoint if record is not None else None
    return value if isinstance(value, str) and value else "-"


def _section(anchor: str, method: str, own: list[CellRecord]) -> dict[str, Any]:
    own = sorted(own, key=lambda r: (clip_length_order(r.clip_length), str(r.key)))
    return {
        "anchor": anchor,
        "method": method,
        "notes": next((r.notes for r in own if r.notes), ""),
        "cells": [
            {
                "label": _label(r),
                "key": r.key if r.has("key") else "-",
                "ok": r.ok,
                "fields": cell_fields(r),
                "config": yaml.safe_dump(dict(r.config or {}), sort_keys=False),
            }
            for r in own
        ],
    }


def cell_sections(record_set: RecordSet) -> list[dict[str, Any]]:
    """One section per leaderboard row (method, checkpoint) with each of its cells, then one per
    method whose every cell failed."""
    latest = record_set.records
    by_key = {r.key: r for r in latest}
    frame = leaderboard_frame(record_set)
    rows = list(zip(frame["method"], frame["key"], strict=True)) if not frame.empty else []
    anchors = method_anchors([m for m, _ in rows])
    sections, shown = [], set()
    for anchor, (method, key) in zip(anchors, rows, strict=True):
        checkpoint = _checkpoint(by_key.get(key))
        own = [r for r in latest if r.method == method and _checkpoint(r) == checkpoint]
        shown.update(id(r) for r in own)
        sections.append(_section(anchor, method, own))
    rest = [r for r in latest if id(r) not in shown]
    for method in sorted({str(r.method) for r in rest}):
        own = [r for r in rest if str(r.method) == method]
        sections.append(_section(f"failed-{method_anchors([method])[0]}", method, own))
    return sections
