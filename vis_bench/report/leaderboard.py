"""Leaderboard markdown: one row per (method, checkpoint), ranked by AP, on one dataset.

The selection rule is stated in the header: each (method, checkpoint) is represented by its
best-AP cell among the cells it ran (the count is shown), not by a schedule chosen in advance.
Records of different datasets are never ranked together: `leaderboard` refuses them unless asked
to group them, and then ranks each dataset in its own section.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from vis_bench.errors import InputError
from vis_bench.report.tables import OCCLUSION_AP, datasets_of, records_frame, was_loaded

COLUMNS = [
    "rank",
    "method",
    "backbone",
    "AP",
    "AP50",
    "AP75",
    *OCCLUSION_AP,
    "AR1",
    "AR10",
    "FPS",
    "GMACs",
    "params",
    "cell",
    "cells",
]


def _device_name(record: pd.Series) -> str:
    env = record.get("environment")
    if isinstance(env, dict):
        return env.get("gpu_name") or env.get("cpu") or str(record.get("device", ""))
    return str(record.get("device", ""))


def _fps(row: pd.Series) -> str | None:
    fps = row.get("fps_end_to_end")
    if fps is None or pd.isna(fps):
        return None
    mark = "*" if was_loaded(row.to_dict()) else ""
    return f"{fps:.2f}{mark} ({_device_name(row)})"


def leaderboard_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per (method, checkpoint): its best-AP cell (fastest when AP is absent, the first
    recorded when neither was measured)."""
    frame = records_frame(records)
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS + ["notes"])
    if "checkpoint" not in frame:
        frame["checkpoint"] = None
    frame["checkpoint"] = frame["checkpoint"].map(lambda v: v or "-")
    keys = [k for k in ("AP", "fps_end_to_end") if k in frame and frame[k].notna().any()]
    if keys:  # by AP, or by speed when no cell was scored; else in record order
        frame = frame.sort_values(keys[0], ascending=False, na_position="last", kind="stable")
    counts = frame.groupby(["method", "checkpoint"], sort=False).size()
    best = frame.groupby(["method", "checkpoint"], sort=False).head(1).reset_index(drop=True)
    rows = []
    for rank, (_, r) in enumerate(best.iterrows(), 1):
        params = r.get("params")
        rows.append(
            {
                "rank": rank,
                "method": r["method"],
                "backbone": r.get("backbone") or "-",
                "AP": r.get("AP"),
                "AP50": r.get("AP50"),
                "AP75": r.get("AP75"),
                **{name: r.get(name) for name in OCCLUSION_AP},
                "AR1": r.get("AR1"),
                "AR10": r.get("AR10"),
                "FPS": _fps(r),
                "GMACs": r.get("gmacs_per_frame"),
                "params": None if params is None or pd.isna(params) else f"{params / 1e6:.1f}M",
                "cell": f"T={r['clip_length']} S={r['stride']} res={r['resolution']} {r['dtype']}",
                "cells": int(counts[(r["method"], r["checkpoint"])]),
                "notes": r.get("notes") or "",
            }
        )
    return pd.DataFrame(rows)


def _section(records: list[dict[str, Any]]) -> list[str]:
    frame = leaderboard_frame(records)
    if frame.empty:
        return ["No finished cells yet."]
    columns = [c for c in COLUMNS if c not in OCCLUSION_AP or frame[c].notna().any()]
    lines = [frame[columns].to_markdown(index=False, floatfmt=".1f", missingval="-")]
    if frame["FPS"].astype(str).str.contains(r"\*", regex=True).any():
        lines += ["", "\\* FPS measured while the machine was loaded."]
    return lines


def leaderboard_markdown(
    records: list[dict[str, Any]],
    title: str = "vis-bench leaderboard",
    group_datasets: bool = False,
) -> str:
    """The leaderboard as a markdown document; one section per dataset when grouping."""
    datasets = datasets_of(records)
    if len(datasets) > 1 and not group_datasets:
        raise InputError(
            f"the records cover {len(datasets)} datasets ({'; '.join(datasets)}); a leaderboard "
            "ranks one dataset: pass --group-datasets to rank each in its own section",
            field="runs",
        )
    lines = [f"# {title}", ""]
    lines += [
        "Each (method, checkpoint) is shown by its best-AP cell among the cells it ran (column "
        "`cells`); AP/AR x100; FPS end to end (all frames / time to finalise every video, "
        "stitching and encoding included) on the named device; GMACs per frame.",
        "",
    ]
    for dataset in datasets or ["-"]:
        subset = [r for r in records if (r.get("dataset_label") or r.get("dataset")) == dataset]
        lines += [f"## {dataset}", ""] if datasets else []
        lines += _section(subset if datasets else records) + [""]
    notes = {r.get("method"): r.get("notes") for r in records if r.get("notes")}
    if notes:
        lines += ["Notes:", ""] + [f"- {m}: {n}" for m, n in sorted(notes.items())] + [""]
    return "\n".join(lines)
