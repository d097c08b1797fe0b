"""Check a results.json before submission, reporting every problem with its location.

Errors are what makes the official evaluator crash or the file unusable (bad JSON, missing fields,
unknown video ids, polygons or uncompressed RLE, non-numeric or non-finite scores, an empty list).
Warnings are inputs it accepts but that silently change the numbers: unknown categories (dropped),
frame lists whose length differs from the video's (compared only up to the shorter list), masks
whose size differs from the video's (the frame vanishes from the IoU), scores outside [0, 1]
(accepted, but not a probability), more than 100 results per (video, category) (the rest are
invisible), exact duplicates of an earlier prediction (each copy is a false positive).

For OVIS (a split with OVIS's categories or occlusion labels, or `metric="ovis"`) a frame-count
mismatch is an error, because the OVIS evaluator aborts on it, and so are what else aborts it:
result `occlusion` fields it cannot parse and, in a GT file, non-crowd tracks without labels or
with unusable ones (validate_ovis.py).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vis_bench.errors import InputError
from vis_bench.eval.metric.result_checks import cap_message, duplicate_pairs, over_cap
from vis_bench.eval.submission import validate_ovis
from vis_bench.formats.results_file import read_results_json
from vis_bench.formats.rle import describe_list_entry
from vis_bench.formats.ytvis_header import parse_header
from vis_bench.jsonio import read_json


@dataclass(frozen=True)
class Problem:
    """One finding; `code` names the check so problems can be grouped and counted."""

    severity: str  # "error" or "warning"
    code: str
    message: str
    index: int | None = None  # position in the results list
    video_id: Any = None
    frame: int | None = None
    field: str | None = None
    annotation_id: int | None = None  # a ground-truth annotation (OVIS label checks)

    def location(self) -> str:
        parts = []
        if self.annotation_id is not None:
            parts.append(f"ground-truth annotation id {self.annotation_id}")
        if self.index is not None:
            parts.append(f"result {self.index}")
        if self.video_id is not None:
            parts.append(f"video_id {self.video_id}")
        if self.frame is not None:
            parts.append(f"frame {self.frame}")
        if self.field is not None:
            parts.append(f"field {self.field!r}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.location()
        return f"{self.severity}: {where + ': ' if where else ''}{self.message}"


@dataclass
class SplitInfo:
    """What validation needs from a GT / public split file: videos and categories only."""

    path: str
    video_size: dict[int, tuple[int, int]]
    video_length: dict[int, int | None]
    cat_ids: set[int]
    cat_names: dict[int, str] = field(default_factory=dict)
    annotations: list | None = None  # as in the file (None: a split without annotations)
    #: the category ids the annotations use (filled when first needed)
    annotated_categories: set[Any] | None = None


@dataclass
class ValidationReport:
    results_path: str
    problems: list[Problem] = field(default_factory=list)
    n_results: int = 0
    metric: str = "ytvis"  # whose evaluator the checks follow: "ytvis" or "ovis"

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def ok(self, strict: bool = False) -> bool:
        """No errors (and, when strict, no warnings either)."""
        return not (self.problems if strict else self.errors)

    def counts_by_code(self) -> Counter:
        return Counter((p.severity, p.code) for p in self.problems)


def load_split_info(path: str | Path) -> SplitInfo:
    """Read `videos` (id, height, width, length) and `categories` of a GT or public split file.

    Annotations are not needed, so the public valid.json (which has none) works.
    """
    path = str(path)
    header = parse_header(
        read_json(path, "ground truth / split file"), path, strict=False, what="split file"
    )
    names = header.category_names()
    annotations = header.annotations
    return SplitInfo(
        path=path,
        video_size=header.video_sizes(),
        video_length=header.video_lengths(),
        cat_ids=set(names),
        cat_names=names,
        annotations=annotations if isinstance(annotations, list) else None,
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_frame(seg: Any, size: tuple[int, int] | None, add) -> None:
    """Check one truthy per-frame entry; `add(severity, code, message, field)` records."""
    if isinstance(seg, list):
        add(
            "error",
            "polygon",
            f"{describe_list_entry(seg)} is not accepted (the official evaluator crashes on "
            "it); encode the mask as compressed RLE (vis_bench.formats.rle.encode(mask))",
        )
        return
    if not isinstance(seg, dict) or "counts" not in seg or "size" not in seg:
        add(
            "error",
            "bad-mask",
            "a frame entry must be null or an RLE object with 'size' and "
            f"'counts', got {type(seg).__name__}",
        )
        return
    counts, msize = seg["counts"], seg["size"]
    if isinstance(counts, list):
        add(
            "error",
            "uncompressed-rle",
            "uncompressed RLE (counts a list) is not accepted; "
            "use compressed RLE with a string 'counts' (vis_bench.formats.rle.to_json(rle))",
        )
        return
    if not isinstance(counts, str):
        add("error", "bad-mask", f"'counts' must be a string, got {type(counts).__name__}")
        return
    if not (
        isinstance(msize, list) and len(msize) == 2 and all(_is_int(v) and v >= 0 for v in msize)
    ):
        add("error", "bad-mask", f"'size' must be [height, width], got {msize!r}")
        return
    if size is not None and tuple(msize) != tuple(size):
        add(
            "warning",
            "mask-size",
            f"mask size {list(msize)} differs from the video size "
            f"{list(size)}; the official IoU drops such frames",
        )


def validate_results(
    split: SplitInfo, results_path: str | Path, metric: str = "auto"
) -> ValidationReport:
    """Run every check on a results file; never raises for problems inside the file.

    metric: "auto" (OVIS rules for an OVIS split, see the module docstring), "ytvis" or "ovis".
    """
    ovis = validate_ovis.applies(split.cat_names, split.annotations, metric)
    report = ValidationReport(results_path=str(results_path), metric="ovis" if ovis else "ytvis")
    problems = report.problems
    if ovis:
        for code, message, ann_id in validate_ovis.ground_truth_problems(
            split.annotations, split.video_size, split.cat_ids
        ):
            problems.append(
                Problem("error", code, message, field="occlusion", annotation_id=ann_id)
            )
    data = _read_predictions(results_path, problems)
    if data is None:
        return report
    report.n_results = len(data)
    scored: list[tuple[int, tuple[Any, Any]]] = []
    for i, res in enumerate(data):
        if not isinstance(res, dict):
            problems.append(
                Problem(
                    "error",
                    "not-an-object",
                    f"each prediction must be a JSON object, got {type(res).__name__}",
                    index=i,
                )
            )
            continue
        vid = res.get("video_id")

        def add(severity, code, message, field=None, frame=None, _i=i, _vid=vid):
            problems.append(Problem(severity, code, message, _i, _vid, frame, field))

        if _check_prediction(res, split, ovis, add):
            scored.append((i, (vid, res["category_id"])))
    problems += _duplicate_problems(data)
    for (vid, cat), (n, first) in over_cap(scored).items():
        problems.append(
            Problem(
                "warning",
                "too-many",
                cap_message(n, cat),
                index=first,
                video_id=vid,
                field="category_id",
            )
        )
    return report


def _duplicate_problems(data: list) -> list[Problem]:
    """A warning per prediction that repeats an earlier one exactly (same video, category and
    masks): the official evaluator scores each copy as a false positive, without a word."""
    checked = [
        (i, res)
        for i, res in enumerate(data)
        if isinstance(res, dict)
        and isinstance(res.get("segmentations"), list)
        and all(not seg or isinstance(seg, dict) for seg in res["segmentations"])
    ]
    predictions = [
        (r.get("video_id"), r.get("category_id"), r["segmentations"]) for _, r in checked
    ]
    problems = []
    for i, j in duplicate_pairs(predictions):
        index, earlier = checked[i][0], checked[j][0]
        problems.append(
            Problem(
                "warning",
                "duplicate",
                f"an exact duplicate of result {earlier} (same video_id, category_id and masks): "
                "the evaluator counts each copy as a false positive, which lowers AP; write "
                "each prediction once",
                index=index,
                video_id=checked[i][1].get("video_id"),
            )
        )
    return problems


def _read_predictions(results_path: str | Path, problems: list[Problem]) -> list | None:
    """The parsed results list, or None after recording why there is none to check."""
    try:
        data = read_results_json(results_path)
    except InputError as err:
        problems.append(Problem("error", "json", str(err)))
        return None
    if not isinstance(data, list):
        message = f"results must be a JSON list of predictions, got {type(data).__name__}"
        problems.append(Problem("error", "not-a-list", message))
        return None
    if not data:
        message = "the results list is empty (the official evaluator crashes on an empty list)"
        problems.append(Problem("error", "empty", message))
        return None
    return data


def _check_prediction(res: dict, split: SplitInfo, ovis: bool, add) -> bool:
    """Check one prediction; True when it has a known video and an integer category (it then
    counts toward the 100-per-(video, category) cap)."""
    for key in ("video_id", "category_id", "score", "segmentations"):
        if key not in res:
            add("error", "missing-field", f"missing {key!r}", field=key)
    vid, size = res.get("video_id"), None
    if "video_id" in res:
        if not _is_int(vid) or vid not in split.video_size:
            add(
                "error",
                "unknown-video",
                f"video_id {vid!r} is not a video of "
                f"{split.path}; use the ids of the split you submit to",
                field="video_id",
            )
        else:
            size = split.video_size[vid]
    cat = res.get("category_id")
    if "category_id" in res:
        if not _is_int(cat):
            add(
                "error",
                "bad-category",
                f"category_id must be an integer, got {cat!r}",
                field="category_id",
            )
        elif cat not in split.cat_ids and cat in _annotated_categories(split):
            add(
                "error",
                "unknown-category",
                f"category_id {cat} is used by the annotations of {split.path} but not listed "
                "in its categories, so the metric scores neither (the ground truth's mistake); "
                f"add category {cat} to the categories of {split.path}",
                field="category_id",
            )
        elif cat not in split.cat_ids:
            add(
                "error",
                "unknown-category",
                f"category_id {cat} is not in the split's categories: the metric never scores "
                "this prediction (the official evaluator drops it silently); map the model's "
                "classes to the split's category ids",
                field="category_id",
            )
    if "score" in res:
        _check_score(res["score"], add)
    if "segmentations" in res:
        length = split.video_length.get(vid) if size is not None else None
        _check_segmentations(res["segmentations"], size, length, ovis, add)
    if ovis and "occlusion" in res:
        message = validate_ovis.result_label_problem(res["occlusion"])
        if message is not None:
            add("error", "bad-occlusion", message, field="occlusion")
    return size is not None and _is_int(cat)


def _annotated_categories(split: SplitInfo) -> set[Any]:
    """The category ids the split's annotations use (none for a split without annotations)."""
    if split.annotated_categories is None:
        split.annotated_categories = {
            ann["category_id"]
            for ann in split.annotations or ()
            if isinstance(ann, dict) and _is_int(ann.get("category_id"))
        }
    return split.annotated_categories


def _check_score(score: Any, add) -> None:
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        add("error", "bad-score", f"score must be a number, got {score!r}", field="score")
    elif not math.isfinite(score):
        add("error", "bad-score", f"score must be finite, got {score!r}", field="score")
    elif not 0.0 <= score <= 1.0:
        add("warning", "score-range", f"score {score!r} is outside [0, 1]", field="score")


def _check_segmentations(
    segs: Any, size: tuple[int, int] | None, length: int | None, ovis: bool, add
) -> None:
    if not isinstance(segs, list):
        add(
            "error",
            "bad-segmentations",
            f"segmentations must be a list with one entry per frame, got {type(segs).__name__}",
            field="segmentations",
        )
        return
    if length is not None and len(segs) != length:
        add(*validate_ovis.frame_count_problem(len(segs), length, ovis), field="segmentations")
    for t, seg in enumerate(segs):
        if seg:
            _check_frame(
                seg, size, lambda s, c, m, _t=t: add(s, c, m, field="segmentations", frame=_t)
            )
