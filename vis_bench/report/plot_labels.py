"""Point labels on a matplotlib scatter that neither hide each other nor sit on a point.

Several cells of one method often land on one spot (a per-frame method's AP does not change with
the clip length, so its three cells differ in FPS by a few pixels): their labels, each placed
at a fixed offset, printed on top of one another. Here points of one series whose markers touch
(one spot to the eye) share one label ("T=5, 10, all", left to right); points apart, however
close, each get their own, so a label never names a point it does not sit beside. Each label takes
the first of a few offsets around its point whose box is clear of the labels already placed, of
every point and of the axes' edges (measured in the figure's pixels, after the limits are set).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: offsets (points) tried around a point, in order
OFFSETS = ((6, 5), (6, -12), (-6, 5), (-6, -12), (6, 14), (-6, 14), (6, -21), (-6, -21), (0, 22))
FONT_SIZE = 7
#: a marker's diameter in points (matplotlib's default marker size); markers whose centres are
#: closer than this times TOUCHING are one spot to the eye
MARKER_POINTS = 6.0
TOUCHING = 1.25


@dataclass
class PointLabel:
    """One label to place: its text and the data point (x, y) it names."""

    text: str
    x: float
    y: float
    #: the series' colour, so a label is read with its points
    colour: str = "black"


def merged(
    points: list[tuple[float, float, str]], ax: Any, colour: str = "black", prefix: str = "T="
) -> list[PointLabel]:
    """One series' points (x, y, value) -> labels, points on one spot sharing one label."""
    to_pixels = ax.transData.transform
    touching = TOUCHING * MARKER_POINTS * ax.figure.dpi / 72
    ordered = sorted(points, key=lambda p: (round(p[1], 6), p[0]))
    groups: list[list[tuple[float, float, str]]] = []
    for point in ordered:
        if groups:
            last = groups[-1][-1]
            (x0, y0), (x1, y1) = to_pixels((last[0], last[1])), to_pixels((point[0], point[1]))
            if abs(y1 - y0) < 4 and abs(x1 - x0) < touching:
                groups[-1].append(point)
                continue
        groups.append([point])
    labels = []
    for group in groups:
        values = ", ".join(p[2] for p in group)
        text = prefix + values
        x = sum(p[0] for p in group) / len(group)
        labels.append(PointLabel(text, x, group[0][1], colour))
    return labels


def _box(ax: Any, label: PointLabel, offset: tuple[int, int]) -> tuple[float, float, float, float]:
    """The label's box in pixels (x0, y0, x1, y1) at `offset` points from its point."""
    scale = ax.figure.dpi / 72
    px, py = ax.transData.transform((label.x, label.y))
    width = 0.6 * FONT_SIZE * len(label.text) * scale
    height = 1.2 * FONT_SIZE * scale
    x0 = px + offset[0] * scale - (width if offset[0] < 0 else 0)
    y0 = py + offset[1] * scale
    return x0, y0, x0 + width, y0 + height


def _hits(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place(ax: Any, labels: list[PointLabel], points: list[tuple[float, float]]) -> None:
    """Annotate `labels` on `ax`, each at its first clear offset (`points`: every data point
    of the plot, which no label may cover)."""
    frame = ax.get_window_extent()
    edges = (frame.x0, frame.y0, frame.x1, frame.y1)
    dots = []
    for x, y in points:
        px, py = ax.transData.transform((x, y))
        dots.append((px - 3, py - 3, px + 3, py + 3))
    placed: list[tuple[float, float, float, float]] = []
    for label in labels:
        chosen = OFFSETS[0]
        for offset in OFFSETS:
            box = _box(ax, label, offset)
            inside = (
                edges[0] <= box[0]
                and box[2] <= edges[2]
                and edges[1] <= box[1]
                and box[3] <= edges[3]
            )
            if inside and not any(_hits(box, other) for other in placed + dots):
                chosen = offset
                break
        placed.append(_box(ax, label, chosen))
        ax.annotate(
            label.text,
            (label.x, label.y),
            xytext=chosen,
            textcoords="offset points",
            fontsize=FONT_SIZE,
            color=label.colour,
            ha="right" if chosen[0] < 0 else "left",
            va="bottom",
        )
