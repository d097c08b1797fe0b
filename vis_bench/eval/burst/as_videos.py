"""A BURST ground truth as videos a model can run on (a sweep's `dataset.kind: burst`).

A model sees a BURST sequence as a YouTube-VIS video of its annotated frames (the frames its
predictions are scored on; BURST annotates about one frame per second), read from
`<frames>/<dataset>/<seq_name>/<image>` (the layout of BURST's released frames, `<frames>` being
one split's folder). The video's id is the sequence id, so the model's YouTube-VIS-format
results convert to BURST's as `eval --metric burst` converts them (convert.py). The categories
are named as the file names them (its `categories`, which the metric never reads), else by the
toolkit's TAO/LVIS table (the ids every BURST file uses), plus any other id a track names; a
model's label space is checked against these names before any cell runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vis_bench.eval.burst.categories import burst_categories
from vis_bench.eval.burst.fields import (
    annotated_frames,
    required,
    sequence_entries,
    sequence_folder,
)
from vis_bench.eval.burst.reader import read_ground_truth

#: what the YouTube-VIS view's `info` says it was made from
SOURCE_NOTE = "BURST ground truth as videos of its annotated frames"


def _track(seq: dict, local: str, category: Any, frames: list[dict]) -> dict:
    """One GT track as a YouTube-VIS annotation: a mask per annotated frame, None where absent."""
    size = [seq["height"], seq["width"]]
    masks = []
    for frame in frames:
        entry = frame.get(local) if isinstance(frame, dict) else None
        masks.append(None if entry is None else {"counts": entry["rle"], "size": size})
    return {"video_id": seq["id"], "category_id": int(category), "segmentations": masks}


def _file_categories(listed: Any) -> dict[int, str]:
    """The names a BURST file gives its category ids (a list of `{"id", "name"}` or a mapping
    id -> name); {} when it lists none, as the released files and the toolkit's own tests."""
    if isinstance(listed, dict):
        entries = [{"id": cid, "name": name} for cid, name in listed.items()]
    else:
        entries = listed if isinstance(listed, list) else []
    names = {}
    for entry in entries:
        if isinstance(entry, dict) and str(entry.get("id", "")).lstrip("-").isdigit():
            names[int(entry["id"])] = str(entry.get("name", entry["id"]))
    return names


def burst_as_videos(data: Any, path: str) -> dict[str, Any]:
    """The YouTube-VIS-layout view of a parsed BURST ground truth (module doc); a file the BURST
    reader refuses is refused here alike (InputError naming the file and field)."""
    read_ground_truth(data, path)
    videos: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for position, seq in enumerate(sequence_entries(data, path)):
        where = f"sequence {position}"
        folder = sequence_folder(seq, path, where)
        images, frames = annotated_frames(seq, path, where)
        tracks = required(seq, "track_category_ids", dict, path, where)
        for key in ("id", "height", "width"):
            required(seq, key, int, path, where)
        videos.append(
            {
                "id": seq["id"],
                "width": seq["width"],
                "height": seq["height"],
                "length": len(images),
                "file_names": [f"{folder}/{image}" for image in images],
            }
        )
        for local, category in tracks.items():
            track = _track(seq, str(local), category, frames)
            annotations.append({"id": len(annotations) + 1, **track, "iscrowd": 0})
    names = _file_categories(data.get("categories")) or dict(burst_categories().names)
    for annotation in annotations:
        names.setdefault(annotation["category_id"], str(annotation["category_id"]))
    categories = [{"id": cid, "name": name, "supercategory": ""} for cid, name in names.items()]
    return {
        "info": {**_marks(data), "description": SOURCE_NOTE, "split": data.get("split")},
        "videos": videos,
        "annotations": annotations,
        "categories": categories,
    }


def _marks(data: Any) -> dict[str, Any]:
    """What the file's own `info` says of where it came from (`generator`: a folder `synth`
    wrote; `layout`), carried into the view, so a synthetic BURST folder is known as one."""
    info = data.get("info") if isinstance(data, dict) else None
    if not isinstance(info, dict):
        return {}
    return {key: info[key] for key in ("generator", "layout") if key in info}


def read_videos(path: str | Path) -> dict[str, Any]:
    """`burst_as_videos` of a BURST ground-truth file, or of the `all_classes.json` in a folder
    (as `--gt` takes it)."""
    from vis_bench.jsonio import read_json

    path = Path(path)
    if path.is_dir():
        path = path / "all_classes.json"
    return burst_as_videos(read_json(path, "ground truth"), str(path))
