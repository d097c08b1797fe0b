"""Predictions (or a ground truth) into the VOS layout (`export-vos`), for the tools that read it.

Per video, the results scoring at least `score_threshold` become objects 1, 2, ... in order of
descending score (ties: the earlier in the file first), at most 255 (a palette PNG's indices).
A VOS mask holds one index per pixel, so where predictions overlap the pixel goes to the
highest-scored one: masks are painted from the lowest-ranked object to the highest, each over
the ones before. Every frame gets a PNG (all background where nothing is predicted), named after
its frame; `meta.json` gives each object's category name (the YouTube-VOS layout) and, as
vis-bench's own keys, its `category_id` and `score`. With a frame folder, `JPEGImages/` gets the
frames too (hard links where the file system allows), so `import-vos` reads the folder back.

Without results the ground truth's own tracks are written (score 1, file order), which turns a
YouTube-VIS dataset into a VOS-layout one.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from vis_bench.atomic import atomic_directory
from vis_bench.data.videos import Video
from vis_bench.data.vos_layout import (
    FRAMES_DIR,
    MASKS_DIR,
    MAX_OBJECTS,
    META_FILE,
    frame_stem,
    video_name,
    write_index_png,
)
from vis_bench.data.ytvis_json import load_annotation_file
from vis_bench.errors import InputError
from vis_bench.formats import rle as rle_utils
from vis_bench.formats.results_file import read_results


@dataclass
class ExportTrack:
    """One prediction (or GT track) to paint: its frames as RLE (or polygons), None where absent."""

    video_id: int
    category_id: int
    score: float
    order: int  # position in its file: breaks score ties
    frames: list[Any]


@dataclass
class ExportSummary:
    videos: int
    objects: int
    below_threshold: int  # predictions left out for their score
    over_cap: int  # predictions beyond a video's 255 objects
    overpainted: int  # objects that lost pixels to a higher-scored overlapping one


def _is_rle(seg: Any, size: list[int]) -> bool:
    return isinstance(seg, dict) and seg.get("size") == size and isinstance(seg.get("counts"), str)


def read_prediction_tracks(path: Path, videos: dict[int, Video]) -> list[ExportTrack]:
    """The results file's predictions, checked against the videos: errors name the result, the
    video, the frame and the field."""
    tracks = []
    for i, res in enumerate(read_results(path)):
        where = f"result {i}"
        if not isinstance(res, dict) or not all(
            key in res for key in ("video_id", "category_id", "score", "segmentations")
        ):
            raise InputError(
                f"{where}: needs video_id, category_id, score and segmentations",
                path=str(path),
                field=where,
            )
        video = videos.get(res["video_id"])
        if video is None:
            raise InputError(
                f"{where}: video_id {res['video_id']!r} is not a video of the ground truth",
                path=str(path),
                field="video_id",
            )
        segs, size = res["segmentations"], [video.height, video.width]
        if not isinstance(segs, list) or len(segs) != video.length:
            raise InputError(
                f"{where} (video_id {video.id}): give one segmentations entry per frame "
                f"({video.length})",
                path=str(path),
                field="segmentations",
            )
        for t, seg in enumerate(segs):
            if seg is not None and not _is_rle(seg, size):
                raise InputError(
                    f"{where} (video_id {video.id}), frame {t}: must be null or compressed RLE "
                    f"of the video's size {size}",
                    path=str(path),
                    field="segmentations",
                )
        tracks.append(
            ExportTrack(video.id, int(res["category_id"]), float(res["score"]), i, list(segs))
        )
    return tracks


def ground_truth_tracks(videos: dict[int, Video]) -> list[ExportTrack]:
    """The ground truth's own tracks, as predictions of score 1 in file order."""
    tracks = []
    for video in videos.values():
        for ann in video.annotations:
            frames = list(ann.segmentations)
            tracks.append(ExportTrack(video.id, ann.category_id, 1.0, len(tracks), frames))
    return tracks


def _decode(seg: Any, height: int, width: int) -> np.ndarray | None:
    if not seg:
        return None
    if isinstance(seg, dict):
        return rle_utils.decode(seg).astype(bool)
    return mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(seg, height, width))) > 0


def paint(masks: list[np.ndarray | None], height: int, width: int) -> np.ndarray:
    """One frame's object indices: mask k (in priority order) is index k + 1; where masks
    overlap, the earlier in `masks` (the higher-scored) wins."""
    canvas = np.zeros((height, width), dtype=np.uint8)
    for k in range(len(masks) - 1, -1, -1):  # lowest priority first, each over the last
        if masks[k] is not None:
            canvas[masks[k]] = k + 1
    return canvas


