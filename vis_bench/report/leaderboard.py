"""Leaderboard markdown: the best cell of each (method, checkpoint), ranked by AP."""

from __future__ import annotations

from typing import Any

import pandas as pd

from vis_bench.report.tables import records_frame

COLUMNS = [
    "rank",
    "method",
    "backbone",
    "AP",
    "AP50",
    "AP75",
    "AR1",
    "AR10",
    "FPS",
    "GMACs",
    "params",
]


def _device_name(record: pd.Series) -> str:
    env = record.get("environment")
    if isinstance(env, dict):
        return env.get("gpu_name") or env.get("cpu") or str(record.get("device", ""))
    return str(record.get("device", ""))


def leaderboard_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per (method, checkpoint): its best-AP cell (fastest when AP is absent)."""
    frame = records_frame(records)
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS + ["notes"])
    if "checkpoint" not in frame:
        frame["checkpoint"] = None
    frame["checkpoint"] = frame["checkpoint"].map(lambda v: v or "-")
    sort_key = "AP" if "AP" in frame else "fps_end_to_end"
    frame = frame.sort_values(sort_key, ascending=False, na_position="last")
    best = frame.groupby(["method", "checkpoint"], sort=False).head(1).reset_index(drop=True)
    rows = []
    for rank, (_, r) in enumerate(best.iterrows(), 1):
        options = r.get("model_options") if isinstance(r.get("model_options"), dict) else None
        if options is None:
            options = r.get("options") if isinstance(r.get("options"), dict) else {}
        fps = r.get("fps_end_to_end")
        rows.append(
            {
                "rank": rank,
                "method": r["method"],
                "backbone": options.get("backbone", "resnet50"),
                "AP": r.get("AP"),
                "AP50": r.get("AP50"),
                "AP75": r.get("AP75"),
                "AR1": r.get("AR1"),
                "AR10": r.get("AR10"),
                "FPS": None if pd.isna(fps) else f"{fps:.2f} ({_device_name(r)})",
                "GMACs": r.get("gmacs_per_frame"),
                "params": None if pd.isna(r.get("params")) else f"{r['params'] / 1e6:.1f}M",
                "cell": f"T={r['clip_length']} S={r['stride']} res={r['resolution']} {r['dtype']}",
                "notes": r.get("notes") or "",
            }
        )
    return pd.DataFrame(rows)


def leaderboard_markdown(
    records: list[dict[str, Any]], title: str = "vis-bench leaderboard"
) -> str:
    """The leaderboard as a markdown document (table, then the methods' notes)."""
    frame = leaderboard_frame(records)
    lines = [f"# {title}", ""]
    if frame.empty:
        lines.append("No finished cells yet.")
        return "\n".join(lines) + "\n"
    lines.append(frame.to_markdown(index=False, floatfmt=".1f", missingval="-"))
    lines.append("")
    lines.append("AP/AR x100 on the run's dataset; FPS end to end (all frames / time to finalise")
    lines.append(
        "every video, stitching and encoding included) on the named device; GMACs per frame."
    )
    return "\n".join(lines) + "\n"
