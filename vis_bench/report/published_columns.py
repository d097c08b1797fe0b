"""The "published" column of tables and the leaderboard: the authors' AP beside the measured one.

A record gets a published number only when its setting matches a published entry of a released
checkpoint's declaration (`vis_bench.published.published_match`: method, dataset and split, backbone, clip length, stride,
resolution). Reports add the columns only when at least one record matches, so runs on the
synthetic data (the default run) keep their tables as they were. The difference is measured minus
published, in AP points; the entries' sources are listed under the table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from vis_bench.eval.benchmarks import AP, LONG_VIDEOS_AP, YTVIS2022
from vis_bench.published import Published, default_published, published_match
from vis_bench.records import CellRecord

PUBLISHED_COLUMN = "AP published"
DELTA_COLUMN = "Δ published"


def load_default_published() -> Published:
    """The published numbers of every registered method's released checkpoints."""
    return default_published()


def published_entries(
    records: Iterable[CellRecord], published: Published | None
) -> dict[str, dict[str, Any]]:
    """Record key -> the published entry its setting matches (records without a match left out;
    `published` is the record set's; None: nothing to match)."""
    if published is None:
        return {}
    found = {}
    for record in records:
        if not record.ok or record.key is None:
            continue
        entry = published_match(record.setting(), published)
        if entry is not None:
            found[record.key] = entry
    return found


#: the published figure compared, by preference: AP, else YouTube-VIS 2022's long-video AP
#: (the figure its papers quote; the record's `mAP_L`), shown with its name
COMPARED_METRICS = (AP, LONG_VIDEOS_AP)
METRIC_LABELS = {LONG_VIDEOS_AP: YTVIS2022.heading(LONG_VIDEOS_AP)}


def published_metric(entry: dict[str, Any] | None) -> str | None:
    """Which of the entry's figures a table compares (None: none it can)."""
    metrics = entry["metrics"] if entry is not None else {}
    return next((m for m in COMPARED_METRICS if m in metrics), None)


def published_cells(
    entry: dict[str, Any] | None, measured: Callable[[str], float | None]
) -> list[str]:
    """[published figure, measured - published] as table text ("" where there is nothing);
    `measured(metric)` is the record's value of a metric in points. A figure other than AP is
    named (`42.6 (AP_L)`)."""
    metric = published_metric(entry)
    if metric is None:
        return ["", ""]
    published = float(entry["metrics"][metric])
    label = "" if metric == "AP" else f" ({METRIC_LABELS.get(metric, metric)})"
    points = measured(metric)
    if points is None:
        return [f"{published:.1f}{label}", ""]
    return [f"{published:.1f}{label}", f"{points - published:+.1f}"]


def source_lines(entries: dict[str, dict[str, Any]]) -> list[str]:
    """One line per matched entry: id, where it is printed, and what it was trained on."""
    lines = []
    for entry in sorted({e["id"]: e for e in entries.values()}.values(), key=lambda e: e["id"]):
        source = entry["source"]
        where = source.get("repository") or source.get("paper")
        training = entry["setting"].get("training")
        line = f"{entry['id']}: {source['kind']} of {where}, {source['table']}"
        lines.append(line + (f" (trained on {training})" if training else ""))
    return lines
