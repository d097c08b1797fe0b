"""Every frame of a YouTube-VIS ground truth and results file as a one-frame video.

Scored with the same metric, the split files give an image-level mask AP: each track's mask on
a frame is an instance of that frame, with the track's score and category, and nothing links
frames. Beside the video AP of the same predictions, the gap is what linking frames into tracks
costs; for a method whose per-frame stage can be run alone (SAM 3's detector), it scores that
stage. `eval --per-frame` runs it (commands/eval.py).
"""

from __future__ import annotations

from typing import Any

from vis_bench.formats.rle import area

#: per-frame lists of a track (OVIS's occlusion labels among them), cut to the frame's entry
_FRAME_LISTS = ("segmentations", "areas", "bboxes", "occlusion")


def split_ground_truth(data: dict[str, Any]) -> tuple[dict[str, Any], dict[tuple[int, int], int]]:
    """The ground truth with one video per (video, frame), and the new id of each pair. A
    track's entry on a frame where it is absent (null) is left out; the other fields of videos
    and annotations (iscrowd, a category's partition) are kept as they are."""
    ids: dict[tuple[int, int], int] = {}
    videos = []
    for video in data["videos"]:
        names = video.get("file_names")
        length = int(video.get("length") or len(names or []))
        for t in range(length):
            ids[(video["id"], t)] = len(ids) + 1
            one = {**video, "id": ids[(video["id"], t)], "length": 1}
            if names is not None:
                one["file_names"] = names[t : t + 1]
            videos.append(one)
    annotations = []
    for ann in data.get("annotations", []):
        for t, seg in enumerate(ann["segmentations"]):
            if seg is None or (ann["video_id"], t) not in ids:
                continue
            one = {**ann, "id": len(annotations) + 1, "video_id": ids[(ann["video_id"], t)]}
            for key in _FRAME_LISTS:
                if isinstance(ann.get(key), list):
                    one[key] = ann[key][t : t + 1]
            annotations.append(one)
    return {**data, "videos": videos, "annotations": annotations}, ids


def split_results(results: list[dict[str, Any]], ids: dict[tuple[int, int], int]) -> list[dict]:
    """Each result's non-empty mask on each frame as a result of that frame's video, with the
    track's score and category; a frame where the track has no pixel makes no claim there."""
    split = []
    for result in results:
        for t, seg in enumerate(result["segmentations"]):
            key = (result["video_id"], t)
            if seg is None or key not in ids or area(seg) == 0:
                continue
            split.append({**result, "video_id": ids[key], "segmentations": [seg]})
    return split
