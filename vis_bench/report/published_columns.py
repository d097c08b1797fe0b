"""The "published" column of tables and the leaderboard: the authors' AP beside the measured one.

A record gets a published number only when its setting matches a published entry of a released
checkpoint's declaration (`vis_bench.published.published_match`: method, dataset and split, backbone, clip length, stride,
resolution). Reports add the columns only when at least one record matches, so runs on the
synthetic data (the default run) keep their tables as they were. The difference is measured minus
published, in AP points; the entries' sources are listed under the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from vis_bench.published import Published, default_published, published_match

PUBLISHED_COLUMN = "AP published"
DELTA_COLUMN = "Δ published"


def load_default_published() -> Published:
    """The published numbers of every registered method's released checkpoints."""
    return default_published()


def published_entries(
    records: Iterable[dict[str, Any]], published: Published | None
) -> dict[str, dict[str, Any]]:
    """Record key -> the published entry its setting matches (records without a match left out;
    `published` is the record set's; None: nothing to match)."""
    if published is None:
        return {}
    found = {}
    for record in records:
        if record.get("status", "ok") != "ok" or "key" not in record:
            continue
        entry = published_match(record, published)
        if entry is not None:
            found[record["key"]] = entry
    return found


def published_cells(entry: dict[str, Any] | None, measured_points: float | None) -> list[str]:
    """[published AP, measured - published] as table text ("" where there is nothing)."""
    if entry is None or "AP" not in entry["metrics"]:
        return ["", ""]
    published = float(entry["metrics"]["AP"])
    if measured_points is None:
        return [f"{published:.1f}", ""]
    return [f"{published:.1f}", f"{measured_points - published:+.1f}"]


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
