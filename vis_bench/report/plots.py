"""Plots from records (matplotlib, headless): AP vs clip length per method, AP vs FPS.

Every plot's title names what it compares: the methods, the dataset and the machine, so a figure
pasted elsewhere still says where its numbers come from.
"""

from __future__ import annotations

from pathlib import Path

from vis_bench.report.record_set import RecordSet
from vis_bench.report.tables import datasets_of, records_frame


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


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
        env = record.get("environment") or {}
        name = env.get("gpu_name") or env.get("cpu")
        if name:
            machine = f"{name} ({env.get('threads')} threads)" if not env.get("gpu_name") else name
            if machine not in machines:
                machines.append(machine)
    return (
        f"{what}: {methods}\n{'; '.join(datasets_of(record_set)) or '-'} on "
        f"{'; '.join(machines) or 'unknown machine'}"
    )


def plot_ap_vs_clip_length(record_set: RecordSet, path: str | Path) -> Path | None:
    """One line per method; 'all' (whole video) is drawn at the right end."""
    frame = _measured(records_frame(record_set), ("AP",))
    if frame.empty:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    numeric = [int(v) for v in frame["clip_length"] if v.isdigit()]
    all_x = (max(numeric) * 2) if numeric else 1
    for method, group in frame.groupby("method"):
        xs = [all_x if v == "all" else int(v) for v in group["clip_length"]]
        pairs = sorted(zip(xs, group["AP"], strict=True))
        ax.plot([p[0] for p in pairs], [p[1] for p in pairs], marker="o", label=method)
    ticks = sorted(set(numeric)) + [all_x]
    ax.set_xticks(ticks, [str(t) for t in ticks[:-1]] + ["all"])
    ax.set_xlabel("clip length T (frames)")
    ax.set_ylabel("AP")
    ax.set_title(plot_title(record_set, "AP vs clip length"), fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def plot_ap_vs_fps(record_set: RecordSet, path: str | Path) -> Path | None:
    """Accuracy/speed trade-off: one point per cell, labelled with its clip length."""
    frame = _measured(records_frame(record_set), ("AP", "fps_end_to_end"))
    if frame.empty:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for method, group in frame.groupby("method"):
        ax.scatter(group["fps_end_to_end"], group["AP"], label=method)
        for _, row in group.iterrows():
            ax.annotate(f"T={row['clip_length']}", (row["fps_end_to_end"], row["AP"]), fontsize=7)
    ax.set_xlabel("FPS (end to end)")
    ax.set_ylabel("AP")
    ax.set_title(plot_title(record_set, "AP vs FPS"), fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.tight_layout()
    fig.savefig(tmp, dpi=120)
    tmp.replace(path)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
