"""Pictures of one method's predictions on a video without ground truth (`predict`).

The same scene, panels and writers as `show`: a video no dataset annotates is a split of one
video with no annotations, its categories the model's label space (or the ids the predictions
use, where no label space is known), so nothing is matched and nothing marked: each track is
drawn in its own colour with its category and score.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vis_bench.eval.metric.loading import ground_truth_from_dict, results_from_list
from vis_bench.report.overlays.media import DEFAULT_FPS, write_animation, write_png
from vis_bench.report.overlays.scene import (
    DEFAULT_SCORE_THRESHOLD,
    DEFAULT_TOP,
    VideoInfo,
    VideoScene,
    video_scene,
)
from vis_bench.report.overlays.sheets import DEFAULT_PANEL_SIZE, SceneRenderer, evenly_spaced


@dataclass(frozen=True)
class PredictionPictures:
    """What to draw and where: the animation (GIF or MP4) and the contact sheet (PNG)."""

    animation: Path
    sheet: Path
    sheet_frames: int = 6
    score_threshold: float = DEFAULT_SCORE_THRESHOLD
    top: int = DEFAULT_TOP
    panel_size: int = DEFAULT_PANEL_SIZE
    fps: float = DEFAULT_FPS


def category_names(results: list[dict[str, Any]], names: dict[int, str] | None) -> dict[int, str]:
    """The label space's names, and "category N" for any id the predictions use beyond it."""
    out = dict(names or {})
    for result in results:
        out.setdefault(int(result["category_id"]), f"category {int(result['category_id'])}")
    return dict(sorted(out.items()))


def prediction_scene(
    video: VideoInfo,
    results: list[dict[str, Any]],
    label: str,
    names: dict[int, str] | None,
    score_threshold: float = DEFAULT_SCORE_THRESHOLD,
    top: int = DEFAULT_TOP,
) -> VideoScene:
    """The scene of one method's predictions on a video nobody annotated."""
    categories = category_names(results, names)
    header = {
        "videos": [
            {"id": video.id, "height": video.height, "width": video.width, "length": video.length}
        ],
        "categories": [{"id": cid, "name": name} for cid, name in categories.items()],
        "annotations": [],
    }
    gt = ground_truth_from_dict(header, f"<video {video.name}>")
    predictions = results_from_list(results, gt, "<predictions>")
    return video_scene(
        gt,
        [(label, predictions)],
        video,
        has_annotations=False,
        score_threshold=score_threshold,
        top=top,
    )


def draw_predictions(
    scene: VideoScene,
    read_frame: Callable[[int], np.ndarray],
    pictures: PredictionPictures,
    progress: Callable[[Iterable[int]], Iterable[int]] = lambda frames: frames,
) -> list[Path]:
    """Draw every frame (animation) and evenly spaced ones (sheet); write both whole."""
    renderer = SceneRenderer(scene, read_frame, pictures.panel_size or None)
    length = scene.video.length
    animation = [renderer.row(t) for t in progress(range(length))]
    sheet = renderer.sheet(evenly_spaced(length, pictures.sheet_frames))
    write_animation(pictures.animation, animation, pictures.fps)
    write_png(pictures.sheet, sheet)
    return [pictures.animation, pictures.sheet]
