"""`run_bench.py run [--config FILE] [--set key=value ...]`: run a sweep and report it.

With no arguments `run_bench.py` runs configs/default.yaml: the embedded synthetic dataset,
every registered method, clip lengths {all, 10, 5}; it prints the comparison table and writes
the leaderboard, tables, plots and the HTML report (report.html) next to the records.

Exit codes (docs/commands.md): 0 every cell finished; 1 the sweep finished but some cell failed
(the tables show which and why) or the metric dropped some cell's predictions (unless
`--allow-dropped`); 2 the config or a command-line value is wrong (nothing ran), or
a file could not be written (a full disk: the path named); 3 an internal error; 130 interrupted
with Ctrl-C, 143 with SIGTERM (re-running the same command resumes).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from vis_bench import exit_codes
from vis_bench.commands._options import add_allow_dropped_argument, add_config_arguments

HELP = "run a benchmark sweep from a YAML config (default: configs/default.yaml)"
GROUP = "benchmark"

#: a sweep that finished with failed cells (distinct from a config error, 2)
CELLS_FAILED = exit_codes.BAD_ANSWER


def default_config_path() -> Path:
    """configs/default.yaml of the working directory, else the one vis-bench ships."""
    from vis_bench.shipped import resolve

    return resolve("configs/default.yaml")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(
        parser,
        "YAML config file",
        "override a config key, e.g. --set sweep.clip_length=[all,5] (repeatable)",
    )
    parser.add_argument(
        "--checkpoint",
        default=None,
        help="the checkpoint file of the config's one method, e.g. with --set "
        "method=METHOD.VARIANT (a released checkpoint: `methods --pretrained`)",
    )
    parser.add_argument(
        "--run-dir", type=Path, default=None, help="records folder (default: <output>/<name>)"
    )
    parser.add_argument(
        "--shard",
        choices=("videos", "cells"),
        default="videos",
        help="under torchrun: split each cell's videos over the ranks (default) or whole cells",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run every cell in this process (for a debugger): no isolation, no cell timeout, "
        "and peak memory is the whole process's",
    )
    add_allow_dropped_argument(parser)


def run(args: argparse.Namespace) -> int:
    import time

    started = time.perf_counter()  # the run's breakdown counts its imports as "other"
    from vis_bench.atomic import check_output_folder
    from vis_bench.config import load_config
    from vis_bench.distributed import init_from_env, shutdown
    from vis_bench.report.outputs import write_reports
    from vis_bench.report.record_set import RecordSet
    from vis_bench.report.tables import comparison_table, notes_lines
    from vis_bench.report.twins import speed_verdict_lines
    from vis_bench.sweep import resolve_methods, run_sweep, sweep_records
    from vis_bench.sweep.phase_clock import breakdown_lines, run_breakdown
    from vis_bench.sweep.run_dir import save_run_timings

    if args.run_dir is not None:
        check_output_folder(args.run_dir, "--run-dir")
    config = load_config(args.config or default_config_path(), args.overrides, args.checkpoint)
    for note in config.load_notes:
        print(f"note: {note}")
    run_dir = args.run_dir or check_output_folder(Path(config.output) / config.name, "output")
    methods = resolve_methods(config)  # every method entry checked before any cell runs
    ctx = init_from_env(config.sweep.device[0], args.shard)
    try:
        source, data_s = _open_source(config, ctx)
        log = print if ctx.is_main else (lambda message: None)
        log(f"vis-bench run {config.name!r}: {source.describe()}; records in {run_dir}")
        if ctx.world_size > 1:
            log(f"distributed: {ctx.world_size} processes, sharding {ctx.mode}")
        written = run_sweep(
            config, source, run_dir, methods, isolate=not args.in_process, log=log, ctx=ctx
        )
        ctx.barrier()
    except KeyboardInterrupt:
        print(
            f"interrupted: every finished cell is kept in {run_dir}; re-run the same command to "
            "resume where it stopped"
        )
        raise
    finally:
        shutdown()
    if not ctx.is_main:
        return 0
    records = sweep_records(config, methods, source.dataset_id, run_dir)
    record_set = RecordSet.from_records(records, run_dir)  # every report's one input, typed
    print()
    print(comparison_table(record_set))
    for line in notes_lines(record_set):
        print(f"note: {line}")
    title = f"vis-bench: {config.name}"
    reports_start = time.perf_counter()
    for path in write_reports(record_set, run_dir, title=title, html=True, log=print):
        print(f"wrote {path}")
    now = time.perf_counter()
    breakdown = run_breakdown(written, now - started, data_s, now - reports_start)
    save_run_timings(run_dir, breakdown)
    print("\n".join(breakdown_lines(breakdown)))
    for line in speed_verdict_lines(list(record_set.ok)):  # the verdict last: what to do next
        print(line)
    failed = [r for r in record_set if not r.ok]
    if failed:
        print(f"{len(failed)} of {len(records)} cells failed (reasons in the table above)")
        return CELLS_FAILED
    return _dropped_status(record_set, args.allow_dropped)


def _open_source(config: Any, ctx: Any) -> tuple[Any, float]:
    """The run's frames and the seconds opening them took: rank 0 generates the synthetic set
    on first use, the other ranks open it afterwards."""
    import time

    from vis_bench.inference.sources import open_source

    data_start = time.perf_counter()
    source = open_source(config.dataset, config.source) if ctx.is_main else None
    ctx.barrier()
    if source is None:
        source = open_source(config.dataset, config.source)
    return source, time.perf_counter() - data_start


def _dropped_status(record_set, allow: bool) -> int:
    """BAD_ANSWER when the metric dropped or cut some cell's predictions and `--allow-dropped`
    was not given (the cells' warnings, printed above, say which and why); else 0."""
    dropped = [r for r in record_set.ok if r.metric_dropped]
    if not dropped:
        return 0
    count = sum(int(r.metric_dropped["predictions"]) for r in dropped)
    cells = f"{len(dropped)} of {len(record_set.records)} cells"
    if allow:
        print(
            f"warning: the metric dropped or cut {count} predictions of {cells} (--allow-dropped)"
        )
        return 0
    print(
        f"error: the metric dropped or cut {count} predictions of {cells} (the warnings "
        "above say which and the fix); pass --allow-dropped if that is intended"
    )
    return exit_codes.BAD_ANSWER
