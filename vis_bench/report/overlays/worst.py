"""`diagnose --show DIR`: a contact sheet per worst GT track, its video's frames with the track
singled out (other tracks as bare outlines).

The worst tracks are those `diagnose` reports worst: lowest best video IoU first, then the
largest share of visible frames left empty. Each sheet shows evenly spaced frames of the frames
where the track is visible, the ground truth beside the results file's predictions.
"""

from __future__ import annotations

from pathlib import Path

from vis_bench.eval.analysis.diagnose import TrackDiagnosis
from vis_bench.report.overlays.inputs import from_files
from vis_bench.report.overlays.media import write_png
from vis_bench.report.overlays.scene import (
    DEFAULT_SCORE_THRESHOLD,
    DEFAULT_TOP,
    VideoInfo,
    video_scene,
)
from vis_bench.report.overlays.sheets import DEFAULT_PANEL_SIZE, SceneRenderer, evenly_spaced


def worst_tracks(tracks: list[TrackDiagnosis], count: int) -> list[TrackDiagnosis]:
    """The `count` worst tracks: lowest video IoU, then most visible frames left empty."""

    def badness(track: TrackDiagnosis) -> tuple[float, float, int]:
        empty = track.empty_visible_frames / track.visible_frames if track.visible_frames else 0.0
        return (track.video_iou, -empty, track.annotation_id)

    return sorted(tracks, key=badness)[:count]


def write_worst_sheets(
    gt: Path,
    results: Path,
    frames: Path,
    tracks: list[TrackDiagnosis],
    out_dir: Path,
    sheet_frames: int = 6,
    score_threshold: float = DEFAULT_SCORE_THRESHOLD,
    top: int = DEFAULT_TOP,
    panel_size: int = DEFAULT_PANEL_SIZE,
) -> list[Path]:
    """One PNG per track in `tracks` (in that order) under `out_dir`; returns the files."""
    sources = from_files(gt, [results], frames)
    sheets = []
    for rank, track in enumerate(tracks, 1):
        video, info = sources.video(track.video_id)
        scene = video_scene(
            sources.gt, sources.methods, info, sources.has_annotations, score_threshold, top
        )
        slot = next(t.slot for t in scene.gt if t.ref == track.annotation_id)
        renderer = SceneRenderer(
            scene,
            sources.frame_reader(video),
            panel_size,
            focus=slot,
            title=_title(rank, len(tracks), track, slot, scene.gt[slot].category, info),
        )
        visible = [t for t, rle in enumerate(scene.gt[slot].frames) if rle is not None]
        chosen = [visible[i] for i in evenly_spaced(len(visible), sheet_frames)]
        name = f"worst-{rank:02d}-video{track.video_id}-track{track.annotation_id}.png"
        sheets.append((out_dir / name, renderer.sheet(chosen)))
    for path, image in sheets:  # drawn first, written after: nothing half-done on an error
        write_png(path, image)
    return [path for path, _ in sheets]


def _title(
    rank: int, count: int, track: TrackDiagnosis, slot: int, category: str, info: VideoInfo
) -> str:
    return (
        f"worst track {rank} of {count}: GT #{slot} {category} (annotation "
        f"{track.annotation_id}) in video "
        f"{info.name} (id {info.id}); best video IoU {track.video_iou:.2f}, "
        f"{track.empty_visible_frames} of {track.visible_frames} visible frames left empty"
    )
