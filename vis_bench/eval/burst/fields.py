"""The checked fields of a BURST file (ANNOTATION_FORMAT), shared by every reader of the layout.

The metric's reader (reader.py) and the sweep's view of a ground truth as videos (as_videos.py)
read the same sequences, frames and typed keys; each bad field is an InputError naming the file,
the sequence and the key, worded alike whichever reader met it first.
"""

from __future__ import annotations

from typing import Any

from vis_bench.errors import InputError


def required(entry: Any, key: str, kind: type, path: str, where: str) -> Any:
    """`entry[key]`, which must exist and be a `kind`."""
    if not isinstance(entry, dict) or key not in entry:
        raise InputError(f"{where} has no {key!r} (BURST layout expected)", path=path, field=key)
    value = entry[key]
    if not isinstance(value, kind):
        raise InputError(
            f"{where}: {key!r} must be a {kind.__name__}, got {type(value).__name__}",
            path=path,
            field=key,
        )
    return value


def sequence_entries(data: Any, path: str) -> list[dict]:
    """The file's `sequences` list (a YouTube-VIS file, a JSON list, is refused by name)."""
    if not isinstance(data, dict) or not isinstance(data.get("sequences"), list):
        raise InputError(
            "not a BURST file: expected a JSON object with a list 'sequences' "
            "(BURST ANNOTATION_FORMAT; YouTube-VIS results are a JSON list)",
            path=path,
            field="sequences",
        )
    return data["sequences"]


def annotated_frames(seq: dict, path: str, where: str) -> tuple[list[str], list[dict]]:
    """A sequence's annotated image names and its segmentations, one dict per image."""
    images = required(seq, "annotated_image_paths", list, path, where)
    segmentations = required(seq, "segmentations", list, path, where)
    if len(images) != len(segmentations):
        raise InputError(
            f"{where}: {len(segmentations)} segmentations for {len(images)} annotated images "
            "(one dict per annotated frame is expected)",
            path=path,
            field="segmentations",
        )
    return images, segmentations


def sequence_folder(seq: Any, path: str, where: str) -> str:
    """`dataset/seq_name`: where a sequence's frames lie and, after its split, how its
    annotated images are keyed across a ground truth and its predictions."""
    return "/".join(str(required(seq, key, str, path, where)) for key in ("dataset", "seq_name"))
