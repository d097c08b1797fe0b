"""Each cell's record as the HTML report lists it: grouped by method, in leaderboard order.

For every cell: its label and key, status (with the reason of a failure), AP, speed, the
environment (CPU or GPU, torch, threads, platform, commit), the deformable-attention core that
ran and the fast paths, dtype and device, the machine's load while it was timed, the checkpoint
load and the run's config, so a number on the page can be traced to how it was made.
"""

from __future__ import annotations

from typing import Any

import yaml

from vis_bench.report.leaderboard import leaderboard_frame, method_anchors
from vis_bench.report.record_set import RecordSet
from vis_bench.report.speed_trust import fps_range_text, fps_text, mark_notes, speed_of
from vis_bench.report.tables import clip_length_order


def _number(value: Any, scale: float = 1.0, digits: int = 2) -> str:
    return "-" if value is None else f"{value * scale:.{digits}f}"


def _load_text(load: Any) -> str:
    if not isinstance(load, dict):
        return "-"
    loaded = "loaded" if load.get("loaded") else "not loaded"
    peak = f", highest {_number(load['load1_max'])}" if load.get("load1_max") is not None else ""
    return (
        f"1-min load {_number(load.get('load1_start'))} -> {_number(load.get('load1_end'))}{peak} "
        f"on {load.get('threads', '-')} threads ({loaded}); CPU steal "
        f"{_number(load.get('cpu_steal_share'), 100, 1)} %"
    )


def _rounds_text(record: dict[str, Any]) -> str:
    """The timed rounds in one line: how many, what each timed, CPU per wall second, the
    machine's reference speed and how far it moved, the predictions' check, the marks."""
    speed = speed_of(record)
    if not speed.get("rounds"):
        return "-"
    moved = speed.get("reference_spread")
    checked = speed.get("predictions_checked") or {}
    parts = [
        f"{speed.get('rounds_timed')} rounds of {speed.get('frames')} frames "
        f"({speed.get('videos')} videos)",
        f"CPU s / wall s {_number(speed.get('cpu_per_wall'))}",
        f"machine {_number(speed.get('reference_gflops'), digits=0)} GFLOP/s, moved "
        + ("-" if moved is None else f"{100 * moved:.0f}%"),
        "predictions equal to the accuracy pass"
        if checked.get("equal_to_accuracy_pass")
        else "predictions not checked",
    ]
    parts += mark_notes([record])
    return "; ".join(parts)


def _environment_text(env: Any) -> str:
    if not isinstance(env, dict):
        return "-"
    device = env.get("gpu_name") or env.get("cpu") or "-"
    parts = [device, f"torch {env.get('torch', '-')}", f"{env.get('threads', '-')} threads"]
    parts += [str(env[k]) for k in ("platform", "git_commit") if env.get(k)]
    return "; ".join(parts)


def cell_fields(record: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, text) pairs describing one cell."""
    execution = record.get("execution") if isinstance(record.get("execution"), dict) else {}
    core = ", ".join(execution.get("deform_attn_core") or []) or "-"
    load = record.get("checkpoint_load") if isinstance(record.get("checkpoint_load"), dict) else {}
    fields = [
        ("status", "ok" if record.get("status") == "ok" else f"failed: {record.get('error')}"),
        ("AP", _number(record.get("AP"), 100, 2)),
        (
            "FPS end to end / model stage",
            f"{fps_text(record)} {fps_range_text(record)} / {fps_text(record, 'fps_model')}",
        ),
        ("timed rounds", _rounds_text(record)),
        ("device, dtype", f"{record.get('device', '-')}, {record.get('dtype', '-')}"),
        ("deformable-attention core", core),
        ("fast paths", ", ".join(execution.get("fast_paths") or []) or "-"),
        ("environment", _environment_text(record.get("environment"))),
        ("machine load while timed", _load_text(record.get("load"))),
        ("peak RSS MiB", _number(record.get("peak_rss_mb"), digits=0)),
        (
            "checkpoint",
            f"{record.get('checkpoint') or '-'} ({load.get('loaded', '-')} tensors, "
            f"{load.get('missing', '-')} missing, {load.get('unexpected', '-')} unexpected)",
        ),
        ("finished", str(record.get("finished") or "-")),
    ]
    return fields


def _label(record: dict[str, Any]) -> str:
    stride = record.get("stride")
    schedule = f"T={record.get('clip_length')}" + ("" if stride is None else f" S={stride}")
    return f"{record.get('method')} {schedule} {record.get('resolution')}p {record.get('dtype')}"


def _checkpoint(record: dict[str, Any]) -> str:
    value = record.get("checkpoint")
    return value if isinstance(value, str) and value else "-"


def _section(anchor: str, method: str, own: list[dict[str, Any]]) -> dict[str, Any]:
    own = sorted(own, key=lambda r: (clip_length_order(r.get("clip_length")), str(r.get("key"))))
    return {
        "anchor": anchor,
        "method": method,
        "notes": next((r.get("notes") for r in own if r.get("notes")), ""),
        "cells": [
            {
                "label": _label(r),
                "key": r.get("key", "-"),
                "ok": r.get("status") == "ok",
                "fields": cell_fields(r),
                "config": yaml.safe_dump(r.get("config") or {}, sort_keys=False),
            }
            for r in own
        ],
    }


def cell_sections(record_set: RecordSet) -> list[dict[str, Any]]:
    """One section per leaderboard row (method, checkpoint) with each of its cells, then one per
    method whose every cell failed."""
    latest = record_set.records
    by_key = {r.get("key"): r for r in latest}
    frame = leaderboard_frame(record_set)
    rows = list(zip(frame["method"], frame["key"], strict=True)) if not frame.empty else []
    anchors = method_anchors([m for m, _ in rows])
    sections, shown = [], set()
    for anchor, (method, key) in zip(anchors, rows, strict=True):
        checkpoint = _checkpoint(by_key.get(key, {}))
        own = [r for r in latest if r.get("method") == method and _checkpoint(r) == checkpoint]
        shown.update(id(r) for r in own)
        sections.append(_section(anchor, method, own))
    rest = [r for r in latest if id(r) not in shown]
    for method in sorted({str(r.get("method")) for r in rest}):
        own = [r for r in rest if str(r.get("method")) == method]
        sections.append(_section(f"failed-{method_anchors([method])[0]}", method, own))
    return sections
