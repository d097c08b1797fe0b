"""The HTML report's per-video browser: each method's overlays beside the ground truth.

The methods are the leaderboard's cells (each (method, checkpoint)'s best-AP cell). Videos are
listed worst first: by the mean over those cells of each one's AP on that video alone (the
statistics module's per-video AP, from the matching each cell kept). For the first `videos` of
them the page embeds `frames` evenly spaced frames (`panel_size` px on the longer side: large
enough to judge a mask), once for all columns, and per column the layers `show` draws over them
(overlays/layers.py: each track a transparent strip, captions and headers as text), so the page
can hide the captions or show one track alone; and each method's per-track diagnosis. Those
limits keep a report of a few dozen videos at a few megabytes; the page says what it left out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vis_bench.errors import InputError
from vis_bench.report.overlays.inputs import (
    Regenerate,
    RunCell,
    Sources,
    ground_truth_of,
    leaderboard_cells,
    load_cell_results,
    mean_ap,
    open_run_dataset,
    per_video_ap,
    run_cells,
)
from vis_bench.report.overlays.layers import browser_columns, caption_text_size, frame_strip
from vis_bench.report.overlays.media import data_uri, jpeg_bytes
from vis_bench.report.overlays.scene import VideoInfo, video_scene
from vis_bench.report.overlays.sheets import SceneRenderer, evenly_spaced
from vis_bench.report.record_set import RecordSet


@dataclass(frozen=True)
class BrowserLimits:
    """How much of a run the browser embeds (`report --videos --frames --panel-size`)."""

    videos: int = 12
    frames: int = 10
    panel_size: int = 360
    jpeg_quality: int = 70


@dataclass
class VideoEntry:
    """One video of the browser: its per-method AP and, when drawn, its strips and diagnosis."""

    id: int
    name: str
    length: int
    ap: list[float | None]
    mean_ap: float | None
    frames: list[int] = field(default_factory=list)
    #: the sampled frames as one JPEG strip (a data URI), shared by every column
    frames_uri: str = ""
    #: per column: its title and layers ({key, slot, uri})
    panels: list[dict[str, Any]] = field(default_factory=list)
    #: what the page's script draws as text: per column its captions, status lines and
    #: timeline, and the GT tracks one can show alone (JSON, `</` escaped)
    data: str = ""
    methods: list[dict[str, Any]] = field(default_factory=list)
    #: one panel's size (videos of a split may differ in size) and its captions' text size
    panel_height: int = 0
    panel_width: int = 0
    caption_px: int = 0


@dataclass
class Browser:
    """What the page's browser shows: its columns, videos worst first and what it left out."""

    methods: list[str]
    videos: list[VideoEntry]
    notes: list[str]

    @property
    def drawn(self) -> list[VideoEntry]:
        return [v for v in self.videos if v.panels]


def _ordered(cells: list[RunCell], record_set: RecordSet) -> list[VideoEntry]:
    """Every video the cells' matching knows, worst mean AP first (undefined ones last)."""
    scores = [per_video_ap(cell, record_set) for cell in cells]
    entries = []
    for video in sorted({v for s in scores for v in s}):
        ap = [s.get(video) for s in scores]
        entries.append(VideoEntry(video, str(video), 0, ap, mean_ap(ap)))
    worst = [e for e in entries if e.mean_ap is not None]
    worst.sort(key=lambda e: (e.mean_ap, e.id))
    return worst + [e for e in entries if e.mean_ap is None]


def _diagnosis(scene_method) -> dict[str, Any]:
    fp_frames = [t for t, m in enumerate(scene_method.marks) if m.false_positives]
    return {
        "label": scene_method.label,
        "shown": scene_method.shown,
        "total": scene_method.total,
        "rows": scene_method.diagnosis,
        "false_positive_frames": fp_frames,
    }


def _draw(entry: VideoEntry, sources: Sources, limits: BrowserLimits) -> None:
    """Fill `entry` with its frames, each column's layers and text, and the diagnosis."""
    video = sources.dataset.video(entry.id)
    info = VideoInfo(video.id, video.name, video.height, video.width, video.length)
    scene = video_scene(sources.gt, sources.methods, info, sources.has_annotations)
    renderer = SceneRenderer(scene, sources.frame_reader(video), limits.panel_size)
    entry.length = video.length
    entry.frames = evenly_spaced(video.length, limits.frames)
    strip = frame_strip(renderer, entry.frames)
    entry.frames_uri = data_uri(jpeg_bytes(strip, limits.jpeg_quality), "image/jpeg")
    columns = browser_columns(renderer, entry.frames)
    entry.panels = [
        {
            "title": column.title,
            "layers": [
                {"key": layer.key, "slot": layer.slot, "uri": data_uri(layer.png(), "image/png")}
                for layer in column.layers
            ],
        }
        for column in columns
    ]
    tracks = [(t.slot, t.caption) for t in scene.gt or [] if not t.crowd]
    data = {
        "tracks": tracks,
        "columns": [
            {"captions": c.captions, "status": c.status, "timeline": c.timeline} for c in columns
        ],
    }
    entry.data = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    entry.methods = [_diagnosis(m) for m in scene.methods]
    entry.panel_height, entry.panel_width = renderer.style.height, renderer.style.width
    entry.caption_px = caption_text_size(renderer)


def _sources(
    run_dir: Path, record_set: RecordSet, cells: list[RunCell], regenerate: Regenerate | None
) -> Sources:
    dataset, _ = open_run_dataset(record_set, run_dir)
    truth = ground_truth_of(dataset)
    methods = [(cell.label, load_cell_results(cell, truth, run_dir, regenerate)) for cell in cells]
    return Sources(dataset, truth, methods)


def build_browser(
    record_set: RecordSet,
    limits: BrowserLimits | None = None,
    log: Callable[[str], None] = lambda message: None,
    regenerate: Regenerate | None = None,
) -> Browser:
    """The browser of the record set's run folder; overlays left out (with the reason) where the
    predictions or the dataset cannot be read (a cell's predictions made again by `regenerate`
    where given and not kept)."""
    limits = limits or BrowserLimits()
    cells = leaderboard_cells(run_cells(record_set), record_set)
    browser = Browser([c.label for c in cells], _ordered(cells, record_set), [])
    if not cells:
        browser.notes.append("no finished cell to draw")
        return browser
    try:
        sources = _sources(Path(record_set.folder or "."), record_set, cells, regenerate)
    except InputError as err:
        browser.notes.append(f"overlays left out: {err}")
        return browser
    for entry in browser.videos:
        if entry.id not in sources.dataset:
            continue
        entry.name = sources.dataset.video(entry.id).name
    for entry in browser.videos[: limits.videos]:
        if entry.id in sources.dataset and limits.frames > 0:
            _draw(entry, sources, limits)
    log(f"report: drew {len(browser.drawn)} videos x {len(browser.methods) + 1} columns")
    browser.notes.append(_limits_note(browser, limits))
    return browser


def _limits_note(browser: Browser, limits: BrowserLimits) -> str:
    shown, total = len(browser.drawn), len(browser.videos)
    videos = (
        f"all {total} videos"
        if shown == total
        else f"the {shown} videos with the lowest mean AP of {total} (`report --videos N` for more)"
    )
    return (
        f"Overlays of {videos}, at most {limits.frames} evenly spaced frames each, panels "
        f"{limits.panel_size} px on the longer side (`report --panel-size`), frames in JPEG "
        f"quality {limits.jpeg_quality}, masks lossless; `run_bench.py show` draws any video "
        "whole, at any size."
    )
