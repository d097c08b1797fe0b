"""Colours and markers that identify a series however many a plot draws, and the one legend of a
figure of small multiples.

matplotlib's default cycle repeats its 10 colours, so the 11th line of a plot looks like the
first. Here each of a plot's series gets its own (colour, marker) pair: 10 distinct colours up to
10 series, 20 up to 20, an even spread of a perceptual colour map beyond, each with a marker of
its own too, so no two series look alike. A figure of several panels shares
one legend, outside its panels, whose entries are its few styles (resolutions, strides), never
one per line.
"""

from __future__ import annotations

from typing import Any

#: marker shapes, told apart in print and at small size
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "p", "h", "*")
#: the most entries one legend shows (a plot needing more draws panels instead)
MAX_LEGEND_ENTRIES = 24


def colours(count: int) -> list[Any]:
    """`count` distinct colours (tab10, tab20, then an even spread of viridis)."""
    from matplotlib import colormaps

    if count <= 10:
        return [colormaps["tab10"](i) for i in range(count)]
    if count <= 20:
        return [colormaps["tab20"](i) for i in range(count)]
    return [colormaps["viridis"](i / max(1, count - 1)) for i in range(count)]


def styles(count: int) -> list[tuple[Any, str]]:
    """(colour, marker) per series: every colour distinct, and the marker changing too, so
    neighbours of a colour map beyond 20 series are still told apart."""
    return [(colour, MARKERS[i % len(MARKERS)]) for i, colour in enumerate(colours(count))]


def figure_legend(fig: Any, handles: list[Any], title: str | None = None) -> None:
    """One legend right of every panel (constrained layout keeps it inside the figure)."""
    fig.legend(
        handles=handles[:MAX_LEGEND_ENTRIES],
        loc="outside right upper",
        fontsize=8,
        title=title,
        title_fontsize=8,
        frameon=False,
    )


def wrapped(text: str, fig: Any, chars_per_inch: float = 15.0) -> str:
    """`text` wrapped to the figure's width, line by line (a long title is never cut)."""
    import textwrap

    width = max(40, int(fig.get_figwidth() * chars_per_inch))
    return "\n".join(textwrap.fill(line, width) for line in text.splitlines())
