"""The run's plots: AP with each cell's interval, labels of cells on one spot merged and clear of
each other, the legend outside the axes, AP and FPS against resolution only where a method ran
at several, memory against clip length only where one ran several."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib import pyplot as plt  # noqa: E402

from vis_bench.report.plot_index import RUN_PLOTS, draw_plots  # noqa: E402
from vis_bench.report.plot_labels import merged, place  # noqa: E402
from vis_bench.report.plots import ap_error  # noqa: E402
from vis_bench.report.record_set import RecordSet  # noqa: E402
from vis_bench.report.tables import records_frame  # noqa: E402


def _record(method: str, clip, resolution: int, ap: float, fps: float, rise: float) -> dict:
    return {
        "key": f"{method}-{clip}-{resolution}",
        "status": "ok",
        "method": method,
        "checkpoint": None,
        "clip_length": clip,
        "stride": None if clip == "all" else max(1, int(clip) // 2),
        "resolution": resolution,
        "device": "cpu",
        "dtype": "fp32",
        "AP": ap,
        "AP_ci": [ap - 0.05, ap + 0.02],
        "fps_end_to_end": fps,
        "peak_rss_mb": 500 + rise,
        "activation_peak_mb": rise,
        "environment": {"cpu": "Test CPU", "threads": 2},
    }


def _records(resolutions=(144,)) -> list[dict]:
    out = []
    for resolution in resolutions:
        for clip, rise in (("all", 400.0), (10, 200.0), (5, 120.0)):
            # a per-frame method: the same AP at every clip length, FPS a hair apart
            out.append(_record("perframe", clip, resolution, 0.42, 40.0 + len(str(clip)), rise))
            out.append(_record("clips", clip, resolution, 0.30, 100.0 + rise / 10, rise / 2))
    return out


def test_ap_bars_are_the_cells_intervals_as_computed():
    frame = records_frame(RecordSet.from_records(_records()))
    below, above = ap_error(frame)
    assert all(abs(b - 5.0) < 1e-9 for b in below) and all(abs(a - 2.0) < 1e-9 for a in above)
    no_intervals = frame.drop(columns="AP_ci")
    assert ap_error(no_intervals) is None


def test_points_on_one_spot_share_a_label_and_labels_do_not_collide():
    fig, ax = plt.subplots(figsize=(6, 4))
    points = [(34.6, 42.5, "5"), (37.7, 42.5, "10"), (40.7, 42.5, "all"), (150, 38, "10")]
    ax.scatter([p[0] for p in points], [p[1] for p in points])
    ax.set_xlim(20, 200)
    ax.set_ylim(20, 55)
    fig.tight_layout()
    labels = merged(points, ax)
    assert [label.text for label in labels] == ["T=10", "T=5, 10, all"]
    place(ax, labels, [(p[0], p[1]) for p in points])
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in ax.texts]
    assert len(boxes) == 2 and not boxes[0].overlaps(boxes[1])
    plt.close(fig)


def test_a_sweep_gets_the_plots_of_the_axes_it_varies(tmp_path: Path):
    one = draw_plots(RecordSet.from_records(_records()), tmp_path / "one")
    assert {p.name for p in one} == {
        "ap_vs_fps.png",
        "ap_vs_clip_length.png",
        "memory_vs_clip_length.png",
    }
    two = draw_plots(RecordSet.from_records(_records((144, 224))), tmp_path / "two")
    assert "ap_fps_vs_resolution.png" in {p.name for p in two}
    assert [plot.name for plot in RUN_PLOTS][:2] == ["ap_vs_fps.png", "ap_vs_clip_length.png"]


def test_the_legend_is_outside_the_axes(tmp_path: Path, monkeypatch):
    """Every plot's legend lies right of its axes (none over the data)."""
    seen = []
    real_save = plt.Figure.savefig

    def save(fig, *args, **kwargs):
        fig.canvas.draw()
        for ax in fig.axes:
            legend = ax.get_legend()
            if legend is not None:
                seen.append(legend.get_window_extent().x0 >= ax.get_window_extent().x1)
        right = max(ax.get_window_extent().x1 for ax in fig.axes if ax.get_visible())
        seen.extend(legend.get_window_extent().x0 >= right for legend in fig.legends)
        return real_save(fig, *args, **kwargs)

    monkeypatch.setattr(plt.Figure, "savefig", save)
    draw_plots(RecordSet.from_records(_records((144, 224))), tmp_path)
    assert len(seen) == 4 and all(seen)  # two figures' legends, and two of small multiples


def test_points_apart_each_get_their_own_label():
    """Two cells of a method at one AP but visibly apart in FPS: a label beside each point,
    never one label naming both beside one of them."""
    fig, ax = plt.subplots(figsize=(6, 4))
    points = [(40.0, 42.5, "5"), (47.0, 42.5, "all")]  # about 20 pixels apart
    ax.scatter([p[0] for p in points], [p[1] for p in points])
    ax.set_xlim(20, 200)
    ax.set_ylim(20, 55)
    fig.tight_layout()
    labels = merged(points, ax)
    assert [(label.text, label.x) for label in labels] == [("T=5", 40.0), ("T=all", 47.0)]
    plt.close(fig)


def test_the_memory_plot_shows_the_tables_memory_column():
    """Its axis is the quantity a table shows, under the table's name for it."""
    from vis_bench.report.plots_sweep import memory_column
    from vis_bench.report.tables import HEADINGS

    frame = records_frame(RecordSet.from_records(_records()))
    column, label = memory_column(frame)
    assert column in HEADINGS and label.startswith(HEADINGS[column])
