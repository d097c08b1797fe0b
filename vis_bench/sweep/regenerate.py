"""A recorded cell's predictions made again, for pictures of a run whose predictions were not kept.

A committed run keeps its records and per-video matching but not its results.json files (they are
the largest part of a run and change with every regeneration). To draw one of its cells, the
cell is run again from the resolved config its record embeds, narrowed to that one cell, with
timing, FLOPs, memory and intervals off, into a cache folder. The AP of the regenerated predictions
is checked against the recorded AP, so the pictures show what the numbers measured.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

from vis_bench.config import parse_config
from vis_bench.errors import InputError
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
    record: CellRecord, source_name: str, log: Callable[[str], None] = print
) -> Path:
    """The results.json of `record`'s cell made again (or found from an earlier regeneration)."""
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
    log(
        f"the predictions of cell {record.key} were not kept; making them again "
        f"(the same config, that cell only) in {run_dir}"
    )
    methods = resolve_methods(config)
    run_sweep(config, source, run_dir, methods, isolate=False, log=log)
    (line,) = sweep_records(config, methods, source.dataset_id, run_dir)
    again = CellRecord.from_json(line)
    if not again.ok:
        error = again.error if again.has("error") else None
        raise InputError(f"running the cell again failed: {error}", path=str(run_dir))
    _check_same_ap(record, again, log)
    return Path(str(again.results_path))


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
