"""`run_bench.py run [--config FILE] [--set key=value ...]`: run a sweep and report it.

With no arguments `run_bench.py` runs configs/default.yaml: the embedded synthetic dataset,
every registered method, clip lengths {all, 10, 5}; it prints the comparison table and writes
the leaderboard, tables and plots next to the records.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vis_bench.commands._options import add_override_argument

NAME = "run"
HELP = "run a benchmark sweep from a YAML config (default: configs/default.yaml)"

REPO_ROOT = Path(__file__).resolve().parents[2]


def default_config_path() -> Path:
    local = Path("configs/default.yaml")
    return local if local.is_file() else REPO_ROOT / "configs" / "default.yaml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=None, help="YAML config file")
    add_override_argument(
        parser, "override a config key, e.g. --set sweep.clip_length=[all,5] (repeatable)"
    )
    parser.add_argument(
        "--run-dir", type=Path, default=None, help="records folder (default: output/name)"
    )
    parser.add_argument(
        "--shard",
        choices=("videos", "cells"),
        default="videos",
        help="under torchrun: split each cell's videos over the ranks (default) or whole cells",
    )


def run(args: argparse.Namespace) -> int:
    from vis_bench.config import load_config
    from vis_bench.distributed import init_from_env, shutdown
    from vis_bench.inference.sources import open_source
    from vis_bench.measure.accuracy import evaluate_results
    from vis_bench.measure.model_flops import clip_flops
    from vis_bench.report.outputs import write_reports
    from vis_bench.report.tables import comparison_table, notes_lines
    from vis_bench.sweep import run_sweep, sweep_records

    config_path = args.config or default_config_path()
    config = load_config(config_path, args.overrides)
    ctx = init_from_env(config.sweep.device[0], args.shard)
    try:
        source = open_source(config.dataset, config.source) if ctx.is_main else None
        # rank 0 generates the synthetic set on first use; the others open it afterwards
        ctx.barrier()
        if source is None:
            source = open_source(config.dataset, config.source)
        run_dir = args.run_dir or Path(config.output) / config.name
        log = print if ctx.is_main else (lambda message: None)
        log(f"vis-bench run {config.name!r}: {source.describe()}; records in {run_dir}")
        if ctx.world_size > 1:
            log(f"distributed: {ctx.world_size} processes, sharding {ctx.mode}")
        run_sweep(
            config,
            source,
            source.gt_path,
            source.dataset_id,
            run_dir,
            evaluate=evaluate_results,
            flops=clip_flops,
            log=log,
            ctx=ctx,
        )
        ctx.barrier()
    finally:
        shutdown()
    if not ctx.is_main:
        return 0
    records = sweep_records(config, source.dataset_id, run_dir)
    print()
    print(comparison_table(records))
    for line in notes_lines(records):
        print(f"note: {line}")
    failed = [r for r in records if r.get("status") != "ok"]
    written = write_reports(records, run_dir, title=f"vis-bench: {config.name}")
    for path in written:
        print(f"wrote {path}")
    return 1 if failed and len(failed) == len(records) else 0
