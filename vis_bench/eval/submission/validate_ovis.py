"""The OVIS side of `validate`: what makes the OVIS evaluator abort, found before submission.

The OVIS server ran the OVIS authors' evaluator (qjy981010/cocoapi, `oviseval.py`) on a zip
with `results.json` at its root, the YouTube-VIS packaging (docs/ovis.md has the sources). That
evaluator aborts, where the YouTube-VIS one goes on, on:

* a result whose frame list is longer or shorter than the ground-truth track it is compared
  with (an assertion in its IoU; tracks have one entry per video frame);
* an `occlusion` field it cannot parse, on a result (it parses them, then ignores them) or on a
  ground-truth track (crowd included);
* a non-crowd ground-truth track without `occlusion` labels.

Functions here return plain tuples; validate.py turns them into its Problems.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vis_bench.formats.categories import identify_dataset
from vis_bench.formats.occlusion import OcclusionLabelError, label_counts


def applies(cat_names: Mapping[int, str], annotations: list | None, metric: str) -> bool:
    """OVIS rules for `metric="ovis"`, or with "auto" for OVIS's categories or labelled GT."""
    if metric not in ("auto", "ytvis", "ovis"):
        raise ValueError(f"metric must be auto, ytvis or ovis, got {metric!r}")
    if metric != "auto":
        return metric == "ovis"
    if identify_dataset(cat_names.items()) == "ovis":
        return True
    return any(isinstance(a, dict) and "occlusion" in a for a in annotations or ())


def frame_count_problem(n_entries: int, length: int, ovis: bool) -> tuple[str, str, str]:
    """(severity, code, message) for a result whose frame list differs from its video's."""
    if ovis:
        return (
            "error",
            "frame-count",
            f"{n_entries} frame entries but the video has {length} frames; the OVIS evaluator "
            "aborts when such a result is compared with a ground-truth track of its video and "
            "category (give one entry per frame, null where nothing is predicted)",
        )
    return (
        "error",
        "frame-count",
        f"{n_entries} frame entries but the video has {length} frames; the official IoU "
        "compares only up to the shorter list, so the other frames are never scored (give one "
        "entry per frame, null where nothing is predicted)",
    )


def result_label_problem(labels: Any) -> str | None:
    """Why a result's `occlusion` field would abort the OVIS evaluator, or None if it would not."""
    try:
        label_counts(labels)
    except OcclusionLabelError as err:
        return f"occlusion {err} (the field is not needed: drop it, or fix it)"
    return None


def ground_truth_problems(
    annotations: list | None, video_size: Mapping[int, Any], cat_ids: set[int]
) -> list[tuple[str, str, int | None]]:
    """(code, message, annotation id) for every GT track the OVIS evaluator would abort on.

    Only tracks of listed videos and categories count: the evaluator never reads the others.
    """
    problems: list[tuple[str, str, int | None]] = []
    for ann in annotations or ():
        if not isinstance(ann, dict):
            continue
        if ann.get("video_id") not in video_size or ann.get("category_id") not in cat_ids:
            continue
        ann_id = ann.get("id")
        if "occlusion" not in ann:
            if not ann.get("iscrowd"):
                problems.append(
                    (
                        "gt-occlusion-missing",
                        "non-crowd track without 'occlusion' labels; the OVIS evaluator needs "
                        "them on every non-crowd track",
                        ann_id,
                    )
                )
            continue
        try:
            label_counts(ann["occlusion"])
        except OcclusionLabelError as err:
            problems.append(("gt-occlusion", f"occlusion {err}", ann_id))
    return problems
