"""Plots from records (matplotlib, headless): AP vs clip length per method (AP vs FPS, with the
front: plots_front.py).

Every plot's title names what it compares: the methods, the dataset and the machine, so a figure
pasted elsewhere still says where its numbers come from. AP is drawn with each cell's bootstrap
interval (the record's `AP_ci`, as computed: the bars need not be symmetric), and the legend sits
right of the axes, never over a point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vis_bench.report.record_set import RecordSet
from vis_bench.report.tables import datasets_of, records_frame


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def small_multiples(
    used: int, rows: int, columns: int, panel: tuple[float, float], legend_width: float
) -> tuple[Any, Any]:
    """A figure of `rows` x `columns` panels of `panel` inches (width, height) each, with
    `legend_width` inches right of them for the one legend and an inch above for the title;
    the panels past the first `used` hidden. (figure, 2-D array of axes)"""
    fig, axes = _pyplot().subplots(
        rows,
        columns,
        figsize=(panel[0] * columns + legend_width, panel[1] * rows + 1.0),
        layout="constrained",
        squeeze=False,
    )
    for ax in list(axes.flat)[used:]:
        ax.set_visible(False)
    return fig, axes


def _measured(frame, columns: tuple[str, ...]):
    """The rows that have every one of `columns` (a measure switch may have left them out)."""
    if frame.empty or any(c not in frame for c in columns):
        return frame.iloc[0:0]
    return frame.dropna(subset=list(columns))


def plot_title(record_set: RecordSet, what: str) -> str:
    """e.g. "AP vs clip length: method-a, method-b\nsynthetic (seed 0, 24 videos) on AMD EPYC (2 threads)"."""
    frame = records_frame(record_set)
    methods = ", ".join(sorted(frame["method"].unique())) if not frame.empty else "-"
    machines = []
    for record in record_set:
        env = record.environment
        name = env.machine if env is not None else None
        if env is not None and name:
            machine = f"{name} ({env.threads} threads)" if not env.gpu_name else name
            if machine not in machines:
                machines.append(machine)
    return (
        f"{what}: {methods}\n{'; '.join(datasets_of(record_set)) or '-'} on "
        f"{'; '.join(machines) or 'unknown machine'}"
    )


def ap_error(frame) -> list[list[float]] | None:
    """matplotlib's yerr of the rows' AP: [below, above] from each cell's bootstrap interval
    (`AP_ci`, as computed: often skewed), 0 where a cell has none; None when no cell has one."""
    if "AP_ci" not in frame or not frame["AP_ci"].map(_interval).any():
        return None
    below, above = [], []
    for ap, ci in zip(frame["AP"], frame["AP_ci"], strict=True):
        low, high = (100 * ci[0], 100 * ci[1]) if _interval(ci) else (ap, ap)
        below.append(max(0.0, ap - low))
        above.append(max(0.0, high - ap))
    return [below, above]


def _interval(value) -> bool:
    return isinstance(value, list | tuple) and len(value) == 2 and None not in value


def outside_legend(ax, title: str | None = None) -> None:
    """The legend right of the axes, off the data."""
    ax.legend(
        loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0, fontsize=8, title=title
    )


def ap_label(frame) -> str:
    """The AP axis's label, saying what the bars are when there are any."""
    if ap_error(frame) is None:
        return "AP"
    return "AP (bars: the cell's 95% bootstrap interval)"


def clip_positions(values) -> tuple[dict[str, float], list[float], list[str]]:
    """x position of each clip length ('all' right of the longest), and the ticks."""
    numeric = sorted({int(v) for v in values if str(v).isdigit()})
    all_x = max(numeric) * 2 if numeric else 1
    position = {str(v): float(v) for v in numeric} | {"all": float(all_x)}
    ticks = [*map(float, numeric), float(all_x)] if "all" in set(map(str, values)) else numeric
    labels = [str(int(t)) for t in numeric] + (["all"] if "all" in set(map(str, values)) else [])
    return position, ticks, labels


def plot_ap_vs_clip_length(record_set: RecordSet, path: str | Path) -> Path | None:
    """One line per method, AP with its interval at each clip length; 'all' (whole video) at
    the right end. Methods are nudged apart sideways so their bars do not cover each other."""
    frame = _measured(records_frame(record_set), ("AP",))
    if frame.empty:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    position, ticks, tick_labels = clip_positions(frame["clip_length"])
    groups = list(frame.groupby("method"))
    for i, (method, group) in enumerate(groups):
        nudge = 1.0 + 0.04 * (i - (len(groups) - 1) / 2)  # log axis: a factor
        group = group.assign(x=[position[v] * nudge for v in group["clip_length"]]).sort_values("x")
        ax.errorbar(
            group["x"], group["AP"], yerr=ap_error(group), marker="o", capsize=3, label=method
        )
    ax.set_xscale("log", base=2)
    ax.set_xticks(ticks, tick_labels)
    ax.minorticks_off()
    ax.set_xlabel("clip length T (frames)")
    ax.set_ylabel(ap_label(frame))
    ax.set_title(plot_title(record_set, "AP vs clip length"), fontsize=8)
    ax.grid(alpha=0.3)
    outside_legend(ax)
    return _save(fig, path)


def _save(fig, path: str | Path) -> Path:
    """Write the figure atomically and close it; a full disk names `path` (matplotlib's own
    error names no file)."""
    import matplotlib.pyplot as plt

    from vis_bench.atomic import atomic_file

    path = Path(path)
    try:
        if fig.get_layout_engine() is None:  # a constrained layout has placed everything
            fig.tight_layout()
        with atomic_file(path) as tmp:
            # the saved area holds every text of the figure, so no title or legend is cut
            fig.savefig(tmp, dpi=120, format="png", bbox_inches="tight", pad_inches=0.1)
    finally:
        plt.close(fig)
    return path