def _write_video(
    video: Video, tracks: list[ExportTrack], names: dict[int, str], out: Path
) -> tuple[dict[str, Any], int]:
    """The video's mask PNGs; its meta.json objects and how many objects lost pixels."""
    folder = out / MASKS_DIR / video_name(video.file_names, video.id)
    folder.mkdir(parents=True)
    frames: list[list[str]] = [[] for _ in tracks]
    painted = np.zeros(len(tracks), dtype=np.int64)
    wanted = np.zeros(len(tracks), dtype=np.int64)
    for t, file_name in enumerate(video.file_names):
        masks = [_decode(track.frames[t], video.height, video.width) for track in tracks]
        canvas = paint(masks, video.height, video.width)
        write_index_png(folder / f"{frame_stem(file_name)}.png", canvas)
        counts = np.bincount(canvas.ravel(), minlength=len(tracks) + 1)[1:]
        painted += counts
        wanted += [0 if mask is None else int(mask.sum()) for mask in masks]
        for k in np.flatnonzero(counts):
            frames[k].append(frame_stem(file_name))
    objects = {
        str(k + 1): {
            "category": names.get(track.category_id, str(track.category_id)),
            "category_id": track.category_id,
            "score": track.score,
            "frames": frames[k],
        }
        for k, track in enumerate(tracks)
    }
    return {"objects": objects}, int((painted < wanted).sum())


def _link_frames(video: Video, frames_root: Path, out: Path) -> None:
    folder = out / FRAMES_DIR / video_name(video.file_names, video.id)
    folder.mkdir(parents=True)
    for t, file_name in enumerate(video.file_names):
        source = frames_root / file_name
        if not source.is_file():
            raise InputError(
                f"video {video.id}, frame {t}: frame file not found; --frames is the folder "
                "the ground truth's file_names are relative to",
                path=str(source),
                field=f"videos[id={video.id}].file_names[{t}]",
            )
        try:
            os.link(source, folder / Path(file_name).name)
        except OSError:
            shutil.copyfile(source, folder / Path(file_name).name)


def _check_names(videos: dict[int, Video]) -> None:
    seen: dict[str, int] = {}
    for video in videos.values():
        name = video_name(video.file_names, video.id)
        if name in seen:
            raise InputError(
                f"videos {seen[name]} and {video.id} have their frames in the same folder "
                f"{name!r}; a VOS layout needs one folder per video",
                field="videos.file_names",
            )
        seen[name] = video.id


def _ranked(tracks: list[ExportTrack]) -> list[ExportTrack]:
    """Priority order: descending score, the earlier in the file first among equal scores."""
    return sorted(tracks, key=lambda track: (-track.score, track.order))


def export_vos(
    gt: str | Path,
    out: str | Path,
    *,
    results: str | Path | None = None,
    frames_root: str | Path | None = None,
    score_threshold: float = 0.5,
    overwrite: bool = False,
) -> ExportSummary:
    """Write `results` (or, without, the ground truth's tracks) as the VOS layout in `out`
    (see the module docstring)."""
    parsed = load_annotation_file(gt)
    videos = {video.id: video for video in parsed.videos}
    names = {c.id: c.name for c in parsed.categories}
    _check_names(videos)
    if results is None:
        tracks = ground_truth_tracks(videos)
    else:
        tracks = read_prediction_tracks(Path(results), videos)
    kept = [t for t in tracks if t.score >= score_threshold]
    by_video: dict[int, list[ExportTrack]] = {vid: [] for vid in videos}
    for track in kept:
        by_video[track.video_id].append(track)
    meta: dict[str, Any] = {}
    over_cap = overpainted = objects = 0
    with atomic_directory(out, overwrite=overwrite) as tmp:
        for vid, video in videos.items():
            ranked = _ranked(by_video[vid])
            over_cap += max(0, len(ranked) - MAX_OBJECTS)
            ranked = ranked[:MAX_OBJECTS]
            entry, lost = _write_video(video, ranked, names, tmp)
            meta[video_name(video.file_names, vid)] = entry
            overpainted += lost
            objects += len(ranked)
            if frames_root is not None:
                _link_frames(video, Path(frames_root), tmp)
        (tmp / META_FILE).write_text(json.dumps({"videos": meta}, indent=1) + "\n")
    return ExportSummary(len(videos), objects, len(tracks) - len(kept), over_cap, overpainted)
