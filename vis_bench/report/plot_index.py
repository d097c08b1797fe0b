"""The plots of a run, in the order the report shows them, each drawn only where the run has
what it shows (one registry for `outputs` and the HTML report, so the files and the page agree).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vis_bench.report.memory_plot import plot_memory_vs_frames
from vis_bench.report.plots import plot_ap_vs_clip_length
from vis_bench.report.plots_front import plot_front
from vis_bench.report.plots_sweep import plot_memory_vs_clip_length, plot_vs_resolution
from vis_bench.report.record_set import RecordSet
from vis_bench.report.tables_document import has_video_lengths


@dataclass(frozen=True)
class RunPlot:
    """One plot: its file under <run>/plots/, its title on the page and how it is drawn
    (returns None when the run has nothing it shows)."""

    name: str
    title: str
    draw: Callable[[RecordSet, Path], Path | None]


def _memory_vs_frames(record_set: RecordSet, path: Path) -> Path | None:
    return plot_memory_vs_frames(record_set, path) if has_video_lengths(record_set) else None


RUN_PLOTS = (
    RunPlot("ap_vs_fps.png", "AP vs FPS, the front per device and dtype", plot_front),
    RunPlot("ap_vs_clip_length.png", "AP vs clip length", plot_ap_vs_clip_length),
    RunPlot("ap_fps_vs_resolution.png", "AP and FPS vs resolution", plot_vs_resolution),
    RunPlot("memory_vs_clip_length.png", "Memory vs clip length", plot_memory_vs_clip_length),
    RunPlot("memory_vs_frames.png", "Peak memory vs frames per video", _memory_vs_frames),
)


def draw_plots(record_set: RecordSet, folder: Path) -> list[Path]:
    """Every plot the run has something for, written under `folder`."""
    drawn = (plot.draw(record_set, folder / plot.name) for plot in RUN_PLOTS)
    return [path for path in drawn if path is not None]
