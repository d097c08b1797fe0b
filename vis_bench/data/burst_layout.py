"""A YouTube-VIS-layout folder (a synthetic one) rewritten in BURST's layout: `synth --layout
burst`, so a BURST sweep can be tried without the real data.

BURST's ground truth is one `all_classes.json` (`split`, `sequences`: per sequence its annotated
frames, one dict of compressed RLE masks per frame keyed by track, `track_category_ids`,
`neg_category_ids`) and its frames lie in `frames/<dataset>/<seq_name>/<image>`. Every frame of
a video here is an annotated one; a sequence's negative categories are the listed categories it
has no track of, so a prediction of one of them counts as a false positive, as in BURST's own
files. Category ids are kept, and `categories` names them as the source does (a model's label
space is checked by these names); the BURST metric scores them as the TAO/LVIS classes of those
ids, as the toolkit reads every file. The source's `info` is kept (with `layout: burst`): a
folder `synth` wrote says so by its generator, and a sweep on it is named synthetic
(inference/sources.py), never set beside BURST's published numbers.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from vis_bench.atomic import atomic_directory
from vis_bench.formats.rle import to_json
from vis_bench.jsonio import read_json

#: the folder BURST-layout frames are written under, beside `all_classes.json`
FRAMES_DIR = "frames"
GT_FILE = "all_classes.json"
#: the `dataset` field of every sequence (BURST names its source datasets: LaSOT, YFCC100M, ...)
SOURCE_DATASET = "synth"
#: `info.layout` of a file written here
LAYOUT = "burst"


def _sequence(video: dict, tracks: list[dict], category_ids: list[int]) -> dict[str, Any]:
    """One BURST sequence of a YouTube-VIS video and its tracks."""
    images = [Path(name).name for name in video["file_names"]]
    frames: list[dict[str, Any]] = [{} for _ in images]
    for number, track in enumerate(tracks, start=1):
        for t, mask in enumerate(track["segmentations"]):
            if mask is not None:
                frames[t][str(number)] = {"rle": to_json(mask)["counts"], "is_gt": True}
    present = {track["category_id"] for track in tracks}
    return {
        "id": video["id"],
        "width": video["width"],
        "height": video["height"],
        "dataset": SOURCE_DATASET,
        "seq_name": Path(video["file_names"][0]).parent.name,
        "fps": 30,
        "all_image_paths": images,
        "annotated_image_paths": images,
        "neg_category_ids": [cid for cid in category_ids if cid not in present],
        "not_exhaustive_category_ids": [],
        "track_category_ids": {str(i): t["category_id"] for i, t in enumerate(tracks, start=1)},
        "segmentations": frames,
    }


def write_burst_layout(
    annotations: Path, frames: Path, out: Path, split: str = "val", *, overwrite: bool = False
) -> Path:
    """`out` holding `all_classes.json` and `frames/` made of a YouTube-VIS annotation file and
    its frame folder (written atomically; an existing `out` replaced only with `overwrite`);
    returns `out`."""
    data = read_json(annotations, "annotation file")
    category_ids = [int(c["id"]) for c in data["categories"]]
    by_video: dict[int, list[dict]] = {}
    for track in data.get("annotations") or []:
        by_video.setdefault(track["video_id"], []).append(track)
    sequences = [_sequence(v, by_video.get(v["id"], []), category_ids) for v in data["videos"]]
    with atomic_directory(out, overwrite=overwrite) as tmp:
        for video, sequence in zip(data["videos"], sequences, strict=True):
            folder = tmp / FRAMES_DIR / SOURCE_DATASET / sequence["seq_name"]
            folder.mkdir(parents=True)
            for name in video["file_names"]:
                shutil.copyfile(frames / name, folder / Path(name).name)
        categories = [{"id": c["id"], "name": c["name"]} for c in data["categories"]]
        info = {**(data.get("info") or {}), "layout": LAYOUT}
        gt = {"info": info, "split": split, "categories": categories, "sequences": sequences}
        (tmp / GT_FILE).write_text(json.dumps(gt))
    return out
