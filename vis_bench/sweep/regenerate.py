"""A recorded cell's predictions made again, for pictures of a run whose predictions were not kept.

A committed run keeps its records and per-video matching but not its results.json files (they are
the largest part of a run and change with every regeneration). To draw one of its cells, the
cell is run again from the resolved config its record embeds, narrowed to that one cell, with
timing, FLOPs, memory and intervals off, into a cache folder. The AP of the regenerated predictions
is checked against the recorded AP, so the pictures show what the numbers measured.

A picture of one video needs that video's predictions only: given the video and the cell's
recorded per-video matching, only that video is run, and its AP alone (eval/stats/per_video.py)
is checked against the AP the recorded matching gives it. The matching of a video never depends
on the other videos, so the two agree exactly where the predictions do.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from pathlib import Path

from vis_bench.config import parse_config
from vis_bench.errors import InputError
from vis_bench.eval.stats.per_video import per_video_scores
from vis_bench.eval.stats.video_matches import VideoMatches
from vis_bench.inference.sources import open_source
from vis_bench.records import CellRecord
from vis_bench.sweep.methods import resolve_methods
from vis_bench.sweep.run import run_sweep, sweep_records

#: where regenerated cells go, under the dataset cache folder of the record's config
REGENERATED_DIR = "regenerated"
#: AP points by which a regenerated cell may differ from its record (float noise across builds)
AP_TOLERANCE = 0.05


def _one_cell_config(record: CellRecord, source_name: str):
    """The record's config, narrowed to its cell, measuring predictions and AP only."""
    config = parse_config(
        dict(record.config) if record.config is not None else None, source_name, resolved=True
    )
    same = [
        m for m in config.methods if m.name == record.method and m.checkpoint == record.checkpoint
    ]
    if not same:
        raise InputError(
            f"the record's config has no method entry {record.method!r} with checkpoint "
            f"{record.checkpoint!r}, so the cell cannot be run again",
            path=source_name,
            field="config.methods",
        )
    clip = record.clip_length
    schedule = [["all"]] if clip == "all" else [[int(clip or 0), int(record.stride or clip or 0)]]
    sweep = dataclasses.replace(
        config.sweep,
        clip_schedule=schedule,
        resolution=[record.resolution],
        device=[record.device],
        dtype=[record.dtype],
        video_frames=[record.video_frames],
        prompts=[record.prompts],  # the first P categories: the prompts the cell ran with
    )
    measure = dataclasses.replace(config.measure, fps=False, flops=False, memory=False, bootstrap=0)
    return dataclasses.replace(config, methods=same[:1], sweep=sweep, measure=measure)


def regenerate_predictions(
    record: CellRecord,
    source_name: str,
    log: Callable[[str], None] = print,
    videos: list[int] | None = None,
    recorded: VideoMatches | None = None,
) -> Path:
    """The results.json of `record`'s cell made again (or found from an earlier regeneration):
    of every video, or with `videos` and the cell's `recorded` matching, of those videos only."""
    config = _one_cell_config(record, source_name)
    source = open_source(config.dataset, source_name)
    if record.dataset and source.dataset_id != record.dataset:
        raise InputError(
            f"the cell was measured on {record.dataset}, but its config now opens "
            f"{source.dataset_id}: the data changed, so its predictions cannot be made again",
            path=source_name,
        )
    changed = source.frames_changed_since(record.dataset_identity)
    if changed:
        raise InputError(
            f"the cell was measured on other frames than its config now opens ({changed}): "
            "the data changed, so its predictions cannot be made again",
            path=source_name,
        )
    run_dir = Path(config.dataset.cache_dir) / REGENERATED_DIR / str(record.key)
    some = videos is not None and recorded is not None
    if some:
        source = source.narrowed(videos)
        run_dir = run_dir / ("videos-" + "-".join(map(str, source.only_videos or ())))
    which = f"video {', '.join(map(str, videos or []))} only" if some else "that cell only"
    log(
        f"the predictions of cell {record.key} were not kept; making them again "
        f"(the same config, {which}) in {run_dir}"
    )
    methods = resolve_methods(config)
    run_sweep(config, source, run_dir, methods, isolate=False, log=log)
    (line,) = sweep_records(config, methods, source.dataset_id, run_dir)
    again = CellRecord.from_json(line)
    if not again.ok:
        error = again.error if again.has("error") else None
        raise InputError(f"running the cell again failed: {error}", path=str(run_dir))
    if some:
        _check_same_video_ap(recorded, again, log)
    else:
        _check_same_ap(record, again, log)
    return Path(str(again.results_path))


def _check_same_video_ap(
    recorded: VideoMatches, again: CellRecord, log: Callable[[str], None]
) -> None:
    """Each regenerated video's AP alone is the one the recorded matching gives it."""
    kept = again.video_matches_path
    if not kept or not Path(kept).is_file():
        log("warning: the regenerated cell kept no per-video matching; its AP is not checked")
        return
    made = VideoMatches.from_dict(json.loads(Path(kept).read_text()), path=kept)
    before, after = per_video_scores(recorded), per_video_scores(made)
    for video, scores in after.items():
        then, now = (before.get(video) or {}).get("AP"), scores.get("AP")
        same = (then is None) == (now is None) and (
            then is None or math.isclose(100 * then, 100 * now, abs_tol=AP_TOLERANCE)
        )
        shown = [f"{100 * v:.2f}" if v is not None else "undefined" for v in (now, then)]
        if same:
            log(f"regenerated: video {video} AP {shown[0]} alone, as recorded")
        else:
            log(
                f"warning: regenerated predictions score AP {shown[0]} on video {video}, the "
                f"record's matching {shown[1]}: the code or weights changed since the run; the "
                "pictures show today's predictions"
            )


def _check_same_ap(record: CellRecord, again: CellRecord, log) -> None:
    """The regenerated predictions score as the record says, or the user is told they do not."""
    before, after = record.metric("AP"), again.metric("AP")
    if before is None or after is None:
        return
    if math.isclose(100 * before, 100 * after, abs_tol=AP_TOLERANCE):
        log(f"regenerated: AP {100 * after:.2f}, as recorded")
    else:
        log(
            f"warning: regenerated predictions score AP {100 * after:.2f}, the record says "
            f"{100 * before:.2f}: the code or weights changed since the run; the pictures show "
            "today's predictions"
        )
