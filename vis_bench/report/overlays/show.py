"""The work of `show`: one video's predictions drawn as an animation and a contact sheet.

Inputs are read and checked first, both pictures are drawn in memory, and only then written
(each whole or not at all), so a mistake leaves no half-written output.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vis_bench.errors import InputError
from vis_bench.report.overlays.inputs import Regenerate, Sources, from_files, from_run
from vis_bench.report.overlays.media import (
    DEFAULT_FPS,
    check_animation_path,
    write_animation,
    write_png,
)
from vis_bench.report.overlays.scene import (
    DEFAULT_SCORE_THRESHOLD,
    DEFAULT_TOP,
    MethodScene,
    VideoScene,
    frame_ranges,
    video_scene,
)
from vis_bench.report.overlays.sheets import DEFAULT_PANEL_SIZE, SceneRenderer, evenly_spaced
from vis_bench.report.record_set import RecordSet

DEFAULT_SHEET_FRAMES = 6


@dataclass
class ShowRequest:
    """What to draw: a video, the results (files or run cells) and how."""

    video: str
    gt: Path | None = None
    frames: Path | None = None
    results: list[Path] | None = None
    run: Path | None = None
    cells: list[str] | None = None
    out: Path | None = None
    sheet: Path | None = None
    sheet_frames: int = DEFAULT_SHEET_FRAMES
    score_threshold: float = DEFAULT_SCORE_THRESHOLD
    top: int = DEFAULT_TOP
    panel_size: int = DEFAULT_PANEL_SIZE
    fps: float = DEFAULT_FPS
    max_frames: int | None = None
    #: makes a run cell's predictions again when the run did not keep them (None: an error)
    regenerate: Regenerate | None = None


def sources_of(request: ShowRequest) -> Sources:
    """The files or run cells a request names (exactly one of the two ways)."""
    if request.run is not None:
        if request.gt is not None or request.results or request.frames is not None:
            raise InputError(
                "give either --run RUN_DIR (with --cell) or --gt, --results and --frames, not both",
                field="--run",
            )
        return from_run(
            RecordSet.read([request.run]),
            request.cells or None,
            request.regenerate,
            request.video,  # predictions made again are of the video drawn only
        )
    missing = [
        name
        for name, value in (
            ("--gt", request.gt),
            ("--results", request.results),
            ("--frames", request.frames),
        )
        if not value
    ]
    if missing:
        raise InputError(
            f"missing {', '.join(missing)}: draw results files with --gt GT.json --results "
            "RES.json --frames DIR, or a run's cells with --run RUN_DIR --cell KEY",
            field=missing[0],
        )
    return from_files(request.gt, list(request.results), request.frames)


def _outputs(request: ShowRequest, video_name: str) -> tuple[Path, Path]:
    safe = video_name.replace("/", "_").replace("\\", "_")
    out = request.out or Path(f"show-{safe}.gif")
    sheet = request.sheet or out.with_name(f"{out.stem}.sheet.png")
    check_animation_path(out)
    if sheet.suffix.lower() != ".png":
        raise InputError(
            "the contact sheet is a PNG: name it *.png", path=str(sheet), field="--sheet"
        )
    return out, sheet


def _check_numbers(request: ShowRequest) -> None:
    for name, value in (("--top", request.top), ("--sheet-frames", request.sheet_frames)):
        if value < 1:
            raise InputError(f"must be at least 1, got {value}", field=name)
    if request.fps <= 0:
        raise InputError(f"must be positive, got {request.fps}", field="--fps")
    if request.panel_size < 0:
        raise InputError(
            f"must be 0 (the video's size) or more, got {request.panel_size}", field="--panel-size"
        )


def render_show(request: ShowRequest) -> tuple[VideoScene, list[Path]]:
    """Draw and write the animation and the contact sheet; returns the scene and the files."""
    _check_numbers(request)
    if request.out is not None:
        check_animation_path(request.out)
    sources = sources_of(request)
    video, info = sources.video(request.video)
    out, sheet_path = _outputs(request, info.name)
    scene = video_scene(
        sources.gt,
        sources.methods,
        info,
        sources.has_annotations,
        score_threshold=request.score_threshold,
        top=request.top,
    )
    renderer = SceneRenderer(scene, sources.frame_reader(video), request.panel_size or None)
    frames = (
        evenly_spaced(info.length, request.max_frames)
        if request.max_frames
        else list(range(info.length))
    )
    animation = renderer.animation(frames)
    sheet = renderer.sheet(evenly_spaced(info.length, request.sheet_frames))
    write_animation(out, animation, request.fps)
    write_png(sheet_path, sheet)
    return scene, [out, sheet_path]


def summary_lines(method: MethodScene) -> list[str]:
    """What the matching says of one method on the video, for the terminal."""
    lines = [f"{method.label}: {method.shown} of {method.total} predictions shown"]
    for row in method.diagnosis:
        problems = []
        if row["missed_frames"]:
            problems.append(f"missed in frames {frame_ranges(row['missed_frames'])}")
        if row["identity_switches"]:
            problems.append(f"{row['identity_switches']} identity switch(es)")
        if row["predicted_category"] and not row["class_correct"]:
            problems.append(f"best match says {row['predicted_category']}")
        text = "; ".join(problems) or "found in every visible frame"
        lines.append(f"  GT #{row['slot']} {row['category']} (IoU {row['best_iou']:.2f}): {text}")
    fp = [t for t, m in enumerate(method.marks) if m.false_positives]
    if fp:
        lines.append(f"  false positives in frames {frame_ranges(fp)}")
    return lines
